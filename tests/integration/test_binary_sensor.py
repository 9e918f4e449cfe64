"""Binary sensor platform: snapshot of every entity built from the real capture."""

from __future__ import annotations

from unittest.mock import MagicMock, patch

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.binary_sensor import BinarySensorDeviceClass
from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNAVAILABLE, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry
from syrupy.assertion import SnapshotAssertion

from custom_components.rotem_farm.const import DOMAIN
from custom_components.rotem_farm.rotemnet import (
    RotemApiError,
    RotemConnectionError,
    RotemNoFarmError,
)

from .conftest import entity_summary, poll, setup_entry, state_of


@pytest.mark.usefixtures("mock_client", "entity_registry_enabled_by_default")
async def test_binary_sensor_snapshot(
    hass: HomeAssistant,
    rotem_entry: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
) -> None:
    """The farm's cloud connection; alarm and connection per house of the captured farm."""
    rotem_entry.add_to_hass(hass)
    with patch("custom_components.rotem_farm.ROTEM_PLATFORMS", [Platform.BINARY_SENSOR]):
        assert await hass.config_entries.async_setup(rotem_entry.entry_id)
        await hass.async_block_till_done()
    assert entity_summary(hass, rotem_entry.entry_id, "binary_sensor") == snapshot


CLOUD = "binary_sensor.green_valley_cloud_connection"


@pytest.mark.parametrize(
    "error",
    [RotemConnectionError("down"), RotemNoFarmError("no farm selected"), RotemApiError("odd")],
)
async def test_cloud_connection_reports_the_outage(
    hass: HomeAssistant,
    rotem_entry: MockConfigEntry,
    mock_client: MagicMock,
    freezer: FrozenDateTimeFactory,
    error: Exception,
) -> None:
    """The farm's cloud connection goes off (not unavailable) while polls fail, then on again."""
    await setup_entry(hass, rotem_entry)
    entry = er.async_get(hass).async_get(CLOUD)
    assert entry is not None
    assert entry.unique_id == "GW-0001_cloud_connection"
    assert entry.original_device_class == BinarySensorDeviceClass.CONNECTIVITY
    device = dr.async_get(hass).async_get(entry.device_id or "")
    assert device is not None
    assert device.identifiers == {(DOMAIN, "GW-0001")}  # the farm device, not a house
    assert state_of(hass, CLOUD) == STATE_ON
    mock_client.get_site.side_effect = error
    await poll(hass, freezer)
    assert state_of(hass, CLOUD) == STATE_OFF
    assert state_of(hass, "binary_sensor.green_valley_house_1_alarm") == STATE_UNAVAILABLE
    await poll(hass, freezer)
    assert state_of(hass, CLOUD) == STATE_OFF
    mock_client.get_site.side_effect = None
    await poll(hass, freezer)
    assert state_of(hass, CLOUD) == STATE_ON
