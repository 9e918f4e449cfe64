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

from dataclasses import dataclass, field
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
    data = data.apply(pd.to_numeric, errors="coerce")
    data = data.mask(data < SENTINEL_BELOW)
    if "set_temperature" in data:
        fahrenheit = data["set_temperature"] > FAHRENHEIT_SET_POINT
        for role in [c for c in data.columns if c in TEMPERATURE_ROLES or "probe" in c]:
            data.loc[fahrenheit, role] = (data.loc[fahrenheit, role] - 32.0) / 1.8
    grid: pd.DataFrame = data.resample(GRID, label="right", closed="right").last()
    return grid.ffill(limit=MAX_FILL_ROWS)


def _hourly_baseline(residual: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Median and MAD of the residual over the 5 days that end a day before each row.

    The statistics move slowly, so they are computed on the full hours only (timestamp-aligned,
    so a live buffer and a batch run see the same points) and carried forward within the hour:
    twelve times less work than on every 5-minute row, and still causal.
    """
    if not isinstance(residual.index, pd.DatetimeIndex) or residual.empty:
        empty = pd.Series(np.nan, index=residual.index)
        return empty, empty
    hourly = residual[residual.index.minute == 0]
    past = hourly.shift(24)
    window = 5 * 24
    median = past.rolling(window, min_periods=12).median()
    mad = (past - median).abs().rolling(window, min_periods=12).median()
    return (
        median.reindex(residual.index).ffill(limit=11),
        mad.reindex(residual.index).ffill(limit=11),
    )


def _robust_z(residual: pd.Series, floor: float) -> pd.Series:
    """z of a residual against its own baseline: median / MAD over 5 days ending a day ago."""
    median, mad = _hourly_baseline(residual)
    spread = (1.4826 * mad).clip(lower=floor)
    z: pd.Series = (residual - median) / spread
    return z


def _pack_residual(by_house: pd.DataFrame, house: str) -> tuple[pd.Series, pd.Series]:
    """(house value, median of the other houses) at each time; the expectation is the pack."""
    own = by_house[house]
    others = by_house.drop(columns=[house])
    if others.shape[1] == 0:
        return own, pd.Series(np.nan, index=own.index)
    return own, others.median(axis=1, skipna=True)


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


def _baseline(residual: pd.Series) -> pd.Series:
    """Typical residual over the 5 days that end a day before each row."""
    return _hourly_baseline(residual)[0]


def _pack_evidence(
    by_house: pd.DataFrame,
    house: str,
    spec: EvidenceSpec,
    name: str,
    trend_rows: int = 0,
) -> Evidence:
    """Evidence of `house` leaving its pack (or its own past when it has no siblings).

    With `trend_rows` the residual is averaged over that many rows first: slower, but a slow
    drift (wear) stands out against a much smaller spread, hours or days earlier.
    """
    own, pack = _pack_residual(by_house, house)
    if pack.isna().all():
        residual = own
    elif spec.relative:
        residual = pd.Series(np.log((own + spec.floor) / (pack + spec.floor)), index=own.index)
    else:
        residual = own - pack
    if trend_rows:
        residual = _smooth(residual, trend_rows)
    floor = 0.05 if spec.relative else spec.floor
    if trend_rows:
        floor = spec.trend_floor or floor / TREND_FLOOR_DIVISOR
    z = _robust_z(residual, floor)
    typical = _baseline(residual)
    if pack.isna().all():
        expected = typical
    elif spec.relative:
        expected = (pack + spec.floor) * np.exp(typical) - spec.floor
    else:
        expected = pack + typical
    return Evidence(name, spec.signal, z, own, expected, spec.up, spec.down, spec.unit, spec.limit)


def _probe_evidence(frame: pd.DataFrame) -> list[Evidence]:
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
        z = _robust_z(residual, PROBE_FLOOR)
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
        expected = reference + _baseline(residual)
        streams.append(
            Evidence(probe, probe, z, block[probe], expected, "sensor", "sensor", "°C", 3.0)
        )
        drift = _smooth(block[probe] - reference, TREND_ROWS)
        streams.append(
            Evidence(
                f"{probe}_trend",
                probe,
                _robust_z(drift, PROBE_FLOOR / TREND_FLOOR_DIVISOR),
                block[probe],
                reference + _baseline(drift),
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


def farm_evidence(frames: dict[str, pd.DataFrame]) -> dict[str, HouseEvidence]:
    """Evidence streams of every house of one farm, on a common 5-minute grid."""
    prepared = {house: prepare(frame) for house, frame in frames.items() if not frame.empty}
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

    results = {house: HouseEvidence(index=index) for house in grid}
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

    for name, unmasked in derived.items():
        spec = SPECS[name]
        by_house = unmasked.where(settled[unmasked.columns])
        for house in by_house.columns:
            results[house].streams.append(_pack_evidence(by_house, house, spec, name))
            if spec.trend:
                results[house].streams.append(
                    _pack_evidence(by_house, house, spec, f"{name}_trend", TREND_ROWS)
                )
    for house, frame in grid.items():
        results[house].streams.extend(_probe_evidence(frame))
        results[house].streams.extend(_link_evidence(frame))
    return results


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
