"""Stage 5, the alarms: each evidence stream's hysteresis machine at a sensitivity level.

An alarm switches on after the z has stayed above `z_on` for a minimum time and off after it
has stayed below `z_off` for a hold time, so the entity does not flap. `alarm_state` runs the
machine over a whole stream (batch, the benchmarks); `step_alarms` continues many machines over
new rows from their carried state (the incremental tick): the same decisions either way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from ml_analyzer.detectors.arrays import FloatArray

Sensitivity = Literal["low", "medium", "high"]


@dataclass(frozen=True)
class SensitivityLevel:
    """Alarm thresholds of one sensitivity level (z of the evidence and durations in rows)."""

    z_on: float
    z_off: float
    min_rows: int
    hold_rows: int


SENSITIVITY: dict[str, SensitivityLevel] = {
    "low": SensitivityLevel(z_on=8.0, z_off=4.0, min_rows=12, hold_rows=24),
    "medium": SensitivityLevel(z_on=6.0, z_off=3.0, min_rows=6, hold_rows=12),
    "high": SensitivityLevel(z_on=4.5, z_off=2.5, min_rows=4, hold_rows=6),
}
SLOW_Z_FACTOR = 0.65
SLOW_ROWS_FACTOR = 4


def alarm_state(z: pd.Series, level: SensitivityLevel, slow: bool = False) -> FloatArray:
    """Hysteresis with minimum duration: on after `min_rows` rows above z_on, off after
    `hold_rows` rows below z_off. Returns 1.0 where the alarm is on.

    A slow stream averages hours of data, so its z is far less noisy row to row but moves in
    long excursions: it gets SLOW_Z_FACTOR of the threshold and must hold it SLOW_ROWS_FACTOR
    times longer.
    """
    factor = SLOW_Z_FACTOR if slow else 1.0
    need = level.min_rows * (SLOW_ROWS_FACTOR if slow else 1)
    magnitude = np.nan_to_num(np.abs(z.to_numpy(dtype=float)), nan=0.0)
    above = magnitude >= level.z_on * factor
    below = magnitude < level.z_off * factor
    run_above = _run_lengths(above)
    run_below = _run_lengths(below)
    # The alarm follows the last trigger: switched on by a long enough run above z_on, off by
    # a long enough run below z_off (the two cannot happen on the same row).
    trigger = np.full(len(magnitude), np.nan)
    trigger[run_above >= need] = 1.0
    trigger[run_below >= level.hold_rows] = 0.0
    state: FloatArray = pd.Series(trigger).ffill().fillna(0.0).to_numpy(dtype=float, copy=True)
    return state


@dataclass(frozen=True)
class AlarmCarry:
    """State of one stream's alarm machine after the last row it saw (see step_alarms)."""

    run_above: int = 0
    run_below: int = 0
    on: bool = False
    since: datetime | None = None
    """Start of the episode that is on (None while off)."""


def step_alarms(
    z: FloatArray,
    index: pd.DatetimeIndex,
    level: SensitivityLevel,
    slow: list[bool],
    carries: list[AlarmCarry],
) -> list[AlarmCarry]:
    """alarm_state of many streams continued over the same new rows at once (z: streams x rows).

    The runs above / below the thresholds and the on/off state are carried from the previous
    rows, so an update only looks at the points it has not seen yet: the same decisions as one
    run over all the rows. A farm has dozens of streams and a tick brings one or a few rows:
    stepping them together is a handful of array operations instead of a handful per stream.
    """
    streams, rows = z.shape
    if rows == 0:
        return list(carries)
    slow_flags = np.asarray(slow, dtype=bool)
    factor = np.where(slow_flags, SLOW_Z_FACTOR, 1.0)[:, None]
    need = np.where(slow_flags, level.min_rows * SLOW_ROWS_FACTOR, level.min_rows)[:, None]
    magnitude = np.nan_to_num(np.abs(z), nan=0.0)
    above = magnitude >= level.z_on * factor
    below = magnitude < level.z_off * factor
    run_above = _carried_runs(above, np.array([c.run_above for c in carries]))
    run_below = _carried_runs(below, np.array([c.run_below for c in carries]))
    trigger = np.full((streams, rows), -1.0)
    trigger[run_above >= need] = 1.0
    trigger[run_below >= level.hold_rows] = 0.0
    position = np.arange(rows)
    last = np.maximum.accumulate(np.where(trigger >= 0.0, position, -1), axis=1)
    was_on = np.array([c.on for c in carries], dtype=float)[:, None]
    state = np.where(last >= 0, np.take_along_axis(trigger, np.maximum(last, 0), axis=1), was_on)
    last_off = np.where(state < 1.0, position, -1).max(axis=1)
    result: list[AlarmCarry] = []
    for stream, carry in enumerate(carries):
        on = bool(state[stream, -1] >= 1.0)
        since: datetime | None = None
        if on:
            if last_off[stream] >= 0:
                since = index[int(last_off[stream]) + 1].to_pydatetime()
            else:
                since = carry.since if carry.on else index[0].to_pydatetime()
        result.append(AlarmCarry(int(run_above[stream, -1]), int(run_below[stream, -1]), on, since))
    return result


def _carried_runs(
    flags: npt.NDArray[np.bool_], carried: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """Length of the current run of True ending at each position of each row of `flags`, the
    first run continuing the `carried` run of that row."""
    position = np.arange(flags.shape[1], dtype=np.int64)
    last_false = np.maximum.accumulate(np.where(flags, -1, position), axis=1)
    counts: npt.NDArray[np.int64] = np.where(flags, position - last_false, 0)
    counts += np.where(flags & (last_false < 0), carried[:, None], 0)
    return counts


def _run_lengths(flags: npt.NDArray[np.bool_]) -> npt.NDArray[np.int64]:
    """Length of the current run of True ending at each position (0 where False)."""
    position = np.arange(len(flags), dtype=np.int64)
    last_false = np.maximum.accumulate(np.where(flags, -1, position))
    counts: npt.NDArray[np.int64] = np.where(flags, position - last_false, 0)
    return counts
