"""Stage 2, the baselines: each residual's own recent normal, as an hourly median and MAD.

A residual (a house minus its pack, a probe minus its siblings) is judged against its own past:
median and median absolute deviation over the 5 days that end a day before the row, so a slow
drift is not learnt away while it happens. `Baselines` records them in a fit (24 hours ahead,
which the lag makes exact) and replays them in the incremental updates.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd

from ml_analyzer.detectors.arrays import FloatArray

BASELINE_LAG_HOURS = 24
"""A row's baseline ends this many hours before it (so a recorded one reaches that far ahead)."""
WINDOW_HOURS = 5 * 24
MIN_HOURS = 12
SEASON_DAYS = 3
"""Days of the same hour a house's own baseline takes its expected value from (no pack): the
most recent ones, since a flock drinks and eats a few percent more every day and an older
reference would read that growth as a fault (7 days: a blockage of 80 % was 4-5 spreads)."""
SEASON_MIN_DAYS = 3
"""Of them, at least this many must be present."""
SEASON_MIN_HOURS = 24
"""Hours the spread around the same-hour values needs: a whole day, every hour of it once."""


@dataclass
class Baselines:
    """Hourly median and MAD of every residual: computed by a fit, replayed by the updates.

    The baseline of a row uses hourly residuals that end `BASELINE_LAG_HOURS` before it, so when
    a fit records them on its whole buffer it knows them exactly for the next 24 hours: the
    incremental updates look them up instead of re-running five-day rolling medians on every
    tick. `record` is True while a fit fills it; `horizon` is the last hour it covers.
    `series` holds per key the first hour and the hourly median and MAD from there.
    """

    record: bool = True
    series: dict[str, tuple[pd.Timestamp, FloatArray, FloatArray]] = field(default_factory=dict)
    horizon: pd.Timestamp | None = None
    _positions: tuple[tuple[int, int, int, int], FloatArray] | None = None
    rows: npt.NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, dtype=bool))

    def covers(self, stamp: pd.Timestamp) -> bool:
        """Whether the baselines reach the hour of `stamp`."""
        return self.horizon is not None and stamp.floor("h") <= self.horizon

    def positions(self, index: pd.DatetimeIndex, first: pd.Timestamp, hours: int) -> FloatArray:
        """_hour_positions, kept for the last grid (every stream of an update shares it);
        `rows` then holds where they are defined."""
        key = (int(index.asi8[0]) if len(index) else 0, len(index), first.value, hours)
        if self._positions is None or self._positions[0] != key:
            position = _hour_positions(index, first, hours)
            self._positions = (key, position)
            self.rows = np.isfinite(position)
        return self._positions[1]


