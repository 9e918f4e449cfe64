"""The univariate detector behind score-csv: causal, streaming = batch, no fixed-share flagging."""

from __future__ import annotations

import numpy as np
import pytest
from ml_analyzer.detectors.univariate import (
    StreamingScorer,
    UnivariateConfig,
    daily_period_rows,
    score_series,
)


def _noise(rows: int, seed: int = 7) -> np.ndarray:
    return 50.0 + np.random.default_rng(seed).normal(0.0, 1.0, rows)


def test_appending_future_points_never_changes_past_scores() -> None:
    values = _noise(1500)
    values[1200:] += 8.0
    full = score_series(values)
    for cut in (300, 900, 1199, 1250):
        np.testing.assert_array_equal(score_series(values[:cut]), full[:cut])


def test_streaming_scores_equal_batch_scores() -> None:
    config = UnivariateConfig(reference_rows=60, calibration_rows=120, min_calibration_rows=40)
    values = _noise(420)
    values[300] += 15.0
    values[360:] -= 6.0
    scorer = StreamingScorer(period=24, config=config)
    streamed = np.array([scorer.update(v) for v in values])
    np.testing.assert_allclose(streamed, score_series(values, 24, config), atol=1e-12)


def test_same_input_same_scores() -> None:
    values = _noise(2000, seed=3)
    np.testing.assert_array_equal(score_series(values), score_series(values.copy()))


def test_clean_series_is_not_flagged_by_construction() -> None:
    values = _noise(6000, seed=11)
    scores = score_series(values)
    alarms = int((scores >= UnivariateConfig().threshold).sum())
    assert alarms <= 3


@pytest.mark.parametrize("kind", ["level_shift", "spike"])
def test_injected_change_raises_an_alarm_near_it(kind: str) -> None:
    values = _noise(3000, seed=5)
    at = 2400
    if kind == "level_shift":
        values[at:] += 6.0
    else:
        values[at] += 12.0
    scores = score_series(values)
    alarms = np.flatnonzero(scores >= UnivariateConfig().threshold)
    near = alarms[(alarms >= at) & (alarms <= at + 15)]
    assert near.size >= 1
    assert alarms[alarms < at - 50].size <= 2


def test_repeated_alarms_are_suppressed_after_an_alarm() -> None:
    config = UnivariateConfig()
    values = _noise(3000, seed=9)
    values[2000:2040] += 20.0
    scores = score_series(values, config=config)
    first = int(np.flatnonzero(scores >= config.threshold)[0])
    quiet = scores[first + 1 : first + 1 + config.suppress_rows]
    assert np.all(quiet == 0.0)


def test_missing_values_do_not_break_scoring() -> None:
    values = _noise(800)
    values[100:130] = np.nan
    scores = score_series(values)
    assert scores.shape == values.shape
    assert np.all(np.isfinite(scores))


def test_daily_period_from_timestamps() -> None:
    import pandas as pd

    stamps = pd.date_range("2026-01-01", periods=100, freq="5min")
    assert daily_period_rows(pd.Series(stamps)) == 288
    assert daily_period_rows(pd.Series(stamps[:2])) == 0


def test_an_ordinary_spike_after_a_quiet_spell_is_not_news_but_a_bigger_one_is() -> None:
    # A mostly idle series with bursts of about the same size every 40 rows, then a quiet
    # spell: the recent spread collapses, so the next ordinary burst is extreme in z alone.
    rng = np.random.default_rng(21)
    values = rng.normal(0.0, 0.05, 3000).clip(0.0)
    bursts = np.arange(100, 2000, 40)
    values[bursts] = rng.uniform(90.0, 100.0, bursts.size)
    ordinary, bigger = 2700, 2850
    values[ordinary] = 98.0
    values[bigger] = 300.0
    config = UnivariateConfig()
    scores = score_series(values, config=config)
    assert scores[ordinary] < config.threshold
    assert scores[bigger] >= config.threshold
    z_only = UnivariateConfig(deviation_weight=1e9)
    assert score_series(values, config=z_only)[ordinary] >= z_only.threshold
