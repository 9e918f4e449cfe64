"""Properties of the model that must hold for any seed, house and moment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator import model
from simulator.scenario import FarmOptions, Scenario

moments = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31)).map(
    lambda moment: moment.replace(tzinfo=UTC)
)


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(min_value=0, max_value=10_000),
    house_number=st.integers(min_value=1, max_value=4),
    moment=moments,
    offset_hours=st.sampled_from([-5.0, 0.0, 2.0]),
)
def test_daily_totals_rise_through_the_local_day_and_restart_at_midnight(
    seed: int, house_number: int, moment: datetime, offset_hours: float
) -> None:
    options = FarmOptions(utc_offset_hours=offset_hours)
    scenario = Scenario(farms=1, houses=4, seed=seed, farm_options={1: options})
    farm = model.build_farms(scenario, moment)[0]
    house = farm.houses[house_number - 1]
    local = moment + timedelta(hours=offset_hours)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(
        hours=offset_hours
    )
    t = model.epoch(midnight) + np.arange(0.0, 2 * model.DAY, 600.0)
    water, feed = model.daily_totals(farm, house, t)
    first_day = slice(0, 144)
    second_day = slice(144, 288)
    for totals in (water, feed):
        assert totals[0] == 0.0
        assert totals[144] == 0.0
        assert np.all(np.diff(totals[first_day]) >= 0.0)
        assert np.all(np.diff(totals[second_day]) >= 0.0)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(min_value=0, max_value=10_000), moment=moments)
def test_values_stay_in_physical_ranges(seed: int, moment: datetime) -> None:
    farm = model.build_farms(Scenario(farms=1, houses=3, seed=seed), moment)[0]
    t = model.epoch(moment) + np.arange(0.0, model.DAY, 900.0)
    batch = model.evaluate_houses(farm, farm.houses, t)
    assert np.all((batch["humidity"] >= 20.0) & (batch["humidity"] <= 98.0))
    assert np.all(batch["static_pressure"] >= 0.0)
    assert np.all((batch["vent_level_percent"] >= 0.0) & (batch["vent_level_percent"] <= 100.0))
    assert np.all((batch["heaters_running"] >= 0.0) & (batch["heaters_running"] <= 8.0))
    assert np.all(batch["bird_count"] >= 0.0)
    assert np.all(batch["water_rate"] >= 0.0)
    growth = batch["growth_day"][~np.isnan(batch["growth_day"])]
    assert np.all((growth >= -1) & (growth <= model.LAST_GROWTH_DAY))
    for row, house in enumerate(farm.houses):
        single = model.evaluate(farm, house, t)
        np.testing.assert_array_equal(single["temperature"], batch["temperature"][row])
