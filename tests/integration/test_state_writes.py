"""After a poll, only the entities whose shown state changed are told, and only they write.

Fifty farms mean ten thousand entities; rewriting the unchanged ones, or even asking each of
them whether it changed, costs the event loop most of a poll. These tests check that a changed
value, a changed unit, an availability change and a recovery are still written to every entity
concerned, and that an unchanged entity is left alone (its ``last_reported`` stays).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from unittest.mock import MagicMock

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.homeassistant import SERVICE_UPDATE_ENTITY
from homeassistant.const import ATTR_ENTITY_ID, EVENT_STATE_CHANGED, STATE_OFF, STATE_UNAVAILABLE
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, State, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
)

from custom_components.rotem_farm.rotemnet import (
    ConnectionStatus,
    FarmInfo,
    RotemConnectionError,
    SiteSnapshot,
    TemperatureUnit,
)

from .conftest import poll, setup_entry, with_house

pytestmark = pytest.mark.usefixtures("mock_client")

TEMPERATURE_1 = "sensor.green_valley_house_1_temperature"
HUMIDITY_1 = "sensor.green_valley_house_1_humidity"
TEMPERATURE_2 = "sensor.green_valley_house_2_temperature"
ALARM_1 = "binary_sensor.green_valley_house_1_alarm"
CONNECTION_1 = "binary_sensor.green_valley_house_1_controller_connection"
# Fed by the analyzer, not by the poll: an outage of the cloud does not concern them.
ANALYSIS_KEYS = ("anomaly", "anomaly_score", "failure_risk", "failure_subsystem", "last_analysis")


def _state(hass: HomeAssistant, entity_id: str) -> State:
    state = hass.states.get(entity_id)
    assert state is not None, entity_id
    return state


def _poll_entities(hass: HomeAssistant, entry: MockConfigEntry) -> list[str]:
    """The enabled entities of the entry that the poll feeds (all but the analysis ones)."""
    return [
        registry_entry.entity_id
        for registry_entry in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
        if not registry_entry.disabled_by and not registry_entry.unique_id.endswith(ANALYSIS_KEYS)
    ]


def _record_changes(hass: HomeAssistant) -> list[str]:
    """Entity ids of every state change from now on, in order."""
    changed: list[str] = []

    @callback
    def record(event: Event[EventStateChangedData]) -> None:
        changed.append(event.data["entity_id"])

    hass.bus.async_listen(EVENT_STATE_CHANGED, record)
    return changed


def _warmer_house_1(site: SiteSnapshot) -> SiteSnapshot:
    house = site.houses[1]
    assert house.average_temperature is not None
    warmer = replace(house, average_temperature=house.average_temperature + 1.0)
    return with_house(site, warmer)


async def test_only_changed_entities_are_written(
    hass: HomeAssistant,
    rotem_entry: MockConfigEntry,
    mock_client: MagicMock,
    site: SiteSnapshot,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Only the entity whose value changed writes; the others keep ``last_reported``.

    The house's new average temperature changes no farm total and nothing else of the house.
    """
    await setup_entry(hass, rotem_entry)
    await poll(hass, freezer)  # a steady-state poll first
    # Values, not State objects: HA updates ``last_reported`` of an unchanged state in place.
    before = {
        entity_id: (_state(hass, entity_id).state, _state(hass, entity_id).last_reported)
        for entity_id in (TEMPERATURE_1, HUMIDITY_1, TEMPERATURE_2, ALARM_1)
    }
    changed = _record_changes(hass)
    await poll(hass, freezer)  # same answer again: nothing to write
    assert changed == []
    mock_client.get_site.return_value = _warmer_house_1(site)
    await poll(hass, freezer)
    assert changed == [TEMPERATURE_1]

    temperature = _state(hass, TEMPERATURE_1)
    assert float(temperature.state) == pytest.approx(float(before[TEMPERATURE_1][0]) + 1.0)
    assert temperature.last_reported > before[TEMPERATURE_1][1]
    for entity_id in (HUMIDITY_1, TEMPERATURE_2, ALARM_1):
        state = _state(hass, entity_id)
        assert (state.state, state.last_reported) == before[entity_id]


async def test_outage_and_recovery_reach_every_entity(
    hass: HomeAssistant,
    rotem_entry: MockConfigEntry,
    mock_client: MagicMock,
    site: SiteSnapshot,
    freezer: FrozenDateTimeFactory,
) -> None:
    """An outage makes every polled entity unavailable but the farm's cloud connection, which
    reports it (off); the recovery brings each one back."""
    await setup_entry(hass, rotem_entry)
    await poll(hass, freezer)
    polled = _poll_entities(hass, rotem_entry)
    assert len(polled) > 100  # six houses and the farm
    assert {HUMIDITY_1, ALARM_1} <= set(polled)  # a sensor and a binary sensor, values unchanged
    before = {entity_id: _state(hass, entity_id).state for entity_id in polled}
    analysis = {
        state.entity_id: state.state
        for state in hass.states.async_all()
        if state.entity_id.endswith(("_anomaly", "_anomaly_score"))
    }
    assert analysis

    mock_client.get_site.side_effect = RotemConnectionError("down")
    await poll(hass, freezer)
    cloud = "binary_sensor.green_valley_cloud_connection"
    assert _state(hass, cloud).state == STATE_OFF
    assert {_state(hass, entity_id).state for entity_id in polled if entity_id != cloud} == {
        STATE_UNAVAILABLE
    }
    assert {entity_id: _state(hass, entity_id).state for entity_id in analysis} == analysis

    mock_client.get_site.side_effect = None
    mock_client.get_site.return_value = site
    await poll(hass, freezer)
    assert {entity_id: _state(hass, entity_id).state for entity_id in polled} == before


