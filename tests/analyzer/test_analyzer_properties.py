"""Property-based tests: whatever a source or HA answers, the analyzer's parsers give data or a
typed error.

Like tests/rotemnet/test_rotemnet_properties.py does for the client: arbitrary JSON, valid
answers with parts replaced by random values, and arbitrary text for the CSV parser. A
`KeyError`, `TypeError`, `ValueError`, `AttributeError` or `OverflowError` escaping fails the
test, because the loop only turns the typed errors into "retry later"; anything else used to
stop the service. Where data comes out, every value must be finite and inside its role's
plausible range (1e308, NaN and ±inf never reach the detectors).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ml_analyzer.config import InfluxV2Config
from ml_analyzer.discovery import Inventory, build_inventory
from ml_analyzer.ha import HomeAssistantCommandError, HomeAssistantError, command_result
from ml_analyzer.readers import (
    EntityRef,
    SourceQueryError,
    SourceUnavailableError,
    keep_plausible,
    plausible_range,
    to_points,
)
from ml_analyzer.readers.ha_history import (
    HomeAssistantHistoryReader,
    parse_history,
    parse_statistics,
)
from ml_analyzer.readers.influxdb_v1 import parse_document, parse_series
from ml_analyzer.readers.influxdb_v2 import InfluxV2Reader, parse_annotated_csv

TYPED = (SourceUnavailableError, SourceQueryError, HomeAssistantError)
START = datetime(2026, 11, 20, tzinfo=UTC)
END = START + timedelta(days=1)
START_MS = START.timestamp() * 1000

KNOWN_KEYS = [
    "results",
    "series",
    "tags",
    "values",
    "columns",
    "error",
    "entity_id",
    "domain",
    "mean",
    "end",
    "s",
    "lc",
    "lu",
    "state",
    "id",
    "identifiers",
    "device_id",
    "unique_id",
    "platform",
    "attributes",
    "unit_of_measurement",
    "success",
    "result",
    "code",
    "message",
]
TRAPS = ["", "on", "off", "nan", "inf", "-inf", "1e309", "NaT", "now", "9" * 400, "<html>"]
NUMBERS = st.one_of(
    st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1e308, -1e308, 0.0, START_MS, START_MS + 60_000.0]),
)
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, st.text(max_size=8), st.sampled_from(TRAPS))
JSON = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.one_of(st.text(max_size=6), st.sampled_from(KNOWN_KEYS)), children, max_size=4
        ),
    ),
    max_leaves=20,
)
PROPERTY_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def _check_clean(role: str | None, values: Any) -> None:
    low, high = plausible_range(role)
    for value in values:
        assert math.isfinite(value)
        assert low <= value <= high


def _replace(value: Any, path: list[int], replacement: Any) -> Any:
    """The value with one part (chosen by path) replaced: valid answers made slightly wrong."""
    if not path:
        return replacement
    if isinstance(value, dict) and value:
        key = sorted(value, key=str)[path[0] % len(value)]
        return {**value, key: _replace(value[key], path[1:], replacement)}
    if isinstance(value, list) and value:
        position = path[0] % len(value)
        copy = list(value)
        copy[position] = _replace(value[position], path[1:], replacement)
        return copy
    return replacement


PATHS = st.lists(st.integers(min_value=0, max_value=7), max_size=6)

INFLUX_V1_ANSWER = {
    "results": [
        {
            "statement_id": 0,
            "series": [
                {
                    "name": "°C",
                    "tags": {"domain": "sensor", "entity_id": "house_1_temperature"},
                    "columns": ["time", "value"],
                    "values": [[START_MS, 21.5], [START_MS + 60_000, 21.7]],
                }
            ],
            "partial": True,
        }
    ]
}


def _influx_v1(document: Any) -> None:
    try:
        for series in parse_document(document):
            object_id, domain, rows = parse_series(series)
            assert isinstance(object_id, str)
            assert isinstance(domain, str)
            if len(rows):
                entity = EntityRef("sensor.house_1_temperature", "°C", "temperature")
                stamps, values = keep_plausible(entity, to_points(rows[:, 0], rows[:, 1]))
                assert stamps.dtype == np.int64
                _check_clean("temperature", values)
    except TYPED:
        pass


@PROPERTY_SETTINGS
@given(JSON)
def test_influxdb_v1_any_json(document: Any) -> None:
    _influx_v1(document)


@PROPERTY_SETTINGS
@given(PATHS, JSON)
def test_influxdb_v1_valid_answer_with_one_part_replaced(path: list[int], value: Any) -> None:
    _influx_v1(_replace(INFLUX_V1_ANSWER, path, value))


FLUX_HEADER = (
    "#datatype,string,long,dateTime:RFC3339,double,string,string\r\n"
    "#group,false,false,false,false,true,true\r\n"
    "#default,_result,,,,,\r\n"
    ",result,table,_time,_value,entity_id,domain\r\n"
)
CELLS = st.one_of(
    st.sampled_from(TRAPS),
    st.text(max_size=12),
    st.sampled_from(
        [
            "2026-11-20T01:00:00Z",
            "2026-11-20T01:00:00.123456789Z",
            "2026-11-20T01:00:00+02:00",
            "9999-12-31T00:00:00Z",
            "0001-01-01T00:00:00Z",
            "2026-13-40T25:61:61Z",
            "1e308",
            "-1e308",
            "21.5",
        ]
    ),
)


def _flux(text: str) -> None:
    try:
        points = parse_annotated_csv(text)
    except TYPED:
        return
    entity = EntityRef("sensor.house_1_temperature", "°C", "temperature")
    reader = InfluxV2Reader(InfluxV2Config(url="http://x", token="t"), query=_constant(text))
    try:
        series = asyncio.run(reader.read([entity], START, END))
    except TYPED:
        return
    for key, (times, values) in points.items():
        assert isinstance(key, tuple)
        assert len(times) == len(values)
    for found in series.values():
        _check_clean("temperature", found.to_numpy())


def _constant(text: str) -> Any:
    async def query(_flux: str) -> str:
        return text

    return query


@PROPERTY_SETTINGS
@given(st.text())
def test_influxdb_v2_any_text(text: str) -> None:
    _flux(text)


@PROPERTY_SETTINGS
@given(st.lists(st.tuples(CELLS, CELLS, CELLS, CELLS), max_size=6))
def test_influxdb_v2_rows_with_random_cells(rows: list[tuple[str, str, str, str]]) -> None:
    body = "".join(
        f",_result,0,{time},{value},{entity},{domain}\r\n".replace("\n\n", "\n")
        for time, value, entity, domain in rows
    )
    _flux(FLUX_HEADER + body)


STATISTICS = {
    "sensor.house_1_temperature": [
        {"start": START_MS, "end": START_MS + 300_000, "mean": 21.5},
        {"start": START_MS, "end": "2026-11-20T00:10:00+00:00", "mean": 21.7},
    ]
}
HISTORY = {
    "binary_sensor.house_1_alarm": [
        {"s": "on", "lc": START.timestamp() + 10},
        {"s": "off", "lu": START.timestamp() + 20},
    ]
}


class _Recorder:
    """A command client that answers every recorder command with the given values."""

    def __init__(self, statistics: Any, history: Any) -> None:
        self._answers = {
            "recorder/statistics_during_period": statistics,
            "history/history_during_period": history,
        }

    async def command(self, command_type: str, **payload: Any) -> Any:
        return self._answers[command_type]


def _recorder(statistics: Any, history: Any) -> None:
    for parser, answer in ((parse_statistics, statistics), (parse_history, history)):
        with contextlib.suppress(*TYPED):
            parser(answer, START, END)
    entities = [
        EntityRef("sensor.house_1_temperature", "°C", "temperature"),
        EntityRef("binary_sensor.house_1_alarm", None, "alarm"),
    ]
    reader = HomeAssistantHistoryReader(_Recorder(statistics, history))
    try:
        series = asyncio.run(reader.read(entities, START, END))
    except TYPED:
        return
    roles = {entity.entity_id: entity.role for entity in entities}
    for entity_id, found in series.items():
        _check_clean(roles[entity_id], found.to_numpy())


@PROPERTY_SETTINGS
@given(JSON, JSON)
def test_recorder_any_json(statistics: Any, history: Any) -> None:
    _recorder(statistics, history)


@PROPERTY_SETTINGS
@given(PATHS, JSON, PATHS, JSON)
def test_recorder_valid_answers_with_one_part_replaced(
    statistics_path: list[int], statistics_value: Any, history_path: list[int], history_value: Any
) -> None:
    _recorder(
        _replace(STATISTICS, statistics_path, statistics_value),
        _replace(HISTORY, history_path, history_value),
    )


DEVICES = [{"id": "dev1", "identifiers": [["rotem_farm", "GW1_1"]], "name": "House 1"}]
ENTITIES = [
    {
        "entity_id": "sensor.house_1_temperature",
        "unique_id": "GW1_1_temperature",
        "platform": "rotem_farm",
        "device_id": "dev1",
    }
]
STATES = [{"entity_id": "sensor.house_1_temperature", "attributes": {"unit_of_measurement": "°C"}}]


def _inventory(devices: Any, entities: Any, states: Any) -> None:
    try:
        inventory = build_inventory(devices, entities, states)
    except HomeAssistantError:
        return
    assert isinstance(inventory, Inventory)
    for house in inventory.houses.values():
        for role, entity in house.signals.items():
            assert entity.role == role
            assert isinstance(entity.entity_id, str)
            assert entity.unit is None or isinstance(entity.unit, str)


@PROPERTY_SETTINGS
@given(JSON, JSON, JSON)
def test_registry_any_json(devices: Any, entities: Any, states: Any) -> None:
    _inventory(devices, entities, states)


@PROPERTY_SETTINGS
@given(PATHS, JSON, st.integers(min_value=0, max_value=2))
def test_registry_valid_lists_with_one_part_replaced(
    path: list[int], value: Any, which: int
) -> None:
    lists: list[Any] = [DEVICES, ENTITIES, STATES]
    lists[which] = _replace(lists[which], path, value)
    _inventory(*lists)


@PROPERTY_SETTINGS
@given(st.dictionaries(st.sampled_from(KNOWN_KEYS), JSON, max_size=4))
def test_websocket_result_any_object(answer: dict[str, Any]) -> None:
    try:
        command_result("get_states", answer)
    except HomeAssistantCommandError:
        assert answer.get("success") is not True


def test_the_valid_answers_give_data() -> None:
    """The seeds of the mutations are real-shaped answers that parse (else the tests prove
    only that errors are typed)."""
    (series,) = parse_document(INFLUX_V1_ANSWER)
    assert parse_series(series)[2].tolist() == [[START_MS, 21.5], [START_MS + 60_000, 21.7]]
    points = parse_annotated_csv(
        FLUX_HEADER + ",_result,0,2026-11-20T01:00:00Z,21.5,h_1,sensor\r\n"
    )
    assert points == {("h_1", "sensor"): ([START_MS + 3_600_000], [21.5])}
    assert list(parse_statistics(STATISTICS, START, END)["sensor.house_1_temperature"]) == [
        21.5,
        21.7,
    ]
    assert list(parse_history(HISTORY, START, END)["binary_sensor.house_1_alarm"]) == [1.0, 0.0]
    assert set(build_inventory(DEVICES, ENTITIES, STATES).houses) == {"GW1_1"}
    assert command_result("x", {"success": True, "result": [1]}) == [1]


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan, 1e308, -1e308])
def test_impossible_values_are_dropped_for_every_role(value: float) -> None:
    from ml_analyzer.discovery import INPUT_ROLES

    for role in [*INPUT_ROLES, "probe_temperature_3", None]:
        entity = EntityRef("sensor.x", None, role)
        stamps, values = keep_plausible(entity, to_points([1.0, 2.0], [value, 1.0]))
        assert stamps.tolist() == [2_000_000]
        assert values.tolist() == [1.0]
