"""score-csv: one output CSV per input CSV (sub-folders too), one row per input row; bad input
is one line naming the file and the problem, exit 2."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest
from ml_analyzer.cli import main
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


def _score_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str], in_dir: Path) -> tuple[int, str]:
    """Run the real CLI on `in_dir`; its exit code and its stderr."""
    code = main(["score-csv", str(in_dir), str(tmp_path / "out")])
    captured = capsys.readouterr()
    assert captured.out == ""
    return code, captured.err


def _one_line_naming(err: str, name: str, problem: str) -> None:
    assert err.count("\n") == 1, err
    assert name in err
    assert problem in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("", "empty"),
        ("timestamp,reading\n2026-01-01 00:00:00,1.0\n", "missing column value"),
        ("value\n1.0\n2.0\n", "missing column timestamp"),
        ("timestamp,value\n", "no data rows"),
        (
            "timestamp,value\n2026-01-01 00:00:00,1.0\nyesterday noon,2.0\n",
            "unparsable timestamp 'yesterday noon' on line 3",
        ),
    ],
)
def test_a_bad_file_is_one_line_naming_it_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, problem: str
) -> None:
    _write(tmp_path / "in" / "good.csv", 10.0 + np.random.default_rng(3).normal(0.0, 1.0, 50))
    bad = tmp_path / "in" / "sub" / "bad.csv"
    bad.parent.mkdir(parents=True)
    bad.write_text(content)

    code, err = _score_csv(tmp_path, capsys, tmp_path / "in")

    assert code == 2
    _one_line_naming(err, str(bad), problem)
    # Checked before anything is written: the good file was not scored either.
    assert not (tmp_path / "out").exists()


def test_a_folder_that_does_not_exist_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = _score_csv(tmp_path, capsys, tmp_path / "nowhere")
    assert code == 2
    _one_line_naming(err, str(tmp_path / "nowhere"), "no such directory")


def test_a_folder_without_csv_files_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "notes.txt").write_text("not a series")
    code, err = _score_csv(tmp_path, capsys, tmp_path / "in")
    assert code == 2
    _one_line_naming(err, str(tmp_path / "in"), "no .csv files")


def test_empty_and_unparsable_values_are_missing_values_not_errors(tmp_path: Path) -> None:
    source = tmp_path / "in" / "gaps.csv"
    source.parent.mkdir(parents=True)
    stamps = pd.date_range("2026-01-01", periods=300, freq="5min").strftime("%Y-%m-%dT%H:%M:%S%z")
    cells = [str(10.0 + (i % 7)) for i in range(300)]
    cells[100], cells[101] = "", "n/a"
    pd.DataFrame({"timestamp": stamps, "value": cells}).to_csv(source, index=False)
    assert main(["score-csv", str(tmp_path / "in"), str(tmp_path / "out")]) == 0
    scores = pd.read_csv(tmp_path / "out" / "gaps.csv")["anomaly_score"]
    assert len(scores) == 300
    assert scores.notna().all()
