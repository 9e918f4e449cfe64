"""Which rows of each house hold a settled flock: the pack comparisons judge only those.

An empty house, and the first days of a new flock (growth day reset, birds placed), behave
unlike the pack for good reasons; the pack evidence stays silent there instead of alarming.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ml_analyzer.detectors.grid import ROWS_PER_DAY, FarmGrid, ffill

SETTLE_ROWS = 2 * ROWS_PER_DAY
"""Rows after a new flock (growth day reset, birds placed) that are not yet settled."""


def settled(grid: FarmGrid) -> npt.NDArray[np.bool_] | None:
    """True where the house holds a flock placed at least two days ago (rows x grid.houses);
    None when the farm reports neither bird count nor growth day (settled everywhere).

    Computed over the whole kept grid: the last count or day is carried forward without limit.
    """
    birds = grid.data.get("bird_count")
    day = grid.data.get("growth_day")
    if birds is None and day is None:
        return None
    shape = (len(grid.index), len(grid.houses))
    result = np.ones(shape, dtype=bool)
    change = np.zeros(shape, dtype=bool)
    column = {house: position for position, house in enumerate(grid.houses)}
    if birds is not None:
        where = [column[house] for house in birds.columns]
        count = ffill(birds.to_numpy(dtype=float))
        before = np.vstack([np.full((1, count.shape[1]), np.nan), count[:-1]])
        result[:, where] &= ~(count <= 0)
        change[:, where] |= ~np.isnan(before) & (count > 1.2 * np.maximum(before, 1.0))
    if day is not None:
        where = [column[house] for house in day.columns]
        days = ffill(day.to_numpy(dtype=float))
        before = np.vstack([np.full((1, days.shape[1]), np.nan), days[:-1]])
        change[:, where] |= days < before - 0.5
    if not change.any():
        return result
    position = np.arange(shape[0])[:, None]
    last_change = np.maximum.accumulate(np.where(change, position, -1), axis=0)
    recent = (last_change >= 0) & (position - last_change < SETTLE_ROWS)
    settled_rows: npt.NDArray[np.bool_] = result & ~recent
    return settled_rows
