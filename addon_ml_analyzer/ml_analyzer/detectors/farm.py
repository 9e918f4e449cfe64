"""Per-house failure detectors of a farm: every house is compared with its own past and its pack.

All computations are vectorised over a regular 5-minute grid and causal: the evidence at time t
uses rows up to t only (rolling windows that end at t, baselines that end a day earlier). The
strongest signal on a farm is a house leaving the pack: the sibling houses share the weather,
the farmer's routine and usually a similar flock, so each house's signal minus the median of the
other houses cancels most of what is normal and leaves what is wrong with that house. The
residual is compared with its own recent history (a median/MAD baseline that ends a day earlier,
so a slow drift is not learnt away as it happens) to give a robust z. Where a farm has a single
house, the signal's own past is the reference.

Evidence streams (each with the subsystem it points at):
  climate      inside temperature minus set point        heating / ventilation
  heat_effort  heaters running (share of the house's max) heating (all on, or none, vs the pack)
  heat_load    heater run time vs the house's demand line heating (wear: more run per degree)
  pressure     static pressure minus target               ventilation (fan / belt wear)
  humidity     inside humidity                            ventilation / water
  water        water intake rate per bird                 water (leak: up, blockage: down)
  feed         feed intake rate per bird                  feed
  probe_<n>    probe minus the other probes, stuck, gone  sensor
  link         connection status and frozen values        controller_link
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from ml_analyzer.detectors.arrays import rolling_max, rolling_mean, shifted
from ml_analyzer.detectors.heating import HEAT_LOAD_LOOKBACK, heat_load

FloatArray = npt.NDArray[np.float64]
Sensitivity = Literal["low", "medium", "high"]

GRID = pd.Timedelta(minutes=5)
ROWS_PER_HOUR = 12
ROWS_PER_DAY = 288
MAX_FILL_ROWS = 3
SENTINEL_BELOW = -900.0
MIN_ROWS = 2 * ROWS_PER_DAY
FAHRENHEIT_SET_POINT = 45.0
TEMPERATURE_ROLES = ("temperature", "set_temperature", "outside_temperature", "tunnel_temperature")


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


@dataclass(frozen=True)
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


@dataclass(frozen=True)
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


TREND_ROWS = 6 * ROWS_PER_HOUR
SLOW_Z_FACTOR = 0.65
SLOW_ROWS_FACTOR = 4
TREND_FLOOR_DIVISOR = 4.0
PROBE_FLOOR = 0.15
LINK_WATCH_CAP = 4.0
"""Highest z that recent off-line episodes alone can give (below every alarm threshold)."""
SPECS = {
    "climate": EvidenceSpec("temperature", 0.25, "ventilation", "heating", "°C", 3.0, trend=True),
    "heat_effort": EvidenceSpec("heaters_running", 0.05, "heating", "heating", "share"),
    "pressure": EvidenceSpec(
        "static_pressure", 1.0, "ventilation", "ventilation", "Pa", trend=True
    ),
    "heat_load": EvidenceSpec(
        "heaters_running", 2.0, "heating", "heating", "% vs demand line, 12 h", slow=True
    ),
    "heat_load_daily": EvidenceSpec(
        "heaters_running", 2.0, "heating", "heating", "% vs demand line, 24 h", slow=True
    ),
    "humidity": EvidenceSpec("humidity", 2.0, "water", "ventilation", "%"),
    "water": EvidenceSpec(
        "water_daily", 0.02, "water", "water", "L/1000 birds/5 min", relative=True
    ),
    "feed": EvidenceSpec("feed_daily", 0.01, "feed", "feed", "kg/1000 birds/5 min", relative=True),
}


@dataclass
class HouseEvidence:
    """All evidence of one house plus its alarm state over the grid."""

    index: pd.DatetimeIndex
    streams: list[Evidence] = field(default_factory=list)


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


GRID_NS = GRID.value
"""Length of a grid step in nanoseconds: grid row `slot` is the timestamp slot * GRID_NS."""


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
    out[:end] = _ffill(out[:end], MAX_FILL_ROWS)
    return out


def _ffill(values: FloatArray, limit: int | None = None) -> FloatArray:
    """Forward fill down the rows of a 2-D array (pandas' ffill, on plain arrays): a NaN takes
    the last value above it, at most `limit` rows down when a limit is given."""
    rows = np.arange(values.shape[0])[:, None]
    last = np.maximum.accumulate(np.where(np.isnan(values), -1, rows), axis=0)
    filled = np.take_along_axis(values, np.maximum(last, 0), axis=0)
    missing = last < 0
    if limit is not None:
        missing |= rows - last > limit
    filled[missing] = np.nan
    return filled


BASELINE_LAG_HOURS = 24
"""A row's baseline ends this many hours before it (so a recorded one reaches that far ahead)."""


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


def _hourly_baseline(
    residual: FloatArray,
    index: pd.DatetimeIndex,
    key: str = "",
    baselines: Baselines | None = None,
) -> tuple[FloatArray, FloatArray]:
    """Median and MAD of the residual over the 5 days that end a day before each row.

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
    past = hourly.shift(BASELINE_LAG_HOURS)
    window = 5 * 24
    median = past.rolling(window, min_periods=12).median()
    mad = (past - median).abs().rolling(window, min_periods=12).median()
    first = hourly.index[0]
    median_values = median.to_numpy(dtype=float)
    mad_values = mad.to_numpy(dtype=float)
    if baselines is not None:
        baselines.series[key] = (first, median_values, mad_values)
    position = _hour_positions(index, first, len(median_values))
    return _take(median_values, position), _take(mad_values, position)


def _robust_z(
    residual: pd.Series, floor: float, key: str = "", baselines: Baselines | None = None
) -> tuple[pd.Series, pd.Series]:
    """(z, typical residual) against its own baseline: median / MAD over 5 days ending a day ago."""
    index = pd.DatetimeIndex(residual.index)
    z, median = _robust_z_values(residual.to_numpy(dtype=float), index, floor, key, baselines)
    return pd.Series(z, index=index), pd.Series(median, index=index)


def _robust_z_values(
    residual: FloatArray,
    index: pd.DatetimeIndex,
    floor: float,
    key: str,
    baselines: Baselines | None,
) -> tuple[FloatArray, FloatArray]:
    median, mad = _hourly_baseline(residual, index, key, baselines)
    spread = np.maximum(1.4826 * mad, floor)
    z: FloatArray = (residual - median) / spread
    return z, median


def _baselines_of(
    values: FloatArray, index: pd.DatetimeIndex, keys: list[str], baselines: Baselines | None
) -> tuple[FloatArray, FloatArray]:
    """_hourly_baseline of every column (median, MAD: rows x columns); column j under keys[j].

    When replaying, the recorded baselines of a fit share their first hour and length, so the
    row positions are found once for all columns; only the look-ups remain per column.
    """
    median = np.full(values.shape, np.nan)
    mad = np.full(values.shape, np.nan)
    if baselines is None or baselines.record:
        for column, key in enumerate(keys):
            median[:, column], mad[:, column] = _hourly_baseline(
                values[:, column], index, key, baselines
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


def _pack_medians(values: FloatArray) -> FloatArray:
    """Per house (column), the median of the other houses at each row (NaN where none reports).

    One sort of each row serves every house: leaving one value out of a sorted row moves the
    middle positions by at most one, which its rank tells (a NaN sorts last and moves nothing).
    The values are np.nanmedian's over the other columns.
    """
    houses = values.shape[1]
    order = np.argsort(values, axis=1, kind="stable")
    ordered = np.take_along_axis(values, order, axis=1)
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(houses)[None, :], axis=1)
    present = ~np.isnan(values)
    others = present.sum(axis=1, keepdims=True) - present
    low = np.maximum((others - 1) // 2, 0)
    high = others // 2
    low += low >= rank
    high += high >= rank
    low_value = np.take_along_axis(ordered, np.minimum(low, houses - 1), axis=1)
    high_value = np.take_along_axis(ordered, np.minimum(high, houses - 1), axis=1)
    median: FloatArray = np.where(others % 2 == 1, low_value, (low_value + high_value) / 2.0)
    median[others == 0] = np.nan
    return median


def _rate_values(total: FloatArray) -> FloatArray:
    """Increment per row of a running daily total that resets at local midnight.

    A drop means the counter was reset: the new value itself is that row's increment. Gaps give
    NaN rather than a made-up increment.
    """
    before = shifted(total)
    step = total - before
    reset = step < -0.05 * np.abs(before)
    rate: FloatArray = np.maximum(np.where(reset, total, step), 0.0)
    return rate


def _pack_streams(
    table: pd.DataFrame,
    spec: EvidenceSpec,
    name: str,
    *,
    settled: npt.NDArray[np.bool_] | None,
    keep: int,
    baselines: Baselines | None,
) -> dict[str, list[Evidence]]:
    """Evidence of every house of `table` leaving its pack (or its own past without siblings).

    The residual is the house's signal minus the median of the other houses (their log ratio
    for a relative spec); with `spec.trend` a second stream averages it over TREND_ROWS first:
    slower, but a slow drift (wear) stands out against a much smaller spread, hours or days
    earlier. Unsettled rows (`settled` False) count as missing. All houses at once on plain
    arrays: this runs for every signal of every farm on every tick, where pandas' per-operation
    cost would dominate. Only the last `keep` rows are returned.
    """
    index = pd.DatetimeIndex(table.index)
    own = table.to_numpy(dtype=float, copy=True)
    if settled is not None:
        own[~settled] = np.nan
    pack = _pack_medians(own)
    alone = np.asarray(np.isnan(pack).all(axis=0))
    residual = np.log((own + spec.floor) / (pack + spec.floor)) if spec.relative else own - pack
    residual[:, alone] = own[:, alone]
    floor = 0.05 if spec.relative else spec.floor
    variants = [(name, residual, floor)]
    if spec.trend:
        trend = rolling_mean(residual, TREND_ROWS, TREND_ROWS // 3)
        variants.append((f"{name}_trend", trend, spec.trend_floor or floor / TREND_FLOOR_DIVISOR))
    start = len(index) - keep
    kept = index[start:]
    houses = list(table.columns)
    scored = []
    for stream, values, stream_floor in variants:
        keys = [f"{house}/{stream}" for house in houses]
        typical, mad = _baselines_of(values, index, keys, baselines)
        z = (values - typical) / np.maximum(1.4826 * mad, stream_floor)
        if spec.relative:
            expected = (pack + spec.floor) * np.exp(typical) - spec.floor
        else:
            expected = pack + typical
        expected[:, alone] = typical[:, alone]
        scored.append((stream, z[start:], expected[start:]))
    streams: dict[str, list[Evidence]] = {}
    for column, house in enumerate(houses):
        actual = pd.Series(own[start:, column], index=kept)
        streams[house] = [
            Evidence(
                stream,
                spec.signal,
                pd.Series(z[:, column], index=kept),
                actual,
                pd.Series(expected[:, column], index=kept),
                spec.up,
                spec.down,
                spec.unit,
                spec.limit,
                slow=spec.slow,
            )
            for stream, z, expected in scored
        ]
    return streams


def _probe_evidence(
    frame: pd.DataFrame, house: str = "", baselines: Baselines | None = None
) -> list[Evidence]:
    """Each probe against the median of the other probes of the same house."""
    probes = sorted(c for c in frame.columns if c.startswith("probe_temperature_"))
    if len(probes) < 3:
        return []
    block = frame[probes].to_numpy(dtype=float)
    return _probe_streams(block, pd.DatetimeIndex(frame.index), probes, house, baselines)


PROBE_STILL_ROWS = 2 * ROWS_PER_HOUR
"""A probe that has not moved for this long while its siblings move is stuck."""


def _probe_streams(
    block: FloatArray,
    index: pd.DatetimeIndex,
    probes: list[str],
    house: str,
    baselines: Baselines | None,
    *,
    keep: int | None = None,
) -> list[Evidence]:
    """_probe_evidence on a rows x probes array: stuck, drift, noise and dropout of each probe.

    Each probe's reference is the median of the house's other probes at each row. Its residual
    (smoothed over an hour) against its own baseline gives `probe_<n>`, forced to +-10 where the
    probe has not moved for PROBE_STILL_ROWS while the others move (stuck) and to 10 where it is
    missing for half of the last hour while a sibling reports (dropout); the residual smoothed over
    TREND_ROWS gives the slow `probe_<n>_trend` (drift). All probes at once on plain arrays: with
    pandas 3 the per-probe DataFrame operations cost ~50 ms per house and tick. With `keep`,
    the streams hold only the last `keep` rows (their values read the rows before).
    """
    present = ~np.isnan(block)
    reference = _pack_medians(block)
    step = np.abs(block - shifted(block))
    moving = rolling_mean(_pack_medians(step), PROBE_STILL_ROWS, ROWS_PER_HOUR)
    still = rolling_max(step, PROBE_STILL_ROWS, ROWS_PER_HOUR)
    with np.errstate(invalid="ignore"):
        stuck = (still < 1e-6) & (moving > 0.01)
    siblings = present.sum(axis=1, keepdims=True) - present > 0
    gone = rolling_mean((~present & siblings).astype(float), ROWS_PER_HOUR, 1) >= 0.5
    offset = block - reference
    residual = rolling_mean(offset, ROWS_PER_HOUR, ROWS_PER_HOUR // 3)
    drift = rolling_mean(offset, TREND_ROWS, TREND_ROWS // 3)
    typical, mad = _baselines_of(residual, index, [f"{house}/{p}" for p in probes], baselines)
    z = (residual - typical) / np.maximum(1.4826 * mad, PROBE_FLOOR)
    sign = np.sign(np.where(np.isnan(z), 1.0, z))
    z = np.where(stuck, np.where(sign == 0, 1.0, sign) * 10.0, z)
    z[gone] = 10.0
    drift_typical, drift_mad = _baselines_of(
        drift, index, [f"{house}/{p}_trend" for p in probes], baselines
    )
    drift_floor = PROBE_FLOOR / TREND_FLOOR_DIVISOR
    drift_z = (drift - drift_typical) / np.maximum(1.4826 * drift_mad, drift_floor)
    start = 0 if keep is None else max(len(index) - keep, 0)
    index = index[start:]
    block, reference = block[start:], reference[start:]
    z, typical, drift_z, drift_typical = (
        z[start:],
        typical[start:],
        drift_z[start:],
        drift_typical[start:],
    )
    streams: list[Evidence] = []
    for column, probe in enumerate(probes):
        actual = pd.Series(block[:, column], index=index, name=probe)
        streams.append(
            Evidence(
                probe,
                probe,
                pd.Series(z[:, column], index=index),
                actual,
                pd.Series(reference[:, column] + typical[:, column], index=index),
                "sensor",
                "sensor",
                "°C",
                3.0,
            )
        )
        streams.append(
            Evidence(
                f"{probe}_trend",
                probe,
                pd.Series(drift_z[:, column], index=index),
                actual,
                pd.Series(reference[:, column] + drift_typical[:, column], index=index),
                "sensor",
                "sensor",
                "°C",
                3.0,
                slow=True,
            )
        )
    return streams


LINK_LOOKBACK = 3 * ROWS_PER_DAY + 8
"""Rows before a row that its link evidence reads: the 3-day episode count over 30-minute
frozen checks of row-to-row changes."""


def _link_evidence(tables: Tables, keep: int) -> dict[str, list[Evidence]]:
    """Controller off line: connection status not 1, or every value frozen for 30 minutes.

    `link` is far above any threshold while the link is down (an alarm). `link_frequency`
    counts the episodes that began in the last three days, capped below the alarm level of every
    sensitivity: a link that drops more and more often shows as a rising failure risk of the
    controller link before it is lost for good, without an alarm of its own. Every house that
    reports its connection at once; the last `keep` rows are returned.
    """
    status = tables.get("connection")
    if status is None:
        return {}
    houses = status.columns
    values = status.to_numpy(dtype=float)
    offline = ~np.isnan(values) & (values != 1.0)
    changes = []
    for role in ("temperature", "humidity", "static_pressure"):
        if role in tables:
            at = tables[role].columns.get_indexer(houses)
            moving = np.where(at >= 0, tables[role].to_numpy(dtype=float)[:, at], np.nan)
            changes.append(np.abs(moving - shifted(moving)))
    frozen = np.zeros(values.shape, dtype=bool)
    if changes:
        stacked = np.stack(changes)
        change = np.where(np.isnan(stacked), 0.0, stacked).sum(axis=0)
        change[np.isnan(stacked).all(axis=0)] = np.nan
        frozen = rolling_max(change, 6, 6) == 0.0
    down = offline | frozen
    began = down.copy()
    began[1:] &= ~down[:-1]
    counts = np.cumsum(began, axis=0, dtype=float)
    window = 3 * ROWS_PER_DAY
    recent = counts.copy()
    recent[window:] -= counts[:-window]
    rows = len(values)
    kept = pd.DatetimeIndex(status.index[rows - keep :])
    expected = pd.Series(1.0, index=kept)
    streams: dict[str, list[Evidence]] = {}
    for column, house in enumerate(houses):
        actual = pd.Series(values[rows - keep :, column], index=kept)
        streams[house] = [
            Evidence(
                "link",
                "connection",
                pd.Series(down[rows - keep :, column] * 10.0, index=kept),
                actual,
                expected,
                "controller_link",
                "controller_link",
                "",
            ),
            Evidence(
                "link_frequency",
                "connection",
                pd.Series(np.minimum(recent[rows - keep :, column], LINK_WATCH_CAP), index=kept),
                actual,
                expected,
                "controller_link",
                "controller_link",
                "",
            ),
        ]
    return streams


def _settled(grid: FarmGrid) -> npt.NDArray[np.bool_] | None:
    """True where the house holds a flock placed at least two days ago (rows x grid.houses);
    None when the farm reports neither bird count nor growth day (settled everywhere).

    An empty house, and the first days of a new flock (growth day reset, birds placed), behave
    unlike the pack for good reasons; the pack detectors stay silent there instead of alarming.
    Computed over the whole kept grid: the last count or day is carried forward without limit.
    """
    birds = grid.data.get("bird_count")
    day = grid.data.get("growth_day")
    if birds is None and day is None:
        return None
    shape = (len(grid.index), len(grid.houses))
    settled = np.ones(shape, dtype=bool)
    change = np.zeros(shape, dtype=bool)
    column = {house: position for position, house in enumerate(grid.houses)}
    if birds is not None:
        where = [column[house] for house in birds.columns]
        count = _ffill(birds.to_numpy(dtype=float))
        before = np.vstack([np.full((1, count.shape[1]), np.nan), count[:-1]])
        settled[:, where] &= ~(count <= 0)
        change[:, where] |= ~np.isnan(before) & (count > 1.2 * np.maximum(before, 1.0))
    if day is not None:
        where = [column[house] for house in day.columns]
        days = _ffill(day.to_numpy(dtype=float))
        before = np.vstack([np.full((1, days.shape[1]), np.nan), days[:-1]])
        change[:, where] |= days < before - 0.5
    if not change.any():
        return settled
    position = np.arange(shape[0])[:, None]
    last_change = np.maximum.accumulate(np.where(change, position, -1), axis=0)
    recent = (last_change >= 0) & (position - last_change < 2 * ROWS_PER_DAY)
    result: npt.NDArray[np.bool_] = settled & ~recent
    return result


Tables = dict[str, pd.DataFrame]
"""Per role, a table on the farm's 5-minute grid with one column per house."""


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


