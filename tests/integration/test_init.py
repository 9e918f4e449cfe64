"""Setup, unload, reload, error mapping, off-line houses, dynamic and stale devices."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any
from unittest.mock import MagicMock

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.const import STATE_ON, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.rotem_farm.const import CONF_FETCH_HISTORY, DOMAIN
from custom_components.rotem_farm.entity import find_device
from custom_components.rotem_farm.rotemnet import (
    FarmInfo,
    History,
    HistoryKind,
    HistoryRow,
    RotemApiError,
    RotemAuthError,
    RotemConnectionError,
    RotemParseError,
    SiteSnapshot,
)

from .conftest import GATEWAY, flows_in_progress, poll, setup_entry, state_of, with_house

TEMPERATURE_1 = "sensor.green_valley_house_1_temperature"
CONNECTION_1 = "binary_sensor.green_valley_house_1_controller_connection"


def _without_house(site: SiteSnapshot, number: int) -> SiteSnapshot:
    return replace(site, houses={n: h for n, h in site.houses.items() if n != number})


async def test_setup_and_unload(
    hass: HomeAssistant, rotem_entry: MockConfigEntry, mock_client: MagicMock
) -> None:
    """Setup polls once (farm facts + site), creates devices; unload leaves nothing loaded."""
    await setup_entry(hass, rotem_entry)
    assert rotem_entry.state is ConfigEntryState.LOADED
    assert mock_client.get_farm_info.await_count == 1
    assert mock_client.get_site.await_count == 1
    assert state_of(hass, TEMPERATURE_1) == "30.0"
    devices = dr.async_entries_for_config_entry(dr.async_get(hass), rotem_entry.entry_id)
    assert len(devices) == 7  # the farm and six houses
    farm = find_device(hass, (DOMAIN, GATEWAY), rotem_entry.entry_id)
    assert farm is not None
    assert farm.sw_version == "4.6.0.37"
    assert await hass.config_entries.async_unload(rotem_entry.entry_id)
    assert rotem_entry.state.recoverable is True
    assert rotem_entry.state.value == ConfigEntryState.NOT_LOADED.value


@pytest.mark.parametrize(
    "error",
    [RotemConnectionError("down"), RotemApiError("no"), RotemParseError("bad")],
)
async def test_first_refresh_failure_retries(
    hass: HomeAssistant, rotem_entry: MockConfigEntry, mock_client: MagicMock, error: Exception
) -> None:
    """An unreachable cloud at startup means "retry later", not a broken entry."""
    mock_client.get_site.side_effect = error
    rotem_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(rotem_entry.entry_id)
    assert rotem_entry.state is ConfigEntryState.SETUP_RETRY


async def test_setup_farm_info_failure_retries(
    hass: HomeAssistant, rotem_entry: MockConfigEntry, mock_client: MagicMock
) -> None:
    """Farm facts are needed once before the first poll."""
    mock_client.get_farm_info.side_effect = RotemConnectionError("down")
    rotem_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(rotem_entry.entry_id)
    assert rotem_entry.state is ConfigEntryState.SETUP_RETRY


async def test_setup_auth_failure_starts_reauth(
    hass: HomeAssistant, rotem_entry: MockConfigEntry, mock_client: MagicMock
) -> None:
    """A refused password at startup asks the user for a new one."""
    mock_client.get_farm_info.side_effect = RotemAuthError("refused")
    rotem_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(rotem_entry.entry_id)
    assert rotem_entry.state is ConfigEntryState.SETUP_ERROR
    assert flows_in_progress(hass) == [SOURCE_REAUTH]


async def test_outage_and_recovery(
    hass: HomeAssistant,
    rotem_entry: MockConfigEntry,
    mock_client: MagicMock,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Everything goes unavailable while the cloud is down and comes back by itself."""
    await setup_entry(hass, rotem_entry)
    mock_client.get_site.side_effect = RotemConnectionError("down")
    await poll(hass, freezer)
    await poll(hass, freezer)
    assert state_of(hass, TEMPERATURE_1) == STATE_UNAVAILABLE
    assert state_of(hass, CONNECTION_1) == STATE_UNAVAILABLE
    outage_logs = [
        record
        for record in caplog.records
        if record.name == "custom_components.rotem_farm"
        and "RotemNetWeb could not be reached" in record.getMessage()
    ]
    assert len(outage_logs) == 1
    mock_client.get_site.side_effect = None
    await poll(hass, freezer)
    assert state_of(hass, TEMPERATURE_1) == "30.0"
    recovered = [
        record
        for record in caplog.records
        if record.name == "custom_components.rotem_farm" and "recovered" in record.getMessage()
    ]
    assert len(recovered) == 1


