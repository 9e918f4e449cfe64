"""Binary sensor platform: snapshot of every entity built from the real capture."""

from __future__ import annotations

from unittest.mock import patch

import pytest
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry
from syrupy.assertion import SnapshotAssertion

from .conftest import entity_summary


@pytest.mark.usefixtures("mock_client", "entity_registry_enabled_by_default")
async def test_binary_sensor_snapshot(
    hass: HomeAssistant,
    rotem_entry: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
) -> None:
    """Alarm and connection per house of the captured farm."""
    rotem_entry.add_to_hass(hass)
    with patch("custom_components.rotem_farm.ROTEM_PLATFORMS", [Platform.BINARY_SENSOR]):
        assert await hass.config_entries.async_setup(rotem_entry.entry_id)
        await hass.async_block_till_done()
    assert entity_summary(hass, rotem_entry.entry_id, "binary_sensor") == snapshot
