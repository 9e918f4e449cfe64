"""Stage 1, the grid: every house of a farm on one common, regular 5-minute grid.

`prepare` cleans one house frame (duplicates, order, sentinels, °F) and puts it on the grid;
`prepare_rows` does the same on plain arrays for the few rows an incremental tick re-prepares;
`FarmGrid` holds a farm as one rows x houses table per role, which is what every later stage
(baselines, evidence families, alarms) works on. Nothing here judges anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd

from ml_analyzer.detectors.arrays import FloatArray, ffill

GRID = pd.Timedelta(minutes=5)
ROWS_PER_HOUR = 12
ROWS_PER_DAY = 288
MAX_FILL_ROWS = 3
SENTINEL_BELOW = -900.0
MIN_ROWS = 2 * ROWS_PER_DAY
FAHRENHEIT_SET_POINT = 45.0
TEMPERATURE_ROLES = ("temperature", "set_temperature", "outside_temperature", "tunnel_temperature")
GRID_NS = GRID.value
"""Length of a grid step in nanoseconds: grid row `slot` is the timestamp slot * GRID_NS."""

Tables = dict[str, pd.DataFrame]
"""Per role, a table on the farm's 5-minute grid with one column per house."""


def prepare(frame: pd.DataFrame) -> pd.DataFrame:
    """Clean one house frame and put it on the 5-minute grid.

    Duplicated timestamps keep their last row; rows out of order (a controller clock jump back)
    are sorted in; sentinel values (-9999) become NaN; temperatures reported in °F (set point
    above 45) are converted per row, so a unit change mid-series does not look like a fault.
    Gaps longer than 15 minutes stay NaN rather than being filled with made-up values.
    """
    if frame.empty:
        return frame
    data = frame.copy()
    data.index = pd.to_datetime(data.index, utc=True)
    data = data[~data.index.duplicated(keep="last")].sort_index()
    if not all(pd.api.types.is_float_dtype(dtype) for dtype in data.dtypes):
        data = data.apply(pd.to_numeric, errors="coerce")
    data = data.mask(data < SENTINEL_BELOW)
    if "set_temperature" in data and (data["set_temperature"] > FAHRENHEIT_SET_POINT).any():
        fahrenheit = data["set_temperature"] > FAHRENHEIT_SET_POINT
        for role in [c for c in data.columns if c in TEMPERATURE_ROLES or "probe" in c]:
            data.loc[fahrenheit, role] = (data.loc[fahrenheit, role] - 32.0) / 1.8
    grid: pd.DataFrame = data.resample(GRID, label="right", closed="right").last()
    return grid.ffill(limit=MAX_FILL_ROWS)


