"""Setup, unload, reload, error mapping, off-line houses, dynamic and stale devices."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
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

from custom_components.rotem_farm import coordinator as coordinator_module
from custom_components.rotem_farm.const import CONF_FETCH_HISTORY, DOMAIN
from custom_components.rotem_farm.coordinator import temperature_unit_switched
from custom_components.rotem_farm.entity import find_device
from custom_components.rotem_farm.rotemnet import (
    ConnectionStatus,
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
    """A house missing for a day loses its device; a new house gets entities at once.

    One answer without a house (a partial answer of the cloud) only makes its entities
    unavailable: device, entities and the user's settings stay until a day has passed.
    """
    mock_client.get_site.return_value = _without_house(site, 6)
    await setup_entry(hass, rotem_entry)
    assert hass.states.get("sensor.green_valley_house_6_temperature") is None

    mock_client.get_site.return_value = site
    await poll(hass, freezer)
    assert state_of(hass, "sensor.green_valley_house_6_temperature") == "29.8"
    assert find_device(hass, (DOMAIN, f"{GATEWAY}_6"), rotem_entry.entry_id) is not None

    mock_client.get_site.return_value = _without_house(site, 3)
    await poll(hass, freezer)
    assert find_device(hass, (DOMAIN, f"{GATEWAY}_3"), rotem_entry.entry_id) is not None
    assert state_of(hass, "sensor.green_valley_house_3_temperature") == STATE_UNAVAILABLE
    await poll(hass, freezer, minutes=23 * 60)
    assert find_device(hass, (DOMAIN, f"{GATEWAY}_3"), rotem_entry.entry_id) is not None

    mock_client.get_site.return_value = replace(site, houses={})
    await poll(hass, freezer, minutes=2 * 60)
    # An empty answer removes nothing, however long house 3 has been away.
    assert find_device(hass, (DOMAIN, f"{GATEWAY}_1"), rotem_entry.entry_id) is not None
    assert find_device(hass, (DOMAIN, f"{GATEWAY}_3"), rotem_entry.entry_id) is not None

    mock_client.get_site.return_value = _without_house(site, 3)
    await poll(hass, freezer)
    assert find_device(hass, (DOMAIN, f"{GATEWAY}_3"), rotem_entry.entry_id) is None
    assert er.async_get(hass).async_get("sensor.green_valley_house_3_temperature") is None
    assert find_device(hass, (DOMAIN, f"{GATEWAY}_1"), rotem_entry.entry_id) is not None

    mock_client.get_site.return_value = site
    await poll(hass, freezer)
    assert state_of(hass, "sensor.green_valley_house_3_temperature") == "29.9"


async def test_house_back_within_a_day_keeps_its_entities(
    hass: HomeAssistant,
    rotem_entry: MockConfigEntry,
    mock_client: MagicMock,
    site: SiteSnapshot,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A house back after 20 h keeps its entity ids and the user's changes; its clock restarts."""
    await setup_entry(hass, rotem_entry)
    entities = er.async_get(hass)
    entities.async_update_entity("sensor.green_valley_house_2_temperature", name="Brooder")
    mock_client.get_site.return_value = _without_house(site, 2)
    await poll(hass, freezer)
    await poll(hass, freezer, minutes=20 * 60)
    mock_client.get_site.return_value = site
    await poll(hass, freezer)
    entry = entities.async_get("sensor.green_valley_house_2_temperature")
    assert entry is not None
    assert entry.name == "Brooder"
    assert state_of(hass, "sensor.green_valley_house_2_temperature") == "29.9"
    # Missing again: a new day of grace, not the rest of the old one.
    mock_client.get_site.return_value = _without_house(site, 2)
    await poll(hass, freezer)
    await poll(hass, freezer, minutes=10 * 60)
    assert find_device(hass, (DOMAIN, f"{GATEWAY}_2"), rotem_entry.entry_id) is not None


