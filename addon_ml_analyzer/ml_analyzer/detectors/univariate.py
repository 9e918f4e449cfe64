"""Streaming anomaly score for one univariate series (score-csv, and a building block elsewhere).

The score at row t uses rows 0..t only. It is an ensemble of robust, multi-scale z-scores:
for several smoothing scales k the k-row mean is compared with the median and inter-quartile
spread of a long reference window that ends before the smoothed window starts, so a spike
(k = 1), a short burst and a level shift (large k) all stand out against the spread the series
itself has shown. The same is done on the difference to a seasonal baseline (the median, over
the last few days, of the values within an hour or so of the same time of day), so a daily
rhythm does not hide a change; a median rather than the single value one day earlier, because a
one-off spike yesterday must not make today's ordinary value look like a drop. A value the
series already reached near the same time of day on some of the last few days (a routine daily
peak, give or take a little) has its ratios multiplied by a damping factor once per such day:
it is part of the rhythm, so it needs more evidence to alarm.

Each |z| is then calibrated against the series' own past: it is divided by the 99.5th
percentile of that feature's earlier |z| values (floored at 1: a |z| below 1 never alarms), over
all the history the detector keeps (up to `calibration_rows`, about four weeks at 5-minute
sampling), because series differ wildly in how heavy their tails are and a single absolute z
threshold cannot serve them all. A long memory rather than the last week: the tail of one quiet
week is too short a yardstick for the next busy one. The raw deviation is calibrated the same
way, and the smaller of the two ratios counts: after a quiet spell the recent spread is small
and an ordinary spike of a spiky series would look extreme in z alone.

A shape score sits beside them: the distance from the last few values to the most similar
earlier stretch of the same length (a nearest neighbour over the last ~5 days at 5-minute
sampling), calibrated the same way; a burst the series has shown before, at whatever time,
finds its match, a shape never seen does not.

Every ratio has the same weight: no feature is favoured by a factor chosen on a benchmark. The
operating threshold and the suppression length are chosen on the NAB dev split by a rule that
`bench/nab_dev.py` also applies leaving one category out, and the mechanisms and their other
constants are judged there by the leave-one-category-out figure (each re-chosen against its
alternative without the held-out category), never by the dev score alone.

The largest calibrated ratio r becomes the score r / (1 + r) (0..1, 0.5 = as extreme as the
series' own 0.5 % tail). After a score at or above the operating threshold, scores are zeroed
for a while: one early alarm per event is what an operator (and NAB) wants, a stream of repeats
is noise.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from pandas.core.window.rolling import Rolling

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

IQR_TO_SIGMA = 1.349
SECONDS_PER_DAY = 86_400.0
# Smallest tail of deviations the calibration divides by: only keeps the division finite on a
# perfectly flat history, where the |z| ratio (floored at 1) decides anyway.
DEVIATION_FLOOR = 1e-9


@dataclass(frozen=True)
class UnivariateConfig:
    """Parameters of the univariate detector.

    `threshold` and `suppress_rows` are the operating point chosen on the NAB dev split by the
    rule `bench/nab_dev.py` checks category by category (leave one category out); the rest are
    round values of the method, see docs/detectors.md for which alternatives were measured.
    `min_calibration_rows` is the warm-up: no score before that many rows of calibration.
    """

    scales: tuple[int, ...] = (1, 3, 10, 30)
    reference_rows: int = 500
    min_reference_rows: int = 30
    calibration_rows: int = 8000
    min_calibration_rows: int = 100
    calibration_quantile: float = 0.995
    calibration_floor: float = 1.0
    threshold: float = 0.57
    suppress_rows: int = 25
    seasonal_days: int = 3
    seasonal_halfwidth: int = 12
    recurring_damping: float = 0.3
    recurring_tolerance: float = 0.2
    novelty_rows: int = 8
    novelty_memory: int = 1500

    @property
    def history_rows(self) -> int:
        """Rows a streaming scorer must keep so its last score equals the batch score."""
        level = self.reference_rows + 3 * max(self.scales)
        novelty = self.novelty_memory + self.novelty_rows if self.novelty_rows else 0
        return self.calibration_rows + max(level, novelty) + 2

    def seasonal_rows(self, period: int) -> int:
        """Extra rows the seasonal baseline looks back (0 without a daily period)."""
        return self.seasonal_days * period + self.seasonal_halfwidth if period > 1 else 0


def daily_period_rows(timestamps: pd.Series | pd.DatetimeIndex, probe_rows: int = 50) -> int:
    """Rows per day from the median spacing of the first `probe_rows` timestamps (0 if unknown).

    Only the start of the series is used so the period (and hence every score) is fixed once
    those rows have arrived, whatever follows.
    """
    times = pd.to_datetime(pd.Series(timestamps[:probe_rows]), utc=True)
    if len(times) < 3:
        return 0
    seconds = times.diff().dt.total_seconds().dropna()
    step = float(seconds.median()) if len(seconds) else 0.0
    if not np.isfinite(step) or step <= 0 or step > SECONDS_PER_DAY / 4:
        return 0
    return round(SECONDS_PER_DAY / step)


def _reference(
    smooth: pd.Series, lag: int, config: UnivariateConfig
) -> tuple[FloatArray, FloatArray]:
    """Median and robust spread of the reference window that ends `lag` rows earlier.

    The spread is the inter-quartile range in sigma units, kept off zero by a tenth of the
    standard deviation and a hundredth of the level (a mostly constant series still has one).
    """
    reference = smooth.shift(lag)
    roll = reference.rolling(config.reference_rows, min_periods=config.min_reference_rows)
    median = roll.median().to_numpy()
    spread = (roll.quantile(0.75) - roll.quantile(0.25)).to_numpy() / IQR_TO_SIGMA
    std = roll.std().to_numpy()
    scale = np.sqrt(spread**2 + (0.1 * std) ** 2 + (0.01 * np.abs(median)) ** 2 + 1e-12)
    return median, scale


def _deviation_and_z(
    smooth: pd.Series, lag: int, config: UnivariateConfig
) -> tuple[FloatArray, FloatArray]:
    """|deviation| of each smoothed value from the median of the reference window that ends
    `lag` rows earlier, and the same deviation as a robust |z| (in units of that window's spread).
    """
    median, scale = _reference(smooth, lag, config)
    deviation = np.abs(smooth.to_numpy() - median)
    z = deviation / scale
    return np.where(np.isfinite(deviation), deviation, 0.0), np.where(np.isfinite(z), z, 0.0)


def _calibrate(
    values: FloatArray, config: UnivariateConfig, floor: float | FloatArray
) -> FloatArray:
    """Ratio of each value to the high quantile of the same feature's earlier values."""
    past = (
        pd.Series(values)
        .shift(1)
        .rolling(config.calibration_rows, min_periods=config.min_calibration_rows)
    )
    base = np.nan_to_num(past.quantile(config.calibration_quantile).to_numpy(), nan=np.inf)
    ratio = values / np.maximum(base, floor)
    return np.where(np.isfinite(ratio), ratio, 0.0)


def _calibrated_ratio(smooth: pd.Series, lag: int, config: UnivariateConfig) -> FloatArray:
    """How far beyond the series' own tail a smoothed value lies, in two currencies at once.

    The |z| ratio measures the deviation in units of the recent spread, which collapses in a
    quiet spell: an ordinary spike of a spiky series then looks extreme. The deviation ratio
    measures it against the sizes of deviation the series has shown over the whole calibration
    window, whatever the recent spread. The smaller of the two counts: a change has to be
    unusual in both to alarm.
    """
    deviation, z = _deviation_and_z(smooth, lag, config)
    z_ratio = _calibrate(z, config, config.calibration_floor)
    deviation_ratio = _calibrate(deviation, config, DEVIATION_FLOOR)
    ratio: FloatArray = np.minimum(z_ratio, deviation_ratio)
    return ratio


def _same_time_windows(
    smooth: pd.Series, period: int, config: UnivariateConfig
) -> list[Rolling[pd.Series]]:
    """Rolling windows over rows t - d*period - h .. t - d*period + h for d = 1..days.

    h (the half-width) is smaller than a day, so every window lies before row t.
    """
    h = min(config.seasonal_halfwidth, max(period - 1, 0))
    return [
        smooth.shift(d * period - h).rolling(2 * h + 1, min_periods=1)
        for d in range(1, config.seasonal_days + 1)
    ]


def seasonal_baseline(smooth: pd.Series, period: int, config: UnivariateConfig) -> pd.Series:
    """Median over the last `seasonal_days` days of the same-time-of-day neighbourhood median.

    Days not yet seen are skipped; NaN before the first day.
    """
    per_day = [window.median() for window in _same_time_windows(smooth, period, config)]
    return pd.concat(per_day, axis=1).median(axis=1, skipna=True)


def recurring(smooth: pd.Series, period: int, config: UnivariateConfig) -> IntArray:
    """On how many of the last `seasonal_days` days the series reached this value near this time.

    A day counts when the value lies within the lowest and highest value of that day's
    same-time neighbourhood, widened on both sides by `recurring_tolerance` times its span: a
    daily spike or a nightly dip that happened before is part of the rhythm, not news, even
    when today's peak is a little higher than yesterday's. 0 before the first day has been seen.
    """
    value = smooth.to_numpy()
    days: IntArray = np.zeros(len(value), dtype=np.int64)
    for window in _same_time_windows(smooth, period, config):
        high = window.max().to_numpy()
        low = window.min().to_numpy()
        margin = config.recurring_tolerance * (high - low)
        days += (value >= low - margin) & (value <= high + margin)
    return days


def feature_ratios(
    values: FloatArray, period: int, config: UnivariateConfig
) -> dict[str, FloatArray]:
    """Calibrated ratio of every feature: level and change to the seasonal baseline, every scale."""
    series = pd.Series(values, dtype=float).ffill().fillna(0.0)
    ratios: dict[str, FloatArray] = {}
    for k in config.scales:
        smooth = series.rolling(k, min_periods=1).mean()
        level = _calibrated_ratio(smooth, k, config)
        if period <= 1:
            ratios[f"level_{k}"] = level
            continue
        change = smooth - seasonal_baseline(smooth, period, config)
        seasonal = _calibrated_ratio(change, k, config)
        # A value the series reached at this time of day recently needs stronger evidence,
        # the more so the more days it did.
        weight = config.recurring_damping ** recurring(smooth, period, config)
        ratios[f"level_{k}"] = level * weight
        ratios[f"seasonal_change_{k}"] = seasonal * weight
    if config.novelty_rows:
        filled: FloatArray = np.asarray(series, dtype=np.float64)
        distance = novelty_distance(filled, config.novelty_rows, config.novelty_memory)
        # As a |z| below the calibration floor never alarms, a distance within that many spreads
        # per row never does: a nearly perfectly repeating series has near-zero distances and a
        # tail to match.
        _, spread = _reference(series, config.novelty_rows, config)
        floor = config.calibration_floor * np.sqrt(config.novelty_rows) * spread
        floor = np.maximum(np.nan_to_num(floor, nan=np.inf), DEVIATION_FLOOR)
        ratios["novelty"] = _calibrate(distance, config, floor)
    return ratios


def novelty_distance(values: FloatArray, rows: int, memory: int, block: int = 128) -> FloatArray:
    """Distance from the last `rows` values to the most similar earlier stretch of `rows` values.

    Earlier stretches are those that end at most `memory` rows back and do not overlap the
    current one. A shape the series has shown before (a routine burst, a daily spike, however
    irregular its timing) finds a close match and scores low; a shape never seen scores high,
    whatever its size. 0 while there is nothing earlier to compare with. Each distance is the
    same sum of the same squares whatever the block size, so batch and streaming agree exactly.
    """
    count = len(values)
    distance = np.zeros(count)
    first = 2 * rows - 1  # the first stretch end with an earlier, non-overlapping stretch
    for start in range(first, count, block):
        ends = np.arange(start, min(start + block, count))
        low = max(rows - 1, int(ends[0]) - memory)
        candidates = np.arange(low, int(ends[-1]) - rows + 1)
        squares = np.zeros((len(ends), len(candidates)))
        for lag in range(rows):
            step = values[ends - lag][:, None] - values[candidates - lag][None, :]
            squares += step * step
        valid = (candidates[None, :] <= ends[:, None] - rows) & (
            candidates[None, :] >= ends[:, None] - memory
        )
        distance[ends] = np.sqrt(np.where(valid, squares, np.inf).min(axis=1))
    return distance


def suppress(scores: FloatArray, threshold: float, rows: int, quiet_until: int = -1) -> FloatArray:
    """Zero the scores for `rows` rows after each score at or above `threshold`."""
    out = scores.copy()
    for index in np.flatnonzero(scores >= threshold):
        if index <= quiet_until:
            out[index] = 0.0
            continue
        out[index + 1 : index + 1 + rows] = 0.0
        quiet_until = int(index) + rows
    return out


def unsuppressed_scores(values: FloatArray, period: int, config: UnivariateConfig) -> FloatArray:
    """Score 0..1 of every row before alarm suppression."""
    if len(values) == 0:
        return np.zeros(0)
    ratios = feature_ratios(np.asarray(values, dtype=float), period, config)
    best: FloatArray = np.max(np.vstack(list(ratios.values())), axis=0)
    result: FloatArray = best / (1.0 + best)
    return result


def score_series(
    values: FloatArray, period: int = 0, config: UnivariateConfig | None = None
) -> FloatArray:
    """Anomaly score 0..1 of every row, each computed from that row and the rows before it."""
    config = config or UnivariateConfig()
    raw = unsuppressed_scores(np.asarray(values, dtype=float), period, config)
    return suppress(raw, config.threshold, config.suppress_rows)


class StreamingScorer:
    """Point-by-point scorer that gives exactly the scores `score_series` gives in one go.

    It keeps the last `config.history_rows` values (every window the score looks at fits in
    them) and the alarm-suppression state.
    """

    def __init__(self, period: int = 0, config: UnivariateConfig | None = None) -> None:
        self.config = config or UnivariateConfig()
        self.period = period
        self._values: deque[float] = deque(
            maxlen=self.config.history_rows + self.config.seasonal_rows(period)
        )
        self._seen = 0
        self._quiet_until = -1

    def update(self, value: float) -> float:
        """Score one new value."""
        self._values.append(float(value))
        index = self._seen
        self._seen += 1
        raw = unsuppressed_scores(np.fromiter(self._values, dtype=float), self.period, self.config)
        score = float(raw[-1])
        if index <= self._quiet_until:
            return 0.0
        if score >= self.config.threshold:
            self._quiet_until = index + self.config.suppress_rows
        return score
