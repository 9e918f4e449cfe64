"""Diagnostics: the whole picture, with every secret and identifying field redacted."""

from __future__ import annotations

import json

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion

from custom_components.rotem_farm.diagnostics import async_get_config_entry_diagnostics

from .conftest import GATEWAY

SECRETS = ("s3cret", "farmer@example.com", GATEWAY, "Green Valley", "/Host6_V1/")


@pytest.mark.usefixtures("mock_client")
async def test_diagnostics(
    hass: HomeAssistant,
    rotem_entry: MockConfigEntry,
    snapshot: SnapshotAssertion,
    freezer: FrozenDateTimeFactory,
) -> None:
    """The snapshot holds the farm's data; no secret appears anywhere in it."""
    rotem_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(rotem_entry.entry_id)
    await hass.async_block_till_done()
    # Called directly for a time-frozen snapshot: the HTTP view adds Home Assistant's own
    # setup times, which freezegun's datetime cannot serialise (the view is tested below).
    freezer.move_to("2026-04-24T10:35:00+00:00")
    coordinator = rotem_entry.runtime_data.coordinator
    assert coordinator is not None
    await coordinator.async_refresh()
    result = await async_get_config_entry_diagnostics(hass, rotem_entry)
    text = json.dumps(result)
    for secret in SECRETS:
        assert secret not in text
    assert result["houses"]["1"]["average_temperature"] == 30.0
    assert result == snapshot


async def test_diagnostics_manual(hass: HomeAssistant, hass_client: ClientSessionGenerator) -> None:
    """A manual farm reports its houses' flock state."""
    entry = MockConfigEntry(
        domain="rotem_farm",
        title="Hilltop",
        unique_id="manual-id",
        data={"farm_kind": "manual", "houses": 2, "capacity": 1000},
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    result = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert result["kind"] == "manual"
    assert set(result["houses"]) == {"1", "2"}
    assert "Hilltop" not in json.dumps(result)


@pytest.mark.usefixtures("mock_client")
async def test_diagnostics_download(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, rotem_entry: MockConfigEntry
) -> None:
    """The download a user attaches to an issue carries no secret either."""
    rotem_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(rotem_entry.entry_id)
    await hass.async_block_till_done()
    result = await get_diagnostics_for_config_entry(hass, hass_client, rotem_entry)
    text = json.dumps(result)
    for secret in SECRETS:
        assert secret not in text
    assert result["kind"] == "rotem"
