"""Discovery and publishing against a real Home Assistant HTTP/websocket server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
from ml_analyzer.discovery import discover
from ml_analyzer.ha import HomeAssistantAuthError, HomeAssistantClient, HomeAssistantCommandError
from ml_analyzer.publisher import Publisher

from tests.analyzer.ha_fixtures import setup_fake_farm


@pytest.fixture
async def ha_url(hass: HomeAssistant, hass_client: Any) -> str:
    """HA's HTTP app served on a real loopback port, with API, websocket and config commands."""
    for component in ("http", "api", "websocket_api", "config"):
        assert await async_setup_component(hass, component, {})
    client = await hass_client()
    return f"http://{client.host}:{client.port}"


@pytest.fixture
async def ha(ha_url: str, hass_access_token: str) -> AsyncIterator[HomeAssistantClient]:
    async with aiohttp.ClientSession() as session:
        client = HomeAssistantClient(session, ha_url, hass_access_token)
        yield client
        await client.close()


async def test_discovers_houses_roles_and_units(
    hass: HomeAssistant, ha: HomeAssistantClient
) -> None:
    farm = await setup_fake_farm(hass)
    farm.add_house(1)
    farm.add_house(2)
    disabled = er.async_get(hass).async_get_or_create(
        "sensor",
        "rotem_farm",
        "GW1_1_probe_temperature_3",
        device_id=farm.house_devices[1],
        config_entry=farm.entry,
        disabled_by=er.RegistryEntryDisabler.INTEGRATION,
    )
    assert disabled.disabled

    inventory = await discover(ha)

    assert sorted(inventory.houses) == ["GW1_1", "GW1_2"]  # the farm device is not a house
    house = inventory.houses["GW1_1"]
    assert house.farm_id == "GW1"
    assert house.house_number == 1
    assert house.device_id == farm.house_devices[1]
    # Inputs by role; the analyzer's own output (anomaly_score) and disabled entities are not.
    assert set(house.signals) == {
        "temperature",
        "set_temperature",
        "outside_temperature",
        "humidity",
        "heaters_running",
        "water_daily",
    }
    assert house.signals["temperature"].entity_id == "sensor.gw1_house_1_temperature"
    assert house.signals["temperature"].unit == "°C"
    assert house.signals["heaters_running"].unit is None
    assert list(inventory.farms()) == ["GW1"]
    assert house.loaded


async def test_houses_of_a_farm_not_loaded_are_not_publishable(
    hass: HomeAssistant, ha: HomeAssistantClient
) -> None:
    from homeassistant.config_entries import ConfigEntryState

    loaded, failing = await setup_fake_farm(hass), await setup_fake_farm(hass, "GW2")
    loaded.add_house(1)
    failing.add_house(1)
    failing.entry.mock_state(hass, ConfigEntryState.SETUP_RETRY)

    inventory = await discover(ha)

    assert inventory.houses["GW1_1"].loaded
    assert not inventory.houses["GW2_1"].loaded


async def test_new_house_is_found_without_restart(
    hass: HomeAssistant, ha: HomeAssistantClient
) -> None:
    farm = await setup_fake_farm(hass)
    farm.add_house(1)
    assert list((await discover(ha)).houses) == ["GW1_1"]
    farm.add_house(3)
    assert sorted((await discover(ha)).houses) == ["GW1_1", "GW1_3"]


def _report(device_id: str, score: float = 87.5) -> dict[str, Any]:
    return {
        "device_id": device_id,
        "anomaly": True,
        "anomaly_score": score,
        "failure_risk": 60.0,
        "subsystem": "heating",
        "explanation": "Temperature 2.8 °C below set point while 4 heaters run",
    }


async def test_publishes_batch_then_only_changes_and_keepalive(
    hass: HomeAssistant, ha: HomeAssistantClient
) -> None:
    farm = await setup_fake_farm(hass)
    house_1, house_2 = farm.add_house(1), farm.add_house(2)
    publisher = Publisher(ha, interval_seconds=300, publish_every=3)
    reports = {house_1: _report(house_1), house_2: _report(house_2)}

    assert await publisher.publish(reports, tick=1) == 2
    assert len(farm.reports) == 1
    assert farm.reports[0]["interval"] == 900
    assert [r["device_id"] for r in farm.reports[0]["reports"]] == [house_1, house_2]

    # Unchanged (and a change below one point) → nothing sent; a real change → that house only.
    assert (
        await publisher.publish({house_1: _report(house_1, 87.9), house_2: _report(house_2)}, 2)
        == 0
    )
    assert (
        await publisher.publish({house_1: _report(house_1, 40.0), house_2: _report(house_2)}, 3)
        == 1
    )
    assert [r["device_id"] for r in farm.reports[-1]["reports"]] == [house_1]
    # Keep-alive after publish_every intervals.
    assert (
        await publisher.publish({house_1: _report(house_1, 40.0), house_2: _report(house_2)}, 4)
        == 1
    )
    assert [r["device_id"] for r in farm.reports[-1]["reports"]] == [house_2]


async def test_a_refused_call_is_one_call_and_nothing_counts_as_sent(
    hass: HomeAssistant, ha: HomeAssistantClient
) -> None:
    farm = await setup_fake_farm(hass)
    house_1 = farm.add_house(1)
    publisher = Publisher(ha, interval_seconds=300, publish_every=3)
    reports = {house_1: _report(house_1), "nope": _report("nope")}

    with pytest.raises(HomeAssistantCommandError) as refused:
        await publisher.publish(reports, 1)

    assert refused.value.status == 500
    assert publisher.calls == 1
    assert farm.reports == []
    # Not marked sent: the next call carries the house again (the loop drops unknown devices).
    assert await publisher.publish({house_1: _report(house_1)}, 1) == 1
    assert publisher.calls == 2


async def test_bad_token_is_an_auth_error(ha_url: str) -> None:
    async with aiohttp.ClientSession() as session:
        client = HomeAssistantClient(session, ha_url, "not-a-token")
        with pytest.raises(HomeAssistantAuthError) as caught:
            await client.command("get_states")
        assert "not-a-token" not in str(caught.value)
        with pytest.raises(HomeAssistantAuthError):
            await client.call_service("rotem_farm", "report_analysis", {"reports": []})
