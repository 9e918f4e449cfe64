"""After a poll, only the entities whose shown state changed are written.

Fifty farms mean ten thousand entities; rewriting the unchanged ones costs the event loop most
of a poll. These tests check that a changed value, an availability change and a recovery are
still written, and that an unchanged entity is left alone (its ``last_reported`` stays).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from unittest.mock import MagicMock

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant, State
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.rotem_farm.rotemnet import RotemConnectionError, SiteSnapshot

pytestmark = pytest.mark.usefixtures("mock_client")

TEMPERATURE_1 = "sensor.green_valley_house_1_temperature"
HUMIDITY_1 = "sensor.green_valley_house_1_humidity"
TEMPERATURE_2 = "sensor.green_valley_house_2_temperature"
ALARM_1 = "binary_sensor.green_valley_house_1_alarm"


async def _setup(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()


async def _poll(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> None:
    freezer.tick(timedelta(minutes=5))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()


def _state(hass: HomeAssistant, entity_id: str) -> State:
    state = hass.states.get(entity_id)
    assert state is not None, entity_id
    return state


def _warmer_house_1(site: SiteSnapshot) -> SiteSnapshot:
    house = site.houses[1]
    assert house.average_temperature is not None
    warmer = replace(house, average_temperature=house.average_temperature + 1.0)
    return replace(site, houses={**site.houses, 1: warmer})


async def test_only_changed_entities_are_written(
    hass: HomeAssistant,
    rotem_entry: MockConfigEntry,
    mock_client: MagicMock,
    site: SiteSnapshot,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A new temperature is written; the unchanged humidity and alarm are not rewritten."""
    await _setup(hass, rotem_entry)
    await _poll(hass, freezer)  # a steady-state poll first
    # Values, not State objects: HA updates ``last_reported`` of an unchanged state in place.
    before = {
        entity_id: (_state(hass, entity_id).state, _state(hass, entity_id).last_reported)
        for entity_id in (TEMPERATURE_1, HUMIDITY_1, TEMPERATURE_2, ALARM_1)
    }
    mock_client.get_site.return_value = _warmer_house_1(site)
    await _poll(hass, freezer)

    temperature = _state(hass, TEMPERATURE_1)
    assert float(temperature.state) == pytest.approx(float(before[TEMPERATURE_1][0]) + 1.0)
    assert temperature.last_reported > before[TEMPERATURE_1][1]
    for entity_id in (HUMIDITY_1, TEMPERATURE_2, ALARM_1):
        state = _state(hass, entity_id)
        assert (state.state, state.last_reported) == before[entity_id]


async def test_outage_and_recovery_are_written(
    hass: HomeAssistant,
    rotem_entry: MockConfigEntry,
    mock_client: MagicMock,
    site: SiteSnapshot,
    freezer: FrozenDateTimeFactory,
) -> None:
    """An unchanged value still goes unavailable in an outage and comes back afterwards."""
    await _setup(hass, rotem_entry)
    await _poll(hass, freezer)
    humidity = _state(hass, HUMIDITY_1).state
    mock_client.get_site.side_effect = RotemConnectionError("down")
    await _poll(hass, freezer)
    assert _state(hass, HUMIDITY_1).state == STATE_UNAVAILABLE
    assert _state(hass, ALARM_1).state == STATE_UNAVAILABLE
    mock_client.get_site.side_effect = None
    mock_client.get_site.return_value = site
    await _poll(hass, freezer)
    assert _state(hass, HUMIDITY_1).state == humidity
    assert _state(hass, ALARM_1).state != STATE_UNAVAILABLE
