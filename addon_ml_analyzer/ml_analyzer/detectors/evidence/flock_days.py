"""The completed growth days of a house, summarised from its raw points (no I/O).

One `DaySummary` per completed growth day (a day ends where the controller's growth day
changes): heater-hours (mean heaters running x 24 h), degree-days (mean of set point - outside
temperature, clipped at 0), whether the house held its set point, and the day's slope of heaters
running against demand. evidence/flocks.py files them per flock and compares flocks.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from ml_analyzer.detectors.arrays import FloatArray

DAY_SECONDS = 86400.0
MAX_HOLD_SECONDS = 12 * 3600.0
"""A point's value is held until the next point, at most this long (a gap is not data). Long:
InfluxDB holds only the changes HA wrote, and heaters may run flat out all night unchanged."""
MIN_COVERAGE_SECONDS = 20 * 3600.0
"""A growth day is summarised only when each quantity covers this much of it."""
MAX_DAY_SECONDS = 30 * 3600.0
"""Longer 'days' (a growth-day counter that stood still) are not summarised."""
MIN_WORKING_SECONDS = 4 * 3600.0
"""Time with some but not all heaters running that a day's line needs."""
MIN_DEMAND_SPREAD = 1.0
"""Standard deviation of the demand (°C) over those times: a flat demand gives no slope."""
MIN_DEGREE_DAYS = 2.0
"""Below this mean heat demand (°C) the birds' own heat dominates: no ratio."""
HELD_WITHIN = 1.0
"""The house held its set point: the day's mean of inside - set point is not below -1 °C."""


class HouseBuffer(Protocol):
    """What `attach` reads of a house's recent raw points (detectors.RawBuffer)."""

    times: npt.NDArray[np.int64]

    def column(self, role: str) -> FloatArray | None:
        """The values of one role (None when the house never reported it)."""


@dataclass(frozen=True)
class DaySummary:
    """One completed growth day of one house (times in epoch seconds)."""

    growth_day: int
    start: float
    end: float
    heater_hours: float
    degree_days: float
    held: bool
    slope: float | None = None
    """Heaters running per °C of demand while they work (see _day_slope); None: no fit."""

    @property
    def ratio(self) -> float | None:
        """Heater-hours per degree-day (None where the demand is too small to divide by)."""
        if self.degree_days < MIN_DEGREE_DAYS:
            return None
        return self.heater_hours / self.degree_days


def summarise_days(buffer: HouseBuffer) -> list[DaySummary]:
    """The completed growth days in a house's raw points (a day ends where the next begins).

    Means are weighted by time (each point's value holds until the next point, at most
    MAX_HOLD_SECONDS), so a recorder that stores only changes gives the same means as a poll
    every five minutes. The first day of the buffer usually starts before it and lacks
    coverage; it is left out, as is any day whose quantities cover less than 20 hours.
    """
    growth = buffer.column("growth_day")
    heaters = buffer.column("heaters_running")
    wanted = buffer.column("set_temperature")
    outside = buffer.column("outside_temperature")
    inside = buffer.column("temperature")
    if growth is None or heaters is None or wanted is None or outside is None or inside is None:
        return []
    seconds = buffer.times / 1e9
    present = np.flatnonzero(np.isfinite(growth))
    if len(present) < 2:
        return []
    days: list[DaySummary] = []
    values = growth[present]
    changes = np.flatnonzero(values[1:] != values[:-1]) + 1
    starts = np.r_[0, changes]
    for first, after in itertools.pairwise(starts):
        begin = int(present[first])
        stop = int(present[after])
        start, end = float(seconds[begin]), float(seconds[stop])
        if not MIN_COVERAGE_SECONDS <= end - start <= MAX_DAY_SECONDS:
            continue
        held_for = np.minimum(np.diff(np.r_[seconds[begin:stop], end]), MAX_HOLD_SECONDS)
        block = np.column_stack(
            [heaters[begin:stop], wanted[begin:stop], outside[begin:stop], inside[begin:stop]]
        )
        block = _hold(block, seconds[begin:stop])
        demand = np.maximum(block[:, 1] - block[:, 2], 0.0)
        means = [_time_mean(column, held_for) for column in (block[:, 0], demand)]
        offset = _time_mean(block[:, 3] - block[:, 1], held_for)
        if means[0] is None or means[1] is None or offset is None:
            continue
        slope = _day_slope(block[:, 0], demand, held_for)
        days.append(
            DaySummary(
                growth_day=int(values[first]),
                start=start,
                end=end,
                heater_hours=means[0] * 24.0,
                degree_days=means[1],
                held=offset >= -HELD_WITHIN,
                slope=slope,
            )
        )
    return days


def _day_slope(heaters: FloatArray, demand: FloatArray, weights: FloatArray) -> float | None:
    """Heaters per °C of demand: the time-weighted least-squares line of one day, on the times
    some but not all of the day's heaters ran (off and flat out are the ends of the line).

    Unlike heater-hours per degree-day, the slope does not move with the birds' own heat (the
    line's offset), which grows with the flock and matters most on mild days; wear scales it
    (less heat per heater-hour). None without four working hours or a demand spread of 1 °C.
    """
    finite = np.isfinite(heaters) & np.isfinite(demand)
    if not finite.any():
        return None
    most = float(np.max(heaters[finite]))
    working = finite & (heaters > 0.0) & (heaters < most)
    weight = weights[working]
    if float(weight.sum()) < MIN_WORKING_SECONDS:
        return None
    x, y = demand[working], heaters[working]
    mean_x = float(np.average(x, weights=weight))
    mean_y = float(np.average(y, weights=weight))
    variance = float(np.average((x - mean_x) ** 2, weights=weight))
    if variance < MIN_DEMAND_SPREAD**2:
        return None
    slope = float(np.average((x - mean_x) * (y - mean_y), weights=weight)) / variance
    return slope if slope > 0.0 else None


def _hold(block: FloatArray, seconds: FloatArray) -> FloatArray:
    """Each column forward-filled over the rows of other roles, for at most MAX_HOLD_SECONDS."""
    rows = np.arange(len(block))[:, None]
    last = np.maximum.accumulate(np.where(np.isnan(block), -1, rows), axis=0)
    filled = np.take_along_axis(block, np.maximum(last, 0), axis=0)
    age = seconds[:, None] - seconds[np.maximum(last, 0)]
    filled[(last < 0) | (age > MAX_HOLD_SECONDS)] = np.nan
    return filled


def _time_mean(values: FloatArray, weights: FloatArray) -> float | None:
    """Time-weighted mean over the finite values (None when they cover less than 20 hours)."""
    finite = np.isfinite(values)
    covered = float(weights[finite].sum())
    if covered < MIN_COVERAGE_SECONDS:
        return None
    return float((values[finite] * weights[finite]).sum() / covered)
