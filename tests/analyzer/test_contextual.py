"""Contextual novelty detector: causal, streaming-equal, deterministic, quiet on repeats."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from ml_analyzer.detectors.contextual import ContextualConfig, novelty_scores, quantise


def _daily(rows: int) -> npt.NDArray[np.float64]:
    """A clean repeating series: a daily-like sine sampled 100 times per cycle."""
    values: npt.NDArray[np.float64] = np.sin(2 * np.pi * np.arange(rows) / 100.0)
    return values


def test_causal_appending_rows_never_changes_earlier_scores() -> None:
    rng = np.random.default_rng(3)
    values = np.cumsum(rng.normal(size=1500))
    full = novelty_scores(values)
    for cut in (1, 2, 10, 400, 1499):
        np.testing.assert_array_equal(novelty_scores(values[:cut]), full[:cut])


def test_streaming_equals_batch_and_is_deterministic() -> None:
    rng = np.random.default_rng(5)
    values = rng.normal(size=800)
    batch = novelty_scores(values)
    streamed = np.array([novelty_scores(values[: t + 1])[-1] for t in range(len(values))])
    np.testing.assert_array_equal(streamed, batch)
    np.testing.assert_array_equal(novelty_scores(values), batch)


def test_repeating_series_is_learned_and_goes_quiet() -> None:
    scores = novelty_scores(_daily(3000))
    assert scores[:100].max() > 0.0  # the first cycle is all new
    assert scores[300:].max() == 0.0


def test_spike_and_level_shift_score_at_the_change() -> None:
    spiked = _daily(3000)
    spiked[2000] = 4.0
    scores = novelty_scores(spiked)
    assert scores[2000] == 1.0
    assert scores[300:2000].max() == 0.0

    shifted = _daily(3000)
    shifted[2000:] += 3.0
    scores = novelty_scores(shifted)
    assert scores[2000] > 0.0
    assert scores[300:2000].max() == 0.0


def test_scores_are_in_unit_range_and_missing_values_are_tolerated() -> None:
    values = _daily(500)
    values[[10, 11, 250]] = np.nan
    scores = novelty_scores(values, ContextualConfig(bins=5, orders=3))
    assert np.all((scores >= 0.0) & (scores <= 1.0))
    assert novelty_scores(np.zeros(0)).shape == (0,)


def test_quantise_uses_the_running_range_only() -> None:
    bins = quantise(np.array([0.0, 1.0, 0.5, 10.0, 0.5]), 4)
    # Row 0 has no range yet (middle bin); row 2 (0.5) against [0, 1] is bin 2;
    # row 4 (the same 0.5) against [0, 10] is bin 0.
    assert bins.tolist() == [2, 3, 2, 3, 0]
    assert quantise(np.full(5, 7.0), 8).tolist() == [4] * 5