async def test_offline_house_and_back_online(
    hass: HomeAssistant,
    rotem_entry: MockConfigEntry,
    mock_client: MagicMock,
    site: SiteSnapshot,
    freezer: FrozenDateTimeFactory,
) -> None:
    """An off-line house writes only its own entities; the connection sensor stays shown."""
    await setup_entry(hass, rotem_entry)
    await poll(hass, freezer)
    humidity = _state(hass, HUMIDITY_1).state
    offline = replace(site.houses[1], connection_status=ConnectionStatus.DISCONNECTED)
    mock_client.get_site.return_value = with_house(site, offline)
    changed = _record_changes(hass)
    await poll(hass, freezer)
    assert _state(hass, HUMIDITY_1).state == STATE_UNAVAILABLE
    assert _state(hass, TEMPERATURE_1).state == STATE_UNAVAILABLE
    assert _state(hass, CONNECTION_1).state == "off"
    assert _state(hass, TEMPERATURE_2).state == "29.9"
    assert _state(hass, "sensor.green_valley_farm_water_today").state != STATE_UNAVAILABLE
    assert changed
    assert all("_house_1_" in entity_id or "_farm_" in entity_id for entity_id in changed)
    assert TEMPERATURE_2 not in changed

    mock_client.get_site.return_value = site
    await poll(hass, freezer)
    assert _state(hass, HUMIDITY_1).state == humidity
    assert _state(hass, CONNECTION_1).state == "on"


async def test_unit_change_alone_is_written(
    hass: HomeAssistant,
    rotem_entry: MockConfigEntry,
    mock_client: MagicMock,
    farm_info: FarmInfo,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Same numbers in another unit are another state: the daily farm facts switch to °F."""
    await setup_entry(hass, rotem_entry)
    assert _state(hass, TEMPERATURE_1).state == "30.0"
    fahrenheit = replace(farm_info.units, temperature=TemperatureUnit.FAHRENHEIT.value)
    mock_client.get_farm_info.return_value = replace(farm_info, units=fahrenheit)
    freezer.tick(timedelta(days=1))
    await poll(hass, freezer)
    # Home Assistant shows the metric instance's °C: 30 °F is -1.1 °C.
    assert float(_state(hass, TEMPERATURE_1).state) == pytest.approx(-1.11, abs=0.01)


async def test_update_entity_polls_again(
    hass: HomeAssistant,
    rotem_entry: MockConfigEntry,
    mock_client: MagicMock,
    site: SiteSnapshot,
) -> None:
    """``homeassistant.update_entity`` on any entity asks the farm for a new reading."""
    await setup_entry(hass, rotem_entry)
    assert await async_setup_component(hass, "homeassistant", {})
    polls = mock_client.get_site.await_count
    mock_client.get_site.return_value = _warmer_house_1(site)
    await hass.services.async_call(
        "homeassistant", SERVICE_UPDATE_ENTITY, {ATTR_ENTITY_ID: [TEMPERATURE_1]}, blocking=True
    )
    await hass.async_block_till_done()
    assert mock_client.get_site.await_count == polls + 1
    assert _state(hass, TEMPERATURE_1).state == "31.0"


async def test_house_that_returns_is_followed_again(
    hass: HomeAssistant,
    rotem_entry: MockConfigEntry,
    mock_client: MagicMock,
    site: SiteSnapshot,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A house missing from one answer is unavailable, then its entities follow it again."""
    await setup_entry(hass, rotem_entry)
    without_1 = replace(site, houses={n: h for n, h in site.houses.items() if n != 1})
    mock_client.get_site.return_value = without_1
    await poll(hass, freezer)
    assert _state(hass, TEMPERATURE_1).state == STATE_UNAVAILABLE
    mock_client.get_site.return_value = site
    await poll(hass, freezer)
    assert _state(hass, TEMPERATURE_1).state == "30.0"
    mock_client.get_site.return_value = _warmer_house_1(site)
    await poll(hass, freezer)
    assert _state(hass, TEMPERATURE_1).state == "31.0"


async def test_entity_added_during_an_outage_shows_unavailable(
    hass: HomeAssistant,
    rotem_entry: MockConfigEntry,
    mock_client: MagicMock,
    freezer: FrozenDateTimeFactory,
) -> None:
    """What an entity shows is read from the last poll only if that poll succeeded."""
    await setup_entry(hass, rotem_entry)
    coordinator = rotem_entry.runtime_data.coordinator
    assert coordinator is not None
    assert coordinator.shown_state(1, lambda house, snapshot: house is not None) is True
    mock_client.get_site.side_effect = RotemConnectionError("down")
    await poll(hass, freezer)
    assert coordinator.shown_state(1, lambda house, snapshot: house is not None) is None
