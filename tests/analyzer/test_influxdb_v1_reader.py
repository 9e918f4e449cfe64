"""The InfluxDB 1.x reader against a real `influxd`, with points written the way HA writes them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import aiohttp
import numpy as np
import pandas as pd
import pytest
from ml_analyzer.config import InfluxV1Config
from ml_analyzer.readers import EntityRef, to_points
from ml_analyzer.readers.influxdb_v1 import InfluxV1Reader, build_query

from devtools.influxdb import InfluxServer

pytestmark = pytest.mark.influx

START = datetime(2026, 11, 20, tzinfo=UTC)


def _ha_line(measurement: str, domain: str, object_id: str, value: float, moment: datetime) -> str:
    """One point as HA's influxdb integration writes it (measurement = unit, tags, field value)."""
    escaped = measurement.replace(" ", "\\ ").replace(",", "\\,")
    return (
        f"{escaped},domain={domain},entity_id={object_id} "
        f'value={value},friendly_name_str="House" {int(moment.timestamp())}'
    )


@pytest.fixture
def database(influxdb_server: InfluxServer) -> str:
    name = f"ha_{uuid.uuid4().hex[:8]}"
    influxdb_server.create_database(name)
    return name


def _reader(session: aiohttp.ClientSession, server: InfluxServer, database: str) -> InfluxV1Reader:
    config = InfluxV1Config(host=server.host, port=server.port, database=database)
    return InfluxV1Reader(session, config)


async def test_reads_ha_layout_in_one_query_per_measurement(
    influxdb_server: InfluxServer, database: str
) -> None:
    lines = []
    for house in (1, 2, 3):
        for step in range(12):
            moment = START + timedelta(minutes=5 * step)
            lines.append(
                _ha_line(
                    "°C", "sensor", f"house_{house}_temperature", 20 + house + step / 10, moment
                )
            )
            lines.append(_ha_line("%", "sensor", f"house_{house}_humidity", 60.0 + step, moment))
    # Another house's points and a string-only state must not leak into the answer.
    lines.append(_ha_line("°C", "sensor", "house_9_temperature", 99.0, START))
    lines.append(
        f'state,domain=binary_sensor,entity_id=house_1_alarm state="off" {int(START.timestamp())}'
    )
    influxdb_server.write_lines(database, "\n".join(lines))
    entities = [EntityRef(f"sensor.house_{house}_temperature", "°C") for house in (1, 2, 3)] + [
        EntityRef(f"sensor.house_{house}_humidity", "%") for house in (1, 2, 3)
    ]

    async with aiohttp.ClientSession() as session:
        reader = _reader(session, influxdb_server, database)
        series = await reader.read(entities, START, START + timedelta(hours=1))

    assert reader.queries == 2  # one per measurement, not one per entity
    assert sorted(series) == sorted(entity.entity_id for entity in entities)
    house_2 = series["sensor.house_2_temperature"]
    assert len(house_2) == 12
    assert house_2.index[0] == pd.Timestamp(START)
    assert isinstance(house_2.index, pd.DatetimeIndex)
    assert str(house_2.index.tz) == "UTC"
    assert house_2.iloc[3] == pytest.approx(22.3)
    assert series["sensor.house_3_humidity"].iloc[-1] == pytest.approx(71.0)


async def test_window_is_half_open_and_gaps_stay_gaps(
    influxdb_server: InfluxServer, database: str
) -> None:
    moments = [START + timedelta(minutes=5 * step) for step in (0, 1, 2, 6, 7)]
    influxdb_server.write_lines(
        database,
        "\n".join(
            _ha_line("°C", "sensor", "house_1_temperature", float(i), moment)
            for i, moment in enumerate(moments)
        ),
    )
    entity = EntityRef("sensor.house_1_temperature", "°C")
    async with aiohttp.ClientSession() as session:
        reader = _reader(session, influxdb_server, database)
        series = await reader.read([entity], moments[1], moments[4])

    values = series[entity.entity_id]
    assert list(values.index) == [pd.Timestamp(m) for m in moments[1:4]]
    assert list(values) == [1.0, 2.0, 3.0]


async def test_domain_tag_separates_entities_with_the_same_object_id(
    influxdb_server: InfluxServer, database: str
) -> None:
    influxdb_server.write_lines(
        database,
        "\n".join(
            [
                _ha_line("units", "sensor", "house_1_alarm", 7.0, START),
                _ha_line("units", "binary_sensor", "house_1_alarm", 1.0, START),
            ]
        ),
    )
    entity = EntityRef("binary_sensor.house_1_alarm", None)
    config = InfluxV1Config(
        host=influxdb_server.host,
        port=influxdb_server.port,
        database=database,
        default_measurement="units",
    )
    async with aiohttp.ClientSession() as session:
        series = await InfluxV1Reader(session, config).read(
            [entity], START, START + timedelta(minutes=1)
        )
    assert list(series[entity.entity_id]) == [1.0]


