"""Anomaly detectors and failure predictors of the analyzer (docs/CONTRACTS.md §5).

`FarmAnalyzer` is what the service calls every tick; `farm.farm_evidence` and `farm.alarm_state`
are the vectorised core it uses, and the benchmarks (bench/farm_scenarios.py, backtest) measure
exactly those functions. `univariate` is the single-series detector behind `score-csv`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from ml_analyzer.detectors.farm import (
    BASELINE_LAG_HOURS,
    GRID,
    GRID_NS,
    ROWS_PER_DAY,
    SENSITIVITY,
    UPDATE_CONTEXT,
    AlarmCarry,
    Baselines,
    Evidence,
    FarmGrid,
    FloatArray,
    HouseEvidence,
    Tables,
    alarm_state,
    farm_evidence,
    grid_evidence,
    prepare,
    prepare_rows,
    score_of,
    since_of,
    step_alarms,
    time_to_failure,
)

if TYPE_CHECKING:
    from ml_analyzer.flock_history import FlockStore

__all__ = ["FarmAnalyzer", "FarmHistory", "HouseResult"]

BUFFER = pd.Timedelta(days=10)
MIN_SPAN = pd.Timedelta(days=2)
MIN_HOURLY_POINTS = 48
REGRID_BACK = pd.Timedelta(hours=1)
REGRID_SETTLE = pd.Timedelta(minutes=20)


@dataclass
class FarmHistory:
    """Recent data of one farm: per house a frame indexed by UTC timestamp, one column per role."""

    houses: dict[str, pd.DataFrame] = field(default_factory=dict)


@dataclass(frozen=True)
class HouseResult:
    """What the analyzer reports for one house (the fields of `rotem_farm.report_analysis`)."""

    anomaly: bool
    anomaly_score: float
    failure_risk: float
    subsystem: str
    explanation: str
    signal: str | None
    expected: float | None
    actual: float | None
    since: datetime | None
    time_to_failure_hours: float | None


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
    ):
        if sensitivity not in SENSITIVITY:
            raise ValueError(f"sensitivity must be low, medium or high, not {sensitivity!r}")
        self.sensitivity = sensitivity
        self.seed = seed
        self._buffer: dict[str, RawBuffer] = {}
        self._live: LiveGrid | None = None
        self._baselines: Baselines | None = None
        self._carry: dict[tuple[str, str], AlarmCarry] = {}
        self._cursor: pd.Timestamp | None = None
        self._houses: frozenset[str] = frozenset()
        self._flocks = flocks
        """Earlier flocks' heating per growth day (flock_history.py); None: not compared."""

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
            if not _enough_points(raw.times, raw.column("temperature")):
                continue
            states = {
                stream.name: self._carry.get((house, stream.name), AlarmCarry())
                for stream in found.streams
            }
            result = decide(found, self.sensitivity, len(found.index) - 1, states)
            if result is not None:
                results[house] = result
        return results

    def _merge(self, history: FarmHistory) -> None:
        for house, frame in history.houses.items():
            if frame is None or frame.empty:
                continue
            self._buffer.setdefault(house, RawBuffer()).merge(frame)


class RawBuffer:
    """One house's raw points of the last BUFFER: epoch ns (sorted, unique) and values per role.

    Every tick appends a few points to every house and drops the oldest. As a DataFrame each
    append, trim and check costs pandas' per-call overhead (a few hundred microseconds with
    pandas 3) per house; as arrays it costs microseconds. A frame is built only for a refit.
    Values are numeric (what `prepare` would coerce them to); a re-sent timestamp keeps its
    last row.
    """

    def __init__(self) -> None:
        self.times: npt.NDArray[np.int64] = np.empty(0, dtype=np.int64)
        self.values: FloatArray = np.empty((0, 0))
        self.columns: list[str] = []

    def merge(self, frame: pd.DataFrame) -> None:
        """Add a frame of points (any order, any columns) and forget what is older than BUFFER."""
        times, values = _frame_arrays(frame)
        columns = [str(column) for column in frame.columns]
        if columns != self.columns:
            union = self.columns + [c for c in columns if c not in self.columns]
            widened = np.full((len(self.times), len(union)), np.nan)
            widened[:, : len(self.columns)] = self.values
            placed = np.full((len(times), len(union)), np.nan)
            placed[:, [union.index(c) for c in columns]] = values
            self.values, values, self.columns = widened, placed, union
        merged_times = np.concatenate([self.times, times])
        merged = np.concatenate([self.values, values])
        if len(self.times) and times[0] <= self.times[-1]:
            merged_times, merged = _sorted_unique(merged_times, merged)
        first = int(np.searchsorted(merged_times, merged_times[-1] - BUFFER.value, side="right"))
        self.times, self.values = merged_times[first:], merged[first:]

    def column(self, role: str) -> FloatArray | None:
        """The values of one role (None when the house never reported it)."""
        if role not in self.columns:
            return None
        values: FloatArray = self.values[:, self.columns.index(role)]
        return values

    def frame(self) -> pd.DataFrame:
        """The points as a frame indexed by UTC timestamp, one column per role."""
        index = pd.DatetimeIndex(self.times.view("M8[ns]"), name="timestamp").tz_localize("UTC")
        return pd.DataFrame(self.values, index=index, columns=self.columns)