def prepare_rows(
    times: npt.NDArray[np.int64], values: FloatArray, columns: list[str], first: int, rows: int
) -> FloatArray:
    """What `prepare` gives on grid slots first .. first + rows - 1 from the raw rows after
    slot first - 1 only, as an array (rows x columns).

    The incremental update re-prepares only the last hour of points every tick; on plain arrays
    that costs a small part of a resample per house. `times` (epoch ns, sorted, unique) and
    `values` (numeric, rows x columns) are one house's raw points. The values equal
    `prepare(raw[raw.index > (first - 1) * GRID])` on those slots: the last value of each
    5-minute bin (closed and labelled right), sentinels and °F rows converted per raw row, gaps
    of up to MAX_FILL_ROWS filled forward up to the bin of the last raw row.
    """
    begin = int(np.searchsorted(times, (first - 1) * GRID_NS, side="right"))
    out = np.full((rows, len(columns)), np.nan)
    if begin == len(times):
        return out
    data = values[begin:].copy()
    data[data < SENTINEL_BELOW] = np.nan
    if "set_temperature" in columns:
        fahrenheit = data[:, columns.index("set_temperature")] > FAHRENHEIT_SET_POINT
        if fahrenheit.any():
            for position, role in enumerate(columns):
                if role in TEMPERATURE_ROLES or "probe" in role:
                    data[fahrenheit, position] = (data[fahrenheit, position] - 32.0) / 1.8
    row = -(-times[begin:] // GRID_NS) - first
    inside = int(np.searchsorted(row, rows, side="left"))
    if inside:
        row, data = row[:inside], data[:inside]
        starts = np.flatnonzero(np.r_[True, row[1:] != row[:-1]])
        valid = np.where(np.isnan(data), -1, np.arange(len(data))[:, None])
        last = np.maximum.reduceat(valid, starts, axis=0)
        found = last >= 0
        group, column = np.nonzero(found)
        out[row[starts][group], column] = data[last[found], column]
    end = min(int(-(-times[-1] // GRID_NS)) - first + 1, rows)
    out[:end] = ffill(out[:end], MAX_FILL_ROWS)
    return out


@dataclass
class FarmGrid:
    """Every house of a farm on one common 5-minute grid, as one rows x houses table per role.

    One table per role instead of one frame per house: a derived signal or a pack median is
    then one vectorised operation per farm rather than one per house, and the incremental update
    hands over the grid it keeps between ticks (FarmAnalyzer) without rebuilding it. `tables`
    holds every house whose data has the role (as its frame's columns did); `data` only those
    that report a value somewhere in the grid, which is what the derived signals are built from.
    """

    index: pd.DatetimeIndex
    houses: list[str]
    tables: Tables
    data: Tables = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.data:
            self.data = _reporting(self.tables)

    @classmethod
    def from_frames(cls, frames: dict[str, pd.DataFrame]) -> FarmGrid:
        """The grid of `prepare`d house frames (each on the 5-minute grid, any span)."""
        prepared = {house: frame for house, frame in frames.items() if not frame.empty}
        if not prepared:
            return cls(pd.DatetimeIndex([], tz="UTC"), [], {})
        start = min(frame.index[0] for frame in prepared.values())
        end = max(frame.index[-1] for frame in prepared.values())
        index = pd.date_range(start, end, freq=GRID)
        roles = dict.fromkeys(role for frame in prepared.values() for role in frame.columns)
        tables = {
            str(role): pd.DataFrame(
                {house: frame[role] for house, frame in prepared.items() if role in frame}
            ).reindex(index)
            for role in roles
        }
        return cls(index, list(prepared), tables)

    def last(self, rows: int) -> Tables:
        """The reporting tables (`data`) cut to their last `rows` rows."""
        if rows >= len(self.index):
            return self.data
        return {role: table.iloc[len(self.index) - rows :] for role, table in self.data.items()}


def _reporting(tables: Tables) -> Tables:
    """The tables without the houses that have no value in them (and without empty tables)."""
    data: Tables = {}
    for role, table in tables.items():
        reports = ~np.isnan(table.to_numpy(dtype=float)).all(axis=0)
        if reports.all():
            data[role] = table
        elif reports.any():
            data[role] = table.iloc[:, np.flatnonzero(reports)]
    return data


def both(tables: Tables, first: str, second: str) -> tuple[pd.Index, FloatArray, FloatArray]:
    """The houses that report both roles, and the two roles' values on them (rows x houses)."""
    if first not in tables or second not in tables:
        return pd.Index([]), np.empty((0, 0)), np.empty((0, 0))
    one, other = tables[first], tables[second]
    houses = one.columns.intersection(other.columns, sort=False)
    return (
        houses,
        one.to_numpy(dtype=float)[:, one.columns.get_indexer(houses)],
        other.to_numpy(dtype=float)[:, other.columns.get_indexer(houses)],
    )


def as_table(index: pd.Index, houses: pd.Index, values: FloatArray) -> pd.DataFrame:
    """A rows x houses array as a table on the grid."""
    return pd.DataFrame(values, index=index, columns=houses)
