"""Which rows of each house hold a settled flock: the pack comparisons judge only those.

Occupancy comes from what a controller really reports (docs/detectors.md, "Occupancy"): a
house holds birds when its growth day is 0 or more and its house mode is not empty, or when
water flows. Never from the bird count: controllers often report 0 birds for a full house
because the count was never entered (the real capture: every house 0 birds at growth day 21
with ~950 L of water a day). The house mode arrives as a flag (`house_mode`: 1 a mode with
birds, 0 empty house or room; the readers turn the enum state into it), so a controller that
keeps counting growth days in an emptied house is empty once its water stops.

An empty house, and the first days of a new flock (growth day reset, or the house becoming
occupied), behave unlike the pack for good reasons; the pack evidence stays silent there
instead of alarming. Where nothing tells, the house counts as occupied (as before this module
knew about occupancy: no evidence is hidden on a guess).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ml_analyzer.detectors.arrays import FloatArray, ffill, rate_values, rolling_sum
from ml_analyzer.detectors.grid import ROWS_PER_DAY, ROWS_PER_HOUR, FarmGrid

SETTLE_ROWS = 2 * ROWS_PER_DAY
"""Rows after a new flock (growth day reset, house newly occupied) that are not yet settled."""
GROWTH_DAY_FRESH_ROWS = 26 * ROWS_PER_HOUR
"""A growth day is current this long after its last point. It changes daily, so even a recorder
that stores only changes has a point a day; an empty house that stopped reporting it is not
held at its last flock's day."""
WATER_ROWS = ROWS_PER_DAY
"""Water flows: some intake in the last 24 hours (birds drink less at night, never nothing)."""


def occupancy(grid: FarmGrid) -> FloatArray | None:
    """Per row and house (rows x grid.houses): 1 occupied, 0 empty, NaN unknown; None when the
    farm reports neither growth day, house mode nor water.

    Growth day and house mode must both say "birds" where both are known (an empty mode, or a
    negative growth day, empties the house); either alone decides where the other is unknown.
    Water flowing makes a house occupied whatever they say. The house mode holds from its last
    point on: HA stores an enum state only when it changes, so a flock's mode may have one
    point in the whole window (and none when it changed before it: then unknown).
    """
    day = grid.data.get("growth_day")
    mode = grid.data.get("house_mode")
    water = grid.data.get("water_daily")
    if day is None and mode is None and water is None:
        return None
    shape = (len(grid.index), len(grid.houses))
    state = np.full(shape, np.nan)
    column = {house: position for position, house in enumerate(grid.houses)}
    if day is not None:
        where = [column[house] for house in day.columns]
        days = ffill(day.to_numpy(dtype=float), GROWTH_DAY_FRESH_ROWS)
        with np.errstate(invalid="ignore"):
            state[:, where] = np.where(np.isnan(days), np.nan, (days >= 0).astype(float))
    if mode is not None:
        where = [column[house] for house in mode.columns]
        modes = ffill(mode.to_numpy(dtype=float))
        with np.errstate(invalid="ignore"):
            full = np.where(np.isnan(modes), np.nan, (modes > 0.5).astype(float))
        state[:, where] = np.fmin(state[:, where], full)
    if water is not None:
        where = [column[house] for house in water.columns]
        drunk = rolling_sum(rate_values(water.to_numpy(dtype=float)), WATER_ROWS)
        with np.errstate(invalid="ignore"):
            flows = np.where(np.isnan(drunk), np.nan, (drunk > 0).astype(float))
        known = state[:, where]
        state[:, where] = np.where(np.isnan(known), flows, np.fmax(known, flows))
    return state


def settled(grid: FarmGrid) -> npt.NDArray[np.bool_] | None:
    """True where the house holds a flock placed at least two days ago (rows x grid.houses);
    None when the farm reports neither growth day, house mode nor water (settled everywhere).

    A new flock starts where the growth day drops or where a house known to be empty becomes
    occupied. Computed over the whole kept grid.
    """
    state = occupancy(grid)
    if state is None:
        return None
    shape = state.shape
    change = np.zeros(shape, dtype=bool)
    before = np.vstack([np.full((1, shape[1]), np.nan), state[:-1]])
    change |= (before == 0.0) & (state == 1.0)
    day = grid.data.get("growth_day")
    if day is not None:
        column = {house: position for position, house in enumerate(grid.houses)}
        where = [column[house] for house in day.columns]
        days = ffill(day.to_numpy(dtype=float))
        previous = np.vstack([np.full((1, days.shape[1]), np.nan), days[:-1]])
        change[:, where] |= days < previous - 0.5
    result: npt.NDArray[np.bool_] = state != 0.0
    if not change.any():
        return result
    position = np.arange(shape[0])[:, None]
    last_change = np.maximum.accumulate(np.where(change, position, -1), axis=0)
    recent = (last_change >= 0) & (position - last_change < SETTLE_ROWS)
    settled_rows: npt.NDArray[np.bool_] = result & ~recent
    return settled_rows
