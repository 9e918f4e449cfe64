"""The optional detailed house data (each house's live page, RNBL CommandID 0).

Off by default; when on, fetched for every online house at most every 30 minutes, never on
every poll, and it feeds *Mortality today* and *Water/feed ratio*.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from unittest.mock import MagicMock

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import SOURCE_REAUTH
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.rotem_farm import coordinator as coordinator_module
from custom_components.rotem_farm.const import CONF_FETCH_DETAILS
from custom_components.rotem_farm.rotemnet import (
    ConnectionStatus,
    HouseDetails,
    Mortality,
    RotemApiError,
    RotemAuthError,
    SiteSnapshot,
)
from custom_components.rotem_farm.rotemnet.parsing import parse_house_details

from .conftest import capture, flows_in_progress, poll, setup_entry, state_of, with_house

DETAILS_ON = {CONF_FETCH_DETAILS: True}
MORTALITY_1 = "sensor.green_valley_house_1_mortality_today"
RATIO_1 = "sensor.green_valley_house_1_water_feed_ratio"
TEMPERATURE_1 = "sensor.green_valley_house_1_temperature"


def _details(house_number: int) -> HouseDetails:
    """A live page with counts: house N lost N + 2 birds today, 1.8N L of water per kg."""
    return HouseDetails(
        house_number=house_number,
        water_feed_ratio=1.8 * house_number,
        mortality=Mortality(
            male_mortality=house_number, female_mortality=1, male_cull=0, female_cull=1
        ),
    )


async def test_mortality_is_unknown_unless_both_sexes_are_counted(
    hass: HomeAssistant, rotem_entry: MockConfigEntry, mock_client: MagicMock
) -> None:
    """A count for one sex only is no house total; a kind not counted at all is named.

    House 1 counts dead birds of both sexes and no culls: its total says it holds mortality
    only. House 2 counts only male culls: unknown, not the male culls passed off as a total.
    """
    pages = {
        1: Mortality(male_mortality=2, female_mortality=3),
        2: Mortality(male_mortality=2, female_mortality=3, male_cull=1),
    }
    mock_client.get_house_details.side_effect = lambda number: HouseDetails(
        house_number=number, mortality=pages.get(number, Mortality())
    )
    await setup_entry(hass, rotem_entry, options=DETAILS_ON)
    house_1 = hass.states.get(MORTALITY_1)
    assert house_1 is not None
    assert house_1.state == "5"
    assert house_1.attributes["counted"] == ["mortality"]
    house_2 = hass.states.get("sensor.green_valley_house_2_mortality_today")
    assert house_2 is not None
    assert house_2.state == "unknown"
    assert house_2.attributes["counted"] == ["mortality"]
    house_3 = hass.states.get("sensor.green_valley_house_3_mortality_today")
    assert house_3 is not None
    assert house_3.state == "unknown"
    assert house_3.attributes["counted"] == []


async def test_details_off_by_default_then_every_30_minutes(
    hass: HomeAssistant,
    rotem_entry: MockConfigEntry,
    mock_client: MagicMock,
    freezer: FrozenDateTimeFactory,
) -> None:
    """No request and no entity without the option; with it, one page per house per 30 min."""
    mock_client.get_house_details.side_effect = _details
    await setup_entry(hass, rotem_entry)
    assert mock_client.get_house_details.await_count == 0
    assert hass.states.get(MORTALITY_1) is None
    assert await hass.config_entries.async_unload(rotem_entry.entry_id)

    await setup_entry(hass, rotem_entry, options=DETAILS_ON)
    assert mock_client.get_house_details.await_count == 6  # the six online houses
    assert state_of(hass, MORTALITY_1) == "3"  # dead and culled, both sexes
    assert state_of(hass, RATIO_1) == "1.8"
    assert state_of(hass, "sensor.green_valley_house_4_mortality_today") == "6"
    for _ in range(5):
        await poll(hass, freezer)
    assert mock_client.get_house_details.await_count == 6
    await poll(hass, freezer)
    assert mock_client.get_house_details.await_count == 12
    assert mock_client.get_site.await_count == 8  # setups and every poll: one request each


async def test_details_of_the_captured_house_are_unknown(
    hass: HomeAssistant, rotem_entry: MockConfigEntry, mock_client: MagicMock
) -> None:
    """The captured controller counts no mortality and shows N/A: unknown, never a made-up 0."""
    page = capture("RNBL_GetCommandData-cmd0-general.json")
    mock_client.get_house_details.side_effect = lambda number: parse_house_details(page, number)
    await setup_entry(hass, rotem_entry, options=DETAILS_ON)
    assert state_of(hass, MORTALITY_1) == "unknown"
    assert state_of(hass, RATIO_1) == "unknown"


async def test_details_errors_keep_the_last_page_and_refused_session_reauths(
    hass: HomeAssistant,
    rotem_entry: MockConfigEntry,
    mock_client: MagicMock,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A failed page leaves the value unknown, then the last good one; refusal asks reauth."""
    mock_client.get_house_details.side_effect = RotemApiError("no page")
    await setup_entry(hass, rotem_entry, options=DETAILS_ON)
    assert state_of(hass, MORTALITY_1) == "unknown"
    mock_client.get_house_details.side_effect = _details
    await poll(hass, freezer, minutes=30)
    assert state_of(hass, MORTALITY_1) == "3"
    mock_client.get_house_details.side_effect = RotemApiError("no page")
    await poll(hass, freezer, minutes=30)
    assert state_of(hass, MORTALITY_1) == "3"
    mock_client.get_house_details.side_effect = RotemAuthError("refused")
    await poll(hass, freezer, minutes=30)
    assert flows_in_progress(hass) == [SOURCE_REAUTH]


