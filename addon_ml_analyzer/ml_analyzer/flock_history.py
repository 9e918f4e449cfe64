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
house), bounded (MAX_FLOCKS flocks per house) and persisted as JSON, so it outlives the buffer
and restarts. `attach` is the analyzer's hook: it summarises a house's completed days only when
its growth day has changed since the last call, saves the store when something was added, and
appends the `heat_flocks` evidence stream to each house's evidence. Without an earlier flock
(or without the roles it needs) the stream is NaN: no value, never a made-up one.
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import os
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import pandas as pd

from ml_analyzer.detectors.farm import Evidence, HouseEvidence

_LOGGER = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]

FILE_NAME = "flock_history.json"
FORMAT_VERSION = 1
MAX_FLOCKS = 5
"""Flocks kept per house (the current one and four earlier ones)."""
DAY_SECONDS = 86400.0
MAX_HOLD_SECONDS = 12 * 3600.0
"""A point's value is held until the next point, at most this long (a gap is not data). Long:
InfluxDB holds only the changes HA wrote, and heaters may run flat out all night unchanged."""
MIN_COVERAGE_SECONDS = 20 * 3600.0
"""A growth day is summarised only when each quantity covers this much of it."""
MAX_DAY_SECONDS = 30 * 3600.0
"""Longer 'days' (a growth-day counter that stood still) are not summarised."""
MIN_DEGREE_DAYS = 2.0
"""Below this mean heat demand (°C) the birds' own heat dominates: no ratio."""
HELD_WITHIN = 1.0
"""The house held its set point: the day's mean of inside - set point is not below -1 °C."""
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
UNIT = "heater-h per °C·day, vs earlier flocks"


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

    @property
    def ratio(self) -> float | None:
        """Heater-hours per degree-day (None where the demand is too small to divide by)."""
        if self.degree_days < MIN_DEGREE_DAYS:
            return None
        return self.heater_hours / self.degree_days


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
    z: float
    """log(ratio / reference median) in units of the references' spread."""
    actual: float
    expected: float


