"""The CLI hands `score-csv` and `backtest` to the detector engineer's entry points unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest
from ml_analyzer import backtest, scorecsv
from ml_analyzer.cli import main


def test_score_csv_gets_both_directories(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    calls: list[tuple[Path, Path]] = []
    monkeypatch.setattr(scorecsv, "run", lambda in_dir, out_dir: calls.append((in_dir, out_dir)))
    assert main(["score-csv", str(tmp_path / "in"), str(tmp_path / "out")]) == 0
    assert calls == [(tmp_path / "in", tmp_path / "out")]


def test_backtest_gets_its_own_arguments_and_exit_code(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[str]] = []

    def fake_main(argv: list[str]) -> int:
        seen.append(argv)
        return 3

    monkeypatch.setattr(backtest, "main", fake_main)
    assert main(["backtest", "--scenario", "s.yaml", "--days", "2"]) == 3
    assert seen == [["--scenario", "s.yaml", "--days", "2"]]


def test_a_command_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main([])
    assert caught.value.code == 2
    assert "run" in capsys.readouterr().err
