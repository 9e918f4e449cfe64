"""Pure helpers about a flock's age.

A controller counts the flock's age as a growth day; farmers plan with dates (placement,
expected harvest). Deriving one from the other lives here, free of Home Assistant, so it is
tested on its own and shared by Rotem and manual farms.
"""

from __future__ import annotations

from datetime import date, timedelta


def placement_date_from_growth_day(growth_day: int, today: date) -> date:
    """Return the day the chicks were placed, given today's growth day (placement = day 0)."""
    return today - timedelta(days=growth_day)


def growth_day_from_placement(placement: date, today: date) -> int:
    """Return today's growth day of a flock placed on ``placement`` (negative before it)."""
    return (today - placement).days


def expected_harvest_date(placement: date, target_age_days: int) -> date:
    """Return the day the flock reaches ``target_age_days``."""
    return placement + timedelta(days=target_age_days)


def is_new_flock(previous_growth_day: int | None, growth_day: int | None) -> bool:
    """Tell whether the growth day dropped, which is how a controller shows a new flock.

    An unknown value on either side says nothing: a controller that goes off line and comes
    back with the same flock must not look like a new placement.
    """
    if previous_growth_day is None or growth_day is None:
        return False
    return growth_day < previous_growth_day


def stable_placement_date(
    stored: date | None,
    growth_day: int | None,
    today: date,
    *,
    previous_growth_day: int | None = None,
    tolerance_days: int = 1,
) -> date | None:
    """Return the placement date to show, keeping it stable within one flock.

    The controller's clock and Home Assistant's local date disagree for a while around
    midnight, so a date recomputed on every poll would jump by a day back and forth. The stored
    date is kept unless a new flock started (growth day dropped) or the derived date moved by
    more than ``tolerance_days`` (the farmer corrected the growth day on the controller).
    """
    if growth_day is None:
        return stored
    derived = placement_date_from_growth_day(growth_day, today)
    if stored is None or is_new_flock(previous_growth_day, growth_day):
        return derived
    if abs((derived - stored).days) > tolerance_days:
        return derived
    return stored
