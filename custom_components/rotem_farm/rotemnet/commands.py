"""Controller command answers (``RNBL_GetCommandData``): the house page and the history tables.

Both answer for one house with ``dsData`` sections of rows. The house page's readings come from
the field table; what stays here is the structure only a command answer has: probe locations,
output groups with installed counts, silos, the 24-hour and 10-day series, today's mortality, and
the history tables.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Final

from .envelope import JsonObject, json_object, json_objects, payload_object, required_objects
from .exceptions import RotemApiError, RotemParseError
from .fields import Answer, read_fields, readers
from .models import (
    Equipment,
    History,
    HistoryKind,
    HistoryRow,
    HouseDetails,
    Mortality,
    TemperatureSensorLocation,
    Units,
)
from .site import PROBE_PREFIX, probes
from .values import (
    enum_value,
    parse_big_int,
    parse_duration_minutes,
    parse_int,
    parse_number,
    parse_running,
    parse_series,
)

RNBL_SUCCESS: Final = 20
"""``eRNBLResult`` API_SUCCESS of command data answers."""

# History column prefixes; what remains is the key in HistoryRow.values.
_HISTORY_PREFIXES: Final = ("HistoryRecord_Heaters_HeaterDevice_", "QueueRecord_", "HistoryRecord_")
_HISTORY_SKIPPED_COLUMNS: Final = frozenset({"RowNum"})

_SECTIONS: Final = (
    "General",
    "TempSensor",
    "Consumption",
    "AvgWeight",
    "DigitalOut",
    "AnalogOut",
    "HistoryTemp",
    "HistoryWeight",
    "FeedInv",
)
"""The house-page sections read, in the order they are checked."""
_FIELD_SECTIONS: Final = tuple(name for name in _SECTIONS if not name.startswith("History"))
"""Sections whose rows the field table reads (a later section wins a key two of them share)."""


def _command_payload(data: object, house_number: int | None) -> tuple[int, JsonObject, JsonObject]:
    """House number, payload and ``dsData`` of a command answer, ``eRNBLResult`` checked."""
    payload = payload_object(data)
    answered = parse_int(payload.get("HouseNumber"))
    if house_number is not None and answered is not None and answered != house_number:
        raise RotemParseError(f"asked for house {house_number}, the answer is for {answered}")
    number = answered if answered is not None else house_number
    if number is None:
        raise RotemParseError("the command answer names no house")
    sections = json_object(payload.get("dsData"), "dsData")
    results = json_objects(sections.get("eRNBLResult"), "eRNBLResult")
    if results:
        code = parse_int(results[0].get("Value"))
        if code != RNBL_SUCCESS:
            raise RotemApiError(f"the controller command failed (RNBL result {code})")
    return number, payload, sections


# --------------------------------------------------------------------------------------------
# History tables (CommandID 35/40/41/43)
# --------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=512)
def _history_key(column: str) -> str:
    """``HistoryRecord_TotalDrink`` -> ``TotalDrink``; heater devices -> ``Heater_<n>``."""
    if column.startswith(_HISTORY_PREFIXES[0]):
        return "Heater_" + column.removeprefix(_HISTORY_PREFIXES[0])
    for prefix in _HISTORY_PREFIXES[1:]:
        if column.startswith(prefix):
            return column.removeprefix(prefix)
    return column


def _history_value(kind: HistoryKind, value: object) -> float | None:
    """One cell: heater run times are ``H:MM`` -> minutes, the rest numbers or strings."""
    if kind is HistoryKind.HEATERS and isinstance(value, str) and ":" in value:
        return parse_duration_minutes(value)
    return parse_number(value, thousands=True)


def parse_history(
    data: object, house_number: int | None = None, kind: HistoryKind | None = None
) -> History:
    """A history table (CommandID 35/40/41/43), one row per growth day, oldest first.

    The row of the highest growth day is the current, partial day and is marked so; day -1 is
    the pre-placement day and is kept as such. Rows without a growth day are dropped.
    """
    number, payload, sections = _command_payload(data, house_number)
    answered_kind = enum_value(HistoryKind, payload.get("MenuID"))
    if kind is not None and answered_kind is not None and answered_kind is not kind:
        raise RotemParseError(f"asked for history {kind.value}, got {answered_kind.value}")
    history_kind = kind if answered_kind is None else answered_kind
    if history_kind is None:
        raise RotemParseError("the history answer names no known command")
    parsed: list[tuple[int, dict[str, float | None]]] = []
    for row in required_objects(sections, "Data"):
        day: int | None = None
        values: dict[str, float | None] = {}
        for column, value in row.items():
            if column in _HISTORY_SKIPPED_COLUMNS:
                continue
            key = _history_key(column)
            if key.endswith("GrowthDay"):
                day = parse_int(value)
            else:
                values[key] = _history_value(history_kind, value)
        if day is not None:
            parsed.append((day, values))
    parsed.sort(key=lambda item: item[0])
    last = len(parsed) - 1
    rows = tuple(
        HistoryRow(growth_day=day, values=values, partial=index == last)
        for index, (day, values) in enumerate(parsed)
    )
    return History(house_number=number, kind=history_kind, rows=rows)


# --------------------------------------------------------------------------------------------
# House page (CommandID 0)
# --------------------------------------------------------------------------------------------


def _rows(sections: JsonObject, name: str) -> dict[str, JsonObject]:
    """The rows of one ``dsData`` section by ``ParameterKeyName``."""
    rows: dict[str, JsonObject] = {}
    for row in json_objects(sections.get(name), name):
        key = row.get("ParameterKeyName")
        if isinstance(key, str):
            rows.setdefault(key, row)
    return rows


def _values(rows: Mapping[str, JsonObject]) -> dict[str, object]:
    """``ParameterValue`` of each row by key (None where a row has none)."""
    return {key: row.get("ParameterValue") for key, row in rows.items()}


def _digital_outputs(rows: Mapping[str, JsonObject]) -> dict[str, Equipment]:
    """DigitalOut: ``ParameterValue`` is the running count, ``ParameterData`` the installed one."""
    equipment: dict[str, Equipment] = {}
    for key, row in rows.items():
        running = parse_running(row.get("ParameterValue"))
        installed = parse_int(row.get("ParameterData"))
        if running is not None or installed is not None:
            equipment[key] = Equipment(running=running, installed=installed)
    return equipment


def _numbers(rows: Mapping[str, JsonObject], prefix: str = "") -> dict[str, float]:
    """Rows with a numeric value, by key (prefix stripped)."""
    numbers: dict[str, float] = {}
    for key, row in rows.items():
        number = parse_number(row.get("ParameterValue"))
        if number is not None and key.startswith(prefix):
            numbers[key.removeprefix(prefix)] = number
    return numbers


def _probe_locations(rows: Mapping[str, JsonObject]) -> dict[int, TemperatureSensorLocation]:
    """The location icon of each numbered probe, where the controller names one."""
    locations: dict[int, TemperatureSensorLocation] = {}
    for key, row in rows.items():
        if not key.startswith(PROBE_PREFIX):
            continue
        number = parse_int(key.removeprefix(PROBE_PREFIX))
        location = enum_value(TemperatureSensorLocation, row.get("Icon"))
        if number is not None and location is not None:
            locations[number] = location
    return locations


def _series(section: Mapping[str, JsonObject], key: str) -> tuple[float | None, ...]:
    """One ``;``-separated history series of the page (empty when the row is absent)."""
    return parse_series(section.get(key, {}).get("ParameterValue"))


def _mortality(values: Mapping[str, object]) -> Mortality:
    """Today's counted losses (``null`` on controllers without the feature: all None)."""
    return Mortality(
        male_mortality=parse_big_int(values.get("TotalDailyMaleMortality")),
        female_mortality=parse_big_int(values.get("TotalDailyFemaleMortality")),
        male_cull=parse_big_int(values.get("TotalDailyMaleCult")),
        female_cull=parse_big_int(values.get("TotalDailyFemaleCult")),
        male_moved=parse_big_int(values.get("TotalDailyMaleMoved")),
        female_moved=parse_big_int(values.get("TotalDailyFemaleMoved")),
    )


