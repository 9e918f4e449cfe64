"""The VictoriaMetrics reader against a real `victoria-metrics`, written to by HA's own code.

The points reach the server through Home Assistant's influxdb integration itself: its state to
InfluxDB-JSON converter (`_generate_event_to_json`, fed real `State` objects) and its 1.x
connection (`get_influx_connection`, the `influxdb` client HA pins), pointed at
VictoriaMetrics' `/write`. So the series names and labels the reader must find are the ones a
real install produces. Answers the real server cannot be made to send (HTML from a proxy, a
corrupt line, a refused login) come from a small HTTP server on a loopback port.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import numpy as np
import pandas as pd
import pytest
from aiohttp import web
from homeassistant.components.influxdb import (
    INFLUX_SCHEMA,
    _generate_event_to_json,
    get_influx_connection,
)
from homeassistant.core import Event, State
from ml_analyzer.config import VictoriaMetricsConfig
from ml_analyzer.readers import EntityRef, SourceQueryError, SourceUnavailableError
from ml_analyzer.readers.victoriametrics import (
    MAX_REGEX_CHARS,
    VictoriaMetricsReader,
    build_selector,
    parse_line,
)

from tests.support.victoriametrics import VictoriaMetricsServer, _free_port

pytestmark = pytest.mark.victoriametrics

START = datetime(2026, 11, 20, tzinfo=UTC)


class HAWriter:
    """HA's influxdb integration (api_version 1) writing states to the test server."""

    def __init__(self, server: VictoriaMetricsServer, **options: Any) -> None:
        self.conf = INFLUX_SCHEMA(
            {"host": server.host, "port": server.port, "database": "home_assistant", **options}
        )
        self._to_json = _generate_event_to_json(self.conf)
        self._server = server

    def event(
        self, entity_id: str, state: str, moment: datetime, unit: str | None = None
    ) -> dict[str, Any] | None:
        attributes: dict[str, Any] = {"friendly_name": entity_id.title(), "icon": "mdi:barn"}
        if unit is not None:
            attributes |= {"unit_of_measurement": unit, "state_class": "measurement"}
        new_state = State(entity_id, state, attributes)
        return self._to_json(
            Event(
                "state_changed",
                {"entity_id": entity_id, "new_state": new_state},
                time_fired_timestamp=moment.timestamp(),
            )
        )

    def write(self, states: Sequence[tuple[str, str, datetime, str | None]]) -> None:
        """Convert and write like HA's InfluxThread does (one batch), then flush the server."""
        events = [self.event(*state) for state in states]
        client = get_influx_connection(self.conf)
        # HA annotates `write` as taking a str; its 1.x client takes the list of points.
        write: Callable[[Any], None] = client.write
        try:
            write([event for event in events if event is not None])
        finally:
            client.close()
        self._server.flush()


@pytest.fixture
def prefix() -> str:
    """A fresh farm name per test: the server is shared by the whole session."""
    return f"t{uuid.uuid4().hex[:8]}"


def _reader(
    session: aiohttp.ClientSession, server: VictoriaMetricsServer, **options: Any
) -> VictoriaMetricsReader:
    return VictoriaMetricsReader(session, VictoriaMetricsConfig(url=server.url, **options))


