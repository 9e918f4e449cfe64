"""Flock age helpers and the farm's daily totals: pure functions, no Home Assistant."""

from __future__ import annotations

from datetime import date

import pytest

from custom_components.rotem_farm.coordinator import DailyTotal
from custom_components.rotem_farm.flock import (
    expected_harvest_date,
    growth_day_from_placement,
    is_new_flock,
    placement_date_from_growth_day,
    stable_placement_date,
)

TODAY = date(2026, 4, 24)


def test_age_round_trip() -> None:
    """Placement and growth day convert both ways; harvest is placement + target age."""
    placement = placement_date_from_growth_day(21, TODAY)
    assert placement == date(2026, 4, 3)
    assert growth_day_from_placement(placement, TODAY) == 21
    assert growth_day_from_placement(date(2026, 4, 30), TODAY) == -6
    assert expected_harvest_date(placement, 42) == date(2026, 5, 15)


@pytest.mark.parametrize(
    ("previous", "current", "new"),
    [(40, 0, True), (21, 22, False), (21, 21, False), (None, 0, False), (21, None, False)],
)
def test_new_flock(previous: int | None, current: int | None, new: bool) -> None:
    """Only a drop of a known growth day means a new flock."""
    assert is_new_flock(previous, current) is new


def test_placement_stays_stable_around_midnight() -> None:
    """A one-day disagreement between controller and local date keeps the stored date."""
    stored = date(2026, 4, 3)
    # Local date already the 25th, controller still on growth day 21.
    assert stable_placement_date(stored, 21, date(2026, 4, 25), previous_growth_day=21) == stored
    # Controller already on day 22, local date still the 24th.
    assert stable_placement_date(stored, 22, TODAY, previous_growth_day=21) == stored


def test_placement_changes_for_a_new_flock_or_a_correction() -> None:
    """A new flock or a corrected growth day moves the date; unknown day keeps it."""
    stored = date(2026, 4, 3)
    assert stable_placement_date(stored, 0, TODAY, previous_growth_day=40) == TODAY
    assert stable_placement_date(stored, 30, TODAY, previous_growth_day=21) == date(2026, 3, 25)
    assert stable_placement_date(stored, None, TODAY) == stored
    assert stable_placement_date(None, None, TODAY) is None
    assert stable_placement_date(None, 5, TODAY) == date(2026, 4, 19)


def test_daily_total_counts_increments_and_resets() -> None:
    """Increments add up; a dropped house counts its new value; a new day restarts."""
    total = DailyTotal()
    assert total.update({1: None}, TODAY) is None
    assert total.update({1: 100.0, 2: 50.0}, TODAY) == 150.0
    assert total.update({1: 120.0, 2: None}, TODAY) == 170.0
    assert total.update({1: 10.0, 2: 60.0, 3: 7.0}, TODAY) == 197.0
    assert total.update({1: 15.0}, date(2026, 4, 25)) == 5.0
    restored = DailyTotal(total.as_dict())
    assert restored.update({1: 20.0}, date(2026, 4, 25)) == 10.0
