"""Sensor platform: snapshot of every entity built from the real capture, units, availability."""

from __future__ import annotations

from unittest.mock import patch

import pytest
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
)
from syrupy.assertion import SnapshotAssertion

from .conftest import entity_summary

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