async def test_reads_ha_layout_in_one_request_per_unit(
    victoriametrics_server: VictoriaMetricsServer, prefix: str
) -> None:
    states: list[tuple[str, str, datetime, str | None]] = []
    for house in (1, 2, 3):
        for step in range(12):
            moment = START + timedelta(minutes=5 * step)
            temperature = round(20 + house + step / 10, 2)
            states.append(
                (f"sensor.{prefix}_house_{house}_temperature", str(temperature), moment, "°C")
            )
            states.append((f"sensor.{prefix}_house_{house}_humidity", f"{60 + step}", moment, "%"))
    # Another house's points, an unavailable state and a string-only state stay out.
    states.append((f"sensor.{prefix}_house_9_temperature", "99.0", START, "°C"))
    states.append((f"sensor.{prefix}_house_1_temperature", "unavailable", START, "°C"))
    states.append((f"binary_sensor.{prefix}_house_1_alarm", "off", START, None))
    HAWriter(victoriametrics_server).write(states)
    entities = [
        EntityRef(f"sensor.{prefix}_house_{house}_{role}", unit)
        for house in (1, 2, 3)
        for role, unit in (("temperature", "°C"), ("humidity", "%"))
    ]

    async with aiohttp.ClientSession() as session:
        reader = _reader(session, victoriametrics_server)
        series = await reader.read(entities, START, START + timedelta(hours=1))

    assert reader.queries == 2  # one per unit (metric), not one per entity
    assert sorted(series) == sorted(entity.entity_id for entity in entities)
    house_2 = series[f"sensor.{prefix}_house_2_temperature"]
    assert len(house_2) == 12
    assert house_2.index[0] == pd.Timestamp(START)
    assert isinstance(house_2.index, pd.DatetimeIndex)
    assert str(house_2.index.tz) == "UTC"
    assert house_2.dtype == np.float64
    assert house_2.iloc[3] == 22.3
    assert series[f"sensor.{prefix}_house_3_humidity"].iloc[-1] == 71.0


async def test_window_is_half_open_to_the_millisecond_and_gaps_stay_gaps(
    victoriametrics_server: VictoriaMetricsServer, prefix: str
) -> None:
    entity = EntityRef(f"sensor.{prefix}_house_1_temperature", "°C")
    moments = [START + timedelta(minutes=5 * step) for step in (0, 1, 2, 6, 7)]
    moments.append(moments[-1] + timedelta(milliseconds=1))
    HAWriter(victoriametrics_server).write(
        [(entity.entity_id, f"{i}.0", moment, "°C") for i, moment in enumerate(moments)]
    )
    async with aiohttp.ClientSession() as session:
        reader = _reader(session, victoriametrics_server)
        series = await reader.read([entity], moments[1], moments[4])
        last = await reader.read([entity], moments[4], moments[5] + timedelta(microseconds=1))
        nothing = await reader.read([entity], moments[4], moments[4])

    values = series[entity.entity_id]
    assert list(values.index) == [pd.Timestamp(m) for m in moments[1:4]]
    assert list(values) == [1.0, 2.0, 3.0]
    assert list(last[entity.entity_id]) == [4.0, 5.0]
    assert nothing == {}


async def test_domain_label_separates_entities_with_the_same_object_id(
    victoriametrics_server: VictoriaMetricsServer, prefix: str
) -> None:
    writer = HAWriter(victoriametrics_server, default_measurement="units")
    writer.write(
        [
            (f"sensor.{prefix}_house_1_alarm", "7", START, None),
            (f"binary_sensor.{prefix}_house_1_alarm", "on", START, None),
        ]
    )
    entity = EntityRef(f"binary_sensor.{prefix}_house_1_alarm", None)
    async with aiohttp.ClientSession() as session:
        reader = _reader(session, victoriametrics_server, default_measurement="units")
        series = await reader.read([entity], START, START + timedelta(minutes=1))
    assert list(series[entity.entity_id]) == [1.0]  # HA writes "on" as value 1


async def test_unitless_entities_under_their_own_measurement_share_one_request(
    victoriametrics_server: VictoriaMetricsServer, prefix: str
) -> None:
    # Without a unit and without default_measurement HA uses the full entity id as measurement.
    HAWriter(victoriametrics_server).write(
        [
            (f"sensor.{prefix}_house_{house}_heaters_running", str(house), START, None)
            for house in (1, 2, 3)
        ]
    )
    entities = [EntityRef(f"sensor.{prefix}_house_{house}_heaters_running") for house in (1, 2)]
    async with aiohttp.ClientSession() as session:
        reader = _reader(session, victoriametrics_server)
        series = await reader.read(entities, START, START + timedelta(minutes=1))
    assert reader.queries == 1
    assert {key: list(value) for key, value in series.items()} == {
        f"sensor.{prefix}_house_1_heaters_running": [1.0],
        f"sensor.{prefix}_house_2_heaters_running": [2.0],
    }


