"""Heater run time per degree of heat demand, against the same growth days of earlier flocks.

A heater that wears (a fouled burner, low gas pressure) makes the controller run it longer for
the same heat; as long as it keeps up, the house holds its set point and no temperature alarm
fires. The detectors in detectors/heating.py compare run time with the house's own last days
and with its sibling houses; both learn a wear that grows slowly over weeks or hits every
house alike. Earlier flocks of the same house do not: at the same growth day the birds make
about the same heat and want about the same set point, so the heater-hours per degree-day of
heat demand should be about the same as last flock's, whatever the analyzer's 10-day buffer
has learnt since.

`FlockStore` keeps, per house (its unique key) and flock, one `DaySummary` per completed growth
day: heater-hours (mean heaters running x 24 h), degree-days (mean of set point - outside
temperature, clipped at 0) and whether the house held its set point. It is small (a few kB per
house) and bounded (MAX_FLOCKS flocks per house), so it outlives the buffer; the service keeps
it across restarts (ml_analyzer/flock_file.py: this module does no I/O, it calls `changed` when
days were added). `attach` is the analyzer's hook: it summarises a house's completed days only
when its growth day has changed since the last call and appends the `heat_flocks` evidence
stream to each house's evidence. Without an earlier flock (or without the roles it needs) the
stream is NaN: no value, never a made-up one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd

from ml_analyzer.detectors.arrays import FloatArray, pack_medians
from ml_analyzer.detectors.evidence.base import Evidence, HouseEvidence
from ml_analyzer.detectors.evidence.flock_days import (
    DAY_SECONDS,
    DaySummary,
    HouseBuffer,
    summarise_days,
)

MAX_FLOCKS = 5
"""Flocks kept per house (the current one and four earlier ones)."""
MATCH_DAYS = 2
"""Growth days of earlier flocks compared with a day: the same day ± this many."""
MIN_REFERENCES = 3
"""Reference days (of earlier flocks, held set point, with a ratio) a comparison needs."""
SPREAD_FLOOR = 0.05
"""Lowest spread of the log ratio (5 %): flock-to-flock differences below it are normal."""
WARN_DAYS = 2
"""Consecutive growth days that must both be above the earlier flocks."""
STALE_SECONDS = 1.5 * DAY_SECONDS
"""The evidence of the last completed day is used until this long after its end."""
SAME_DAY_SECONDS = 6 * 3600.0
"""Two summaries of the same growth day starting this close are the same day seen again."""
NEW_FLOCK_GAP_DAYS = 2.0
"""More days between two summarised days than their growth days tell: an empty house between."""
STREAM = "heat_flocks"
UNIT = "heaters per °C of demand, vs earlier flocks"


@dataclass
class Flock:
    """The summarised days of one flock, by growth day."""

    days: dict[int, DaySummary] = field(default_factory=dict)

    def last(self) -> DaySummary:
        """The latest day (by start)."""
        return max(self.days.values(), key=lambda day: day.start)


@dataclass(frozen=True)
class DayDeviation:
    """One day of a flock against the same growth days of the house's earlier flocks."""

    end: float
    growth_day: int
    flock: int
    excess: float
    """log(ratio / median of the reference days)."""
    spread: float
    """Robust spread of the reference days' log ratios (at least SPREAD_FLOOR)."""
    actual: float
    expected: float


