"""Repair issues: an account with no farm selected is told so, and never asked for a password."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any
from unittest.mock import MagicMock

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import ATTR_UNIT_OF_MEASUREMENT, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.rotem_farm.const import CONF_FETCH_HISTORY, CONF_LINKS, DOMAIN
from custom_components.rotem_farm.rotemnet import RotemConnectionError, RotemNoFarmError

from .conftest import flows_in_progress, poll, setup_entry, state_of
from .test_manual import FARM_ID, manual_entry

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


# ---- a manual farm's linked entity deleted or renamed ------------------------------------------

MANUAL_ISSUE = "linked_entity_missing_hilltop_entry_1_temperature"


async def _manual_farm_following_a_probe(hass: HomeAssistant) -> MockConfigEntry:
    """A manual farm whose house 1 follows sensor.barn_probe (a registered entity)."""
    er.async_get(hass).async_get_or_create(
        "sensor", "zigbee", "probe-1", suggested_object_id="barn_probe"
    )
    hass.states.async_set("sensor.barn_probe", "21.5", {ATTR_UNIT_OF_MEASUREMENT: "°C"})
    entry = manual_entry(houses=1, links={"1": {"temperature": "sensor.barn_probe"}})
    await setup_entry(hass, entry)
    return entry


async def _fix(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, answer: dict[str, Any]
) -> dict[str, Any]:
    """Run the issue's fix flow through the repairs API, as the frontend does."""
    assert await async_setup_component(hass, "repairs", {})
    client = await hass_client()
    response = await client.post(
        "/api/repairs/issues/fix", json={"handler": DOMAIN, "issue_id": MANUAL_ISSUE}
    )
    assert response.status == HTTPStatus.OK
    form = await response.json()
    assert form["step_id"] == "relink"
    response = await client.post(f"/api/repairs/issues/fix/{form['flow_id']}", json=answer)
    assert response.status == HTTPStatus.OK
    result: dict[str, Any] = await response.json()
    await hass.async_block_till_done()
    return {"form": form, "result": result}


async def test_deleted_linked_entity_is_relinked_by_the_fix_flow(
    hass: HomeAssistant, hass_client: ClientSessionGenerator
) -> None:
    """Deleting the probe raises a fixable issue; picking another sensor relinks the house."""
    entry = await _manual_farm_following_a_probe(hass)
    assert ir.async_get(hass).async_get_issue(DOMAIN, MANUAL_ISSUE) is None
    er.async_get(hass).async_remove("sensor.barn_probe")
    await hass.async_block_till_done()
    issue = ir.async_get(hass).async_get_issue(DOMAIN, MANUAL_ISSUE)
    assert issue is not None
    assert issue.is_fixable
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["entity_id"] == "sensor.barn_probe"

    hass.states.async_set("sensor.new_probe", "22.0", {ATTR_UNIT_OF_MEASUREMENT: "°C"})
    fixed = await _fix(hass, hass_client, {"entity_id": "sensor.new_probe"})
    assert fixed["result"]["type"] == "create_entry"
    assert entry.options[CONF_LINKS] == {"1": {"temperature": "sensor.new_probe"}}
    assert ir.async_get(hass).async_get_issue(DOMAIN, MANUAL_ISSUE) is None
    temperature = er.async_get(hass).async_get_entity_id(
        "sensor", DOMAIN, f"{FARM_ID}_1_temperature"
    )
    assert temperature is not None
    assert state_of(hass, temperature) == "22.0"  # reloaded: follows the new probe


async def test_renamed_linked_entity_is_proposed_and_can_be_unlinked(
    hass: HomeAssistant, hass_client: ClientSessionGenerator
) -> None:
    """A rename proposes the new id; an empty answer removes the link altogether."""
    entry = await _manual_farm_following_a_probe(hass)
    er.async_get(hass).async_update_entity("sensor.barn_probe", new_entity_id="sensor.shed_probe")
    await hass.async_block_till_done()
    issue = ir.async_get(hass).async_get_issue(DOMAIN, MANUAL_ISSUE)
    assert issue is not None
    fixed = await _fix(hass, hass_client, {})
    schema = {field["name"]: field for field in fixed["form"]["data_schema"]}
    assert schema["entity_id"]["description"] == {"suggested_value": "sensor.shed_probe"}
    assert fixed["result"]["type"] == "create_entry"
    assert entry.options[CONF_LINKS] == {}
    assert ir.async_get(hass).async_get_issue(DOMAIN, MANUAL_ISSUE) is None


async def test_link_to_a_missing_entity_found_at_start(hass: HomeAssistant) -> None:
    """A link whose entity is gone while Home Assistant was off is found once it has started."""
    entry = manual_entry(houses=1, links={"1": {"temperature": "sensor.long_gone"}})
    await setup_entry(hass, entry)
    assert ir.async_get(hass).async_get_issue(DOMAIN, MANUAL_ISSUE) is not None
    await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    assert ir.async_get(hass).async_get_issue(DOMAIN, MANUAL_ISSUE) is None


async def test_fix_flow_of_a_removed_farm_aborts(
    hass: HomeAssistant, hass_client: ClientSessionGenerator
) -> None:
    """An issue whose farm vanished meanwhile cannot relink anything."""
    entry = manual_entry(houses=1, links={"1": {"temperature": "sensor.long_gone"}})
    await setup_entry(hass, entry)
    assert await async_setup_component(hass, "repairs", {})
    client = await hass_client()
    response = await client.post(
        "/api/repairs/issues/fix", json={"handler": DOMAIN, "issue_id": MANUAL_ISSUE}
    )
    form = await response.json()
    await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    response = await client.post(f"/api/repairs/issues/fix/{form['flow_id']}", json={})
    result = await response.json()
    assert result["type"] == "abort"
    assert result["reason"] == "farm_removed"