async def test_override_measurement_is_followed(
    victoriametrics_server: VictoriaMetricsServer, prefix: str
) -> None:
    HAWriter(victoriametrics_server, override_measurement="farm").write(
        [(f"sensor.{prefix}_house_1_temperature", "21.5", START, "°C")]
    )
    entity = EntityRef(f"sensor.{prefix}_house_1_temperature", "°C")
    async with aiohttp.ClientSession() as session:
        plain = await _reader(session, victoriametrics_server).read(
            [entity], START, START + timedelta(minutes=1)
        )
        overridden = await _reader(
            session, victoriametrics_server, override_measurement="farm"
        ).read([entity], START, START + timedelta(minutes=1))
    assert plain == {}
    assert list(overridden[entity.entity_id]) == [21.5]


async def test_many_points_arrive_in_several_lines(
    victoriametrics_server: VictoriaMetricsServer, prefix: str
) -> None:
    steps = 25_000  # more than two export lines of EXPORT_ROWS points
    object_id = f"{prefix}_house_1_temperature"
    victoriametrics_server.write_lines(
        "home_assistant",
        "\n".join(
            f"°C,domain=sensor,entity_id={object_id} value={step} "
            f"{int((START + timedelta(seconds=step)).timestamp())}"
            for step in range(steps)
        ),
    )
    entity = EntityRef(f"sensor.{object_id}", "°C")
    async with aiohttp.ClientSession() as session:
        reader = _reader(session, victoriametrics_server)
        series = await reader.read([entity], START, START + timedelta(days=1))
    assert reader.queries == 1
    values = series[entity.entity_id]
    assert len(values) == steps
    assert values.index.is_monotonic_increasing
    assert list(values.iloc[[0, 9_999, 10_000, -1]]) == [0.0, 9_999.0, 10_000.0, steps - 1]


async def test_large_farms_are_cut_into_requests_the_server_accepts(
    victoriametrics_server: VictoriaMetricsServer, prefix: str
) -> None:
    """3 000 long entity ids do not fit one selector (16 KiB limit): several requests."""
    names = [f"{prefix}_farm_{n // 8}_house_{n % 8}_outside_temperature" for n in range(3_000)]
    victoriametrics_server.write_lines(
        "home_assistant",
        "\n".join(
            f"°C,domain=sensor,entity_id={name} value={n} {int(START.timestamp())}"
            for n, name in enumerate(names)
        ),
    )
    entities = [EntityRef(f"sensor.{name}", "°C") for name in names]
    async with aiohttp.ClientSession() as session:
        reader = _reader(session, victoriametrics_server)
        found = await reader.read_points(entities, START, START + timedelta(minutes=1))
    assert reader.queries > 1
    assert reader.queries <= math.ceil(len(names) * (len(names[0]) + 1) / MAX_REGEX_CHARS) + 1
    assert len(found) == len(names)
    assert all(found[f"sensor.{name}"][1].tolist() == [n] for n, name in enumerate(names))


async def test_non_finite_values_are_dropped(
    victoriametrics_server: VictoriaMetricsServer, prefix: str
) -> None:
    """HA never writes them, but other writers of the same server can (Prometheus format)."""
    object_id = f"{prefix}_house_1_temperature"
    stamps = [START + timedelta(minutes=5 * step) for step in range(5)]
    values = ["1.5", "+Inf", "-Inf", "NaN", "2.5"]
    body = "".join(
        f'°C_value{{domain="sensor",entity_id="{object_id}"}} {value} '
        f"{int(moment.timestamp() * 1000)}\n"
        for value, moment in zip(values, stamps, strict=True)
    )
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"{victoriametrics_server.url}/api/v1/import/prometheus", data=body.encode()
        ) as response:
            assert response.status == 204
        victoriametrics_server.flush()
        entity = EntityRef(f"sensor.{object_id}", "°C")
        series = await _reader(session, victoriametrics_server).read(
            [entity], START, START + timedelta(hours=1)
        )
    found = series[entity.entity_id]
    assert list(found) == [1.5, 2.5]
    assert list(found.index) == [pd.Timestamp(stamps[0]), pd.Timestamp(stamps[4])]


