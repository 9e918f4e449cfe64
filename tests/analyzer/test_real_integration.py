"""Discovery and publishing against the real rotem_farm integration in a test HA.

The integration is set up the way its own tests do it (captured six-house farm, RotemClient
mocked at its boundary); the analyzer then talks to HA over real loopback HTTP and websocket.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
from ml_analyzer.discovery import discover
from ml_analyzer.ha import HomeAssistantClient, HomeAssistantCommandError
from ml_analyzer.publisher import Publisher
from pytest_homeassistant_custom_component.common import MockConfigEntry

from tests.integration import conftest as integration

# The integration tests' fixtures: the captured farm and the RotemClient mocked at its boundary.
GATEWAY = integration.GATEWAY
farm_info = integration.farm_info
site = integration.site
mock_client = integration.mock_client
rotem_entry = integration.rotem_entry


def _entity_state(hass: HomeAssistant, platform: str, unique_id: str) -> str | None:
    entity_id = er.async_get(hass).async_get_entity_id(platform, "rotem_farm", unique_id)
    assert entity_id is not None, unique_id
    state = hass.states.get(entity_id)
    return None if state is None else state.state


@pytest.mark.usefixtures("enable_custom_integrations", "mock_client")
async def test_discovers_the_integration_houses_and_reports_to_them(
    hass: HomeAssistant,
    rotem_entry: MockConfigEntry,
    hass_client: Any,
    hass_access_token: str,
) -> None:
    for component in ("http", "api", "websocket_api", "config"):
        assert await async_setup_component(hass, component, {})
    rotem_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(rotem_entry.entry_id)
    await hass.async_block_till_done()
    client = await hass_client()

    async with aiohttp.ClientSession() as session:
        ha = HomeAssistantClient(session, f"http://{client.host}:{client.port}", hass_access_token)
        try:
            inventory = await discover(ha)
            assert list(inventory.farms()) == [GATEWAY]
            houses = inventory.farms()[GATEWAY]
            assert len(houses) == 6
            first = houses[0]
            assert first.key == f"{GATEWAY}_{first.house_number}"
            assert {"temperature", "set_temperature", "humidity"} <= set(first.signals)
            assert not {"anomaly", "anomaly_score", "failure_risk"} & set(first.signals)
            assert first.signals["temperature"].unit == "°C"

            publisher = Publisher(ha, interval_seconds=300, publish_every=3)
            report = {
                "device_id": first.device_id,
                "anomaly": True,
                "anomaly_score": 87.5,
                "failure_risk": 60.0,
                "subsystem": "heating",
                "explanation": "Temperature 2.8 °C below set point while 4 heaters run",
                "signal": "temperature",
            }
            # The integration's farm is loaded, so its houses are publishable.
            assert all(house.loaded for house in houses)
            # A device id that is not a house makes HA refuse the whole call (one call, 500,
            # nothing applied); the loop only sends discovered houses of loaded farms.
            bogus = {**report, "device_id": "not-a-house"}
            with pytest.raises(HomeAssistantCommandError) as refused:
                await publisher.publish({first.device_id: report, "not-a-house": bogus}, tick=1)
            assert refused.value.status == 500
            assert publisher.calls == 1
            accepted = await publisher.publish({first.device_id: report}, tick=1)
        finally:
            await ha.close()
    await hass.async_block_till_done()

    assert accepted == 1
    assert _entity_state(hass, "binary_sensor", f"{first.key}_anomaly") == "on"
    assert _entity_state(hass, "sensor", f"{first.key}_anomaly_score") == "87.5"
    assert _entity_state(hass, "sensor", f"{first.key}_failure_subsystem") == "heating"
    other = houses[1]
    assert _entity_state(hass, "binary_sensor", f"{other.key}_anomaly") == "unknown"
