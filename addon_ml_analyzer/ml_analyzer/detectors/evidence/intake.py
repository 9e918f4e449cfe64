"""Intake signals of the pack family: water and feed per 1000 birds, from the daily counters.

  water   water intake rate per bird   water (leak: up, blockage: down)
  feed    feed intake rate per bird    feed (line or auger stopped: down)

The controller reports running totals since local midnight; the rate is their increment per
row (the midnight reset recognised), so today's partial total is never read as a level.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ml_analyzer.detectors.arrays import FloatArray, rolling_mean, shifted
from ml_analyzer.detectors.evidence.base import EvidenceSpec, Signal
from ml_analyzer.detectors.grid import ROWS_PER_HOUR, Tables, as_table

INTAKE_ROWS = 2 * ROWS_PER_HOUR
"""Rows the intake rate is averaged over (2 hours)."""


def rate_values(total: FloatArray) -> FloatArray:
    """Increment per row of a running daily total that resets at local midnight.

    A drop means the counter was reset: the new value itself is that row's increment. Gaps give
    NaN rather than a made-up increment.
    """
    before = shifted(total)
    step = total - before
    reset = step < -0.05 * np.abs(before)
    rate: FloatArray = np.maximum(np.where(reset, total, step), 0.0)
    return rate


def _intake(tables: Tables) -> dict[str, pd.DataFrame]:
    """Water and feed per 1000 birds per row (per house when the house reports no bird count)."""
    derived: dict[str, pd.DataFrame] = {}
    birds = tables.get("bird_count")
    for role, name in (("water_daily", "water"), ("feed_daily", "feed")):
        total = tables.get(role)
        if total is None:
            continue
        scale = np.ones(total.shape)
        if birds is not None:
            at = birds.columns.get_indexer(total.columns)
            counted = np.flatnonzero(at >= 0)
            count = birds.to_numpy(dtype=float)[:, at[counted]]
            scale[:, counted] = np.where(count > 0, count, np.nan)
        per_bird = rate_values(total.to_numpy(dtype=float)) / scale * 1000.0
        smooth = rolling_mean(per_bird, INTAKE_ROWS, INTAKE_ROWS // 3)
        derived[name] = as_table(total.index, total.columns, smooth)
    return derived


INTAKE = Signal(
    lookback=INTAKE_ROWS + 1,
    derive=_intake,
    specs={
        "water": EvidenceSpec(
            signal="water_daily",
            floor=0.02,
            up="water",
            down="water",
            unit="L/1000 birds/5 min",
            relative=True,
        ),
        "feed": EvidenceSpec(
            signal="feed_daily",
            floor=0.01,
            up="feed",
            down="feed",
            unit="kg/1000 birds/5 min",
            relative=True,
        ),
    },
)