def parse_house_details(
    data: object, house_number: int | None = None, *, units: Units | None = None
) -> HouseDetails:
    """The live house page (CommandID 0) of one house.

    Sections a controller does not have are simply empty; every value missing is None.
    """
    number, _, sections = _command_payload(data, house_number)
    rows = {name: _rows(sections, name) for name in _SECTIONS}
    merged: dict[str, JsonObject] = {}
    for name in _FIELD_SECTIONS:
        merged.update(rows[name])
    values = _values(merged)
    silos = {
        silo: amount
        for key, amount in _numbers(rows["FeedInv"], "Silo_").items()
        if (silo := parse_int(key)) is not None
    }
    return HouseDetails(
        house_number=number,
        probe_temperatures=probes(_values(rows["TempSensor"])),
        probe_locations=_probe_locations(rows["TempSensor"]),
        equipment=_digital_outputs(rows["DigitalOut"]),
        analog_outputs=_numbers(rows["AnalogOut"]),
        silos=silos,
        temperature_24h=_series(rows["HistoryTemp"], "Last24HourTemperature_AVG"),
        target_temperature_24h=_series(rows["HistoryTemp"], "Last24HourTemperature_TARGET"),
        weight_10d=_series(rows["HistoryWeight"], "Last10DayAvgBirdWeight_AVG"),
        target_weight_10d=_series(rows["HistoryWeight"], "Last10DayAvgBirdWeight_TARGET"),
        mortality=_mortality(values),
        raw={key: text for key, text in values.items() if isinstance(text, str)},
        **read_fields(values, readers(Answer.PAGE, units)),
    )