async def test_details_follow_the_house(
    hass: HomeAssistant,
    rotem_entry: MockConfigEntry,
    mock_client: MagicMock,
    site: SiteSnapshot,
    freezer: FrozenDateTimeFactory,
) -> None:
    """An off-line house is neither asked nor shown; a vanished house's page is dropped."""
    mock_client.get_house_details.side_effect = _details
    await setup_entry(hass, rotem_entry, options=DETAILS_ON)
    offline = replace(site.houses[1], connection_status=ConnectionStatus.DISCONNECTED)
    mock_client.get_site.return_value = with_house(site, offline)
    mock_client.get_house_details.reset_mock()
    await poll(hass, freezer, minutes=30)
    assert sorted(call.args[0] for call in mock_client.get_house_details.await_args_list) == [
        2,
        3,
        4,
        5,
        6,
    ]
    assert state_of(hass, MORTALITY_1) == STATE_UNAVAILABLE
    assert state_of(hass, "sensor.green_valley_house_2_mortality_today") == "4"
    mock_client.get_site.return_value = replace(
        site, houses={n: h for n, h in site.houses.items() if n != 6}
    )
    await poll(hass, freezer, minutes=30)
    details = rotem_entry.runtime_data.coordinator.data.details
    assert details is not None
    assert sorted(details) == [1, 2, 3, 4, 5]


async def _start(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Set the farm up with house pages on, without waiting for its background round."""
    entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(entry, options=DETAILS_ON)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()


async def test_site_values_are_shown_before_the_house_pages(
    hass: HomeAssistant,
    rotem_entry: MockConfigEntry,
    mock_client: MagicMock,
    freezer: FrozenDateTimeFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A slow cloud holds up the house pages, never the site values of a poll."""
    # The frozen clock jumps half an hour below: no time-out may end the round meanwhile.
    monkeypatch.setattr(coordinator_module, "SLOW_CALL_TIMEOUT", 1e9)
    monkeypatch.setattr(coordinator_module, "SLOW_ROUND_TIMEOUT", 1e9)
    gate = asyncio.Event()

    async def slow_page(number: int) -> HouseDetails:
        await gate.wait()
        return _details(number)

    mock_client.get_house_details.side_effect = slow_page
    await _start(hass, rotem_entry)
    assert state_of(hass, TEMPERATURE_1) == "30.0"
    assert state_of(hass, MORTALITY_1) == "unknown"
    assert mock_client.get_house_details.await_count == 1  # house 1's page, still coming

    # The next poll shows its values at once and starts no second round meanwhile.
    site = mock_client.get_site.return_value
    warmer = replace(site.houses[1], average_temperature=31.0)
    mock_client.get_site.return_value = with_house(site, warmer)
    freezer.tick(timedelta(minutes=30))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert state_of(hass, TEMPERATURE_1) == "31.0"
    assert mock_client.get_house_details.await_count == 1

    gate.set()
    await hass.async_block_till_done(wait_background_tasks=True)
    assert state_of(hass, MORTALITY_1) == "3"
    assert state_of(hass, "sensor.green_valley_house_6_mortality_today") == "8"
    assert state_of(hass, TEMPERATURE_1) == "31.0"


async def test_house_pages_are_bounded_in_time(
    hass: HomeAssistant,
    rotem_entry: MockConfigEntry,
    mock_client: MagicMock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A page that never comes is given up; after the round's time no page is asked."""
    monkeypatch.setattr(coordinator_module, "SLOW_CALL_TIMEOUT", 0.05)
    monkeypatch.setattr(coordinator_module, "SLOW_ROUND_TIMEOUT", 3600.0)
    never = asyncio.Event()

    async def house_1_hangs(number: int) -> HouseDetails:
        if number == 1:
            await never.wait()
        return _details(number)

    mock_client.get_house_details.side_effect = house_1_hangs
    await setup_entry(hass, rotem_entry, options=DETAILS_ON)
    assert state_of(hass, MORTALITY_1) == "unknown"
    assert state_of(hass, "sensor.green_valley_house_2_mortality_today") == "4"
    assert await hass.config_entries.async_unload(rotem_entry.entry_id)

    monkeypatch.setattr(coordinator_module, "SLOW_ROUND_TIMEOUT", 0.08)
    mock_client.get_house_details.reset_mock()

    async def every_page_hangs(number: int) -> HouseDetails:
        await never.wait()
        return _details(number)  # pragma: no cover - never reached

    mock_client.get_house_details.side_effect = every_page_hangs
    await setup_entry(hass, rotem_entry)
    # House 1 used its 0.05 s, house 2 the rest of the round; houses 3-6 wait a round.
    assert mock_client.get_house_details.await_count == 2
    assert state_of(hass, TEMPERATURE_1) == "30.0"


async def test_unload_cancels_the_house_pages(
    hass: HomeAssistant,
    rotem_entry: MockConfigEntry,
    mock_client: MagicMock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Unloading the farm ends a round that is waiting for the cloud, at once."""
    cancelled = asyncio.Event()

    async def hangs(number: int) -> HouseDetails:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return _details(number)  # pragma: no cover - never reached

    mock_client.get_house_details.side_effect = hangs
    await _start(hass, rotem_entry)
    assert mock_client.get_house_details.await_count == 1
    assert await hass.config_entries.async_unload(rotem_entry.entry_id)
    assert cancelled.is_set()
    assert "did not complete in time" not in caplog.text
