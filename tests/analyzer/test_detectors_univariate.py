"""The univariate detector behind score-csv: causal, streaming = batch, no fixed-share flagging."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest
from ml_analyzer.detectors.univariate import (
    StreamingScorer,
    TailRecords,
    UnivariateConfig,
    _calibrate,
    _deviation_and_z,
    daily_period_rows,
    feature_ratios,
    novelty_distance,
    score_series,
)


def _noise(rows: int, seed: int = 7) -> npt.NDArray[np.float64]:
    values: npt.NDArray[np.float64] = 50.0 + np.random.default_rng(seed).normal(0.0, 1.0, rows)
    return values


def test_appending_future_points_never_changes_past_scores() -> None:
    values = _noise(1500)
    values[1200:] += 8.0
    full = score_series(values)
    for cut in (300, 900, 1199, 1250):
        np.testing.assert_array_equal(score_series(values[:cut]), full[:cut])


def test_streaming_scores_equal_batch_scores() -> None:
    config = UnivariateConfig(
        reference_rows=60, calibration_rows=120, min_calibration_rows=40, novelty_memory=40
    )
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
    # The z ratio alone would call the ordinary burst news: the deviation ratio is what stops it.
    series = pd.Series(values)
    _, z = _deviation_and_z(series, 1, config)
    z_ratio = _calibrate(z, config, config.calibration_floor)
    assert z_ratio[ordinary] / (1.0 + z_ratio[ordinary]) >= config.threshold


def _brute_force_novelty(values: npt.NDArray[np.float64], rows: int, memory: int) -> list[float]:
    """The nearest earlier non-overlapping stretch, one row at a time, the obvious way."""
    out = []
    for end in range(len(values)):
        current = values[end - rows + 1 : end + 1]
        best = [
            float(np.sqrt(((values[other - rows + 1 : other + 1] - current) ** 2).sum()))
            for other in range(max(rows - 1, end - memory), end - rows + 1)
        ]
        out.append(min(best) if end >= rows - 1 and best else 0.0)
    return out


def test_novelty_distance_is_the_nearest_earlier_stretch_in_any_block_size() -> None:
    values = _noise(300, seed=4)
    expected = _brute_force_novelty(values, rows=5, memory=60)
    for block in (1, 7, 128):
        got = novelty_distance(values, rows=5, memory=60, block=block)
        np.testing.assert_allclose(got, expected, rtol=1e-12)
        # Causal: a prefix gives the same distances, bit for bit.
        np.testing.assert_array_equal(novelty_distance(values[:170], 5, 60, block), got[:170])


def test_a_burst_shape_seen_before_is_not_novel_but_a_new_shape_is() -> None:
    values = _noise(3000, seed=8)
    burst = np.array([0.0, 15.0, 30.0, 15.0, 0.0, 0.0, 20.0, 0.0])
    # The same burst at irregular times (no daily rhythm to learn it from).
    starts = [400, 690, 1010, 1290, 1650, 1900, 2240]
    for start in starts:
        values[start : start + 8] += burst
    values[2600:2608] += burst
    values[2800:2808] += burst[::-1]  # the same values in a new order
    config = UnivariateConfig()
    novelty = feature_ratios(values, 0, config)["novelty"]
    alarm_ratio = config.threshold / (1.0 - config.threshold)
    repeat = novelty[2600:2615].max()
    new = novelty[2800:2815].max()
    assert repeat < alarm_ratio
    assert new > alarm_ratio
    assert new > 2.0 * repeat


def test_a_blip_far_below_the_series_spread_is_not_a_novel_shape() -> None:
    # A nearly perfect repetition: nearest-neighbour distances are almost 0, so a blip of a
    # hundredth of a unit is far beyond their tail, yet tiny against the series' own spread.
    rows = np.arange(3000)
    values = 10.0 + 3.0 * np.sin(2 * np.pi * rows / 37)
    values += np.random.default_rng(2).normal(0.0, 1e-4, rows.size)
    values[2500] += 0.01
    config = UnivariateConfig()
    assert not np.any(score_series(values, config=config) >= config.threshold)
    # Without the floor the same blip is a novel shape far beyond the distances' own tail (a
    # calibration memory short enough to have forgotten the large distances of the first
    # period, before the series had repeated once, and no all-time records, which remember them).
    alarm_ratio = config.threshold / (1.0 - config.threshold)
    unfloored = UnivariateConfig(calibration_floor=0.0, calibration_rows=2000)
    forgetful = TailRecords(0)
    assert feature_ratios(values, 0, unfloored, forgetful)["novelty"][2500:2508].max() > alarm_ratio
    assert feature_ratios(values, 0, config)["novelty"][2500:2508].max() < alarm_ratio


def _bursty_counts(rows: int, seed: int) -> npt.NDArray[np.float64]:
    """Event counts with a rhythm and rare heavy-tailed bursts (like tweet volumes)."""
    rng = np.random.default_rng(seed)
    rate = 8.0 * (1.3 + np.sin(2 * np.pi * np.arange(rows) / 96))
    rate = rate * np.where(rng.random(rows) < 0.003, rng.lognormal(1.0, 0.7, rows), 1.0)
    counts: npt.NDArray[np.float64] = rng.poisson(rate).astype(float)
    return counts


@pytest.mark.parametrize(("shape", "period"), [("noise", 0), ("counts", 96)])
def test_false_alarms_do_not_grow_with_the_length_of_a_clean_series(
    shape: str, period: int
) -> None:
    # A calibration to a fixed share of the past (a quantile) alarms at a fixed rate per row:
    # the second half of a clean 16,000-row series would get about twice the alarms of its
    # first 4,000 rows. With the all-time records as a floor the later rows get fewer. A short
    # memory (1000 rows) so the series is 16 memories long and the test stays quick.
    config = UnivariateConfig(calibration_rows=1000, novelty_memory=300)
    values = _noise(16_000, seed=1) if shape == "noise" else _bursty_counts(16_000, seed=0)
    alarms = np.flatnonzero(score_series(values, period, config) >= config.threshold)
    early = int(((alarms >= 100) & (alarms < 4000)).sum())
    late = int((alarms >= 8000).sum())
    assert late <= max(2, early)
