"""The probes family: each temperature probe of a house against the house's other probes.

  probe_temperature_<n>, ..._trend   probe minus the other probes, stuck, gone   sensor

A house needs three probes or more (with two, neither can be told from the other).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ml_analyzer.detectors.arrays import (
    FloatArray,
    pack_medians,
    rolling_max,
    rolling_mean,
    shifted,
)
from ml_analyzer.detectors.baselines import Baselines, baselines_of
from ml_analyzer.detectors.evidence.base import TREND_FLOOR_DIVISOR, TREND_ROWS, Evidence, Window
from ml_analyzer.detectors.grid import ROWS_PER_HOUR

PROBE_PREFIX = "probe_temperature_"
MIN_PROBES = 3
PROBE_FLOOR = 0.15
PROBE_STILL_ROWS = 2 * ROWS_PER_HOUR
"""A probe that has not moved for this long while its siblings move is stuck."""
FORCED_Z = 10.0
"""The z of a stuck or missing probe (far above every alarm threshold)."""
PROBE_LIMIT = 3.0
"""Deviation (°C) at which a probe counts as failed (for time to failure)."""


class ProbeFamily:
    """Every house with three probes or more; the probe block taken from the grid's tables."""

    lookback = 0
    """The probe windows read the grid's rows (`Window.evaluate` includes their context)."""

    def streams(self, window: Window) -> dict[str, list[Evidence]]:
        """probe_streams of every house with three probes or more, on the last `evaluate` rows
        (the last `keep` returned), its probe block taken from the role tables (plain arrays)."""
        grid, rows, evaluate = window.grid, window.rows, window.evaluate
        probes = sorted(role for role in grid.tables if role.startswith(PROBE_PREFIX))
        if len(probes) < MIN_PROBES:
            return {}
        index = grid.index[rows - evaluate :]
        columns = {}
        for role in probes:
            table = grid.tables[role]
            values = table.to_numpy(dtype=float)[rows - evaluate :]
            columns[role] = ({str(house): at for at, house in enumerate(table.columns)}, values)
        found: dict[str, list[Evidence]] = {}
        for house in grid.houses:
            own = [role for role in probes if house in columns[role][0]]
            if len(own) < MIN_PROBES:
                continue
            block = np.column_stack([columns[role][1][:, columns[role][0][house]] for role in own])
            found[house] = probe_streams(
                block, index, own, house, window.baselines, keep=window.keep
            )
        return found


def probe_streams(
    block: FloatArray,
    index: pd.DatetimeIndex,
    probes: list[str],
    house: str,
    baselines: Baselines | None,
    *,
    keep: int | None = None,
) -> list[Evidence]:
    """Stuck, drift, noise and dropout of each probe of a rows x probes array.

    Each probe's reference is the median of the house's other probes at each row. Its residual
    (smoothed over an hour) against its own baseline gives `probe_<n>`, forced to +-10 where the
    probe has not moved for PROBE_STILL_ROWS while the others move (stuck) and to 10 where it is
    missing for half of the last hour while a sibling reports (dropout); the residual smoothed over
    TREND_ROWS gives the slow `probe_<n>_trend` (drift). All probes at once on plain arrays: with
    pandas 3 the per-probe DataFrame operations cost ~50 ms per house and tick. With `keep`,
    the streams hold only the last `keep` rows (their values read the rows before).
    """
    present = ~np.isnan(block)
    reference = pack_medians(block)
    step = np.abs(block - shifted(block))
    moving = rolling_mean(pack_medians(step), PROBE_STILL_ROWS, ROWS_PER_HOUR)
    still = rolling_max(step, PROBE_STILL_ROWS, ROWS_PER_HOUR)
    with np.errstate(invalid="ignore"):
        stuck = (still < 1e-6) & (moving > 0.01)
    siblings = present.sum(axis=1, keepdims=True) - present > 0
    gone = rolling_mean((~present & siblings).astype(float), ROWS_PER_HOUR, 1) >= 0.5
    offset = block - reference
    residual = rolling_mean(offset, ROWS_PER_HOUR, ROWS_PER_HOUR // 3)
    drift = rolling_mean(offset, TREND_ROWS, TREND_ROWS // 3)
    typical, mad = baselines_of(residual, index, [f"{house}/{p}" for p in probes], baselines)
    z = (residual - typical) / np.maximum(1.4826 * mad, PROBE_FLOOR)
    sign = np.sign(np.where(np.isnan(z), 1.0, z))
    z = np.where(stuck, np.where(sign == 0, 1.0, sign) * FORCED_Z, z)
    z[gone] = FORCED_Z
    drift_typical, drift_mad = baselines_of(
        drift, index, [f"{house}/{p}_trend" for p in probes], baselines
    )
    drift_floor = PROBE_FLOOR / TREND_FLOOR_DIVISOR
    drift_z = (drift - drift_typical) / np.maximum(1.4826 * drift_mad, drift_floor)
    start = 0 if keep is None else max(len(index) - keep, 0)
    index = index[start:]
    block, reference = block[start:], reference[start:]
    z, typical, drift_z, drift_typical = (
        z[start:],
        typical[start:],
        drift_z[start:],
        drift_typical[start:],
    )
    streams: list[Evidence] = []
    for column, probe in enumerate(probes):
        actual = pd.Series(block[:, column], index=index, name=probe)
        for name, values, expected, slow in (
            (probe, z, typical, False),
            (f"{probe}_trend", drift_z, drift_typical, True),
        ):
            streams.append(
                Evidence(
                    name=name,
                    signal=probe,
                    z=pd.Series(values[:, column], index=index),
                    actual=actual,
                    expected=pd.Series(reference[:, column] + expected[:, column], index=index),
                    subsystem_up="sensor",
                    subsystem_down="sensor",
                    unit="°C",
                    limit=PROBE_LIMIT,
                    slow=slow,
                )
            )
    return streams


PROBES = ProbeFamily()