@dataclass(frozen=True)
class _Timeline:
    """A house's deviations (by end time) as arrays: `streams` runs on every tick of every farm,
    so the per-entry Python work is done once per new day, not per tick."""

    source: list[DayDeviation]
    ends: FloatArray
    excess: FloatArray
    spread: FloatArray
    actual: FloatArray
    expected: FloatArray
    follows: npt.NDArray[np.bool_]
    """Entry i is the next growth day of the same flock as entry i - 1 (False for entry 0)."""

    @classmethod
    def of(cls, timeline: list[DayDeviation]) -> _Timeline:
        """The arrays of a non-empty timeline."""
        flock = np.array([deviation.flock for deviation in timeline])
        day = np.array([deviation.growth_day for deviation in timeline])
        follows = np.zeros(len(timeline), dtype=bool)
        follows[1:] = (flock[1:] == flock[:-1]) & (day[1:] == day[:-1] + 1)
        return cls(
            timeline,
            np.array([deviation.end for deviation in timeline]),
            np.array([deviation.excess for deviation in timeline]),
            np.array([deviation.spread for deviation in timeline]),
            np.array([deviation.actual for deviation in timeline]),
            np.array([deviation.expected for deviation in timeline]),
            follows,
        )

    def rows(self, seconds: FloatArray) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.bool_]]:
        """Per row (epoch seconds): the entry of the last day ended by then (-1: none) and
        whether it is fresh (ended at most STALE_SECONDS before)."""
        position = np.searchsorted(self.ends, seconds, side="right") - 1
        fresh = (position >= 0) & (seconds - self.ends[np.maximum(position, 0)] <= STALE_SECONDS)
        return np.where(fresh, position, -1), fresh