async def test_auth_failure_while_polling(
    hass: HomeAssistant,
    rotem_entry: MockConfigEntry,
    mock_client: MagicMock,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A session refused later starts reauthentication."""
    await setup_entry(hass, rotem_entry)
    mock_client.get_site.side_effect = RotemAuthError("refused")
    await poll(hass, freezer)
    assert flows_in_progress(hass) == [SOURCE_REAUTH]


async def test_dynamic_and_stale_houses(
    hass: HomeAssistant,
    rotem_entry: MockConfigEntry,
    mock_client: MagicMock,
    site: SiteSnapshot,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A vanished house loses its device; a new house gets entities without a restart."""
    mock_client.get_site.return_value = _without_house(site, 6)
    await setup_entry(hass, rotem_entry)
    assert hass.states.get("sensor.green_valley_house_6_temperature") is None

    mock_client.get_site.return_value = site
    await poll(hass, freezer)
    assert state_of(hass, "sensor.green_valley_house_6_temperature") == "29.8"
    assert find_device(hass, (DOMAIN, f"{GATEWAY}_6"), rotem_entry.entry_id) is not None

    mock_client.get_site.return_value = _without_house(site, 3)
    await poll(hass, freezer)
    assert find_device(hass, (DOMAIN, f"{GATEWAY}_3"), rotem_entry.entry_id) is None
    assert er.async_get(hass).async_get("sensor.green_valley_house_3_temperature") is None

    mock_client.get_site.return_value = replace(site, houses={})
    await poll(hass, freezer)
    assert find_device(hass, (DOMAIN, f"{GATEWAY}_1"), rotem_entry.entry_id) is not None

    mock_client.get_site.return_value = site
    await poll(hass, freezer)
    assert state_of(hass, "sensor.green_valley_house_3_temperature") == "29.9"


async def test_remove_config_entry_device(
    hass: HomeAssistant,
    rotem_entry: MockConfigEntry,
    mock_client: MagicMock,
) -> None:
    """Only a house the cloud no longer reports can be deleted by the user."""
    await setup_entry(hass, rotem_entry)
    assert await async_setup_component(hass, "config", {})
    registry = dr.async_get(hass)
    current = find_device(hass, (DOMAIN, f"{GATEWAY}_1"), rotem_entry.entry_id)
    farm = find_device(hass, (DOMAIN, GATEWAY), rotem_entry.entry_id)
    gone = registry.async_get_or_create(
        config_entry_id=rotem_entry.entry_id, identifiers={(DOMAIN, f"{GATEWAY}_9")}
    )
    from custom_components.rotem_farm import async_remove_config_entry_device

    assert current is not None
    assert farm is not None
    assert not await async_remove_config_entry_device(hass, rotem_entry, current)
    assert not await async_remove_config_entry_device(hass, rotem_entry, farm)
    assert await async_remove_config_entry_device(hass, rotem_entry, gone)


async def test_options_change_reloads(
    hass: HomeAssistant,
    rotem_entry: MockConfigEntry,
    mock_client: MagicMock,
) -> None:
    """New options take effect: the entry reloads; the poll interval stays the fixed 5 min."""
    await setup_entry(hass, rotem_entry)
    result = await hass.config_entries.options.async_init(rotem_entry.entry_id)
    await hass.config_entries.options.async_configure(
        result["flow_id"], {"fetch_history": False, "target_age": 40}
    )
    await hass.async_block_till_done()
    assert rotem_entry.state is ConfigEntryState.LOADED
    assert mock_client.get_farm_info.await_count == 2
    coordinator = rotem_entry.runtime_data.coordinator
    assert coordinator is not None
    assert coordinator.update_interval == timedelta(minutes=5)
    expected = dt_util.now().date() - timedelta(days=21) + timedelta(days=40)
    harvest = state_of(hass, "sensor.green_valley_house_1_expected_harvest")
    assert harvest == expected.isoformat()


async def test_daily_farm_info_refresh(
    hass: HomeAssistant,
    rotem_entry: MockConfigEntry,
    mock_client: MagicMock,
    farm_info: FarmInfo,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Farm facts are fetched once a day, not per poll, and keep the firmware current."""
    await setup_entry(hass, rotem_entry)
    for _ in range(12):
        await poll(hass, freezer)
    assert mock_client.get_farm_info.await_count == 1
    assert mock_client.get_site.await_count == 13
    mock_client.get_farm_info.return_value = replace(farm_info, gateway_version="4.7.0.1")
    freezer.tick(timedelta(days=1))
    await poll(hass, freezer)
    assert mock_client.get_farm_info.await_count == 2
    farm = find_device(hass, (DOMAIN, GATEWAY), rotem_entry.entry_id)
    assert farm is not None
    assert farm.sw_version == "4.7.0.1"
    # A failed daily refresh keeps yesterday's facts and the poll goes on.
    mock_client.get_farm_info.side_effect = RotemConnectionError("down")
    freezer.tick(timedelta(days=1))
    await poll(hass, freezer)
    assert state_of(hass, TEMPERATURE_1) == "30.0"


def _history(house: int, kind: HistoryKind) -> History:
    values = (
        {"TotalDrink": 2024.0}
        if kind is HistoryKind.WATER
        else {"Heater_1": 119.0, "Heater_8": 69.0, "Heater_2": None}
    )
    return History(
        house_number=house,
        kind=kind,
        rows=(
            HistoryRow(growth_day=20, values=values),
            HistoryRow(growth_day=21, values=values, partial=True),
        ),
    )


async def test_history_hourly_when_enabled(
    hass: HomeAssistant,
    rotem_entry: MockConfigEntry,
    mock_client: MagicMock,
    freezer: FrozenDateTimeFactory,
) -> None:
    """History is off by default; when on it is fetched hourly, never on every poll."""
    await setup_entry(hass, rotem_entry)
    assert mock_client.get_history.await_count == 0
    await hass.config_entries.async_unload(rotem_entry.entry_id)

    mock_client.get_history.side_effect = _history
    await setup_entry(hass, rotem_entry, options={CONF_FETCH_HISTORY: True})
    assert mock_client.get_history.await_count == 12  # 6 houses x (water, heaters)
    assert state_of(hass, "sensor.green_valley_house_1_water_yesterday") == "2024.0"
    assert state_of(hass, "sensor.green_valley_house_1_heater_run_time_yesterday") == "188.0"
    # Yesterday's water and heating are primary data, shown with the house's other values.
    registry = er.async_get(hass)
    for key in ("water_yesterday", "heater_run_time_yesterday"):
        entry = registry.async_get(f"sensor.green_valley_house_1_{key}")
        assert entry is not None
        assert entry.entity_category is None, key
    for _ in range(11):
        await poll(hass, freezer)
    assert mock_client.get_history.await_count == 12
    await poll(hass, freezer)
    assert mock_client.get_history.await_count == 24


async def test_history_errors(
    hass: HomeAssistant,
    rotem_entry: MockConfigEntry,
    mock_client: MagicMock,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A failed history table is skipped; a refused session still asks for reauth."""
    mock_client.get_history.side_effect = RotemApiError("no history")
    await setup_entry(hass, rotem_entry, options={CONF_FETCH_HISTORY: True})
    assert state_of(hass, TEMPERATURE_1) == "30.0"
    assert hass.states.get("sensor.green_valley_house_1_water_yesterday") is None
    mock_client.get_history.side_effect = RotemAuthError("refused")
    await poll(hass, freezer, minutes=61)
    assert flows_in_progress(hass) == [SOURCE_REAUTH]


async def test_alarm(
    hass: HomeAssistant,
    rotem_entry: MockConfigEntry,
    mock_client: MagicMock,
    site: SiteSnapshot,
    freezer: FrozenDateTimeFactory,
) -> None:
    """The controller siren shows as a problem."""
    await setup_entry(hass, rotem_entry)
    assert state_of(hass, "binary_sensor.green_valley_house_2_alarm") == "off"
    alarmed = replace(site.houses[2], alarm=True)
    mock_client.get_site.return_value = with_house(site, alarmed)
    await poll(hass, freezer)
    assert state_of(hass, "binary_sensor.green_valley_house_2_alarm") == STATE_ON


async def test_remove_entry_deletes_store(
    hass: HomeAssistant,
    rotem_entry: MockConfigEntry,
    mock_client: MagicMock,
    hass_storage: dict[str, object],
    freezer: FrozenDateTimeFactory,
) -> None:
    """Removing the farm removes its stored flock dates and totals."""
    await setup_entry(hass, rotem_entry)
    freezer.tick(timedelta(seconds=30))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    key = f"{DOMAIN}.{rotem_entry.entry_id}"
    assert key in hass_storage
    await hass.config_entries.async_remove(rotem_entry.entry_id)
    await hass.async_block_till_done()
    assert key not in hass_storage


async def test_removal_right_after_a_poll_leaves_no_store(
    hass: HomeAssistant,
    rotem_entry: MockConfigEntry,
    mock_client: MagicMock,
    hass_storage: dict[str, object],
    freezer: FrozenDateTimeFactory,
) -> None:
    """A farm removed within the 10 s save delay of a poll stays removed: no file comes back."""
    await setup_entry(hass, rotem_entry)
    key = f"{DOMAIN}.{rotem_entry.entry_id}"
    assert key not in hass_storage  # the poll's save is still pending
    await hass.config_entries.async_remove(rotem_entry.entry_id)
    await hass.async_block_till_done()
    assert key not in hass_storage
    freezer.tick(timedelta(seconds=30))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert key not in hass_storage


async def test_unload_right_after_a_poll_keeps_its_state(
    hass: HomeAssistant,
    rotem_entry: MockConfigEntry,
    mock_client: MagicMock,
    hass_storage: dict[str, Any],
) -> None:
    """An unload (reload, restart of the entry) within the save delay writes the poll's state."""
    await setup_entry(hass, rotem_entry)
    key = f"{DOMAIN}.{rotem_entry.entry_id}"
    assert key not in hass_storage
    assert await hass.config_entries.async_unload(rotem_entry.entry_id)
    await hass.async_block_till_done()
    stored = hass_storage[key]["data"]
    assert set(stored["placement"]) == {"1", "2", "3", "4", "5", "6"}
    assert stored["water"]["total"] is not None


async def test_failed_setup_leaves_the_stored_state_alone(
    hass: HomeAssistant,
    rotem_entry: MockConfigEntry,
    mock_client: MagicMock,
    hass_storage: dict[str, Any],
) -> None:
    """A setup that is retried later writes nothing over the stored flock dates and totals."""
    key = f"{DOMAIN}.{rotem_entry.entry_id}"
    stored = {"placement": {"1": {"date": "2026-11-01", "growth_day": 21}}}
    hass_storage[key] = {"version": 1, "key": key, "data": stored}
    mock_client.get_site.side_effect = RotemConnectionError("down")
    rotem_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(rotem_entry.entry_id)
    assert rotem_entry.state is ConfigEntryState.SETUP_RETRY
    await hass.config_entries.async_unload(rotem_entry.entry_id)
    await hass.async_block_till_done()
    assert hass_storage[key]["data"] == stored


async def test_missing_values_are_unknown(
    hass: HomeAssistant,
    rotem_entry: MockConfigEntry,
    mock_client: MagicMock,
    site: SiteSnapshot,
) -> None:
    """A controller that reports no growth day or heaters gives unknown, never a made-up 0."""
    bare = replace(site.houses[1], growth_day=None, heaters=None)
    mock_client.get_site.return_value = with_house(site, bare)
    await setup_entry(hass, rotem_entry)
    for key in ("placement_date", "expected_harvest", "heaters_running", "growth_day"):
        assert state_of(hass, f"sensor.green_valley_house_1_{key}") == "unknown", key


async def test_placement_date_restored_and_kept(
    hass: HomeAssistant,
    rotem_entry: MockConfigEntry,
    mock_client: MagicMock,
    hass_storage: dict[str, Any],
) -> None:
    """A stored placement date one day off the derived one is kept (same flock)."""
    today = dt_util.now().date()
    stored = today - timedelta(days=22)
    hass_storage[f"{DOMAIN}.{rotem_entry.entry_id}"] = {
        "version": 1,
        "key": f"{DOMAIN}.{rotem_entry.entry_id}",
        "data": {
            "placement": {"1": {"date": stored.isoformat(), "growth_day": 21}},
            "water": {"day": today.isoformat(), "total": 100.0, "last": {"1": 900.0}},
        },
    }
    await setup_entry(hass, rotem_entry)
    assert state_of(hass, "sensor.green_valley_house_1_placement_date") == stored.isoformat()
    derived = today - timedelta(days=21)
    assert state_of(hass, "sensor.green_valley_house_2_placement_date") == derived.isoformat()
    # Restored farm total 100 L + house 1 rose 79 L + houses 2-6 first seen today.
    assert float(state_of(hass, "sensor.green_valley_farm_water_today")) == 100 + 79 + (
        921 + 965 + 990 + 954 + 906
    )


async def test_placement_date_follows_corrections_and_new_flocks_between_polls(
    hass: HomeAssistant,
    rotem_entry: MockConfigEntry,
    mock_client: MagicMock,
    site: SiteSnapshot,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Polls of one day keep the date; a correction or a new flock the same day moves it."""
    freezer.move_to(dt_util.start_of_local_day() + timedelta(hours=10))
    today = dt_util.now().date()
    entity_id = "sensor.green_valley_house_1_placement_date"

    def report(growth_day: int) -> None:
        house = replace(site.houses[1], growth_day=growth_day)
        mock_client.get_site.return_value = with_house(site, house)

    report(21)
    await setup_entry(hass, rotem_entry)
    assert state_of(hass, entity_id) == (today - timedelta(days=21)).isoformat()
    await poll(hass, freezer)
    assert state_of(hass, entity_id) == (today - timedelta(days=21)).isoformat()
    report(25)  # the farmer corrected the growth day on the controller
    await poll(hass, freezer)
    assert state_of(hass, entity_id) == (today - timedelta(days=25)).isoformat()
    report(0)  # a new flock, placed today
    await poll(hass, freezer)
    assert state_of(hass, entity_id) == today.isoformat()
    report(1)  # the next morning: growth day 1, same flock, same date
    await poll(hass, freezer, minutes=24 * 60)
    assert state_of(hass, entity_id) == today.isoformat()


async def test_history_without_finished_day(
    hass: HomeAssistant,
    rotem_entry: MockConfigEntry,
    mock_client: MagicMock,
) -> None:
    """Only the running day known, or no heater minutes: yesterday's values are unknown."""

    def partial_only(house: int, kind: HistoryKind) -> History:
        values: dict[str, float | None] = (
            {"TotalDrink": 5.0} if kind is HistoryKind.WATER else {"Heater_1": None}
        )
        rows = (HistoryRow(growth_day=20, values=values),)
        if house == 1:
            rows = (HistoryRow(growth_day=21, values=values, partial=True),)
        return History(house_number=house, kind=kind, rows=rows)

    mock_client.get_history.side_effect = partial_only
    await setup_entry(hass, rotem_entry, options={CONF_FETCH_HISTORY: True})
    assert state_of(hass, "sensor.green_valley_house_1_water_yesterday") == "unknown"
    assert state_of(hass, "sensor.green_valley_house_2_water_yesterday") == "5.0"
    assert state_of(hass, "sensor.green_valley_house_2_heater_run_time_yesterday") == "unknown"


async def test_manual_farm_devices_are_not_removable(hass: HomeAssistant) -> None:
    """A manual farm's houses are set by its house count, not deleted one by one."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Hilltop",
        unique_id="manual-id",
        data={"farm_kind": "manual", "houses": 1},
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    device = find_device(hass, (DOMAIN, "manual-id_1"), entry.entry_id)
    assert device is not None
    from custom_components.rotem_farm import async_remove_config_entry_device

    assert not await async_remove_config_entry_device(hass, entry, device)
    await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()


async def test_manual_farm_fewer_houses(hass: HomeAssistant) -> None:
    """Reconfiguring a manual farm to fewer houses removes the houses above the new count."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Hilltop",
        unique_id="manual-id",
        data={"farm_kind": "manual", "houses": 2},
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert find_device(hass, (DOMAIN, "manual-id_2"), entry.entry_id) is not None
    result = await entry.start_reconfigure_flow(hass)
    await hass.config_entries.flow.async_configure(result["flow_id"], {"houses": 1})
    await hass.async_block_till_done()
    assert find_device(hass, (DOMAIN, "manual-id_2"), entry.entry_id) is None
    assert find_device(hass, (DOMAIN, "manual-id_1"), entry.entry_id) is not None
    assert find_device(hass, (DOMAIN, "manual-id"), entry.entry_id) is not None
    await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


async def test_migration_drops_the_polling_interval(
    hass: HomeAssistant,
    rotem_entry: MockConfigEntry,
    mock_client: MagicMock,
    freezer: FrozenDateTimeFactory,
) -> None:
    """An entry saved with the old interval option (1.1) loses it and polls every 5 minutes."""
    assert (rotem_entry.version, rotem_entry.minor_version) == (1, 1)
    mock_client.get_history.side_effect = _history
    await setup_entry(
        hass,
        rotem_entry,
        options={"update_interval": 1, CONF_FETCH_HISTORY: True, "target_age": 40},
    )
    assert rotem_entry.state is ConfigEntryState.LOADED
    assert (rotem_entry.version, rotem_entry.minor_version) == (1, 2)
    assert dict(rotem_entry.options) == {CONF_FETCH_HISTORY: True, "target_age": 40}
    coordinator = rotem_entry.runtime_data.coordinator
    assert coordinator is not None
    assert coordinator.update_interval == timedelta(minutes=5)
    polls = mock_client.get_site.await_count
    await poll(hass, freezer, minutes=1)
    assert mock_client.get_site.await_count == polls
    await poll(hass, freezer, minutes=4)
    assert mock_client.get_site.await_count == polls + 1


async def test_migration_of_a_manual_farm(hass: HomeAssistant) -> None:
    """A manual farm never had the interval; its other options stay and the version moves on."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Hilltop",
        unique_id="manual-id",
        data={"farm_kind": "manual", "houses": 1},
        options={"target_age": 35},
        minor_version=1,
    )
    await setup_entry(hass, entry)
    assert entry.minor_version == 2
    assert dict(entry.options) == {"target_age": 35}
    await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


async def test_entry_of_a_newer_release_is_not_loaded(
    hass: HomeAssistant, mock_client: MagicMock
) -> None:
    """A major version this release does not know is refused, not read wrongly."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Green Valley",
        unique_id=GATEWAY,
        data={"farm_kind": "rotem", "username": "u", "password": "p"},
        version=2,
    )
    entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.MIGRATION_ERROR
    assert mock_client.get_site.await_count == 0


async def test_entities_unsubscribe_when_removed(
    hass: HomeAssistant, rotem_entry: MockConfigEntry, mock_client: MagicMock
) -> None:
    """An entity removed from Home Assistant stops watching the coordinator; unload leaves none.

    (A coordinator polls while anything listens, so a forgotten subscription keeps a removed
    farm polling.)
    """
    await setup_entry(hass, rotem_entry)
    coordinator = rotem_entry.runtime_data.coordinator
    assert coordinator is not None

    def watchers() -> int:
        return sum(len(watchers) for watchers in coordinator._watchers.values())

    before = watchers()
    assert before > 0
    entity = hass.data["entity_components"]["sensor"].get_entity(TEMPERATURE_1)
    assert entity is not None
    await entity.async_remove()
    assert watchers() == before - 1
    assert await hass.config_entries.async_unload(rotem_entry.entry_id)
    await hass.async_block_till_done()
    assert watchers() == 0
    assert not coordinator._listeners
