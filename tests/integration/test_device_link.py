"""House devices hang under their farm device, on the link the running HA offers.

HA 2026.8 deprecates linking by the farm's identifier (``via_device``) for linking by its
registry id (``via_device_id``); 2025.4 knows only the identifier. Either way the registry must
end up with every house device pointing to the farm device.
"""

from __future__ import annotations

from unittest.mock import MagicMock

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.rotem_farm import entity
from custom_components.rotem_farm.analysis import AnalysisStore
from custom_components.rotem_farm.const import DOMAIN, FARM_KIND_MANUAL
from custom_components.rotem_farm.data import RotemFarmData
from custom_components.rotem_farm.entity import find_device, house_device_info

from .conftest import GATEWAY


def _assert_houses_under_farm(hass: HomeAssistant, entry: MockConfigEntry, farm_id: str) -> None:
    farm = find_device(hass, (DOMAIN, farm_id), entry.entry_id)
    assert farm is not None
    assert entry.runtime_data.farm_device_id == farm.id
    houses = [
        device
        for device in dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
        if device.id != farm.id
    ]
    assert houses
    assert {device.via_device_id for device in houses} == {farm.id}


async def test_rotem_houses_link_to_farm_device(
    hass: HomeAssistant, rotem_entry: MockConfigEntry, mock_client: MagicMock
) -> None:
    """A Rotem farm's six house devices point to the gateway device."""
    rotem_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(rotem_entry.entry_id)
    await hass.async_block_till_done()
    _assert_houses_under_farm(hass, rotem_entry, GATEWAY)
    assert await hass.config_entries.async_unload(rotem_entry.entry_id)


async def test_manual_houses_link_to_farm_device(hass: HomeAssistant) -> None:
    """A manual farm's house devices point to the farm device."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Hilltop",
        unique_id="manual-link",
        data={"farm_kind": "manual", "houses": 2},
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    _assert_houses_under_farm(hass, entry, "manual-link")
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


@pytest.mark.parametrize(
    ("supports_id", "farm_device_id", "expected"),
    [
        (True, "farm-device", {"via_device_id": "farm-device"}),
        (False, "farm-device", {"via_device": (DOMAIN, "farm")}),
        # Before the farm device exists there is no id to link to.
        (True, None, {"via_device": (DOMAIN, "farm")}),
    ],
)
async def test_house_device_info_link_follows_running_ha(
    hass: HomeAssistant,
    monkeypatch: pytest.MonkeyPatch,
    supports_id: bool,
    farm_device_id: str | None,
    expected: dict[str, object],
) -> None:
    """Exactly one link key: the registry id when HA takes it and it is known."""
    monkeypatch.setattr(entity, "VIA_DEVICE_ID", supports_id)
    entry = MockConfigEntry(domain=DOMAIN, unique_id="farm", data={"farm_kind": "manual"})
    data = RotemFarmData(
        farm_id="farm",
        kind=FARM_KIND_MANUAL,
        coordinator=None,
        manual=None,
        analysis=AnalysisStore(hass, entry),
        farm_device_id=farm_device_id,
    )
    entry.runtime_data = data
    for source in (data, entry):
        info = house_device_info(source, 2, "Farm House 2")
        link = {key: value for key, value in info.items() if key.startswith("via_device")}
        assert link == expected
        assert info["identifiers"] == {(DOMAIN, "farm_2")}
