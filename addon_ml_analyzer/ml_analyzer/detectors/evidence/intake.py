"""Intake signals of the pack family: water and feed, from the controller's daily counters.

  water, feed               per 1000 birds, where the house's bird count is known
  water_house, feed_house   the house's own rate, where a house's count was not entered
                            water (leak: up, blockage: down) / feed (line or auger stopped)

The controller reports running totals since local midnight; the rate is their increment per
row (the midnight reset recognised), so today's partial total is never read as a level.

A bird count of 0 (or none) while water flows means the count was never entered on the
controller (the real capture: 0 birds at growth day 21, ~950 L a day), not an empty house.
Per-bird rates are then unknown, so wherever any house of the farm is in that state the farm
also gets the `_house` streams: every house's own rate against its siblings' rates (the pack's
log ratio and the house's own baseline absorb the difference in flock size). A house whose count
is entered later has no `_house` baseline for that stretch yet: a blind day and a half, never a
false jump. Their noise floors are the per-bird floors at a nominal house of 20,000 birds
(houses hold 10,000 to 40,000): the floor only keeps near-zero night rates from dividing one
small number by another.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from ml_analyzer.detectors.arrays import FloatArray, ffill, rate_values, rolling_mean, rolling_sum
from ml_analyzer.detectors.evidence.base import EvidenceSpec, Signal
from ml_analyzer.detectors.grid import ROWS_PER_DAY, ROWS_PER_HOUR, Tables, as_table

INTAKE_ROWS = 2 * ROWS_PER_HOUR
"""Rows the intake rate is averaged over (2 hours)."""
COUNT_FRESH_ROWS = 26 * ROWS_PER_HOUR
"""A bird count holds this long after its last point (it changes once a day, with mortality)."""
FLOW_ROWS = ROWS_PER_DAY
"""Water flows in a house that drank anything in the last 24 hours."""
NOMINAL_THOUSANDS = 20.0
"""Thousands of birds of the nominal house that scales the `_house` streams' noise floors."""
ROLES = (("water_daily", "water"), ("feed_daily", "feed"))


def _intake(tables: Tables) -> dict[str, pd.DataFrame]:
    """Water and feed per 1000 birds per row where the count is known, and the houses' own
    rates at rows where some house's count was not entered (see the module docstring)."""
    derived: dict[str, pd.DataFrame] = {}
    birds = tables.get("bird_count")
    water = tables.get("water_daily")
    unentered: npt.NDArray[np.bool_] | None = None
    count: dict[str, FloatArray] = {}
    if water is not None:
        known = np.zeros(water.shape, dtype=bool)
        if birds is not None:
            at = birds.columns.get_indexer(water.columns)
            counted = np.flatnonzero(at >= 0)
            filled = ffill(birds.to_numpy(dtype=float)[:, at[counted]], COUNT_FRESH_ROWS)
            with np.errstate(invalid="ignore"):
                known[:, counted] = filled > 0
        drunk = rolling_sum(rate_values(water.to_numpy(dtype=float)), FLOW_ROWS)
        with np.errstate(invalid="ignore"):
            unentered = ((drunk > 0) & ~known).any(axis=1)
    if birds is not None:
        filled = ffill(birds.to_numpy(dtype=float), COUNT_FRESH_ROWS)
        count = {str(house): filled[:, column] for column, house in enumerate(birds.columns)}
    for role, name in ROLES:
        total = tables.get(role)
        if total is None:
            continue
        rate = rate_values(total.to_numpy(dtype=float))
        scale = np.ones(total.shape)
        for column, house in enumerate(total.columns):
            if str(house) in count:
                with np.errstate(invalid="ignore"):
                    scale[:, column] = np.where(count[str(house)] > 0, count[str(house)], np.nan)
        per_bird = rate / scale * 1000.0
        smooth = rolling_mean(per_bird, INTAKE_ROWS, INTAKE_ROWS // 3)
        derived[name] = as_table(total.index, total.columns, smooth)
        if unentered is not None and unentered.any():
            own = rolling_mean(rate, INTAKE_ROWS, INTAKE_ROWS // 3)
            own[~unentered] = np.nan
            derived[f"{name}_house"] = as_table(total.index, total.columns, own)
    return derived


def _spec(signal: str, floor: float, subsystem: str, unit: str) -> EvidenceSpec:
    return EvidenceSpec(
        signal=signal, floor=floor, up=subsystem, down=subsystem, unit=unit, relative=True
    )


INTAKE = Signal(
    lookback=INTAKE_ROWS + 1 + max(COUNT_FRESH_ROWS, FLOW_ROWS),
    derive=_intake,
    specs={
        "water": _spec("water_daily", 0.02, "water", "L/1000 birds/5 min"),
        "feed": _spec("feed_daily", 0.01, "feed", "kg/1000 birds/5 min"),
        "water_house": _spec("water_daily", 0.02 * NOMINAL_THOUSANDS, "water", "L/5 min"),
        "feed_house": _spec("feed_daily", 0.01 * NOMINAL_THOUSANDS, "feed", "kg/5 min"),
    },
)
