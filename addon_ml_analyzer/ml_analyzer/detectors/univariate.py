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
week is too short a yardstick for the next busy one. The bar never drops below the feature's
40th largest value ever seen (as many as the quantile leaves above it in a full memory): a
quantile alone is a fixed share of rows, so a series four times as long would pay four times
the false alarms, whereas values beyond an all-time record get rarer the longer the series
runs. Until the memory is full the two bars are the same. The raw deviation is calibrated the same
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

import heapq
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
    def record_rows(self) -> int:
        """How many of a feature's largest values ever seen the calibration bar never drops
        below: as many as its quantile leaves above it in a full calibration memory (40), so
        the bar is the same quantile until the memory is full, and beyond it the count of
        values above the bar stops growing with the length of the series."""
        return max(1, round((1.0 - self.calibration_quantile) * self.calibration_rows))

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


def running_record(values: FloatArray, rows: int) -> FloatArray:
    """The `rows`-th largest of the values before each row (0 while fewer have been seen)."""
    out = np.zeros(len(values))
    if rows <= 0:
        return out
    heap: list[float] = []
    for index, value in enumerate(values):
        if len(heap) >= rows:
            out[index] = heap[0]
            if value > heap[0]:
                heapq.heapreplace(heap, float(value))
        else:
            heapq.heappush(heap, float(value))
    return out


class TailRecords:
    """The `rows` largest values of every feature over all rows seen, for a streaming scorer.

    The batch scorer reads them off the whole series (`running_record`); a streaming scorer
    keeps only a bounded history, so it carries them forward here, one exact value per row.
    """

    def __init__(self, rows: int) -> None:
        self.rows = rows
        self._heaps: dict[str, list[float]] = {}

    def record(self, name: str, values: FloatArray) -> FloatArray:
        """Records of the bounded history, the last one replaced by the all-time one; the last
        value is then added to the feature's records."""
        floors = running_record(values, self.rows)
        if not len(values) or self.rows <= 0:
            return floors
        heap = self._heaps.setdefault(name, [])
        floors[-1] = heap[0] if len(heap) >= self.rows else 0.0
        value = float(values[-1])
        if len(heap) < self.rows:
            heapq.heappush(heap, value)
        elif value > heap[0]:
            heapq.heapreplace(heap, value)
        return floors


def _calibrate(
    values: FloatArray,
    config: UnivariateConfig,
    floor: float | FloatArray,
    name: str = "",
    records: TailRecords | None = None,
) -> FloatArray:
    """Ratio of each value to the high quantile of the same feature's earlier values, but never
    to less than its `record_rows`-th largest value ever seen.

    The quantile alone is a fixed share of rows: a series twice as long would get twice the
    false alarms. The record grows with the history instead: past the first few thousand rows
    a new alarm needs a value among the largest the series has ever shown, and such records
    get rarer the longer the series runs (about `record_rows` x ln(n) of them in n rows of
    noise), so a long series pays about the same false alarms as a short one.
    """
    past = (
        pd.Series(values)
        .shift(1)
        .rolling(config.calibration_rows, min_periods=config.min_calibration_rows)
    )
    base = np.nan_to_num(past.quantile(config.calibration_quantile).to_numpy(), nan=np.inf)
    record = (
        records.record(name, values)
        if records is not None
        else running_record(values, config.record_rows)
    )
    ratio = values / np.maximum(np.maximum(base, record), floor)
    return np.where(np.isfinite(ratio), ratio, 0.0)


def _calibrated_ratio(
    smooth: pd.Series,
    lag: int,
    config: UnivariateConfig,
    name: str = "",
    records: TailRecords | None = None,
) -> FloatArray:
    """How far beyond the series' own tail a smoothed value lies, in two currencies at once.

    The |z| ratio measures the deviation in units of the recent spread, which collapses in a
    quiet spell: an ordinary spike of a spiky series then looks extreme. The deviation ratio
    measures it against the sizes of deviation the series has shown over the whole calibration
    window, whatever the recent spread. The smaller of the two counts: a change has to be
    unusual in both to alarm.
    """
    deviation, z = _deviation_and_z(smooth, lag, config)
    z_ratio = _calibrate(z, config, config.calibration_floor, f"{name}.z", records)
    deviation_ratio = _calibrate(deviation, config, DEVIATION_FLOOR, f"{name}.dev", records)
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
    values: FloatArray,
    period: int,
    config: UnivariateConfig,
    records: TailRecords | None = None,
) -> dict[str, FloatArray]:
    """Calibrated ratio of every feature: level and change to the seasonal baseline, every scale.

    `records` carries the all-time tail records of a streaming scorer (None: read off `values`).
    """
    series = pd.Series(values, dtype=float).ffill().fillna(0.0)
    ratios: dict[str, FloatArray] = {}
    for k in config.scales:
        smooth = series.rolling(k, min_periods=1).mean()
        level = _calibrated_ratio(smooth, k, config, f"level_{k}", records)
        if period <= 1:
            ratios[f"level_{k}"] = level
            continue
        change = smooth - seasonal_baseline(smooth, period, config)
        seasonal = _calibrated_ratio(change, k, config, f"seasonal_change_{k}", records)
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
        ratios["novelty"] = _calibrate(distance, config, floor, "novelty", records)
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


def unsuppressed_scores(
    values: FloatArray,
    period: int,
    config: UnivariateConfig,
    records: TailRecords | None = None,
) -> FloatArray:
    """Score 0..1 of every row before alarm suppression."""
    if len(values) == 0:
        return np.zeros(0)
    ratios = feature_ratios(np.asarray(values, dtype=float), period, config, records)
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
        self._records = TailRecords(self.config.record_rows)

    def update(self, value: float) -> float:
        """Score one new value."""
        self._values.append(float(value))
        index = self._seen
        self._seen += 1
        values = np.fromiter(self._values, dtype=float)
        raw = unsuppressed_scores(values, self.period, self.config, self._records)
        score = float(raw[-1])
        if index <= self._quiet_until:
            return 0.0
        if score >= self.config.threshold:
            self._quiet_until = index + self.config.suppress_rows
        return score