async def test_wrong_path_is_a_query_error(victoriametrics_server: VictoriaMetricsServer) -> None:
    async with aiohttp.ClientSession() as session:
        reader = VictoriaMetricsReader(
            session, VictoriaMetricsConfig(url=f"{victoriametrics_server.url}/select/0/nothing")
        )
        with pytest.raises(SourceQueryError, match="VictoriaMetrics"):
            await reader.read([EntityRef("sensor.x", "°C")], START, START + timedelta(hours=1))


async def test_unreachable_server_is_unavailable_without_credentials() -> None:
    config = VictoriaMetricsConfig(url=f"http://farm:pw-42@127.0.0.1:{_free_port()}")
    async with aiohttp.ClientSession() as session:
        with pytest.raises(SourceUnavailableError, match="unreachable") as caught:
            await VictoriaMetricsReader(session, config).read(
                [EntityRef("sensor.x", "°C")], START, START + timedelta(hours=1)
            )
    assert "pw-42" not in str(caught.value)
    assert "127.0.0.1" in str(caught.value)


def test_selector_is_batched_and_escaped() -> None:
    selector = build_selector('we"ird\\°C_value', ["house_1_temperature", "house.2"])
    assert selector == (
        '{__name__="we\\"ird\\\\°C_value",entity_id=~"house\\\\.2|house_1_temperature"}'
    )
    own = build_selector(["sensor.a_value", "sensor.b_value"], ["a", "b"])
    assert own == '{__name__=~"sensor\\\\.a_value|sensor\\\\.b_value",entity_id=~"a|b"}'


# ---- answers the real server does not send ------------------------------------------------


class Stub:
    """One loopback HTTP server answering /api/v1/export with a canned answer."""

    def __init__(self) -> None:
        self.status = 200
        self.body = b""
        self.content_type = "application/stream+json"
        self.requests: list[tuple[dict[str, str], dict[str, str]]] = []

    async def export(self, request: web.Request) -> web.Response:
        form = {key: str(value) for key, value in (await request.post()).items()}
        self.requests.append((dict(request.headers), form))
        return web.Response(status=self.status, body=self.body, content_type=self.content_type)


@pytest.fixture
async def stub() -> AsyncIterator[tuple[Stub, str]]:
    answer = Stub()
    app = web.Application()
    app.router.add_post("/api/v1/export", answer.export)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield answer, f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def _read_stub(url: str, **options: Any) -> dict[str, pd.Series]:
    async with aiohttp.ClientSession() as session:
        reader = VictoriaMetricsReader(session, VictoriaMetricsConfig(url=url, **options))
        return await reader.read(
            [EntityRef("sensor.house_1_temperature", "°C")], START, START + timedelta(hours=1)
        )


GOOD_METRIC = '{"__name__":"°C_value","domain":"sensor","entity_id":"house_1_temperature"}'
T0_MS = int(START.timestamp() * 1000)


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"<html><body>Bad gateway</body></html>", "not JSON"),
        (b'[{"metric": {}}]', "not a JSON object"),
        (f'{{"metric":{GOOD_METRIC},"values":[1.0,2.0],"timest'.encode(), "not JSON"),
        (b'{"metric":"x","values":[1.0],"timestamps":[1]}', "'metric'"),
        (b'{"metric":{"entity_id":5},"values":[1.0],"timestamps":[1]}', "'metric'"),
        (
            f'{{"metric":{GOOD_METRIC},"values":[1.0,2.0],"timestamps":[{T0_MS}]}}'.encode(),
            "differ in length",
        ),
        (
            f'{{"metric":{GOOD_METRIC},"values":["1.0"],"timestamps":[{T0_MS}]}}'.encode(),
            "'values'",
        ),
        (f'{{"metric":{GOOD_METRIC},"values":1.0,"timestamps":[{T0_MS}]}}'.encode(), "'values'"),
        (
            f'{{"metric":{GOOD_METRIC},"values":[1.0],"timestamps":["{T0_MS}"]}}'.encode(),
            "'timestamps'",
        ),
        (f'{{"metric":{GOOD_METRIC},"values":[1.0]}}'.encode(), "'timestamps'"),
        (
            f'{{"metric":{GOOD_METRIC},"values":[1.0],"timestamps":[1e300]}}'.encode(),
            "'timestamps'",
        ),
        (
            f'{{"metric":{GOOD_METRIC},"values":[1.0],"timestamps":[99999999999999999]}}'.encode(),
            "out of range",
        ),
        (b'{"error":"cannot export: too many series"}', "too many series"),
    ],
)
async def test_malformed_answers_are_typed_errors(
    stub: tuple[Stub, str], body: bytes, problem: str
) -> None:
    answer, url = stub
    answer.body = body
    with pytest.raises(SourceUnavailableError, match=problem):
        await _read_stub(url)


