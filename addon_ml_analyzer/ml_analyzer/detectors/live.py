"""The incremental state of a farm between ticks: its raw points and its kept grid.

`RawBuffer` holds one house's raw points of the last BUFFER as arrays (cheap to append and
trim every tick); `LiveGrid` keeps the farm's 5-minute grid as one rows x houses array per role
and moves it forward by re-preparing only the last hour (grid.prepare_rows), instead of
re-preparing every house's frame on every tick.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from ml_analyzer.detectors.arrays import FloatArray
from ml_analyzer.detectors.engine import UPDATE_CONTEXT
from ml_analyzer.detectors.grid import GRID, GRID_NS, FarmGrid, Tables, prepare_rows

BUFFER = pd.Timedelta(days=10)
REGRID_BACK = pd.Timedelta(hours=1)
REGRID_SETTLE = pd.Timedelta(minutes=20)


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
        times, values = frame_arrays(frame)
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


def frame_arrays(frame: pd.DataFrame) -> tuple[npt.NDArray[np.int64], FloatArray]:
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
    (grid.prepare_rows) and hands it to grid_evidence as a FarmGrid, instead of preparing,
    re-indexing and regrouping every house's frame on every tick. Rows are re-prepared from
    REGRID_BACK before the cursor; the first REGRID_SETTLE of those are taken from the kept grid
    instead, because a short fill over a gap needs the rows before them. Bins older than that are
    final unless points arrive more than an hour late, which the next refit takes in.
    """

    def __init__(self, grid: FarmGrid) -> None:
        self.rows = int(UPDATE_CONTEXT / GRID)
        self.houses = list(grid.houses)
        self.end = slot(grid.index[-1])
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
        end_slot = slot(end)
        splice = slot(cursor - REGRID_BACK)
        settle = slot(cursor - REGRID_BACK + REGRID_SETTLE)
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


def slot(stamp: pd.Timestamp) -> int:
    """The grid row number of a timestamp on the 5-minute grid."""
    return int(stamp.value // GRID_NS)