def _hour_positions(index: pd.DatetimeIndex, first: pd.Timestamp, hours: int) -> FloatArray:
    """Position of each row's full hour in an hourly series starting at `first` (NaN outside).

    Within an hour the value of the last full hour is carried (as a forward fill over at most
    11 rows of the 5-minute grid would); rows before `first` or past the series get none.
    """
    position = ((index.floor("h") - first) // pd.Timedelta(hours=1)).to_numpy(dtype=float)
    position[(position < 0) | (position >= hours)] = np.nan
    return position


def _take(values: FloatArray, position: FloatArray) -> FloatArray:
    """values[position] with NaN where the position is NaN."""
    valid = np.isfinite(position)
    out = np.full(len(position), np.nan)
    out[valid] = values[position[valid].astype(np.int64)]
    return out


def hourly_baseline(
    residual: FloatArray,
    index: pd.DatetimeIndex,
    key: str = "",
    baselines: Baselines | None = None,
    *,
    seasonal: bool = False,
) -> tuple[FloatArray, FloatArray]:
    """Median and MAD of the residual over the 5 days that end a day before each row.

    With `seasonal` (a house without a pack, see same_hour) the median is that of the same hour
    of day and the MAD that of the residual around it.

    The statistics move slowly, so they are computed on the full hours only (timestamp-aligned,
    so a live buffer and a batch run see the same points) and carried forward within the hour:
    twelve times less work than on every 5-minute row, and still causal. With `baselines` in
    record mode they are also computed 24 hours ahead and kept under `key`; in replay mode they
    are looked up there (NaN where none was recorded, which no alarm reads as evidence).
    """
    if baselines is not None and not baselines.record:
        stored = baselines.series.get(key)
        if stored is None or not len(index):
            empty = np.full(len(index), np.nan)
            return empty, empty
        first, median_values, mad_values = stored
        position = baselines.positions(index, first, len(median_values))
        return _take(median_values, position), _take(mad_values, position)
    on_hour = np.asarray(index.minute == 0)
    if not on_hour.any():
        empty = np.full(len(index), np.nan)
        return empty, empty
    hourly = pd.Series(residual[on_hour], index=index[on_hour])
    if baselines is not None:
        ahead = pd.date_range(
            hourly.index[0], hourly.index[-1] + pd.Timedelta(hours=BASELINE_LAG_HOURS), freq="h"
        )
        hourly = hourly.reindex(ahead)
    if seasonal:
        median, mad = same_hour(hourly)
    else:
        past = hourly.shift(BASELINE_LAG_HOURS)
        median = past.rolling(WINDOW_HOURS, min_periods=MIN_HOURS).median()
        mad = (past - median).abs().rolling(WINDOW_HOURS, min_periods=MIN_HOURS).median()
    first = hourly.index[0]
    median_values = median.to_numpy(dtype=float)
    mad_values = mad.to_numpy(dtype=float)
    if baselines is not None:
        baselines.series[key] = (first, median_values, mad_values)
    position = _hour_positions(index, first, len(median_values))
    return _take(median_values, position), _take(mad_values, position)


def same_hour(hourly: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Expected value and spread of an hourly series from its own past at the same hour of day.

    A house without siblings has no pack to cancel the day's rhythm (the birds drink and eat
    by daylight, the afternoons are warm), and a median over all hours would take that rhythm
    for noise. The expected value is the median of the same hour on the last SEASON_DAYS days
    (at least SEASON_MIN_DAYS of them), ending a day before as every baseline does, so a slow
    drift is not learnt away; the spread is the MAD of the series around those expected values
    over the 5 days that end a day before (at least a whole day of it). Needs a regular hourly
    index (hourly_baseline's).
    """
    lags = [
        hourly.shift(BASELINE_LAG_HOURS * day).to_numpy(dtype=float)
        for day in range(1, SEASON_DAYS + 1)
    ]
    stacked = np.vstack(lags)
    present = np.isfinite(stacked).sum(axis=0)
    expected = np.full(len(hourly), np.nan)
    enough = present >= SEASON_MIN_DAYS
    if enough.any():
        expected[enough] = np.nanmedian(stacked[:, enough], axis=0)
    median = pd.Series(expected, index=hourly.index)
    distance = (hourly - median).abs().shift(BASELINE_LAG_HOURS)
    mad = distance.rolling(WINDOW_HOURS, min_periods=SEASON_MIN_HOURS).median()
    return median, mad


def baselines_of(
    values: FloatArray,
    index: pd.DatetimeIndex,
    keys: list[str],
    baselines: Baselines | None,
    seasonal: npt.NDArray[np.bool_] | None = None,
) -> tuple[FloatArray, FloatArray]:
    """hourly_baseline of every column (median, MAD: rows x columns); column j under keys[j],
    with the same-hour baseline where `seasonal[j]` (a house without a pack).

    When replaying, the recorded baselines of a fit share their first hour and length, so the
    row positions are found once for all columns; only the look-ups remain per column.
    """
    median = np.full(values.shape, np.nan)
    mad = np.full(values.shape, np.nan)
    if baselines is None or baselines.record:
        for column, key in enumerate(keys):
            median[:, column], mad[:, column] = hourly_baseline(
                values[:, column],
                index,
                key,
                baselines,
                seasonal=seasonal is not None and bool(seasonal[column]),
            )
        return median, mad
    for column, key in enumerate(keys):
        stored = baselines.series.get(key)
        if stored is None or not len(index):
            continue
        first, median_values, mad_values = stored
        position = baselines.positions(index, first, len(median_values))
        rows = baselines.rows
        at = position[rows].astype(np.int64)
        median[rows, column] = median_values[at]
        mad[rows, column] = mad_values[at]
    return median, mad
