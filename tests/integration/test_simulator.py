"""The integration set up through its config flow against the simulator, over real sockets.

Nothing is mocked: the real client logs in to the in-process simulator on a free loopback port,
and the entity states must match what the simulator says it reports (``/_sim/truth``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest.mock import patch

import aiohttp
import pytest
from homeassistant.config_entries import SOURCE_USER, ConfigEntry
from homeassistant.const import STATE_ON, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.aiohttp_client import (
    async_create_clientsession,
    async_get_clientsession,
)

from custom_components.rotem_farm import config_flow
from custom_components.rotem_farm.const import (
    CONF_FETCH_DETAILS,
    CONF_FETCH_HISTORY,
    CONF_TARGET_AGE,
    DOMAIN,
)
from custom_components.rotem_farm.rotemnet import RotemClient
from simulator.report import house_report
from simulator.scenario import Scenario
from simulator.server import Simulation, SimulatorServer

from .conftest import state_of

START = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)


@pytest.fixture
async def simulator(socket_enabled: None) -> AsyncIterator[SimulatorServer]:
    """One farm of three houses, its clock stopped so truth and poll see the same moment."""
    simulation = Simulation(Scenario(farms=1, houses=3, seed=5), start=START, speed=0)
    async with SimulatorServer(simulation) as server:
        yield server


async def _truth(server: SimulatorServer) -> dict[str, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{server.base_url}_sim/truth") as response,
    ):
        truth: dict[str, Any] = await response.json()
    return truth


async def _add_farm(hass: HomeAssistant, server: SimulatorServer) -> ConfigEntry[Any]:
    """Add farm 1 of the simulator through the config flow, as a user would."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "rotem"}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            "username": "farm1",
            "password": "demo",
            "advanced": {"base_url": server.base_url, "api_style": "legacy"},
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    entry: ConfigEntry[Any] = result["result"]
    return entry


