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
  heat_effort  heaters running (share of the house's max) heating (wear: more effort, same result)
  pressure     static pressure minus target               ventilation (fan / belt wear)
  humidity     inside humidity                            ventilation / water
  water        water intake rate per bird                 water (leak: up, blockage: down)
  feed         feed intake rate per bird                  feed
  probe_<n>    probe minus the other probes, stuck, gone  sensor
  link         connection status and frozen values        controller_link
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

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
    "heat_effort": EvidenceSpec(
        "heaters_running", 0.05, "heating", "heating", "share", trend=True, trend_floor=0.03
    ),
    "pressure": EvidenceSpec(
        "static_pressure", 1.0, "ventilation", "ventilation", "Pa", trend=True
    ),
    "heat_daily": EvidenceSpec(
        "heaters_running", 0.02, "heating", "heating", "share/24 h", relative=True, slow=True
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
    _positions: tuple[tuple[pd.Timestamp, int, pd.Timestamp, int], FloatArray] | None = None

    def covers(self, stamp: pd.Timestamp) -> bool:
        """Whether the baselines reach the hour of `stamp`."""
        return self.horizon is not None and stamp.floor("h") <= self.horizon

    def positions(self, index: pd.DatetimeIndex, first: pd.Timestamp, hours: int) -> FloatArray:
        """_hour_positions, kept for the last grid (every stream of an update shares it)."""
        key = (index[0], len(index), first, hours)
        if self._positions is None or self._positions[0] != key:
            self._positions = (key, _hour_positions(index, first, hours))
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


def _pack_medians(by_house: pd.DataFrame) -> dict[str, FloatArray]:
    """Per house, the median of the other houses at each time (NaN where none reports)."""
    values = by_house.to_numpy(dtype=float)
    medians: dict[str, FloatArray] = {}
    for column, house in enumerate(by_house.columns):
        medians[str(house)] = _row_nanmedian(np.delete(values, column, axis=1))
    return medians


def _row_nanmedian(block: FloatArray) -> FloatArray:
    """Median of each row ignoring NaN (NaN where a row has none): np.nanmedian's value,
    without its per-call cost on the few hundred rows an update evaluates."""
    rows = np.arange(block.shape[0])
    if block.shape[1] == 0:
        return np.full(block.shape[0], np.nan)
    ordered = np.sort(block, axis=1)  # NaN sort last
    count = np.isfinite(ordered).sum(axis=1)
    low = ordered[rows, np.maximum((count - 1) // 2, 0)]
    high = ordered[rows, np.minimum(count // 2, block.shape[1] - 1)]
    median: FloatArray = np.where(count % 2 == 1, low, (low + high) / 2.0)
    median[count == 0] = np.nan
    return median


def _smooth(series: pd.Series, rows: int) -> pd.Series:
    return series.rolling(rows, min_periods=max(rows // 3, 1)).mean()


def _rate(total: pd.Series) -> pd.Series:
    """Increment per row of a running daily total that resets at local midnight.

    A drop means the counter was reset: the new value itself is that row's increment. Gaps give
    NaN rather than a made-up increment.
    """
    step = total.diff()
    reset = step < -0.05 * total.shift(1).abs()
    return step.mask(reset, total).clip(lower=0.0)


def _pack_evidence(
    by_house: pd.DataFrame,
    house: str,
    spec: EvidenceSpec,
    name: str,
    *,
    pack: FloatArray,
    trend_rows: int = 0,
    baselines: Baselines | None = None,
) -> Evidence:
    """Evidence of `house` leaving its pack (or its own past when it has no siblings).

    With `trend_rows` the residual is averaged over that many rows first: slower, but a slow
    drift (wear) stands out against a much smaller spread, hours or days earlier. `pack` is the
    median of the other houses (see _pack_medians). Plain arrays inside: this runs for every
    stream of every house on every tick, where pandas' per-operation cost would dominate.
    """
    index = pd.DatetimeIndex(by_house.index)
    own_series = by_house[house]
    own: FloatArray = own_series.to_numpy(dtype=float)
    alone = bool(np.isnan(pack).all())
    if alone:
        residual: FloatArray = own
    elif spec.relative:
        residual = np.log((own + spec.floor) / (pack + spec.floor))
    else:
        residual = own - pack
    if trend_rows:
        residual = _smooth(pd.Series(residual), trend_rows).to_numpy(dtype=float)
    floor = 0.05 if spec.relative else spec.floor
    if trend_rows:
        floor = spec.trend_floor or floor / TREND_FLOOR_DIVISOR
    z, typical = _robust_z_values(residual, index, floor, f"{house}/{name}", baselines)
    if alone:
        expected = typical
    elif spec.relative:
        expected = (pack + spec.floor) * np.exp(typical) - spec.floor
    else:
        expected = pack + typical
    return Evidence(
        name,
        spec.signal,
        pd.Series(z, index=index),
        own_series,
        pd.Series(expected, index=index),
        spec.up,
        spec.down,
        spec.unit,
        spec.limit,
    )


def _probe_evidence(
    frame: pd.DataFrame, house: str = "", baselines: Baselines | None = None
) -> list[Evidence]:
    """Each probe against the median of the other probes of the same house."""
    probes = sorted(c for c in frame.columns if c.startswith("probe_temperature_"))
    streams: list[Evidence] = []
    if len(probes) < 3:
        return streams
    block = frame[probes]
    spread_others = block.diff().abs()
    for probe in probes:
        others = block.drop(columns=[probe])
        reference = others.median(axis=1)
        residual = _smooth(block[probe] - reference, ROWS_PER_HOUR)
        z, typical = _robust_z(residual, PROBE_FLOOR, f"{house}/{probe}", baselines)
        # Stuck: no movement for two hours while the other probes move.
        still = block[probe].diff().abs().rolling(2 * ROWS_PER_HOUR, min_periods=ROWS_PER_HOUR)
        moving = (
            spread_others.drop(columns=[probe])
            .median(axis=1)
            .rolling(2 * ROWS_PER_HOUR, min_periods=ROWS_PER_HOUR)
        )
        stuck = (still.max() < 1e-6) & (moving.mean() > 0.01)
        # Dropout: the probe is missing while its siblings report.
        gone = block[probe].isna() & others.notna().any(axis=1)
        gone_share = gone.astype(float).rolling(ROWS_PER_HOUR, min_periods=1).mean()
        z = z.where(~stuck, np.sign(z.fillna(1.0)).replace(0, 1.0) * 10.0)
        z = z.mask(gone_share >= 0.5, 10.0)
        expected = reference + typical
        streams.append(
            Evidence(probe, probe, z, block[probe], expected, "sensor", "sensor", "°C", 3.0)
        )
        drift = _smooth(block[probe] - reference, TREND_ROWS)
        drift_z, drift_typical = _robust_z(
            drift, PROBE_FLOOR / TREND_FLOOR_DIVISOR, f"{house}/{probe}_trend", baselines
        )
        streams.append(
            Evidence(
                f"{probe}_trend",
                probe,
                drift_z,
                block[probe],
                reference + drift_typical,
                "sensor",
                "sensor",
                "°C",
                3.0,
                slow=True,
            )
        )
    return streams


def _link_evidence(frame: pd.DataFrame) -> list[Evidence]:
    """Controller off line: connection status not 1, or every value frozen for 30 minutes.

    `link` is far above any threshold while the link is down (an alarm). `link_frequency`
    counts the episodes that began in the last three days, capped below the alarm level of every
    sensitivity: a link that drops more and more often shows as a rising failure risk of the
    controller link before it is lost for good, without an alarm of its own.
    """
    if "connection" not in frame:
        return []
    status = frame["connection"]
    offline = status.notna() & (status != 1.0)
    moving_columns = [c for c in ("temperature", "humidity", "static_pressure") if c in frame]
    frozen = pd.Series(False, index=frame.index)
    if moving_columns:
        change = frame[moving_columns].diff().abs().sum(axis=1, min_count=1)
        frozen = change.rolling(6, min_periods=6).max() == 0.0
    down = offline | frozen
    began = down & ~down.shift(1, fill_value=False)
    recent = began.astype(float).rolling(3 * ROWS_PER_DAY, min_periods=1).sum()
    expected = pd.Series(1.0, index=frame.index)
    return [
        Evidence(
            "link",
            "connection",
            down.astype(float) * 10.0,
            status,
            expected,
            "controller_link",
            "controller_link",
            "",
        ),
        Evidence(
            "link_frequency",
            "connection",
            recent.clip(upper=LINK_WATCH_CAP),
            status,
            expected,
            "controller_link",
            "controller_link",
            "",
        ),
    ]


def settled_rows(frame: pd.DataFrame) -> pd.Series:
    """True where the house holds a flock placed at least two days ago.

    An empty house, and the first days of a new flock (growth day reset, birds placed), behave
    unlike the pack for good reasons; the pack detectors stay silent there instead of alarming.
    """
    settled = pd.Series(True, index=frame.index)
    change = pd.Series(False, index=frame.index)
    if "bird_count" in frame:
        birds = frame["bird_count"].ffill()
        settled &= ~(birds <= 0)
        before = birds.shift(1)
        change |= before.notna() & (birds > 1.2 * before.clip(lower=1.0))
    if "growth_day" in frame:
        day = frame["growth_day"].ffill()
        change |= (day < day.shift(1) - 0.5).fillna(False)
    if not change.any():
        return settled
    stamps = pd.Series(np.where(change, np.arange(len(frame)), np.nan), index=frame.index).ffill()
    position = pd.Series(np.arange(len(frame)), index=frame.index)
    recent = ((position - stamps) < 2 * ROWS_PER_DAY).fillna(False).astype(bool)
    result: pd.Series = settled & ~recent
    return result


TAIL_CONTEXT_ROWS = 2 * TREND_ROWS + 2 * ROWS_PER_HOUR + 2
"""Rows before the evaluated tail that the pack, trend and probe windows read (exactly)."""
UPDATE_CONTEXT = pd.Timedelta(days=9)
"""Data an incremental update prepares: the 7-day heater maximum under the 1-day heat mean,
plus the trend and smoothing windows (every rolling window of the derived signals is inside)."""


def farm_evidence(
    frames: dict[str, pd.DataFrame],
    baselines: Baselines | None = None,
    tail: int | None = None,
    *,
    on_grid: bool = False,
) -> dict[str, HouseEvidence]:
    """Evidence streams of every house of one farm, on a common 5-minute grid.

    `baselines` records (fit) or replays (update) the hourly median/MAD baselines. With `tail`,
    only the last `tail + TREND_ROWS` rows are evaluated and returned (the extra TREND_ROWS give
    time_to_failure its 6 h of history): the pack medians, trend smoothing and probe checks then
    run on a few hundred rows instead of the whole buffer, with the same values on those rows
    as a run over everything (every window they read lies inside the slice). `on_grid`: the
    frames are already `prepare`d (the incremental update keeps them between ticks).
    """
    if not on_grid:
        frames = {house: prepare(frame) for house, frame in frames.items() if not frame.empty}
    prepared = {house: frame for house, frame in frames.items() if not frame.empty}
    if not prepared:
        return {}
    start = min(f.index[0] for f in prepared.values())
    end = max(f.index[-1] for f in prepared.values())
    index = pd.date_range(start, end, freq=GRID)
    grid = {house: frame.reindex(index) for house, frame in prepared.items()}

    settled = pd.DataFrame({house: settled_rows(frame) for house, frame in grid.items()})

    def table(role: str) -> pd.DataFrame | None:
        columns = {h: f[role] for h, f in grid.items() if role in f and f[role].notna().any()}
        if not columns:
            return None
        return pd.DataFrame(columns)

    keep = len(index) if tail is None else min(len(index), tail + TREND_ROWS)
    evaluate = len(index) if tail is None else min(len(index), keep + TAIL_CONTEXT_ROWS)
    results = {house: HouseEvidence(index=index[len(index) - keep :]) for house in grid}
    derived: dict[str, pd.DataFrame] = {}
    deviation = {
        h: _smooth(f["temperature"] - f["set_temperature"], ROWS_PER_HOUR // 2)
        for h, f in grid.items()
        if {"temperature", "set_temperature"} <= set(f.columns)
    }
    if deviation:
        derived["climate"] = pd.DataFrame(deviation)
    heat = {}
    for h, f in grid.items():
        if "heaters_running" in f and f["heaters_running"].notna().any():
            most = (
                f["heaters_running"].rolling(7 * ROWS_PER_DAY, min_periods=1).max().clip(lower=1.0)
            )
            heat[h] = _smooth(f["heaters_running"] / most, 2 * ROWS_PER_HOUR)
    if heat:
        derived["heat_effort"] = pd.DataFrame(heat)
        derived["heat_daily"] = (
            pd.DataFrame(heat).rolling(ROWS_PER_DAY, min_periods=ROWS_PER_DAY // 2).mean()
        )
    humidity = table("humidity")
    if humidity is not None:
        derived["humidity"] = humidity.apply(lambda column: _smooth(column, ROWS_PER_HOUR))
    pressure = {
        h: _smooth(f["static_pressure"] - f["target_pressure"], ROWS_PER_HOUR)
        for h, f in grid.items()
        if {"static_pressure", "target_pressure"} <= set(f.columns)
    }
    if pressure:
        derived["pressure"] = pd.DataFrame(pressure)
    for role, name in (("water_daily", "water"), ("feed_daily", "feed")):
        rates = {}
        for h, f in grid.items():
            if role not in f or not f[role].notna().any():
                continue
            birds = f["bird_count"].where(f["bird_count"] > 0) if "bird_count" in f else 1.0
            rates[h] = _smooth(_rate(f[role]) / birds * 1000.0, 2 * ROWS_PER_HOUR)
        if rates:
            derived[name] = pd.DataFrame(rates)

    streams: dict[str, list[Evidence]] = {house: [] for house in grid}
    settled = settled.iloc[len(index) - evaluate :]
    for name, unmasked in derived.items():
        spec = SPECS[name]
        by_house = unmasked.iloc[len(index) - evaluate :].where(settled[unmasked.columns])
        packs = _pack_medians(by_house)
        for house in by_house.columns:
            streams[house].append(
                _pack_evidence(by_house, house, spec, name, pack=packs[house], baselines=baselines)
            )
            if spec.trend:
                streams[house].append(
                    _pack_evidence(
                        by_house,
                        house,
                        spec,
                        f"{name}_trend",
                        pack=packs[house],
                        trend_rows=TREND_ROWS,
                        baselines=baselines,
                    )
                )
    for house, frame in grid.items():
        streams[house].extend(
            _probe_evidence(frame.iloc[len(index) - evaluate :], house, baselines)
        )
        streams[house].extend(_link_evidence(frame))
    for house, found in streams.items():
        results[house].streams = [_last_rows(stream, keep) for stream in found]
    return results


def _last_rows(stream: Evidence, rows: int) -> Evidence:
    """The stream cut to its last `rows` rows (unchanged when it is that short)."""
    if len(stream.z) <= rows:
        return stream
    return replace(
        stream,
        z=stream.z.iloc[-rows:],
        actual=stream.actual.iloc[-rows:],
        expected=stream.expected.iloc[-rows:],
    )


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
    factor = SLOW_Z_FACTOR if slow else 1.0
    need = level.min_rows * (SLOW_ROWS_FACTOR if slow else 1)
    magnitude = np.nan_to_num(np.abs(np.asarray(z, dtype=float)), nan=0.0)
    above = magnitude >= level.z_on * factor
    below = magnitude < level.z_off * factor
    run_above = _run_lengths(above)
    run_below = _run_lengths(below)
    run_above[: _first_false(above)] += carry.run_above
    run_below[: _first_false(below)] += carry.run_below
    trigger = np.full(len(magnitude), np.nan)
    trigger[run_above >= need] = 1.0
    trigger[run_below >= level.hold_rows] = 0.0
    state = pd.Series(trigger).ffill().fillna(1.0 if carry.on else 0.0).to_numpy(dtype=float)
    on = bool(state[-1] >= 1.0)
    since: datetime | None = None
    if on:
        off = np.flatnonzero(state < 1.0)
        if len(off):
            since = index[int(off[-1]) + 1].to_pydatetime()
        else:
            since = carry.since if carry.on else index[0].to_pydatetime()
    return AlarmCarry(int(run_above[-1]), int(run_below[-1]), on, since)


def _first_false(flags: npt.NDArray[np.bool_]) -> int:
    """Position of the first False (the length when all are True)."""
    false = np.flatnonzero(~flags)
    return int(false[0]) if len(false) else len(flags)


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