def _frame_arrays(frame: pd.DataFrame) -> tuple[npt.NDArray[np.int64], FloatArray]:
    """A frame's epoch-ns timestamps and numeric values, sorted, a repeated timestamp's last row."""
    index = frame.index
    if not isinstance(index, pd.DatetimeIndex) or index.tz is None:
        index = pd.DatetimeIndex(pd.to_datetime(index, utc=True))
    times: npt.NDArray[np.int64] = index.as_unit("ns").asi8
    values: FloatArray
    try:
        values = frame.to_numpy(dtype=float)
    except (TypeError, ValueError):
        values = frame.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    if not (index.is_monotonic_increasing and index.is_unique):
        times, values = _sorted_unique(times, values)
    return times, values


def _sorted_unique(
    times: npt.NDArray[np.int64], values: FloatArray
) -> tuple[npt.NDArray[np.int64], FloatArray]:
    """Rows sorted by time; of rows with the same time, the last one given."""
    order = np.argsort(times, kind="stable")
    times, values = times[order], values[order]
    last = np.append(times[1:] != times[:-1], True)
    return times[last], values[last]


class LiveGrid:
    """A farm's 5-minute grid kept between ticks, as one rows x houses array per role.

    An update moves it forward by re-preparing only the raw points of the last hour
    (farm.prepare_rows) and hands it to grid_evidence as a FarmGrid, instead of preparing,
    re-indexing and regrouping every house's frame on every tick. Rows are re-prepared from
    REGRID_BACK before the cursor; the first REGRID_SETTLE of those are taken from the kept grid
    instead, because a short fill over a gap needs the rows before them. Bins older than that are
    final unless points arrive more than an hour late, which the next refit takes in.
    """

    def __init__(self, grid: FarmGrid) -> None:
        self.rows = int(UPDATE_CONTEXT / GRID)
        self.houses = list(grid.houses)
        self.end = _slot(grid.index[-1])
        self.values: dict[str, FloatArray] = {}
        self.present: dict[str, npt.NDArray[np.bool_]] = {}
        column = {house: position for position, house in enumerate(self.houses)}
        rows = min(self.rows, len(grid.index))
        for role, table in grid.tables.items():
            values = np.full((self.rows, len(self.houses)), np.nan)
            where = [column[house] for house in table.columns]
            values[self.rows - rows :, where] = table.to_numpy(dtype=float)[len(table) - rows :]
            self.values[role] = values
            self.present[role] = np.isin(np.arange(len(self.houses)), where)

    def advance(
        self, buffer: dict[str, RawBuffer], cursor: pd.Timestamp, end: pd.Timestamp
    ) -> None:
        """Move the grid's end to `end`, re-preparing the rows after cursor - REGRID_BACK."""
        end_slot = _slot(end)
        splice = _slot(cursor - REGRID_BACK)
        settle = _slot(cursor - REGRID_BACK + REGRID_SETTLE)
        shift = end_slot - self.end
        fresh = end_slot - settle
        kept = max(0, min(self.rows - shift, self.rows - fresh))
        for role, old in self.values.items():
            values = np.full(old.shape, np.nan)
            if kept:
                values[:kept] = old[shift : shift + kept]
            self.values[role] = values
        for position, house in enumerate(self.houses):
            raw = buffer.get(house)
            if raw is None or not len(raw.times):
                continue
            block = prepare_rows(raw.times, raw.values, raw.columns, splice + 1, end_slot - splice)
            block = block[end_slot - splice - fresh :]
            for at, role in enumerate(raw.columns):
                if role not in self.values:
                    self.values[role] = np.full((self.rows, len(self.houses)), np.nan)
                    self.present[role] = np.zeros(len(self.houses), dtype=bool)
                self.present[role][position] = True
                rows = min(fresh, self.rows)
                self.values[role][self.rows - rows :, position] = block[fresh - rows :, at]
        self.end = end_slot

    def grid(self) -> FarmGrid:
        """The kept rows as the FarmGrid that grid_evidence takes."""
        stamps = np.arange(self.end - self.rows + 1, self.end + 1, dtype=np.int64) * GRID_NS
        index = pd.DatetimeIndex(stamps.view("M8[ns]")).tz_localize("UTC")
        tables: Tables = {}
        for role, values in self.values.items():
            where = np.flatnonzero(self.present[role])
            if len(where):
                tables[role] = pd.DataFrame(
                    values[:, where], index=index, columns=[self.houses[h] for h in where]
                )
        return FarmGrid(index, list(self.houses), tables)