async def test_house_missing_from_one_answer_keeps_its_device(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    """One partial answer of the cloud: house 2 is unavailable, not deleted, then back."""
    entry = await _add_farm(hass, simulator)
    coordinator = entry.runtime_data.coordinator
    gateway = entry.unique_id
    entity_id = er.async_get(hass).async_get_entity_id("sensor", DOMAIN, f"{gateway}_2_temperature")
    assert entity_id is not None
    simulator.simulation.add_fault({"kind": "house_missing", "house": 2, "params": {"count": 1}})
    await coordinator.async_refresh()
    await hass.async_block_till_done()
    assert state_of(hass, entity_id) == STATE_UNAVAILABLE
    assert dr.async_get(hass).async_get_device({(DOMAIN, f"{gateway}_2")}) is not None
    assert er.async_get(hass).async_get(entity_id) is not None

    simulator.simulation.advance(timedelta(minutes=5))
    await coordinator.async_refresh()
    await hass.async_block_till_done()
    truth = (await _truth(simulator))["farms"][0]["houses"][1]["values"]
    assert float(state_of(hass, entity_id)) == pytest.approx(truth["temperature"], abs=0.051)


async def test_unit_change_is_read_in_the_new_unit_at_once(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    """The account switches to imperial: the next poll shows °F readings as °F, not as °C."""
    entry = await _add_farm(hass, simulator)
    coordinator = entry.runtime_data.coordinator
    entity_id = er.async_get(hass).async_get_entity_id(
        "sensor", DOMAIN, f"{entry.unique_id}_1_temperature"
    )
    assert entity_id is not None
    simulator.simulation.add_fault({"kind": "unit_change", "params": {"units": "imperial"}})
    simulator.simulation.advance(timedelta(minutes=5))
    await coordinator.async_refresh()
    await hass.async_block_till_done()
    truth = await _truth(simulator)
    assert truth["farms"][0]["units"] == "imperial"
    fahrenheit = truth["farms"][0]["houses"][0]["values"]["temperature"]
    assert coordinator.data.farm_info.units.temperature == "°F"
    # Home Assistant shows the °F reading in the system's °C.
    celsius = (fahrenheit - 32) / 1.8
    assert float(state_of(hass, entity_id)) == pytest.approx(celsius, abs=0.1)


async def test_entities_match_simulator_truth(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    """Config flow login, first poll, and each house's values as the simulator reports them."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "rotem"}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            "username": "farm1",
            "password": "demo",
            "advanced": {"base_url": simulator.base_url, "api_style": "legacy"},
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    entry = result["result"]
    await hass.async_block_till_done()
    farm = (await _truth(simulator))["farms"][0]
    assert entry.unique_id == farm["gateway"]
    registry = er.async_get(hass)

    def state(platform: str, house: int | None, key: str) -> str:
        """The state of the entity whose unique id follows CONTRACTS.md §3."""
        suffix = key if house is None else f"{house}_{key}"
        entity_id = registry.async_get_entity_id(platform, DOMAIN, f"{farm['gateway']}_{suffix}")
        assert entity_id is not None, suffix
        return state_of(hass, entity_id)

    for house in farm["houses"]:
        values, number = house["values"], house["house"]
        assert float(state("sensor", number, "temperature")) == pytest.approx(
            values["temperature"], abs=0.051
        )
        assert float(state("sensor", number, "humidity")) == pytest.approx(
            values["humidity"], abs=0.51
        )
        assert float(state("sensor", number, "water_daily")) == pytest.approx(
            values["water_daily"], abs=0.51
        )
        assert float(state("sensor", number, "growth_day")) == values["growth_day"]
        assert float(state("sensor", number, "heaters_running")) == values["heaters_running"]
        assert state("binary_sensor", number, "connection") == STATE_ON
    total = sum(house["values"]["water_daily"] for house in farm["houses"])
    assert float(state("sensor", None, "water_daily")) == pytest.approx(total, abs=2)

    # Detailed house data: each house's live page, over the same sockets.
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            CONF_FETCH_HISTORY: False,
            CONF_FETCH_DETAILS: True,
            CONF_TARGET_AGE: 42,
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    # Saving the options reloads the farm; the house pages follow the first poll.
    await hass.async_block_till_done(wait_background_tasks=True)
    model = simulator.simulation.farms[0]
    for house in farm["houses"]:
        values, number = house["values"], house["house"]
        yesterday = house_report(model, model.houses[number - 1], START - timedelta(days=1), [])
        dead = yesterday.values["bird_count"] - values["bird_count"]
        assert dead > 0, "every house of this farm has a flock past its first day"
        assert float(state("sensor", number, "mortality_today")) == dead
        assert float(state("sensor", number, "water_feed_ratio")) == pytest.approx(
            values["water_daily"] / values["feed_daily"], abs=0.011
        )
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


async def test_sign_in_check_uses_a_session_of_its_own(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    """The flow's sign-in runs in a session of its own, dropped after the check.

    Home Assistant's shared session (used by every integration) must not pick up the service's
    session cookie, so the real client must never be handed that session. (The cookie itself
    cannot be watched here: aiohttp's jar ignores cookies of IP hosts, and a host name would
    need Home Assistant's DNS resolver, which this test environment cannot run.)
    """
    created: list[aiohttp.ClientSession] = []
    used: list[aiohttp.ClientSession] = []
    create, client_class = async_create_clientsession, RotemClient

    def session_spy(*args: Any, **kwargs: Any) -> aiohttp.ClientSession:
        session = create(*args, **kwargs)
        created.append(session)
        return session

    def client_spy(session: aiohttp.ClientSession, *args: Any, **kwargs: Any) -> Any:
        used.append(session)
        return client_class(session, *args, **kwargs)

    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "rotem"}
    )
    with (
        patch.object(config_flow, "async_create_clientsession", session_spy),
        patch.object(config_flow, "RotemClient", client_spy),
    ):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"],
            {
                "username": "farm1",
                "password": "demo",
                "advanced": {"base_url": simulator.base_url, "api_style": "legacy"},
            },
        )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] != f"Rotem farm {result['result'].unique_id}"  # farm info was read
    assert used == created
    assert len(created) == 1
    assert created[0] is not async_get_clientsession(hass)
    assert created[0].closed
    await hass.async_block_till_done()
    assert await hass.config_entries.async_unload(result["result"].entry_id)
    await hass.async_block_till_done()
