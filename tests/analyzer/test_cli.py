"""The CLI hands `score-csv` to the detector engineer's entry point unchanged; `backtest` moved
to bench/backtest.py (it needs the simulator, which the add-on does not ship)."""

from __future__ import annotations

from pathlib import Path

import pytest
from ml_analyzer import scorecsv
from ml_analyzer.cli import main


def test_score_csv_gets_both_directories(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    calls: list[tuple[Path, Path]] = []
    monkeypatch.setattr(scorecsv, "run", lambda in_dir, out_dir: calls.append((in_dir, out_dir)))
    assert main(["score-csv", str(tmp_path / "in"), str(tmp_path / "out")]) == 0
    assert calls == [(tmp_path / "in", tmp_path / "out")]


def test_backtest_is_no_longer_an_add_on_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["backtest", "--scenario", "s.yaml"])
    assert caught.value.code == 2
    assert "backtest" in capsys.readouterr().err


def test_a_command_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main([])
    assert caught.value.code == 2
    assert "run" in capsys.readouterr().err
