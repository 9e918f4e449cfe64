"""InfluxDB 2.x reader: Flux query building and annotated-CSV parsing on hand-written answers.

No 2.x server runs on the test machines. The answers in fixtures/ follow Flux's annotated-CSV
format (CRLF lines, annotation rows, one header per table block, a new block when the schema
changes, an `error` table on failure); one test serves them over loopback HTTP so the real
influxdb-client request path is exercised too.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from aiohttp import web
from ml_analyzer.config import InfluxV2Config
from ml_analyzer.readers import EntityRef, SourceQueryError, SourceUnavailableError
from ml_analyzer.readers.influxdb_v2 import InfluxV2Reader, build_flux, parse_annotated_csv

FIXTURES = Path(__file__).parent / "fixtures"
START = datetime(2026, 11, 20, tzinfo=UTC)
END = START + timedelta(hours=1)
ENTITIES = [
    EntityRef("sensor.house_1_temperature", "°C"),
    EntityRef("sensor.house_2_temperature", "°C"),
    EntityRef("sensor.house_1_set_temperature", "°C"),
]


def _answer(name: str) -> str:
    return (FIXTURES / name).read_bytes().decode()


def test_flux_selects_all_entities_of_a_measurement() -> None:
    flux = build_flux('Home "A"', "°C", ["house_2_t", "house_1.t"], START, END)
    assert 'from(bucket: "Home \\"A\\"")' in flux
    assert "range(start: 2026-11-20T00:00:00.000000Z, stop: 2026-11-20T01:00:00.000000Z)" in flux
    assert 'r._measurement == "°C" and r._field == "value"' in flux
    assert "r.entity_id =~ /^(house_1\\.t|house_2_t)$/" in flux
    assert 'keep(columns: ["_time", "_value", "entity_id", "domain"])' in flux


def test_parses_tables_blocks_and_column_orders() -> None:
    points = parse_annotated_csv(_answer("flux_temperature.csv"))
    times, values = points[("house_1_temperature", "sensor")]
    assert values == [21.5, 21.7, 21.9]
    assert times[1] == pd.Timestamp("2026-11-20T00:05:00Z").value / 1e6
    assert points[("house_2_temperature", "sensor")][0][1] == (
        pd.Timestamp("2026-11-20T00:05:00.5Z").value / 1e6
    )
    assert points[("house_1_set_temperature", "sensor")][1] == [27.5]
    assert points[("house_1_temperature", "binary_sensor")][1] == [1.0]


def test_error_table_is_a_query_error() -> None:
    with pytest.raises(SourceQueryError, match='bucket "Home Assistant" not found'):
        parse_annotated_csv(_answer("flux_error.csv"))


async def test_reader_maps_series_to_entities_one_query_per_measurement() -> None:
    queries: list[str] = []

    async def query(flux: str) -> str:
        queries.append(flux)
        return _answer("flux_temperature.csv")

    reader = InfluxV2Reader(InfluxV2Config(url="http://x", token="t"), query=query)
    series = await reader.read(ENTITIES, START, END)
    assert reader.queries == 1
    assert len(queries) == 1
    # house_9 was not asked for; the binary_sensor with the same object id is another entity.
    assert sorted(series) == sorted(entity.entity_id for entity in ENTITIES)
    assert list(series["sensor.house_1_temperature"]) == [21.5, 21.7, 21.9]
    house_2 = series["sensor.house_2_temperature"].index
    assert isinstance(house_2, pd.DatetimeIndex)
    assert str(house_2.tz) == "UTC"


@pytest.fixture
async def fake_influx2(aiohttp_client: Any) -> tuple[str, list[dict[str, Any]]]:
    """A loopback HTTP server answering /api/v2/query like InfluxDB 2.x would."""
    requests: list[dict[str, Any]] = []

    async def handle(request: web.Request) -> web.Response:
        body = json.loads(await request.text())
        requests.append(
            {
                "org": request.query.get("org"),
                "authorization": request.headers.get("Authorization"),
                "query": body["query"],
            }
        )
        if request.headers.get("Authorization") != "Token secret-token":
            return web.json_response(
                {"code": "unauthorized", "message": "unauthorized access"}, status=401
            )
        name = "flux_error.csv" if "missing" in body["query"] else "flux_temperature.csv"
        return web.Response(
            body=(FIXTURES / name).read_bytes(), content_type="text/csv", charset="utf-8"
        )

    app = web.Application()
    app.router.add_post("/api/v2/query", handle)
    client = await aiohttp_client(app)
    return f"http://{client.host}:{client.port}", requests


async def test_real_client_against_recorded_answers(
    fake_influx2: tuple[str, list[dict[str, Any]]],
) -> None:
    url, requests = fake_influx2
    config = InfluxV2Config(url=url, token="secret-token", org="farm", bucket="Home Assistant")
    reader = InfluxV2Reader(config)
    try:
        series = await reader.read(ENTITIES, START, END)
    finally:
        await reader.close()
    assert requests[0]["org"] == "farm"
    assert 'from(bucket: "Home Assistant")' in requests[0]["query"]
    assert list(series["sensor.house_1_set_temperature"]) == [27.5]


async def test_real_client_errors(fake_influx2: tuple[str, list[dict[str, Any]]]) -> None:
    url, _ = fake_influx2
    wrong = InfluxV2Reader(InfluxV2Config(url=url, token="wrong", org="farm"))
    try:
        with pytest.raises(SourceQueryError, match="401") as caught:
            await wrong.read(ENTITIES, START, END)
        assert "wrong" not in str(caught.value)
    finally:
        await wrong.close()
    missing = InfluxV2Reader(InfluxV2Config(url=url, token="secret-token", bucket="missing"))
    try:
        with pytest.raises(SourceQueryError, match="not found"):
            await missing.read(ENTITIES, START, END)
    finally:
        await missing.close()


async def test_unreachable_server_is_unavailable() -> None:
    from devtools.processes import free_port as _free_port

    config = InfluxV2Config(url=f"http://127.0.0.1:{_free_port()}", token="t", org="o")
    reader = InfluxV2Reader(config)
    try:
        with pytest.raises(SourceUnavailableError, match="unreachable"):
            await reader.read(ENTITIES, START, END)
    finally:
        await reader.close()
