"""Repair issues: an account with no farm selected is told so, and never asked for a password."""

from __future__ import annotations

from unittest.mock import MagicMock

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.rotem_farm.const import CONF_FETCH_HISTORY, DOMAIN
from custom_components.rotem_farm.rotemnet import RotemConnectionError, RotemNoFarmError

from .conftest import flows_in_progress, poll, setup_entry, state_of

ISSUE_ID = "no_farm_selected_01ROTEMENTRY"
TEMPERATURE_1 = "sensor.green_valley_house_1_temperature"


def _issue(hass: HomeAssistant) -> ir.IssueEntry | None:
    return ir.async_get(hass).async_get_issue(DOMAIN, ISSUE_ID)


async def test_no_farm_at_setup_raises_an_issue_not_reauth(
    hass: HomeAssistant, rotem_entry: MockConfigEntry, mock_client: MagicMock
) -> None:
    """The first request finds no farm: setup is retried, the issue says what to do."""
    mock_client.get_farm_info.side_effect = RotemNoFarmError("no farm selected")
    rotem_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(rotem_entry.entry_id)
    assert rotem_entry.state is ConfigEntryState.SETUP_RETRY
    assert flows_in_progress(hass) == []
    issue = _issue(hass)
    assert issue is not None
    assert issue.translation_key == "no_farm_selected"
    assert issue.severity is ir.IssueSeverity.ERROR
    assert not issue.is_fixable
    assert issue.translation_placeholders == {
        "farm": "Green Valley",
        "username": "farmer@example.com",
    }
    # The user selected the farm on RotemNetWeb: the next try works and the issue goes.
    mock_client.get_farm_info.side_effect = None
    assert await hass.config_entries.async_reload(rotem_entry.entry_id)
    await hass.async_block_till_done()
    assert rotem_entry.state.value == ConfigEntryState.LOADED.value
    assert _issue(hass) is None


async def test_no_farm_while_polling_and_after_another_failure(
    hass: HomeAssistant,
    rotem_entry: MockConfigEntry,
    mock_client: MagicMock,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Raised after an outage too (failure after failure); kept while the cloud is unreachable."""
    await setup_entry(hass, rotem_entry)
    mock_client.get_site.side_effect = RotemConnectionError("down")
    await poll(hass, freezer)
    assert _issue(hass) is None
    mock_client.get_site.side_effect = RotemNoFarmError("no farm selected")
    await poll(hass, freezer)
    assert _issue(hass) is not None
    assert flows_in_progress(hass) == []
    assert state_of(hass, TEMPERATURE_1) == STATE_UNAVAILABLE
    mock_client.get_site.side_effect = RotemConnectionError("down")
    await poll(hass, freezer)
    assert _issue(hass) is not None
    mock_client.get_site.side_effect = None
    await poll(hass, freezer)
    assert _issue(hass) is None
    assert state_of(hass, TEMPERATURE_1) == "30.0"


async def test_no_farm_in_history_requests(
    hass: HomeAssistant,
    rotem_entry: MockConfigEntry,
    mock_client: MagicMock,
) -> None:
    """A fresh login during the hourly history finding no farm is the same issue, not reauth."""
    mock_client.get_history.side_effect = RotemNoFarmError("no farm selected")
    rotem_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(rotem_entry, options={CONF_FETCH_HISTORY: True})
    await hass.config_entries.async_setup(rotem_entry.entry_id)
    await hass.async_block_till_done()
    assert rotem_entry.state is ConfigEntryState.SETUP_RETRY
    assert flows_in_progress(hass) == []
    assert _issue(hass) is not None


@pytest.mark.usefixtures("mock_client")
async def test_removing_the_farm_removes_its_issue(
    hass: HomeAssistant, rotem_entry: MockConfigEntry, mock_client: MagicMock
) -> None:
    """An issue about a farm that is gone would stay in Repairs for ever."""
    mock_client.get_farm_info.side_effect = RotemNoFarmError("no farm selected")
    rotem_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(rotem_entry.entry_id)
    assert _issue(hass) is not None
    await hass.config_entries.async_remove(rotem_entry.entry_id)
    await hass.async_block_till_done()
    assert _issue(hass) is None