def _slot(stamp: pd.Timestamp) -> int:
    """The grid row number of a timestamp on the 5-minute grid."""
    return int(stamp.value // GRID_NS)


def analyze(frames: dict[str, pd.DataFrame], sensitivity: str) -> dict[str, HouseResult]:
    """Judge every house at the last time of the farm's data."""
    results: dict[str, HouseResult] = {}
    for house, evidence in farm_evidence(frames).items():
        if not _enough_data(frames[house]):
            continue
        result = judge(evidence, sensitivity, len(evidence.index) - 1)
        if result is not None:
            results[house] = result
    return results


def _enough_data(frame: pd.DataFrame) -> bool:
    """Two days of measured inside temperature (what every baseline needs), at least hourly.

    Judged on time span and count, not on rows alone: a recorder that stores only changes
    writes fewer rows than a 5-minute poll for the same history.
    """
    if "temperature" not in frame:
        return False
    times, values = _frame_arrays(frame[["temperature"]])
    return _enough_points(times, values[:, 0])


def _enough_points(times: npt.NDArray[np.int64], temperature: FloatArray | None) -> bool:
    """_enough_data on a house's sorted epoch-ns times and temperature values."""
    if temperature is None:
        return False
    measured = np.flatnonzero(~np.isnan(temperature))
    if len(measured) < MIN_HOURLY_POINTS:
        return False
    return bool(times[measured[-1]] - times[measured[0]] >= MIN_SPAN.value)


def judge(evidence: HouseEvidence, sensitivity: str, at: int) -> HouseResult | None:
    """The house's result at grid row `at` from its evidence streams (batch: every row to `at`)."""
    level = SENSITIVITY[sensitivity]
    states: dict[str, AlarmCarry] = {}
    for stream in evidence.streams:
        state = alarm_state(stream.z.iloc[: at + 1], level, stream.slow)
        states[stream.name] = AlarmCarry(
            on=bool(state[at] >= 1.0), since=since_of(state, evidence.index, at)
        )
    return decide(evidence, sensitivity, at, states)


def decide(
    evidence: HouseEvidence, sensitivity: str, at: int, states: dict[str, AlarmCarry]
) -> HouseResult | None:
    """The house's result at row `at`, given each stream's alarm state at that row.

    The batch path (`judge`) and the incremental one (`FarmAnalyzer.update`) differ only in how
    they know the alarm states; everything a farmer sees is decided here.
    """
    level = SENSITIVITY[sensitivity]
    best: tuple[float, Evidence, AlarmCarry] | None = None
    alarmed: tuple[float, Evidence, AlarmCarry] | None = None
    for stream in evidence.streams:
        value = float(stream.z.iloc[at])
        z = value if np.isfinite(value) else 0.0
        state = states.get(stream.name, AlarmCarry())
        entry = (abs(z), stream, state)
        if best is None or abs(z) > best[0]:
            best = entry
        if state.on and (alarmed is None or abs(z) > alarmed[0]):
            alarmed = entry
    if best is None:
        return None
    magnitude, stream, state = alarmed or best
    anomaly = alarmed is not None
    z_now = float(np.nan_to_num(stream.z.iloc[at]))
    subsystem = stream.subsystem_up if z_now >= 0 else stream.subsystem_down
    if not anomaly and magnitude < level.z_off:
        subsystem = "none"
    score = score_of(max(best[0], magnitude), level)
    ttf = time_to_failure(stream, at) if anomaly else None
    risk = score_of(magnitude, level) if subsystem != "none" else 0.0
    if ttf is not None:
        risk = max(risk, 100.0 * float(np.exp(-ttf / 48.0)))
    actual = _finite(stream.actual.iloc[at])
    expected = _finite(stream.expected.iloc[at])
    since = state.since if anomaly else None
    return HouseResult(
        anomaly=anomaly,
        anomaly_score=round(score, 1),
        failure_risk=round(min(risk, 100.0), 1),
        subsystem=subsystem,
        explanation=explain(
            stream,
            z=z_now,
            actual=actual,
            expected=expected,
            since=since,
            anomaly=anomaly,
            subsystem=subsystem,
        ),
        signal=stream.signal if anomaly or subsystem != "none" else None,
        expected=expected,
        actual=actual,
        since=since,
        time_to_failure_hours=None if ttf is None else round(ttf, 1),
    )


def _finite(value: object) -> float | None:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return round(number, 3) if np.isfinite(number) else None


def explain(
    stream: Evidence,
    *,
    z: float,
    actual: float | None,
    expected: float | None,
    since: datetime | None,
    anomaly: bool,
    subsystem: str,
) -> str:
    """One sentence a farmer can act on: which signal, how far from normal, since when."""
    if not anomaly and subsystem == "none":
        return "All signals within their normal range"
    if stream.name == "link_frequency":
        return f"Watch: the controller link dropped {abs(z):.0f} times in the last 3 days"
    direction = "above" if z >= 0 else "below"
    what = f"{stream.signal.replace('_', ' ')} {direction} normal"
    values = ""
    if actual is not None and expected is not None:
        values = f" ({actual:.2f} vs expected {expected:.2f} {stream.unit})".replace(" )", ")")
    when = f", since {since:%Y-%m-%d %H:%M} UTC" if since is not None else ""
    certainty = f"; {abs(z):.1f} times its usual spread"
    prefix = "" if anomaly else "Watch: "
    return f"{prefix}{what}{values}{when}{certainty} ({subsystem})"


__all__ += ["ROWS_PER_DAY", "analyze", "decide", "judge"]
