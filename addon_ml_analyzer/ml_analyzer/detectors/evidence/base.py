"""What every evidence family produces and the small interface it implements.

An evidence family turns a farm's grid into *evidence streams*: per house, a signed robust z
(how many usual spreads from normal) with what the house did and what was expected of it, and
the subsystem a rise or a fall points at. The engine (detectors/engine.py) runs the registered
families (evidence/__init__.py) in order on one `Window` and hands the streams to the alarms.
A family is anything with a `lookback` and a `streams(window)` (the `EvidenceFamily` protocol);
a new one is a module here plus one line in the registry.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt
import pandas as pd

from ml_analyzer.detectors.baselines import Baselines
from ml_analyzer.detectors.grid import ROWS_PER_HOUR, FarmGrid, Tables

TREND_ROWS = 6 * ROWS_PER_HOUR
"""Rows a `_trend` stream averages (6 hours): a slow drift against a much smaller spread."""
TREND_FLOOR_DIVISOR = 4.0
"""Noise floor of a trend stream: the floor of its stream divided by this."""


@dataclass(frozen=True, kw_only=True)
class Evidence:
    """One evidence stream of one house on the grid.

    `z` is signed (positive = above normal); `actual` and `expected` are in the signal's units
    and say what the house did and what its pack / past said it should have done.
    """

    name: str
    signal: str
    z: pd.Series
    actual: pd.Series
    expected: pd.Series
    subsystem_up: str
    subsystem_down: str
    unit: str
    limit: float | None = None
    """Deviation |actual - expected| at which the equipment has failed (for time to failure)."""
    slow: bool = False
    """A slow (heavily averaged) stream: a lower z threshold held for longer (see alarm_state)."""


@dataclass(frozen=True, kw_only=True)
class EvidenceSpec:
    """How one pack signal is judged: its role, noise floor, what a rise / fall points at."""

    signal: str
    floor: float
    up: str
    down: str
    unit: str
    limit: float | None = None
    relative: bool = False
    trend: bool = False
    trend_floor: float | None = None
    """Noise floor of the trend stream (default: floor / TREND_FLOOR_DIVISOR)."""
    slow: bool = False


@dataclass
class HouseEvidence:
    """All evidence of one house plus its alarm state over the grid."""

    index: pd.DatetimeIndex
    streams: list[Evidence] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class Window:
    """The rows one evaluation covers, as every family sees them.

    `grid` is the farm's whole grid (`rows` rows); `context` its reporting tables cut to the
    evaluated rows plus the longest lookback of the families; the last `evaluate` rows are
    computed (their windows read only rows inside the context) and the last `keep` returned.
    `baselines` records (fit) or replays (update) the hourly baselines; None: computed afresh.
    """

    grid: FarmGrid
    context: Tables
    rows: int
    evaluate: int
    keep: int
    baselines: Baselines | None


class EvidenceFamily(Protocol):
    """A family of evidence streams computed from a farm's grid (the registry's entries)."""

    @property
    def lookback(self) -> int:
        """Rows before an evaluated row that its streams read from `Window.context`."""

    def streams(self, window: Window) -> Mapping[str, list[Evidence]]:
        """The family's streams of every house it can judge, on the last `window.keep` rows."""


Derive = Callable[[Tables], dict[str, pd.DataFrame]]


@dataclass(frozen=True, kw_only=True)
class Signal:
    """A derived pack signal: a function of the role tables, its specs and its lookback.

    `derive` returns per evidence name (a key of `specs`) a rows x houses table on the index of
    the tables it is given. `lookback` is at least the number of rows before a row that its value
    reads (the chained rolling windows): an update gives `derive` only the evaluated rows plus
    `lookback` rows, which gives the same values on the evaluated rows as a run over all the data.
    A new pack signal is a module with one `Signal` plus one line in evidence/pack.py's SIGNALS.
    """

    lookback: int
    derive: Derive
    specs: Mapping[str, EvidenceSpec] = field(default_factory=dict)


Mask = npt.NDArray[np.bool_]