async def test_a_good_line_after_a_bad_one_does_not_hide_the_error(
    stub: tuple[Stub, str],
) -> None:
    answer, url = stub
    good = f'{{"metric":{GOOD_METRIC},"values":[1.0],"timestamps":[{T0_MS}]}}'
    answer.body = f"{good}\nnot json\n{good}\n".encode()
    with pytest.raises(SourceUnavailableError, match="not JSON"):
        await _read_stub(url)


async def test_inf_in_a_label_is_not_rewritten(stub: tuple[Stub, str]) -> None:
    answer, url = stub
    metric = GOOD_METRIC.replace('"domain":"sensor"', '"domain":"sensor","note":"-Inf +Inf"')
    answer.body = (
        f'{{"metric":{metric},"values":[+Inf,3.5,-Inf],'
        f'"timestamps":[{T0_MS},{T0_MS + 1000},{T0_MS + 2000}]}}\n'
    ).encode()
    series = await _read_stub(url)
    assert list(series["sensor.house_1_temperature"]) == [3.5]
    labels, times, values = parse_line(answer.body.strip())
    assert labels["note"] == "-Inf +Inf"
    assert times.tolist() == [T0_MS, T0_MS + 1000, T0_MS + 2000]
    assert values.tolist() == [math.inf, 3.5, -math.inf]


@pytest.mark.parametrize(
    ("status", "error", "problem"),
    [
        (401, SourceQueryError, "rejected the credentials"),
        (403, SourceQueryError, "rejected the credentials"),
        (404, SourceQueryError, "check the URL"),
        (400, SourceQueryError, "refused the query \\(400\\): bad selector"),
        (503, SourceUnavailableError, "answered 503: bad selector"),
    ],
)
async def test_http_errors_are_typed(
    stub: tuple[Stub, str], status: int, error: type[Exception], problem: str
) -> None:
    answer, url = stub
    answer.status = status
    answer.body = b"bad\nselector"
    answer.content_type = "text/plain"
    with pytest.raises(error, match=problem):
        await _read_stub(url)


@pytest.mark.parametrize(
    ("options", "authorization"),
    [
        ({"username": "farm", "password": "pw-42"}, "Basic ZmFybTpwdy00Mg=="),
        ({"token": "tok-42"}, "Bearer tok-42"),
        ({}, None),
    ],
)
async def test_credentials_are_sent_and_never_shown(
    stub: tuple[Stub, str], options: dict[str, str], authorization: str | None
) -> None:
    answer, url = stub
    answer.status = 401
    with pytest.raises(SourceQueryError) as caught:
        await _read_stub(url, **options)
    headers, form = answer.requests[0]
    assert headers.get("Authorization") == authorization
    assert form["match[]"] == '{__name__="°C_value",entity_id=~"house_1_temperature"}'
    assert form["start"] == f"{T0_MS // 1000}.000"
    assert form["end"] == f"{T0_MS // 1000 + 3599}.999"
    for secret in ("pw-42", "tok-42"):
        assert secret not in str(caught.value)


async def test_userinfo_in_the_url_is_basic_auth(stub: tuple[Stub, str]) -> None:
    answer, url = stub
    await _read_stub(url.replace("http://", "http://farm:pw-42@"))
    headers, _ = answer.requests[0]
    assert headers.get("Authorization") == "Basic ZmFybTpwdy00Mg=="