class FlockStore:
    """Daily flock summaries of every house, loaded from and saved to `path` (None: in memory).

    One store serves every farm of the service (houses are keyed by their unique key). A file
    that is missing or cannot be read starts an empty store with one log line; a failed save is
    logged once and retried on the next completed day: the analysis never stops for it.
    """

    def __init__(self, path: Path | None = None, max_flocks: int = MAX_FLOCKS) -> None:
        self.path = path
        self.max_flocks = max_flocks
        self.houses: dict[str, list[Flock]] = {}
        self._lock = threading.Lock()
        self._scanned: dict[str, float | None] = {}
        self._timelines: dict[str, list[DayDeviation]] = {}
        self._save_failed = False
        if path is not None:
            self._load(path)

    def _load(self, path: Path) -> None:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            _LOGGER.info("No flock history at %s yet; starting empty", path)
            return
        except OSError as err:
            _LOGGER.warning("Flock history %s unreadable (%s); starting empty", path, err.strerror)
            return
        try:
            self.houses = _decode(json.loads(text))
        except (ValueError, TypeError, KeyError) as err:
            self.houses = {}
            _LOGGER.warning("Flock history %s is corrupt (%s); starting empty", path, err)

    def save(self) -> None:
        """Write the store atomically (a temporary file renamed over the old one)."""
        if self.path is None:
            return
        with self._lock:
            data = json.dumps(_encode(self.houses), separators=(",", ":"))
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                handle, temporary = tempfile.mkstemp(
                    dir=self.path.parent, prefix=".flock_history.", suffix=".tmp"
                )
                try:
                    with os.fdopen(handle, "w", encoding="utf-8") as file:
                        file.write(data)
                    os.replace(temporary, self.path)
                except BaseException:
                    Path(temporary).unlink(missing_ok=True)
                    raise
            except OSError as err:
                if not self._save_failed:
                    _LOGGER.warning("Cannot save flock history to %s: %s", self.path, err.strerror)
                self._save_failed = True
                return
            self._save_failed = False

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
                ratio = day.ratio
                if number == 0 or ratio is None or not day.held:
                    continue
                references = [
                    earlier.days[other].ratio
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
                        z=(math.log(ratio) - middle) / spread,
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
        """The analyzer's hook: update and save the store, add `heat_flocks` to each house."""
        added = False
        for house in evidence:
            raw = buffer.get(house)
            if raw is not None:
                added |= self.observe(house, raw)
        if added:
            self.save()
        for house, found in evidence.items():
            found.streams.append(self.stream(house, found.index))

    def stream(self, house: str, index: pd.DatetimeIndex) -> Evidence:
        """The `heat_flocks` evidence of one house on the rows of `index`.

        At each row: the smaller excess of the last WARN_DAYS completed, consecutive growth
        days over the earlier flocks (in spreads; 0 when not all of them are above), NaN where
        those days are unknown or the last one ended more than STALE_SECONDS ago. Only a rise
        is evidence: a house that needs less heat than last flock has no heating fault.
        """
        timeline = self.deviations(house)
        rows = len(index)
        z = np.full(rows, np.nan)
        actual = np.full(rows, np.nan)
        expected = np.full(rows, np.nan)
        if timeline and rows:
            ends = np.array([deviation.end for deviation in timeline])
            seconds = pd.DatetimeIndex(index).as_unit("ns").asi8 / 1e9
            position = np.searchsorted(ends, seconds, side="right") - 1
            values = _warning_values(timeline)
            for row in np.flatnonzero(position >= 0):
                at = int(position[row])
                if seconds[row] - ends[at] > STALE_SECONDS or values[at] is None:
                    continue
                z[row] = values[at]
                actual[row] = timeline[at].actual
                expected[row] = timeline[at].expected
        return Evidence(
            STREAM,
            "heaters_running",
            pd.Series(z, index=index),
            pd.Series(actual, index=index),
            pd.Series(expected, index=index),
            "heating",
            "heating",
            UNIT,
            slow=True,
        )


def _warning_values(timeline: list[DayDeviation]) -> list[float | None]:
    """Per entry: the evidence once its day ended (None: not WARN_DAYS consecutive days)."""
    values: list[float | None] = []
    for at, deviation in enumerate(timeline):
        if at + 1 < WARN_DAYS:
            values.append(None)
            continue
        run = timeline[at + 1 - WARN_DAYS : at + 1]
        consecutive = all(
            later.flock == deviation.flock and later.growth_day == earlier.growth_day + 1
            for earlier, later in itertools.pairwise(run)
        )
        values.append(max(min(day.z for day in run), 0.0) if consecutive else None)
    return values


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
        days.append(
            DaySummary(
                growth_day=int(values[first]),
                start=start,
                end=end,
                heater_hours=means[0] * 24.0,
                degree_days=means[1],
                held=offset >= -HELD_WITHIN,
            )
        )
    return days


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


def _encode(houses: dict[str, list[Flock]]) -> dict[str, Any]:
    return {
        "version": FORMAT_VERSION,
        "houses": {
            house: [[asdict(day) for day in flock.days.values()] for flock in flocks]
            for house, flocks in houses.items()
        },
    }


def _decode(data: Any) -> dict[str, list[Flock]]:
    """The stored houses; raises ValueError / TypeError / KeyError on anything malformed."""
    if not isinstance(data, dict) or data.get("version") != FORMAT_VERSION:
        raise ValueError("unknown format")
    houses: dict[str, list[Flock]] = {}
    for house, flocks in data["houses"].items():
        decoded = []
        for days in flocks:
            flock = Flock()
            for raw in days:
                day = DaySummary(
                    growth_day=int(raw["growth_day"]),
                    start=float(raw["start"]),
                    end=float(raw["end"]),
                    heater_hours=float(raw["heater_hours"]),
                    degree_days=float(raw["degree_days"]),
                    held=bool(raw["held"]),
                )
                flock.days[day.growth_day] = day
            if flock.days:
                decoded.append(flock)
        houses[str(house)] = decoded
    return houses
