"""The real RotemNetWeb client against the simulator, over loopback sockets.

Every endpoint, both login styles, and the cloud's bad days: expired sessions, refused logins,
outages (503 pages and hanging requests), slow and malformed answers, byte order marks.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from custom_components.rotem_farm.rotemnet import (
    ConnectionStatus,
    HistoryKind,
    RotemAuthError,
    RotemClient,
    RotemConnectionError,
    RotemNoFarmError,
    RotemParseError,
    RotemRateLimitError,
)
from simulator.scenario import FarmOptions, Scenario
from simulator.server import Simulation, SimulatorServer
from tests.support.secrets import SecretScan

START = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)


@pytest.fixture
def simulation() -> Simulation:
    """Two farms of four houses; farm 2 reports imperial units."""
    scenario = Scenario(farms=2, houses=4, seed=21, farm_options={2: FarmOptions(units="imperial")})
    return Simulation(scenario, start=START)


@pytest.fixture
async def sim(simulation: Simulation, socket_enabled: None) -> AsyncIterator[SimulatorServer]:
    """The simulator on a free loopback port."""
    async with SimulatorServer(simulation) as server:
        yield server


@pytest.fixture
async def http(socket_enabled: None) -> AsyncIterator[aiohttp.ClientSession]:
    """A default aiohttp session, as Home Assistant would inject."""
    async with aiohttp.ClientSession() as session:
        yield session


def _client(
    http: aiohttp.ClientSession, sim: SimulatorServer, user: str = "farm1", **options: Any
) -> RotemClient:
    options.setdefault("retry_delays", ())
    return RotemClient(
        http, user, options.pop("password", "demo"), base_url=sim.base_url, **options
    )


def _truth(sim: SimulatorServer, farm: int, house: int) -> dict[str, Any]:
    house_truth: dict[str, Any] = sim.simulation.truth()["farms"][farm - 1]["houses"][house - 1]
    return house_truth


@pytest.mark.parametrize("api_style", ["legacy", "api"])
async def test_every_endpoint_parses_and_matches_the_truth(
    sim: SimulatorServer, http: aiohttp.ClientSession, api_style: str
) -> None:
    client = _client(http, sim, api_style=api_style)
    login = await client.login()
    farm = sim.simulation.farms[0]
    assert login.gateway_code == farm.gateway
    assert client.gateway_code == farm.gateway
    assert login.web_server_url == sim.base_url + "Host1_V1/"

    info = await client.get_farm_info()
    assert info.gateway_code == farm.gateway
    assert info.units.temperature == "°C"
    assert info.units.volume == "L"
    assert set(info.houses_to_scan) == {1, 2, 3, 4}

    site = await client.get_site()
    assert sorted(site.houses) == [1, 2, 3, 4]
    for number, house in site.houses.items():
        truth = _truth(sim, 1, number)["values"]
        assert house.online
        assert house.average_temperature == pytest.approx(truth["temperature"], abs=0.051)
        assert house.set_temperature == pytest.approx(truth["set_temperature"], abs=0.051)
        assert house.outside_temperature == pytest.approx(truth["outside_temperature"], abs=0.051)
        assert house.humidity == pytest.approx(truth["humidity"], abs=0.51)
        assert house.static_pressure == pytest.approx(truth["static_pressure"], abs=0.51)
        assert house.air_flow == pytest.approx(truth["air_flow"], abs=0.51)
        assert house.water_daily == pytest.approx(truth["water_daily"], abs=0.51)
        assert house.feed_daily == pytest.approx(truth["feed_daily"], abs=0.51)
        assert house.bird_count == truth["bird_count"]
        assert house.growth_day == truth["growth_day"]
        assert house.heaters is not None
        assert house.heaters.running == truth["heaters_running"]
        assert len(house.probe_temperatures) == 9  # 8 inside + the outside probe

    details = await client.get_house_details(2)
    truth = _truth(sim, 1, 2)["values"]
    assert details.house_number == 2
    assert details.average_temperature == pytest.approx(truth["temperature"], abs=0.006)
    assert details.heaters is not None
    assert details.heaters.installed == farm.houses[1].heaters
    assert len(details.temperature_24h) == 24

    for kind in HistoryKind:
        history = await client.get_history(3, kind)
        assert history.kind is kind
        assert history.rows[0].growth_day == -1
        assert history.rows[-1].partial
        assert history.rows[-1].growth_day == _truth(sim, 1, 3)["values"]["growth_day"]
    water = await client.get_history(3, HistoryKind.WATER)
    assert water.completed[-1].values["TotalDrink"] is not None
    assert water.completed[-1].values["TotalDrink"] > 0

    status = sim.simulation.status()
    assert status["logins"] == 1
    assert client.stats.logins == 1


async def test_steady_state_poll_is_one_request_and_no_login(
    sim: SimulatorServer, http: aiohttp.ClientSession
) -> None:
    client = _client(http, sim)
    await client.get_site()
    before = client.stats
    for _ in range(5):
        await client.get_site()
    after = client.stats
    assert after.requests - before.requests == 5
    assert after.logins == before.logins == 1
    assert sim.simulation.counters.requests["GetSiteControllersInfo"] == 6
    assert sim.simulation.counters.logins == 1


async def test_expired_session_means_exactly_one_relogin(
    sim: SimulatorServer, http: aiohttp.ClientSession
) -> None:
    client = _client(http, sim)
    await client.get_site()
    sim.simulation.add_fault({"kind": "session_expired"})
    site = await client.get_site()
    assert len(site.houses) == 4
    assert client.stats.logins == 2
    assert sim.simulation.counters.requests["Login"] == 2
    assert sim.simulation.counters.requests["GetSiteControllersInfo"] == 3
    await client.get_site()
    assert client.stats.logins == 2


async def test_wrong_password_is_an_auth_error_without_the_password(
    sim: SimulatorServer, http: aiohttp.ClientSession, secret_scan: SecretScan
) -> None:
    secret_scan.add_secrets("s3cret-Wrong")
    client = _client(http, sim, password="s3cret-Wrong")
    with secret_scan.raises(RotemAuthError) as caught:
        await client.login()
    assert "s3cret-Wrong" not in str(caught.value)
    sim.simulation.add_fault({"kind": "wrong_password", "farm": 1, "duration": "1h"})
    with secret_scan.raises(RotemAuthError):
        await _client(http, sim).get_site()
    assert sim.simulation.counters.logins == 0


async def test_outage_is_a_connection_error(
    sim: SimulatorServer, http: aiohttp.ClientSession
) -> None:
    client = _client(http, sim, retry_delays=(0.01, 0.01))
    await client.get_site()
    sim.simulation.add_fault({"kind": "cloud_outage", "duration": "1h"})
    with pytest.raises(RotemConnectionError):
        await client.get_site()
    assert sim.simulation.counters.requests["GetSiteControllersInfo"] == 4, "1 + 1 + 2 retries"
    sim.simulation.faults.clear()
    assert len((await client.get_site()).houses) == 4


async def test_throttling_with_retry_after_is_a_rate_limit_error(
    sim: SimulatorServer, http: aiohttp.ClientSession
) -> None:
    client = _client(http, sim, retry_delays=(0.01,), max_retry_after=0.01)
    await client.login()
    sim.simulation.add_fault({"kind": "cloud_outage", "params": {"status": 429, "retry_after": 7}})
    with pytest.raises(RotemRateLimitError) as caught:
        await client.get_site()
    assert caught.value.retry_after == 7.0
    assert sim.simulation.counters.requests["GetSiteControllersInfo"] == 2, "one retry"


async def test_account_without_farm_is_a_no_farm_error(
    sim: SimulatorServer, http: aiohttp.ClientSession
) -> None:
    sim.simulation.add_fault({"kind": "no_farm", "farm": 1})
    with pytest.raises(RotemNoFarmError):
        await _client(http, sim).login()
    assert sim.simulation.sessions == {}


async def test_hanging_requests_and_slow_answers_time_out(
    sim: SimulatorServer, http: aiohttp.ClientSession
) -> None:
    client = _client(http, sim, request_timeout=1.0)
    await client.login()
    sim.simulation.add_fault({"kind": "slow_answers", "params": {"delay_seconds": 3}})
    with pytest.raises(RotemConnectionError):
        await client.get_site()
    sim.simulation.faults.clear()
    sim.simulation.add_fault(
        {"kind": "cloud_outage", "params": {"mode": "timeout", "hold_seconds": 2}}
    )
    with pytest.raises(RotemConnectionError):
        await client.get_site()
    sim.simulation.faults.clear()
    sim.simulation.add_fault({"kind": "slow_answers", "params": {"delay_seconds": 0.05}})
    assert len((await client.get_site()).houses) == 4


async def test_malformed_answer_is_a_parse_error_and_bom_parses(
    sim: SimulatorServer, http: aiohttp.ClientSession
) -> None:
    client = _client(http, sim)
    await client.login()
    sim.simulation.add_fault({"kind": "malformed_json", "params": {"count": 1}})
    with pytest.raises(RotemParseError):
        await client.get_site()
    sim.simulation.faults.clear()
    sim.simulation.add_fault({"kind": "bom"})
    site = await client.get_site()
    assert len(site.houses) == 4
    details = await client.get_house_details(1)
    assert details.average_temperature is not None


async def test_offline_controller_is_reported_offline(
    sim: SimulatorServer, http: aiohttp.ClientSession
) -> None:
    sim.simulation.add_fault({"kind": "controller_offline", "farm": 1, "house": 2})
    site = await _client(http, sim).get_site()
    assert site.houses[2].connection_status is ConnectionStatus.DISCONNECTED
    assert not site.houses[2].online
    assert site.houses[1].online


async def test_imperial_farm_units_and_values(
    sim: SimulatorServer, http: aiohttp.ClientSession
) -> None:
    client = _client(http, sim, user="farm2")
    info = await client.get_farm_info()
    assert info.units.temperature == "°F"
    assert info.units.weight == "lb"
    assert info.units.air_flow == "ft³/min"
    assert info.units.volume == "gal"
    site = await client.get_site()
    truth = _truth(sim, 2, 1)["values"]
    assert site.houses[1].set_temperature == pytest.approx(truth["set_temperature"], abs=0.051)
    assert site.houses[1].set_temperature is not None
    assert site.houses[1].set_temperature > 60.0


async def test_faults_in_time_show_in_the_clients_values(
    socket_enabled: None, http: aiohttp.ClientSession
) -> None:
    """A heater failure four simulated hours in: the client sees the house fall and the siren."""
    scenario = Scenario(farms=1, houses=3, seed=1, farm_options={1: FarmOptions(climate_mean=4.0)})
    simulation = Simulation(scenario, start=START, speed=0.0)
    simulation.add_fault({"kind": "heater_failure", "farm": 1, "house": 3, "at": "0s"})
    simulation.advance(timedelta(hours=4))
    async with SimulatorServer(simulation) as server:
        site = await _client(http, server).get_site()
    broken, healthy = site.houses[3], site.houses[1]
    assert broken.average_temperature is not None
    assert broken.set_temperature is not None
    assert broken.average_temperature < broken.set_temperature - 3.0
    assert broken.alarm is True
    assert broken.heaters is not None
    assert broken.heaters.running == 8
    assert healthy.alarm is False
