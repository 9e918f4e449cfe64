"""backtest: replays a simulator scenario through the farm detectors and prints the figures."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from ml_analyzer.backtest import main

SCENARIO = {
    "name": "leak",
    "farms": 1,
    "houses": 4,
    "seed": 7,
    "start": "2026-01-05T00:00:00+00:00",
    "events": [{"kind": "water_leak", "farm": 1, "house": 2, "at": "84h"}],
}


def test_backtest_detects_the_scenario_fault(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "leak.yaml"
    path.write_text(yaml.safe_dump(SCENARIO), encoding="utf-8")

    assert main(["--scenario", str(path), "--days", "5"]) == 0

    out = capsys.readouterr().out
    assert "fault water_leak house 2: detected after" in out
    assert "as water" in out
    assert "water_leak.detected: 100 %" in out
    figures = [line for line in out.splitlines() if ": " in line and not line.startswith("fault")]
    assert all(
        line.split(": ", 1)[0].replace(".", "").replace("_", "").isalnum() for line in figures
    )


def test_backtest_rejects_a_missing_scenario(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--scenario", str(tmp_path / "nope.yaml")]) == 2
    assert "cannot read scenario" in capsys.readouterr().err
