"""score-csv: one output CSV per input CSV (sub-folders too), one row per input row."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
from ml_analyzer.detectors.univariate import UnivariateConfig
from ml_analyzer.scorecsv import run


def _write(path: Path, values: npt.NDArray[np.float64]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    stamps = pd.date_range("2026-01-01", periods=len(values), freq="5min")
    pd.DataFrame({"timestamp": stamps.strftime("%Y-%m-%d %H:%M:%S"), "value": values}).to_csv(
        path, index=False
    )


def test_scores_every_file_at_the_same_relative_path(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    clean = 10.0 + rng.normal(0.0, 1.0, 2000)
    shifted = clean.copy()
    shifted[1500:] += 9.0
    _write(tmp_path / "in" / "a" / "clean.csv", clean)
    _write(tmp_path / "in" / "b" / "c" / "shift.csv", shifted)

    run(tmp_path / "in", tmp_path / "out")

    for name, values in (("a/clean.csv", clean), ("b/c/shift.csv", shifted)):
        out = pd.read_csv(tmp_path / "out" / name)
        source = pd.read_csv(tmp_path / "in" / name)
        assert list(out.columns) == ["timestamp", "anomaly_score"]
        assert len(out) == len(values)
        assert out["timestamp"].tolist() == source["timestamp"].tolist()
        assert out["anomaly_score"].between(0.0, 1.0).all()
    clean_scores = pd.read_csv(tmp_path / "out" / "a" / "clean.csv")["anomaly_score"]
    shift_scores = pd.read_csv(tmp_path / "out" / "b" / "c" / "shift.csv")["anomaly_score"]
    threshold = UnivariateConfig().threshold
    assert (clean_scores >= threshold).sum() <= 2
    assert shift_scores[1500:1520].max() >= threshold


def test_each_file_is_its_own_stream(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    values = 5.0 + rng.normal(0.0, 1.0, 900)
    _write(tmp_path / "in" / "one.csv", values)
    _write(tmp_path / "in" / "two.csv", values * 1000.0)
    run(tmp_path / "in", tmp_path / "out")
    one = pd.read_csv(tmp_path / "out" / "one.csv")["anomaly_score"]
    two = pd.read_csv(tmp_path / "out" / "two.csv")["anomaly_score"]
    np.testing.assert_allclose(one, two, atol=1e-5)