async def test_unitless_entities_under_their_own_measurement_share_one_query(
    influxdb_server: InfluxServer, database: str
) -> None:
    # Without a unit and without default_measurement HA uses the full entity id as measurement.
    influxdb_server.write_lines(
        database,
        "\n".join(
            _ha_line(
                f"sensor.house_{house}_heaters_running",
                "sensor",
                f"house_{house}_heaters_running",
                float(house),
                START,
            )
            for house in (1, 2, 3)
        ),
    )
    entities = [EntityRef(f"sensor.house_{house}_heaters_running") for house in (1, 2)]
    async with aiohttp.ClientSession() as session:
        reader = _reader(session, influxdb_server, database)
        series = await reader.read(entities, START, START + timedelta(minutes=1))
    assert reader.queries == 1
    assert {key: list(value) for key, value in series.items()} == {
        "sensor.house_1_heaters_running": [1.0],
        "sensor.house_2_heaters_running": [2.0],
    }


async def test_many_points_arrive_in_chunks(influxdb_server: InfluxServer, database: str) -> None:
    steps = 25_000  # more than one chunk of the chunked answer
    lines = "\n".join(
        _ha_line(
            "°C", "sensor", "house_1_temperature", float(step), START + timedelta(seconds=step)
        )
        for step in range(steps)
    )
    influxdb_server.write_lines(database, lines)
    entity = EntityRef("sensor.house_1_temperature", "°C")
    async with aiohttp.ClientSession() as session:
        reader = _reader(session, influxdb_server, database)
        series = await reader.read([entity], START, START + timedelta(days=1))
    assert reader.queries == 1
    assert len(series[entity.entity_id]) == steps
    assert series[entity.entity_id].iloc[-1] == steps - 1


async def test_unknown_database_is_a_query_error(influxdb_server: InfluxServer) -> None:
    from ml_analyzer.readers import SourceQueryError

    async with aiohttp.ClientSession() as session:
        reader = _reader(session, influxdb_server, "does_not_exist")
        with pytest.raises(SourceQueryError, match="database not found"):
            await reader.read([EntityRef("sensor.x", "°C")], START, START + timedelta(hours=1))


async def test_unreachable_server_is_unavailable() -> None:
    from ml_analyzer.readers import SourceUnavailableError

    from devtools.processes import free_port as _free_port

    config = InfluxV1Config(host="127.0.0.1", port=_free_port())
    async with aiohttp.ClientSession() as session:
        with pytest.raises(SourceUnavailableError, match="unreachable"):
            await InfluxV1Reader(session, config).read(
                [EntityRef("sensor.x", "°C")], START, START + timedelta(hours=1)
            )


def test_query_is_batched_and_anchored() -> None:
    query = build_query(
        'we"ird', ["house_1_temperature", "house.2"], START, START + timedelta(hours=1)
    )
    assert 'FROM "we\\"ird"' in query
    assert '"entity_id" =~ /^(house\\.2|house_1_temperature)$/' in query
    assert f"time >= {int(START.timestamp()) * 10**9}" in query
    assert 'GROUP BY "entity_id", "domain"' in query


def test_points_own_their_values() -> None:
    """The loop keeps a 14-day window of points: a value column that is a view of the reader's
    time/value pairs would keep the pairs alive too (half as much memory again)."""
    pairs = np.array([[2.0e12, 1.0], [1.0e12, 2.0], [2.0e12, 3.0], [3.0e12, 4.0]])
    times, values = to_points(pairs[:, 0], pairs[:, 1])
    assert times.tolist() == [1_000_000_000_000_000_000, 2_000_000_000_000_000_000, 3 * 10**18]
    assert values.tolist() == [2.0, 3.0, 4.0]  # sorted; of a repeated time, the last point
    ordered_times, ordered = to_points(pairs[[1, 2, 3], 0], pairs[[1, 2, 3], 1])
    assert ordered.tolist() == [2.0, 3.0, 4.0]
    assert ordered_times.dtype == np.int64
    assert not np.shares_memory(ordered, pairs)
    assert not np.shares_memory(to_points(pairs[:1, 0], pairs[:1, 1])[1], pairs)
