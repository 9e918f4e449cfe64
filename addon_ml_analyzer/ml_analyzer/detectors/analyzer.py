"""The service's entry point: `FarmAnalyzer` keeps a farm's buffer and judges every house.

It drives the stages (grid -> baselines -> evidence families -> alarms -> decision) in two
cadences: `fit` over the whole buffer, `update` over the new rows only (docs/detectors.md,
"Incremental scoring").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import numpy.typing as npt
import pandas as pd

from ml_analyzer.detectors.alarms import SENSITIVITY, AlarmCarry, step_alarms
from ml_analyzer.detectors.arrays import FloatArray
from ml_analyzer.detectors.baselines import BASELINE_LAG_HOURS, Baselines
from ml_analyzer.detectors.decision import HouseResult, decide
from ml_analyzer.detectors.engine import grid_evidence
from ml_analyzer.detectors.evidence import HouseEvidence
from ml_analyzer.detectors.grid import GRID, FarmGrid, prepare
from ml_analyzer.detectors.live import LiveGrid, RawBuffer

if TYPE_CHECKING:
    from ml_analyzer.detectors.evidence.flocks import FlockStore

MIN_SPAN = pd.Timedelta(days=2)
MIN_HOURLY_POINTS = 48


@dataclass
class FarmHistory:
    """Recent data of one farm: per house a frame indexed by UTC timestamp, one column per role."""

    houses: dict[str, pd.DataFrame] = field(default_factory=dict)


class FarmAnalyzer:
    """Keeps a rolling buffer of a farm's data and judges every house against its pack.

    `fit` (slow cadence) evaluates the whole buffer once: it records every stream's hourly
    baselines 24 hours ahead (they end a day before the row they judge, so they are already
    known) and runs the alarm state machines to the end of the data. `update` (every tick)
    merges the new points and evaluates only the rows after the last one it judged, with the
    recorded baselines and the carried alarm states: the same decisions as a run over the whole
    buffer at a small part of the cost (docs/detectors.md, "Incremental scoring"). An update
    refits by itself when the baselines no longer reach the new rows or the set of houses
    changed. `seed` is accepted for determinism of any randomised method; the current methods
    are fully deterministic.
    """

    def __init__(
        self,
        sensitivity: Literal["low", "medium", "high"] = "medium",
        seed: int = 0,
        flocks: FlockStore | None = None,
        timezone: str = "UTC",
    ):
        if sensitivity not in SENSITIVITY:
            raise ValueError(f"sensitivity must be low, medium or high, not {sensitivity!r}")
        try:
            ZoneInfo(timezone)
        except (ValueError, ZoneInfoNotFoundError) as err:
            raise ValueError(f"unknown time zone {timezone!r}") from err
        self.sensitivity = sensitivity
        self.timezone = timezone
        """The Home Assistant instance's time zone: the clock of the explanations."""
        self.seed = seed
        self._buffer: dict[str, RawBuffer] = {}
        self._live: LiveGrid | None = None
        self._baselines: Baselines | None = None
        self._carry: dict[tuple[str, str], AlarmCarry] = {}
        self._cursor: pd.Timestamp | None = None
        self._houses: frozenset[str] = frozenset()
        self._flocks = flocks
        """Earlier flocks' heating per growth day (evidence/flocks.py); None: not compared."""

    def fit(self, history: FarmHistory) -> None:
        """Take a longer history (slow cadence) into the buffer and learn from all of it."""
        self._merge(history)
        self._refit()

    def update(self, history: FarmHistory) -> dict[str, HouseResult]:
        """Merge the new points and judge every house that has enough data."""
        self._merge(history)
        houses = frozenset(h for h, raw in self._buffer.items() if len(raw.times))
        if not houses:
            return {}
        last = max(int(self._buffer[h].times[-1]) for h in houses)
        end = pd.Timestamp(last, tz="UTC").ceil(GRID)
        baselines = self._baselines
        cursor = self._cursor
        if (
            baselines is None
            or cursor is None
            or self._live is None
            or houses != self._houses
            or not baselines.covers(end)
        ):
            evidence = self._refit()
        else:
            rows = max(int((end - cursor) / GRID), 1)
            self._live.advance(self._buffer, cursor, end)
            evidence = grid_evidence(self._live.grid(), baselines, rows)
            self._cursor = self._advance(evidence, cursor)
        return self._judge_all(evidence)

    def _refit(self) -> dict[str, HouseEvidence]:
        baselines = Baselines(record=True)
        grid = FarmGrid.from_frames({h: prepare(raw.frame()) for h, raw in self._buffer.items()})
        evidence = grid_evidence(grid, baselines)
        self._live = LiveGrid(grid) if grid.houses else None
        baselines.record = False
        self._baselines = baselines
        self._carry = {}
        self._houses = frozenset(evidence)
        self._cursor = self._advance(evidence, None)
        if self._cursor is not None:
            baselines.horizon = self._cursor.floor("h") + pd.Timedelta(hours=BASELINE_LAG_HOURS)
        return evidence

    def _advance(
        self, evidence: dict[str, HouseEvidence], cursor: pd.Timestamp | None
    ) -> pd.Timestamp | None:
        """Run every stream's alarm machine over the rows after `cursor`; the new cursor.

        The houses of a farm share one grid, so all their streams step together (step_alarms).
        """
        if not evidence:
            return cursor
        if self._flocks is not None:
            self._flocks.attach(self._buffer, evidence)
        index = next(iter(evidence.values())).index
        start = 0 if cursor is None else int(index.searchsorted(cursor, side="right"))
        keys = [
            (house, stream.name) for house, found in evidence.items() for stream in found.streams
        ]
        if keys and start < len(index):
            streams = [stream for found in evidence.values() for stream in found.streams]
            z = np.vstack([stream.z.to_numpy(dtype=float)[start:] for stream in streams])
            carried = step_alarms(
                z,
                index[start:],
                SENSITIVITY[self.sensitivity],
                [stream.slow for stream in streams],
                [self._carry.get(key, AlarmCarry()) for key in keys],
            )
            self._carry.update(zip(keys, carried, strict=True))
        if len(index) and (cursor is None or index[-1] > cursor):
            cursor = index[-1]
        return cursor

    def _judge_all(self, evidence: dict[str, HouseEvidence]) -> dict[str, HouseResult]:
        results: dict[str, HouseResult] = {}
        for house, found in evidence.items():
            raw = self._buffer[house]
            if not enough_points(raw.times, raw.column("temperature")):
                continue
            states = {
                stream.name: self._carry.get((house, stream.name), AlarmCarry())
                for stream in found.streams
            }
            result = decide(found, self.sensitivity, len(found.index) - 1, states, self.timezone)
            if result is not None:
                results[house] = result
        return results

    def _merge(self, history: FarmHistory) -> None:
        for house, frame in history.houses.items():
            if frame is None or frame.empty:
                continue
            self._buffer.setdefault(house, RawBuffer()).merge(frame)


def enough_points(times: npt.NDArray[np.int64], temperature: FloatArray | None) -> bool:
    """Two days of measured inside temperature (what every baseline needs), at least hourly,
    on a house's sorted epoch-ns times and temperature values.

    Judged on time span and count, not on rows alone: a recorder that stores only changes
    writes fewer rows than a 5-minute poll for the same history.
    """
    if temperature is None:
        return False
    measured = np.flatnonzero(~np.isnan(temperature))
    if len(measured) < MIN_HOURLY_POINTS:
        return False
    return bool(times[measured[-1]] - times[measured[0]] >= MIN_SPAN.value)