async def test_missing_house_clock_survives_a_restart(
    hass: HomeAssistant,
    rotem_entry: MockConfigEntry,
    mock_client: MagicMock,
    site: SiteSnapshot,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A reload keeps a missing house (its device says it existed) and its missing clock."""
    await setup_entry(hass, rotem_entry)
    mock_client.get_site.return_value = _without_house(site, 4)
    await poll(hass, freezer)
    await poll(hass, freezer, minutes=12 * 60)
    assert await hass.config_entries.async_reload(rotem_entry.entry_id)
    await hass.async_block_till_done()
    assert find_device(hass, (DOMAIN, f"{GATEWAY}_4"), rotem_entry.entry_id) is not None
    await poll(hass, freezer, minutes=11 * 60)
    assert find_device(hass, (DOMAIN, f"{GATEWAY}_4"), rotem_entry.entry_id) is not None
    await poll(hass, freezer, minutes=60)
    assert find_device(hass, (DOMAIN, f"{GATEWAY}_4"), rotem_entry.entry_id) is None


async def test_house_gone_from_the_registration_is_removed_at_once(
    hass: HomeAssistant,
    rotem_entry: MockConfigEntry,
    mock_client: MagicMock,
    farm_info: FarmInfo,
    freezer: FrozenDateTimeFactory,
) -> None:
    """The farm facts no longer list house 5: the first answer without it removes it."""
    await setup_entry(hass, rotem_entry)
    scanned = {n: name for n, name in farm_info.houses_to_scan.items() if n != 5}
    mock_client.get_farm_info.return_value = replace(farm_info, houses_to_scan=scanned)
    await poll(hass, freezer, minutes=24 * 60)  # the daily refresh of the farm facts
    # Still reported: a registration list alone removes nothing.
    assert find_device(hass, (DOMAIN, f"{GATEWAY}_5"), rotem_entry.entry_id) is not None
    mock_client.get_site.return_value = _without_house(mock_client.get_site.return_value, 5)
    await poll(hass, freezer)
    assert find_device(hass, (DOMAIN, f"{GATEWAY}_5"), rotem_entry.entry_id) is None
    assert find_device(hass, (DOMAIN, f"{GATEWAY}_4"), rotem_entry.entry_id) is not None


async def test_user_deletes_a_missing_house_at_once(
    hass: HomeAssistant,
    rotem_entry: MockConfigEntry,
    mock_client: MagicMock,
    site: SiteSnapshot,
    freezer: FrozenDateTimeFactory,
) -> None:
    """The user need not wait a day; a house deleted so that comes back gets new entities."""
    from custom_components.rotem_farm import async_remove_config_entry_device

    await setup_entry(hass, rotem_entry)
    mock_client.get_site.return_value = _without_house(site, 3)
    await poll(hass, freezer)
    device = find_device(hass, (DOMAIN, f"{GATEWAY}_3"), rotem_entry.entry_id)
    assert device is not None
    assert await async_remove_config_entry_device(hass, rotem_entry, device)
    dr.async_get(hass).async_remove_device(device.id)
    await hass.async_block_till_done()
    assert hass.states.get("sensor.green_valley_house_3_temperature") is None
    await poll(hass, freezer)
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


def _converted(
    site: SiteSnapshot, convert: Callable[[float], float], shift: float = 0
) -> SiteSnapshot:
    """The site with every set point and average temperature converted (and shifted)."""
    houses = {
        number: replace(
            house,
            set_temperature=convert(house.set_temperature) + shift
            if house.set_temperature is not None
            else None,
            average_temperature=convert(house.average_temperature) + shift
            if house.average_temperature is not None
            else None,
        )
        for number, house in site.houses.items()
    }
    return replace(site, houses=houses)


async def test_unit_switch_is_seen_at_once(
    hass: HomeAssistant,
    rotem_entry: MockConfigEntry,
    mock_client: MagicMock,
    farm_info: FarmInfo,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A controller switched to °F is read in °F from the first answer that shows it.

    Without the check the daily farm facts would keep °C for up to a day and record 86 °C.
    """
    rotem_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(rotem_entry, options={CONF_FETCH_HISTORY: True})
    mock_client.get_history.side_effect = _history
    await setup_entry(hass, rotem_entry)
    site = mock_client.get_site.return_value
    assert state_of(hass, TEMPERATURE_1) == "30.0"
    imperial = replace(
        farm_info.units, temperature="°F", volume="gal", weight="lb", air_flow="ft³/min"
    )
    mock_client.get_farm_info.return_value = replace(farm_info, units=imperial)
    mock_client.get_site.return_value = _converted(site, lambda value: value * 1.8 + 32)
    sites_before = mock_client.get_site.await_count
    histories_before = mock_client.get_history.await_count
    await poll(hass, freezer)
    assert mock_client.get_farm_info.await_count == 2
    # The answer is asked again, so that it is parsed with the new units.
    assert mock_client.get_site.await_count == sites_before + 2
    temperature = hass.states.get(TEMPERATURE_1)
    assert temperature is not None
    # Home Assistant shows °F readings in the system's °C: the house is still at 30 °C.
    assert float(temperature.state) == pytest.approx(30.0, abs=0.05)
    # Tables kept in the old units are fetched again.
    assert mock_client.get_history.await_count > histories_before
    water = hass.states.get("sensor.green_valley_farm_water_today")
    assert water is not None
    assert water.attributes["unit_of_measurement"] == "gal"


async def test_unit_switch_cancels_a_round_in_the_old_units(
    hass: HomeAssistant,
    rotem_entry: MockConfigEntry,
    mock_client: MagicMock,
    freezer: FrozenDateTimeFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """History still coming in °C when the switch is seen is dropped and asked again."""
    monkeypatch.setattr(coordinator_module, "SLOW_CALL_TIMEOUT", 1e9)
    monkeypatch.setattr(coordinator_module, "SLOW_ROUND_TIMEOUT", 1e9)
    cancelled = asyncio.Event()
    calls: list[int] = []

    async def tables(house: int, kind: HistoryKind) -> History:
        calls.append(house)
        if len(calls) == 1:  # the first round hangs on its first table
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                cancelled.set()
                raise
        return _history(house, kind)

    mock_client.get_history.side_effect = tables
    rotem_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(rotem_entry, options={CONF_FETCH_HISTORY: True})
    assert await hass.config_entries.async_setup(rotem_entry.entry_id)
    await hass.async_block_till_done()
    assert calls == [1]
    farm_info = mock_client.get_farm_info.return_value
    imperial = replace(farm_info.units, temperature="°F")
    mock_client.get_farm_info.return_value = replace(farm_info, units=imperial)
    site = mock_client.get_site.return_value
    mock_client.get_site.return_value = _converted(site, lambda value: value * 1.8 + 32)
    await poll(hass, freezer)
    assert cancelled.is_set()
    assert len(calls) == 1 + 12  # the new round: 6 houses x (water, heaters)
    assert state_of(hass, "sensor.green_valley_house_1_water_yesterday") == "2024.0"


async def test_jump_that_is_no_unit_switch(
    hass: HomeAssistant,
    rotem_entry: MockConfigEntry,
    mock_client: MagicMock,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Jumps that are not the conversion, and a conversion the facts deny, change no unit."""
    await setup_entry(hass, rotem_entry)
    site = mock_client.get_site.return_value
    mock_client.get_site.return_value = _converted(site, lambda value: value, shift=12)
    await poll(hass, freezer)
    assert mock_client.get_farm_info.await_count == 1
    assert state_of(hass, TEMPERATURE_1) == "42.0"
    mock_client.get_site.return_value = site
    await poll(hass, freezer)
    assert mock_client.get_farm_info.await_count == 1
    # A conversion-shaped jump, but the farm facts still say °C: one check, units kept.
    mock_client.get_site.return_value = _converted(site, lambda value: value * 1.8 + 32)
    await poll(hass, freezer)
    assert mock_client.get_farm_info.await_count == 2
    assert state_of(hass, TEMPERATURE_1) == "86.0"
    await poll(hass, freezer)
    assert mock_client.get_farm_info.await_count == 2


def test_temperature_unit_switched_reads_both_ways(site: SiteSnapshot) -> None:
    """°C to °F and back are recognised; off-line, missing and unknown values are not used."""
    fahrenheit = _converted(site, lambda value: value * 1.8 + 32)
    assert temperature_unit_switched(site, fahrenheit, "°C")
    assert temperature_unit_switched(fahrenheit, site, "°F")
    assert not temperature_unit_switched(site, fahrenheit, "°F")
    assert not temperature_unit_switched(site, fahrenheit, None)
    assert not temperature_unit_switched(site, site, "°C")
    offline = replace(
        fahrenheit,
        houses={
            number: replace(house, connection_status=ConnectionStatus.DISCONNECTED)
            for number, house in fahrenheit.houses.items()
        },
    )
    assert not temperature_unit_switched(site, offline, "°C")
    unknown = replace(
        fahrenheit,
        houses={
            number: replace(house, set_temperature=None, average_temperature=None)
            for number, house in fahrenheit.houses.items()
        },
    )
    assert not temperature_unit_switched(site, unknown, "°C")
    assert not temperature_unit_switched(replace(site, houses={}), fahrenheit, "°C")


def _history(house: int, kind: HistoryKind) -> History:
    values = (
        {"TotalDrink": 2024.0}
        if kind is HistoryKind.WATER
        else {"Heater_1": 119.0, "Heater_8": 69.0, "Heater_2": 0.0}
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
    """A failed history table is unknown; a refused session asks for reauth, values stay."""
    mock_client.get_history.side_effect = RotemApiError("no history")
    await setup_entry(hass, rotem_entry, options={CONF_FETCH_HISTORY: True})
    assert state_of(hass, TEMPERATURE_1) == "30.0"
    assert state_of(hass, "sensor.green_valley_house_1_water_yesterday") == "unknown"
    mock_client.get_history.side_effect = RotemAuthError("refused")
    await poll(hass, freezer, minutes=61)
    assert flows_in_progress(hass) == [SOURCE_REAUTH]
    # The refusal came after the site answer: its values are still shown.
    assert state_of(hass, TEMPERATURE_1) == "30.0"


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


async def test_heater_run_time_is_unknown_unless_every_heater_reported(
    hass: HomeAssistant, rotem_entry: MockConfigEntry, mock_client: MagicMock
) -> None:
    """House 1's heater 2 left its cell empty: no total, and the attributes say which."""

    def tables(house: int, kind: HistoryKind) -> History:
        table = _history(house, kind)
        if house != 1 or kind is not HistoryKind.HEATERS:
            return table
        values = {"Heater_1": 119.0, "Heater_2": None, "Heater_8": 69.0}
        return replace(table, rows=(HistoryRow(growth_day=20, values=values),))

    mock_client.get_history.side_effect = tables
    await setup_entry(hass, rotem_entry, options={CONF_FETCH_HISTORY: True})
    house_1 = hass.states.get("sensor.green_valley_house_1_heater_run_time_yesterday")
    assert house_1 is not None
    assert house_1.state == "unknown"
    assert house_1.attributes["heaters"] == 2
    assert house_1.attributes["heaters_not_reported"] == ["Heater_2"]
    house_2 = hass.states.get("sensor.green_valley_house_2_heater_run_time_yesterday")
    assert house_2 is not None
    assert house_2.state == "188.0"
    assert house_2.attributes["heaters"] == 3
    assert house_2.attributes["heaters_not_reported"] == []


async def test_farm_totals_say_which_houses_they_hold(
    hass: HomeAssistant,
    rotem_entry: MockConfigEntry,
    mock_client: MagicMock,
    site: SiteSnapshot,
    freezer: FrozenDateTimeFactory,
) -> None:
    """An off-line house and a missing one are named as not in the farm's total."""
    await setup_entry(hass, rotem_entry)
    farm = hass.states.get("sensor.green_valley_farm_water_today")
    assert farm is not None
    assert farm.attributes["houses_counted"] == [1, 2, 3, 4, 5, 6]
    assert farm.attributes["houses_not_reporting"] == []
    offline = replace(site.houses[2], connection_status=ConnectionStatus.DISCONNECTED)
    mock_client.get_site.return_value = _without_house(with_house(site, offline), 5)
    await poll(hass, freezer)
    for entity_id in (
        "sensor.green_valley_farm_water_today",
        "sensor.green_valley_farm_feed_today",
    ):
        farm = hass.states.get(entity_id)
        assert farm is not None
        assert farm.attributes["houses_counted"] == [1, 3, 4, 6]
        assert farm.attributes["houses_not_reporting"] == [2, 5]


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
