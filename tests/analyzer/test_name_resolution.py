"""Real host names: the analyzer's HA client and readers go through aiohttp's default resolver.

Every other test uses 127.0.0.1, which is why nobody noticed that in the project's environment
aiohttp could not resolve any name (aiodns 3.2.0 paired with pycares 5: `TypeError:
Channel.getaddrinfo() takes 3 positional arguments`). Here the HA client and both InfluxDB
readers reach real servers (HA's HTTP server, `influxd`, a loopback 2.x stand-in) as
`localhost`. With that broken pair installed these tests fail, on purpose: the environment
must resolve names (scripts/setup pins the pair). Whatever the resolver raises, the analyzer
must turn it into its typed connection error, which the second half checks with resolvers that
fail the ways the real ones do (TypeError from aiodns, socket.gaierror from getaddrinfo).
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from ml_analyzer.config import InfluxV1Config, InfluxV2Config
from ml_analyzer.discovery import discover
from ml_analyzer.ha import HomeAssistantClient, HomeAssistantConnectionError
from ml_analyzer.readers import EntityRef, SourceUnavailableError
from ml_analyzer.readers.influxdb_v1 import InfluxV1Reader
from ml_analyzer.readers.influxdb_v2 import InfluxV2Reader

from tests.analyzer.ha_fixtures import setup_fake_farm
from tests.support.influxdb import InfluxServer

START = datetime(2026, 11, 20, tzinfo=UTC)
TEMPERATURE = EntityRef("sensor.house_1_temperature", "°C", "temperature")


@pytest.fixture
async def ha_port(hass: HomeAssistant, hass_client: Any) -> int:
    for component in ("http", "api", "websocket_api", "config"):
        assert await async_setup_component(hass, component, {})
    client = await hass_client()
    return int(client.port)


async def test_ha_client_reaches_ha_by_name(
    hass: HomeAssistant, ha_port: int, hass_access_token: str
) -> None:
    farm = await setup_fake_farm(hass)
    farm.add_house(1)
    async with aiohttp.ClientSession() as session:
        client = HomeAssistantClient(session, f"http://localhost:{ha_port}", hass_access_token)
        try:
            inventory = await discover(client)
            await client.call_service(
                "rotem_farm",
                "report_analysis",
                {
                    "reports": [
                        {
                            "device_id": farm.house_devices[1],
                            "anomaly": False,
                            "anomaly_score": 5.0,
                            "failure_risk": 1.0,
                            "subsystem": "none",
                        }
                    ]
                },
            )
        finally:
            await client.close()
    assert list(inventory.houses) == ["GW1_1"]
    assert len(farm.reports) == 1


@pytest.mark.influx
async def test_influxdb_v1_reader_reaches_influxd_by_name(influxdb_server: InfluxServer) -> None:
    influxdb_server.create_database("by_name")
    moment = int(START.timestamp())
    influxdb_server.write_lines(
        "by_name", f"°C,domain=sensor,entity_id=house_1_temperature value=21.5 {moment}"
    )
    config = InfluxV1Config(host="localhost", port=influxdb_server.port, database="by_name")
    async with aiohttp.ClientSession() as session:
        points = await InfluxV1Reader(session, config).read_points(
            [TEMPERATURE], START, START + timedelta(hours=1)
        )
    assert points[TEMPERATURE.entity_id][1].tolist() == [21.5]


@pytest.fixture
async def influx2_port(aiohttp_client: Any) -> int:
    async def query(request: web.Request) -> web.Response:
        return web.Response(
            text=(
                "#datatype,string,long,dateTime:RFC3339,double,string,string\r\n"
                ",result,table,_time,_value,entity_id,domain\r\n"
                ",_result,0,2026-11-20T00:05:00Z,21.5,house_1_temperature,sensor\r\n"
            ),
            content_type="text/csv",
        )

    app = web.Application()
    app.router.add_post("/api/v2/query", query)
    client = await aiohttp_client(app)
    return int(client.port)


async def test_influxdb_v2_reader_reaches_the_server_by_name(influx2_port: int) -> None:
    config = InfluxV2Config(url=f"http://localhost:{influx2_port}", token="t", org="farm")
    reader = InfluxV2Reader(config)
    try:
        series = await reader.read([TEMPERATURE], START, START + timedelta(hours=1))
    finally:
        await reader.close()
    assert list(series[TEMPERATURE.entity_id]) == [21.5]


class FailingResolver(AbstractResolver):
    """Fails like the real resolvers do: aiodns 3.2 + pycares 5, or getaddrinfo."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        raise self.error

    async def close(self) -> None:
        return None


RESOLVER_ERRORS = [
    TypeError(
        "Channel.getaddrinfo() takes 3 positional arguments but 4 positional arguments "
        "(and 4 keyword-only arguments) were given"
    ),
    socket.gaierror(socket.EAI_NONAME, "Name or service not known"),
    OSError("Temporary failure in name resolution"),
]


@pytest.fixture(params=RESOLVER_ERRORS, ids=["aiodns-TypeError", "gaierror", "OSError"])
async def broken_session(request: pytest.FixtureRequest) -> AsyncIterator[aiohttp.ClientSession]:
    connector = aiohttp.TCPConnector(resolver=FailingResolver(request.param))
    async with aiohttp.ClientSession(connector=connector) as session:
        yield session


async def test_ha_client_maps_resolver_failures(broken_session: aiohttp.ClientSession) -> None:
    client = HomeAssistantClient(broken_session, "http://homeassistant.local:8123", "token")
    with pytest.raises(HomeAssistantConnectionError, match="name resolution failed"):
        await client.call_service("rotem_farm", "report_analysis", {})
    with pytest.raises(HomeAssistantConnectionError, match="name resolution failed"):
        await client.command("get_states")


async def test_influxdb_v1_reader_maps_resolver_failures(
    broken_session: aiohttp.ClientSession,
) -> None:
    reader = InfluxV1Reader(broken_session, InfluxV1Config(host="influxdb"))
    with pytest.raises(SourceUnavailableError, match="at http://influxdb:8086: name resolution"):
        await reader.read_points([TEMPERATURE], START, START + timedelta(hours=1))


async def test_a_name_that_does_not_resolve_is_a_connection_error() -> None:
    """Through the default resolver, whichever it is: a typed error naming the cause."""
    async with aiohttp.ClientSession() as session:
        client = HomeAssistantClient(session, "http://nonexistent-host.invalid:8123", "token")
        with pytest.raises(HomeAssistantConnectionError, match="name resolution failed"):
            await client.call_service("rotem_farm", "report_analysis", {})
        reader = InfluxV1Reader(session, InfluxV1Config(host="nonexistent-host.invalid"))
        with pytest.raises(SourceUnavailableError, match="name resolution failed"):
            await reader.read_points([TEMPERATURE], START, START + timedelta(hours=1))
    reader_v2 = InfluxV2Reader(
        InfluxV2Config(url="http://nonexistent-host.invalid:8086", token="t", org="o")
    )
    try:
        with pytest.raises(SourceUnavailableError, match="unreachable"):
            await reader_v2.read([TEMPERATURE], START, START + timedelta(hours=1))
    finally:
        await reader_v2.close()
