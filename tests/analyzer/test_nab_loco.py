"""The leave-one-category-out machinery of bench/nab_dev.py: the same alarms as the detector's
suppression, NAB's per-file score, and each category judged at a choice made without it."""

from __future__ import annotations

import numpy as np
import pytest
from ml_analyzer.detectors.univariate import suppress

from bench import nab_loco


def test_alarm_rows_are_the_rows_the_detectors_suppression_keeps() -> None:
    raw = np.random.default_rng(4).random(3000)
    for threshold in (0.5, 0.9, 0.99):
        for rows in (1, 25, 100):
            expected = np.flatnonzero(suppress(raw, threshold, rows) >= threshold)
            np.testing.assert_array_equal(nab_loco.alarm_rows(raw, threshold, rows), expected)


def _truth(category: str, windows: list[tuple[int, int]], rows: int = 100) -> nab_loco.Truth:
    window = np.full(rows, -1, dtype=np.int64)
    credit = np.full(rows, -1.0)
    for k, (left, right) in enumerate(windows):
        window[left : right + 1] = k
        credit[left : right + 1] = 1.0
    return nab_loco.Truth(
        path=f"{category}/f.csv",
        category=category,
        values=np.zeros(rows),
        period=0,
        credit=credit,
        window=window,
        probation=10,
        windows=len(windows),
    )


def test_file_raw_counts_hits_misses_and_false_alarms_after_probation() -> None:
    truth = _truth("a", [(40, 49), (70, 79)])
    weights = nab_loco.PROFILES["standard"]
    # One hit, one miss, one false alarm, one alarm inside the probation (ignored).
    alarms = np.array([5, 20, 45], dtype=np.int64)
    assert nab_loco.file_raw(truth, alarms, weights) == pytest.approx(1.0 - 1.0 - 0.11)


def test_each_category_is_scored_at_the_point_the_others_chose() -> None:
    truths = [_truth("a", [(40, 49)]), _truth("b", [(40, 49)]), _truth("c", [(40, 49)])]
    points = [(0.5, 25), (0.6, 25)]
    # Category a alone prefers point 0 (it would score 60 there); b and c prefer point 1.
    raw = np.array([[0.2, -1.0, -1.0], [-0.2, 0.5, 0.5]])
    table = dict.fromkeys(nab_loco.PROFILES, raw)
    false = np.zeros((2, 3), dtype=np.int64)
    result = nab_loco.loco(truths, points, table, false, "standard")
    assert result.held_out_point == {"a": (0.6, 25), "b": (0.6, 25), "c": (0.6, 25)}
    # Held out, a is judged at the others' choice: raw -0.2 of 1 window = 40 points.
    assert result.held_out == pytest.approx({"a": 40.0, "b": 75.0, "c": 75.0})
    assert result.mean == pytest.approx(190.0 / 3)
    assert result.point == (0.6, 25)