class FlockStore:
    """Daily flock summaries of every house, in memory.

    One store serves every farm of the service (houses are keyed by their unique key). It does
    no I/O: `changed` is called after days were filed, which a persistent store
    (ml_analyzer/flock_file.py) overrides to save.
    """

    def __init__(self, max_flocks: int = MAX_FLOCKS) -> None:
        self.max_flocks = max_flocks
        self.houses: dict[str, list[Flock]] = {}
        self._scanned: dict[str, float | None] = {}
        self._timelines: dict[str, list[DayDeviation]] = {}
        self._timeline_arrays: dict[str, _Timeline] = {}

    def changed(self) -> None:
        """Days were added to the store (a hook: nothing to do in memory)."""

    def add_day(self, house: str, day: DaySummary) -> bool:
        """File a completed day under the house's current flock or a new one; False if known.

        A new flock starts when the growth day does not move forward (reset or drop) or when
        more time passed since the last summarised day than the growth days tell (an empty
        house in between). A day seen again (a restart re-reads the buffer) changes nothing.
        """
        flocks = self.houses.setdefault(house, [])
        if flocks:
            current = flocks[-1]
            known = current.days.get(day.growth_day)
            if known is not None and abs(known.start - day.start) < SAME_DAY_SECONDS:
                return False
            last = current.last()
            if day.start <= last.start:
                return False
            gap_days = (day.start - last.end) / DAY_SECONDS
            if (
                day.growth_day > last.growth_day
                and gap_days <= day.growth_day - last.growth_day - 1 + NEW_FLOCK_GAP_DAYS
            ):
                current.days[day.growth_day] = day
                self._timelines.pop(house, None)
                return True
        flocks.append(Flock({day.growth_day: day}))
        del flocks[: max(0, len(flocks) - self.max_flocks)]
        self._timelines.pop(house, None)
        return True

    def deviations(self, house: str) -> list[DayDeviation]:
        """Every summarised day that has enough reference days in earlier flocks, by end time.

        The references of a day are only flocks before its own, so the value a day gets is
        what the analyzer could know when the day ended (causal).
        """
        cached = self._timelines.get(house)
        if cached is not None:
            return cached
        flocks = self.houses.get(house, [])
        found: list[DayDeviation] = []
        for number, flock in enumerate(flocks):
            for day in flock.days.values():
                ratio = day.slope
                if number == 0 or ratio is None or not day.held:
                    continue
                references = [
                    earlier.days[other].slope
                    for earlier in flocks[:number]
                    for other in range(day.growth_day - MATCH_DAYS, day.growth_day + MATCH_DAYS + 1)
                    if other in earlier.days and earlier.days[other].held
                ]
                logs = np.log([value for value in references if value is not None and value > 0])
                if len(logs) < MIN_REFERENCES or ratio <= 0:
                    continue
                middle = float(np.median(logs))
                spread = max(1.4826 * float(np.median(np.abs(logs - middle))), SPREAD_FLOOR)
                found.append(
                    DayDeviation(
                        end=day.end,
                        growth_day=day.growth_day,
                        flock=number,
                        excess=math.log(ratio) - middle,
                        spread=spread,
                        actual=ratio,
                        expected=math.exp(middle),
                    )
                )
        found.sort(key=lambda deviation: deviation.end)
        self._timelines[house] = found
        return found

    def observe(self, house: str, buffer: HouseBuffer) -> bool:
        """Summarise the house's completed days once its growth day has changed; True if added."""
        growth = buffer.column("growth_day")
        if growth is None or not len(buffer.times):
            return False
        latest = float(growth[-1]) if np.isfinite(growth[-1]) else None
        if house in self._scanned and self._scanned[house] == latest:
            return False
        self._scanned[house] = latest
        added = False
        for day in summarise_days(buffer):
            added |= self.add_day(house, day)
        return added

    def attach(
        self, buffer: Mapping[str, HouseBuffer], evidence: Mapping[str, HouseEvidence]
    ) -> None:
        """The analyzer's hook: update the store, add `heat_flocks` to each house."""
        added = False
        for house in evidence:
            raw = buffer.get(house)
            if raw is not None:
                added |= self.observe(house, raw)
        if added:
            self.changed()
        houses = list(evidence)
        if houses:
            index = next(iter(evidence.values())).index
            for house, stream in zip(houses, self.streams(houses, index), strict=True):
                evidence[house].streams.append(stream)

    def _arrays(self, house: str) -> _Timeline | None:
        """The house's deviations as arrays (None without any), rebuilt when they changed."""
        timeline = self.deviations(house)
        if not timeline:
            return None
        cached = self._timeline_arrays.get(house)
        if cached is None or cached.source is not timeline:
            cached = _Timeline.of(timeline)
            self._timeline_arrays[house] = cached
        return cached

    def streams(self, houses: list[str], index: pd.DatetimeIndex) -> list[Evidence]:
        """The `heat_flocks` evidence of the houses of one farm on the rows of `index`.

        Per house and row: the excess of each of the last WARN_DAYS completed, consecutive
        growth days over the earlier flocks (log ratio), less the median excess of the other
        houses at that row. The houses share the weather, and their earlier flocks were a few
        days apart too, so a flock in a colder season (more heat per degree: the birds' own
        heat matters less) moves every house alike and cancels; a farm with one house, or
        houses without an earlier flock, keep their own excess. The evidence is the smallest
        of those days' residuals in spreads, 0 when not all are above: only a rise counts (a
        house that needs less heat than last flock has no heating fault). NaN where the days
        are unknown or the last ended more than STALE_SECONDS ago.
        """
        rows = len(index)
        shape = (rows, len(houses))
        spread, actual, expected = (np.full(shape, np.nan) for _ in range(3))
        timelines = [self._arrays(house) for house in houses]
        if not rows or not any(timelines):
            z = spread
        else:
            seconds = pd.DatetimeIndex(index).as_unit("ns").asi8 / 1e9
            excess = [np.full(shape, np.nan) for _ in range(WARN_DAYS)]
            for column, arrays in enumerate(timelines):
                if arrays is None:
                    continue
                at, fresh = arrays.rows(seconds)
                chained = fresh.copy()
                for lag in range(WARN_DAYS):
                    earlier = at - lag
                    chained &= earlier >= 0
                    if lag:
                        chained &= arrays.follows[np.clip(earlier + 1, 0, len(arrays.ends) - 1)]
                    excess[lag][chained, column] = arrays.excess[earlier[chained]]
                spread[fresh, column] = arrays.spread[at[fresh]]
                actual[fresh, column] = arrays.actual[at[fresh]]
                expected[fresh, column] = arrays.expected[at[fresh]]
            packs = [np.nan_to_num(pack_medians(values), nan=0.0) for values in excess]
            residual = [values - pack for values, pack in zip(excess, packs, strict=True)]
            expected *= np.exp(packs[0])
            with np.errstate(invalid="ignore"):
                z = np.maximum(np.min(np.stack(residual), axis=0) / spread, 0.0)
        return [
            Evidence(
                name=STREAM,
                signal="heaters_running",
                z=pd.Series(z[:, column], index=index),
                actual=pd.Series(actual[:, column], index=index),
                expected=pd.Series(expected[:, column], index=index),
                subsystem_up="heating",
                subsystem_down="heating",
                unit=UNIT,
                slow=True,
            )
            for column in range(len(houses))
        ]