@dataclass(frozen=True)
class Derivation:
    """Derived pack signals: a function of the role tables, and how far back a row's value reads.

    `derive` returns per evidence name (a SPECS key) a rows x houses table on the index of the
    tables it is given. `lookback` is at least the number of rows before a row that its value
    reads (the chained rolling windows): an update gives `derive` only the evaluated rows plus
    `lookback` rows, which gives the same values on the evaluated rows as a run over all the data.
    """

    lookback: int
    derive: Callable[[Tables], dict[str, pd.DataFrame]]


def _both(tables: Tables, first: str, second: str) -> tuple[pd.Index, FloatArray, FloatArray]:
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


def _table(index: pd.Index, houses: pd.Index, values: FloatArray) -> pd.DataFrame:
    return pd.DataFrame(values, index=index, columns=houses)


def _climate(tables: Tables) -> dict[str, pd.DataFrame]:
    houses, inside, wanted = _both(tables, "temperature", "set_temperature")
    if houses.empty:
        return {}
    deviation = rolling_mean(inside - wanted, ROWS_PER_HOUR // 2, ROWS_PER_HOUR // 6)
    return {"climate": _table(tables["temperature"].index, houses, deviation)}


def _heat(tables: Tables) -> dict[str, pd.DataFrame]:
    heaters = tables.get("heaters_running")
    if heaters is None:
        return {}
    running = heaters.to_numpy(dtype=float)
    most = np.maximum(rolling_max(running, 7 * ROWS_PER_DAY), 1.0)
    effort = rolling_mean(running / most, 2 * ROWS_PER_HOUR, 2 * ROWS_PER_HOUR // 3)
    return {"heat_effort": _table(heaters.index, heaters.columns, effort)}


def _humidity(tables: Tables) -> dict[str, pd.DataFrame]:
    humidity = tables.get("humidity")
    if humidity is None:
        return {}
    smooth = rolling_mean(humidity.to_numpy(dtype=float), ROWS_PER_HOUR, ROWS_PER_HOUR // 3)
    return {"humidity": _table(humidity.index, humidity.columns, smooth)}


def _pressure(tables: Tables) -> dict[str, pd.DataFrame]:
    houses, static, target = _both(tables, "static_pressure", "target_pressure")
    if houses.empty:
        return {}
    smooth = rolling_mean(static - target, ROWS_PER_HOUR, ROWS_PER_HOUR // 3)
    return {"pressure": _table(tables["static_pressure"].index, houses, smooth)}


def _intake(tables: Tables) -> dict[str, pd.DataFrame]:
    """Water and feed per 1000 birds per row (per house when the house reports no bird count)."""
    derived: dict[str, pd.DataFrame] = {}
    birds = tables.get("bird_count")
    for role, name in (("water_daily", "water"), ("feed_daily", "feed")):
        total = tables.get(role)
        if total is None:
            continue
        scale = np.ones(total.shape)
        if birds is not None:
            at = birds.columns.get_indexer(total.columns)
            counted = np.flatnonzero(at >= 0)
            count = birds.to_numpy(dtype=float)[:, at[counted]]
            scale[:, counted] = np.where(count > 0, count, np.nan)
        per_bird = _rate_values(total.to_numpy(dtype=float)) / scale * 1000.0
        smooth = rolling_mean(per_bird, 2 * ROWS_PER_HOUR, 2 * ROWS_PER_HOUR // 3)
        derived[name] = _table(total.index, total.columns, smooth)
    return derived


DERIVATIONS: list[Derivation] = [
    Derivation(ROWS_PER_HOUR // 2, _climate),
    Derivation(7 * ROWS_PER_DAY + 2 * ROWS_PER_HOUR, _heat),
    Derivation(HEAT_LOAD_LOOKBACK, heat_load),
    Derivation(ROWS_PER_HOUR, _humidity),
    Derivation(ROWS_PER_HOUR, _pressure),
    Derivation(2 * ROWS_PER_HOUR + 1, _intake),
]
"""The pack signals, in the order of their streams (a tie between streams goes to the first)."""


TAIL_CONTEXT_ROWS = 2 * TREND_ROWS + 2 * ROWS_PER_HOUR + 2
"""Rows before the kept tail that the pack trend and probe windows read (exactly)."""
UPDATE_CONTEXT = pd.Timedelta(days=10)
"""Grid an incremental update keeps: the longest derivation lookback (the 7-day heater maximum
under the 1-day heat mean) plus TAIL_CONTEXT_ROWS, the kept rows and a day of new rows."""


def farm_evidence(
    frames: dict[str, pd.DataFrame],
    baselines: Baselines | None = None,
    tail: int | None = None,
    *,
    on_grid: bool = False,
) -> dict[str, HouseEvidence]:
    """Evidence streams of every house of one farm, on a common 5-minute grid.

    `baselines` records (fit) or replays (update) the hourly median/MAD baselines; `tail` as in
    grid_evidence. `on_grid`: the frames are already `prepare`d.
    """
    if not on_grid:
        frames = {house: prepare(frame) for house, frame in frames.items() if not frame.empty}
    return grid_evidence(FarmGrid.from_frames(frames), baselines, tail)


def grid_evidence(
    grid: FarmGrid, baselines: Baselines | None = None, tail: int | None = None
) -> dict[str, HouseEvidence]:
    """Evidence streams of every house of the grid.

    With `tail`, only the last `tail + TREND_ROWS` rows are returned (the extra TREND_ROWS give
    time_to_failure its 6 h of history) and only what they read is computed: the derivations
    and link checks on the last rows plus the longest lookback (one cut of the tables serves
    them all; numpy makes the extra rows of the shorter windows nearly free), the pack medians,
    trends and probe checks on the returned rows plus TAIL_CONTEXT_ROWS. The values on the
    returned rows are the same as a run over everything (every window they read lies inside the
    rows computed).
    """
    rows = len(grid.index)
    if not rows or not grid.houses:
        return {}
    keep = rows if tail is None else min(rows, tail + TREND_ROWS)
    evaluate = rows if tail is None else min(rows, keep + TAIL_CONTEXT_ROWS)
    settled = _settled(grid)
    column = {house: position for position, house in enumerate(grid.houses)}
    streams: dict[str, list[Evidence]] = {house: [] for house in grid.houses}
    context = grid.last(evaluate + max(LINK_LOOKBACK, *(d.lookback for d in DERIVATIONS)))
    for derivation in DERIVATIONS:
        derived = derivation.derive(context)
        for name, whole in derived.items():
            table = whole.iloc[len(whole) - evaluate :]
            mask = None
            if settled is not None:
                mask = settled[rows - evaluate :, [column[h] for h in table.columns]]
            packed = _pack_streams(
                table, SPECS[name], name, settled=mask, keep=keep, baselines=baselines
            )
            for house, house_streams in packed.items():
                streams[house].extend(house_streams)
    for house, found in _grid_probes(grid, evaluate, keep, baselines).items():
        streams[house].extend(found)
    for house, found in _link_evidence(context, keep).items():
        streams[house].extend(found)
    index = grid.index[rows - keep :]
    return {house: HouseEvidence(index=index, streams=found) for house, found in streams.items()}


def _grid_probes(
    grid: FarmGrid, evaluate: int, keep: int, baselines: Baselines | None
) -> dict[str, list[Evidence]]:
    """_probe_evidence of every house with three probes or more, on the last `evaluate` rows
    (the last `keep` returned), its probe block taken from the role tables (plain arrays)."""
    rows = len(grid.index)
    probes = sorted(role for role in grid.tables if role.startswith("probe_temperature_"))
    if len(probes) < 3:
        return {}
    index = grid.index[rows - evaluate :]
    columns = {}
    for role in probes:
        table = grid.tables[role]
        values = table.to_numpy(dtype=float)[rows - evaluate :]
        columns[role] = ({str(house): at for at, house in enumerate(table.columns)}, values)
    found: dict[str, list[Evidence]] = {}
    for house in grid.houses:
        own = [role for role in probes if house in columns[role][0]]
        if len(own) < 3:
            continue
        block = np.column_stack([columns[role][1][:, columns[role][0][house]] for role in own])
        found[house] = _probe_streams(block, index, own, house, baselines, keep=keep)
    return found


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
    """State of one stream's alarm machine after the last row it saw (see step_alarm)."""

    run_above: int = 0
    run_below: int = 0
    on: bool = False
    since: datetime | None = None
    """Start of the episode that is on (None while off)."""


def step_alarm(
    z: FloatArray,
    index: pd.DatetimeIndex,
    level: SensitivityLevel,
    slow: bool,
    carry: AlarmCarry,
) -> AlarmCarry:
    """alarm_state continued over new rows: the same decisions as one run over all the rows.

    The runs above / below the thresholds and the on/off state are carried from the previous
    rows, so an update only looks at the points it has not seen yet.
    """
    if len(z) == 0:
        return carry
    return step_alarms(np.asarray(z, dtype=float)[None, :], index, level, [slow], [carry])[0]


def step_alarms(
    z: FloatArray,
    index: pd.DatetimeIndex,
    level: SensitivityLevel,
    slow: list[bool],
    carries: list[AlarmCarry],
) -> list[AlarmCarry]:
    """step_alarm of many streams over the same new rows at once (z: streams x rows).

    A farm has dozens of streams and a tick brings one or a few rows: stepping them together is
    a handful of array operations instead of a handful per stream.
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


def score_of(z: float, level: SensitivityLevel) -> float:
    """0..100 score: 50 at the alarm threshold, approaching 100 far beyond it."""
    magnitude = abs(z)
    return 100.0 * magnitude**2 / (magnitude**2 + level.z_on**2)


def time_to_failure(evidence: Evidence, at: int) -> float | None:
    """Hours until |actual - expected| reaches the failure limit, from the last 6 h trend."""
    if evidence.limit is None or at < 2 * ROWS_PER_HOUR:
        return None
    gap = (evidence.actual - evidence.expected).iloc[max(0, at - 6 * ROWS_PER_HOUR) : at + 1]
    gap = gap.dropna()
    if len(gap) < ROWS_PER_HOUR:
        return None
    hours = np.arange(len(gap)) / ROWS_PER_HOUR
    slope, intercept = np.polyfit(hours, gap.to_numpy(dtype=float), 1)
    current = intercept + slope * hours[-1]
    if abs(current) >= evidence.limit:
        return 0.0
    toward = slope if current >= 0 else -slope
    if toward <= 1e-6:
        return None
    return float((evidence.limit - abs(current)) / toward)


def since_of(state: FloatArray, index: pd.DatetimeIndex, at: int) -> datetime | None:
    """Start of the alarm episode that is on at row `at`."""
    if state[at] < 1.0:
        return None
    start = at
    while start > 0 and state[start - 1] >= 1.0:
        start -= 1
    stamp: datetime = index[start].to_pydatetime()
    return stamp
