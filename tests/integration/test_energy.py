"""Water and feed in the Energy dashboard: a day's readings across the controllers' midnight
reset compile into long-term statistics whose sum is what the birds really drank.

The farm total is the case that matters: controllers reset at slightly different times, and a
plain sum of their daily counters would drop by less than a full reset and be counted again.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from unittest.mock import MagicMock

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.recorder.core import Recorder
from homeassistant.components.recorder.statistics import statistics_during_period
from homeassistant.core import HomeAssistant
from homeassistant.helpers.recorder import get_instance
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
    do_adhoc_statistics,
)

from custom_components.rotem_farm.rotemnet import SiteSnapshot

from .conftest import state_of

HOUSE_1 = "sensor.green_valley_house_1_water_today"
HOUSE_2 = "sensor.green_valley_house_2_water_today"
FARM = "sensor.green_valley_farm_water_today"
# (house 1, house 2) litres today as each controller reports them, every 5 minutes from 23:45
# local time: house 1 resets at midnight, house 2 five minutes later (its clock runs late).
READINGS = [(100, 200), (110, 210), (120, 220), (5, 230), (15, 4), (25, 14)]


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(
    recorder_mock: Recorder, enable_custom_integrations: None
) -> None:
    """Start the recorder before Home Assistant (it must exist when hass is created)."""


def _site(site: SiteSnapshot, water_1: float, water_2: float) -> SiteSnapshot:
    houses = {
        number: replace(house, water_daily=None, feed_daily=None)
        for number, house in site.houses.items()
    }
    houses[1] = replace(houses[1], water_daily=water_1)
    houses[2] = replace(houses[2], water_daily=water_2)
    return replace(site, houses=houses)


async def test_water_statistics_across_midnight(
    hass: HomeAssistant,
    rotem_entry: MockConfigEntry,
    mock_client: MagicMock,
    site: SiteSnapshot,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Each house sums to its own consumption; the farm to theirs together (45 + 44 L)."""
    start = dt_util.as_utc(datetime(2026, 4, 23, 23, 45, tzinfo=dt_util.get_default_time_zone()))
    freezer.move_to(start)
    mock_client.get_site.return_value = _site(site, *READINGS[0])
    rotem_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(rotem_entry.entry_id)
    await hass.async_block_till_done()
    farm_states = [state_of(hass, FARM)]
    for water_1, water_2 in READINGS[1:]:
        mock_client.get_site.return_value = _site(site, water_1, water_2)
        freezer.tick(timedelta(minutes=5))
        async_fire_time_changed(hass)
        await hass.async_block_till_done()
        farm_states.append(state_of(hass, FARM))
    assert farm_states == ["300.0", "320.0", "340.0", "15.0", "29.0", "49.0"]
    await async_wait_recording_done(hass)

    for period in range(len(READINGS)):
        do_adhoc_statistics(hass, start=start + timedelta(minutes=5 * period))
        await async_wait_recording_done(hass)
    stats = await get_instance(hass).async_add_executor_job(
        statistics_during_period,
        hass,
        start,
        None,
        {HOUSE_1, HOUSE_2, FARM},
        "5minute",
        None,
        {"sum", "state"},
    )
    assert stats[HOUSE_1][-1]["sum"] == 45.0
    assert stats[HOUSE_2][-1]["sum"] == 44.0
    assert stats[FARM][-1]["sum"] == 89.0
    await hass.config_entries.async_unload(rotem_entry.entry_id)
