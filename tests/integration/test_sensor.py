"""Sensor platform: snapshot of every entity built from the real capture, units, availability."""

from __future__ import annotations

from dataclasses import replace
from unittest.mock import MagicMock, patch

import pytest
from homeassistant.const import STATE_UNKNOWN, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
)
from syrupy.assertion import SnapshotAssertion

from custom_components.rotem_farm.rotemnet import HouseMode, SiteSnapshot

from .conftest import entity_summary, with_house

pytestmark = pytest.mark.usefixtures("mock_client")


async def _setup(hass: HomeAssistant, entry: MockConfigEntry, platforms: list[Platform]) -> None:
    entry.add_to_hass(hass)
    with patch("custom_components.rotem_farm.ROTEM_PLATFORMS", platforms):
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
@pytest.mark.freeze_time("2026-04-24T10:35:00+00:00")
async def test_sensor_snapshot(
    hass: HomeAssistant,
    rotem_entry: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
) -> None:
    """Every sensor of the captured farm, with its unit, class and value."""
    await _setup(hass, rotem_entry, [Platform.SENSOR])
    assert entity_summary(hass, rotem_entry.entry_id, "sensor") == snapshot


async def test_house_mode_is_the_controller_mode_or_unknown(
    hass: HomeAssistant,
    rotem_entry: MockConfigEntry,
    mock_client: MagicMock,
    site: SiteSnapshot,
) -> None:
    """Each house shows its HouseMode; a house whose controller sends none (or a code the
    client does not know, parsed as None) is unknown, never a made-up "full house"."""
    empty = replace(site.houses[1], house_mode=HouseMode.EMPTY_HOUSE)
    silent = replace(site.houses[2], house_mode=None)
    mock_client.get_site.return_value = with_house(with_house(site, empty), silent)
    await _setup(hass, rotem_entry, [Platform.SENSOR])
    first = hass.states.get("sensor.green_valley_house_1_house_mode")
    second = hass.states.get("sensor.green_valley_house_2_house_mode")
    assert first is not None
    assert second is not None
    assert first.state == "empty_house"
    assert first.attributes["options"] == [mode.name.lower() for mode in HouseMode]
    assert second.state == STATE_UNKNOWN
