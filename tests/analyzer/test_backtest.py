"""backtest: replays a simulator scenario through the farm detectors and prints the figures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from bench.backtest import _own_episodes, main, run_scenario, summarise
from simulator.scenario import load

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


def test_only_alarm_episodes_the_fault_alone_caused_are_its_own() -> None:
    with_fault = np.array([0, 1, 1, 0, 0, 1, 1, 1, 0], dtype=bool)
    without = np.array([0, 0, 1, 1, 0, 0, 0, 0, 0], dtype=bool)

    own = _own_episodes(with_fault, without)

    assert own.tolist() == [False, False, False, False, False, True, True, True, False]


def test_lead_is_measured_against_the_fixed_alarm_the_fault_caused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = {
        "name": "heater",
        "farms": 1,
        "houses": 4,
        "seed": 7,
        "start": "2026-01-05T00:00:00+00:00",
        "events": [
            {"kind": "heater_failure", "farm": 1, "house": 3, "at": "84h"},
            {"kind": "cloud_outage", "at": "100h", "duration": "1h"},
        ],
    }
    path = tmp_path / "heater.yaml"
    path.write_text(yaml.safe_dump(scenario), encoding="utf-8")

    assert main(["--scenario", str(path), "--days", "5"]) == 0

    out = capsys.readouterr().out
    assert "fault heater_failure house 3: detected after" in out
    assert "the fixed alarm it caused after" in out
    assert "heater_failure.fixed_alarm_caused_by_fault: 100 %" in out
    assert "heater_failure.lead_over_fixed_alarm_median:" in out


def test_a_fixed_alarm_of_the_weather_is_not_the_faults_deadline() -> None:
    """Stored run 15: a probe sticks in summer; the hot afternoon sets the fixed alarm off 14.6 h
    later with or without the stuck probe, so no lead is measured against it."""
    scenario = load(Path(__file__).parents[2] / "bench/scenarios/15_probe_stuck_summer_h4.yaml")
    assert scenario.start is not None

    outcome = run_scenario(scenario, scenario.start, 12, "medium")

    (fault,) = outcome.faults
    assert fault.detected
    assert fault.fixed_alarm_fired
    assert not fault.fault_alarm_fired
    assert fault.lead_over_fixed_hours is None
    assert fault.lead_over_any_fixed_hours is not None
    lines = summarise([outcome])
    assert "probe_stuck.fixed_alarm_fired: 100 %" in lines
    assert "probe_stuck.fixed_alarm_caused_by_fault: 0 %" in lines
