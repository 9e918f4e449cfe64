"""Seasonal baseline of the single-series detector: past-only, robust to a one-off spike."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd
from ml_analyzer.detectors.univariate import (
    UnivariateConfig,
    recurring,
    score_series,
    seasonal_baseline,
    unsuppressed_scores,
)

PERIOD = 48


def _daily(days: int, seed: int = 11) -> npt.NDArray[np.float64]:
    """A daily rhythm with a little noise, PERIOD rows a day."""
    rows = days * PERIOD
    rhythm = 10.0 + 5.0 * np.sin(2 * np.pi * np.arange(rows) / PERIOD)
    values: npt.NDArray[np.float64] = rhythm + np.random.default_rng(seed).normal(0, 0.3, rows)
    return values


def test_baseline_uses_past_rows_only() -> None:
    config = UnivariateConfig()
    smooth = pd.Series(_daily(20))
    full = seasonal_baseline(smooth, PERIOD, config).to_numpy()
    for cut in (PERIOD, 3 * PERIOD + 5, 700):
        part = seasonal_baseline(smooth[:cut], PERIOD, config).to_numpy()
        np.testing.assert_array_equal(part, full[:cut])
    assert np.isnan(full[: PERIOD - config.seasonal_halfwidth]).all()


def test_baseline_follows_the_rhythm_not_yesterdays_spike() -> None:
    values = _daily(10)
    spike_at = 6 * PERIOD + 10
    values[spike_at] += 40.0
    base = seasonal_baseline(pd.Series(values), PERIOD, UnivariateConfig()).to_numpy()
    # One day later the baseline is the median of the neighbourhood, not the spike.
    assert abs(base[spike_at + PERIOD] - values[spike_at + PERIOD]) < 2.0


def test_spike_alarms_once_and_the_next_day_stays_quiet() -> None:
    config = UnivariateConfig()
    values = _daily(60)
    spike_at = 50 * PERIOD + 10
    values[spike_at] += 40.0
    scores = score_series(values, PERIOD, config)
    alarms = np.flatnonzero(scores >= config.threshold)
    assert spike_at in alarms
    raw = unsuppressed_scores(values, PERIOD, config)
    # The same time the next day is ordinary again: no "drop" against yesterday's spike.
    next_day = slice(spike_at + PERIOD - 3, spike_at + PERIOD + 4)
    assert raw[next_day].max() < config.threshold


def test_level_shift_alarms_near_the_change() -> None:
    config = UnivariateConfig()
    values = _daily(60)
    values[50 * PERIOD :] += 8.0
    scores = score_series(values, PERIOD, config)
    alarms = np.flatnonzero(scores >= config.threshold)
    assert np.any((alarms >= 50 * PERIOD) & (alarms < 50 * PERIOD + 10))


def test_daily_recurring_spike_is_learned_but_a_spike_at_a_new_time_alarms() -> None:
    # 5-minute rows; a bump of about 7 sigma every day at the same time, rarer than the 0.5 %
    # tail the calibration absorbs, so only the recurring-value damping can tell it is routine.
    period = 288
    rows = 20 * period
    values = 10.0 + np.random.default_rng(11).normal(0.0, 0.3, rows)
    daily = np.arange(40, rows, period)
    values[daily] = 12.0
    new_time = 18 * period + 150
    values[new_time] = 12.0
    settled = daily[daily > 8 * period]

    damped = UnivariateConfig()
    alarms = np.flatnonzero(score_series(values, period, damped) >= damped.threshold)
    assert new_time in alarms
    assert np.isin(settled, alarms).sum() <= len(settled) // 4
    flags = recurring(pd.Series(values), period, damped)
    assert flags[settled].all()
    assert not flags[new_time]

    undamped = UnivariateConfig(recurring_damping=1.0)
    alarms = np.flatnonzero(score_series(values, period, undamped) >= undamped.threshold)
    assert np.isin(settled, alarms).all()


def test_scores_with_a_daily_period_are_causal_and_deterministic() -> None:
    values = _daily(20)
    values[15 * PERIOD :] += 6.0
    full = score_series(values, PERIOD)
    np.testing.assert_array_equal(score_series(values, PERIOD), full)
    for cut in (PERIOD - 1, 3 * PERIOD + 7, 15 * PERIOD + 3):
        np.testing.assert_array_equal(score_series(values[:cut], PERIOD), full[:cut])
    flags = recurring(pd.Series(values), PERIOD, UnivariateConfig())
    part = recurring(pd.Series(values[: 10 * PERIOD]), PERIOD, UnivariateConfig())
    np.testing.assert_array_equal(part, flags[: 10 * PERIOD])


def test_recurring_counts_the_days_and_tolerates_a_slightly_higher_peak() -> None:
    config = UnivariateConfig()
    period = 288
    values = 10.0 + np.random.default_rng(5).normal(0.0, 0.3, 8 * period)
    peaks = np.arange(40, len(values), period)
    values[peaks] = 20.0
    last = int(peaks[-1])
    # Today's peak is 5 % higher than every earlier one and two rows late: still the rhythm.
    values[last] = 20.5
    values[last], values[last + 2] = values[last + 2], values[last]
    days = recurring(pd.Series(values), period, config)
    assert days[last + 2] == config.seasonal_days
    assert days[int(peaks[1])] == 1
    assert days[int(peaks[0])] == 0
    # Twice as high is not the routine peak any more.
    values[last + 2] = 40.0
    assert recurring(pd.Series(values), period, config)[last + 2] == 0
