"""Honest coverage (issue 11, §2): a verdict says what it watches, and is silent without data."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
from ml_analyzer.detectors.coverage import SUBSYSTEMS, coverage_at
from ml_analyzer.detectors.decision import decide
from ml_analyzer.detectors.engine import farm_evidence
from ml_analyzer.detectors.evidence import Evidence, HouseEvidence

from bench.backtest import run_scenario
from simulator.scenario import Scenario
from tests.analyzer.farm_reference import analyze

START = datetime(2026, 1, 5, tzinfo=UTC)
MANUAL = ("temperature", "humidity", "bird_count", "growth_day")


def _manual_farm(days: int = 4) -> dict[str, pd.DataFrame]:
    """What a manual farm links: temperature, humidity (plus bird count and growth day)."""
    index = pd.date_range(START, periods=days * 288, freq="5min")
    rng = np.random.default_rng(3)
    hours = np.asarray(index.hour + index.minute / 60.0)
    return {
        str(house): pd.DataFrame(
            {
                "temperature": 24.0
                + 0.5 * np.sin(hours / 24 * 2 * np.pi)
                + rng.normal(0, 0.1, len(index)),
                "humidity": 60.0 + rng.normal(0, 0.5, len(index)),
                "bird_count": 0.0,
                "growth_day": 20.0,
            },
            index=index,
        )
        for house in range(1, 4)
    }


def test_a_manual_farm_with_temperature_and_humidity_gets_no_all_clear() -> None:
    """Nothing they show vouches for a subsystem: the entities stay unknown, not "normal"."""
    assert analyze(_manual_farm(), "medium") == {}


def test_a_verdict_says_what_it_cannot_see() -> None:
    farm = _manual_farm()
    for frame in farm.values():
        frame["set_temperature"] = 24.0
    results = analyze(farm, "medium")
    assert sorted(results) == ["1", "2", "3"]
    for result in results.values():
        assert not result.anomaly
        assert result.watched == ("climate", "heating", "ventilation")
        assert result.not_watched == {
            "water": "no water meter",
            "feed": "no feed meter",
            "probes": "fewer than 3 temperature probes",
            "controller_link": "no connection status",
        }
        assert result.explanation.startswith("Within normal range: climate, heating, ventilation")
        assert "Not watched: water (no water meter), feed (no feed meter)" in result.explanation


def test_a_house_with_every_signal_is_fully_watched() -> None:
    """The simulated farm reports everything: the all-clear stays the plain sentence."""
    from simulator.series import iter_house_frames

    scenario = Scenario.from_dict(
        {"name": "full", "farms": 1, "houses": 3, "seed": 4, "start": START.isoformat()}
    )
    end = START + pd.Timedelta(days=5)
    frames = {str(h): f for _, h, f in iter_house_frames(scenario, START, end)}
    evidence = farm_evidence(frames)
    watched, not_watched = coverage_at(evidence["1"], len(evidence["1"].index) - 1)
    assert set(watched) == set(SUBSYSTEMS), not_watched


def _stream(name: str, values: float) -> Evidence:
    index = pd.date_range(START, periods=3, freq="5min")
    series = pd.Series(values, index=index, dtype=float)
    return Evidence(
        name=name,
        signal="temperature",
        z=series,
        actual=series,
        expected=series,
        subsystem_up="ventilation",
        subsystem_down="heating",
        unit="°C",
    )


def test_no_verdict_while_no_stream_has_a_value() -> None:
    index = pd.date_range(START, periods=3, freq="5min")
    empty = HouseEvidence(index=index, streams=[_stream("climate", np.nan)])
    assert decide(empty, "medium", 2, {}) is None
    some = HouseEvidence(index=index, streams=[_stream("climate", 0.5)])
    result = decide(some, "medium", 2, {})
    assert result is not None
    assert result.watched == ("climate", "heating", "ventilation")
    assert result.not_watched["water"] == "no water meter"


def test_a_heater_failure_on_a_manual_farm_is_not_watched_rather_than_normal() -> None:
    scenario = Scenario.from_dict(
        {
            "name": "manual_heater",
            "farms": 1,
            "houses": 4,
            "seed": 7,
            "start": START.isoformat(),
            "events": [{"kind": "heater_failure", "farm": 1, "house": 2, "at": "84h"}],
        }
    )
    outcome = run_scenario(scenario, START, 5, "medium", MANUAL)
    (fault,) = outcome.faults
    assert not fault.detected
    assert not fault.watched


def test_the_report_carries_the_coverage() -> None:
    from ml_analyzer.publisher import build_report

    index = pd.date_range(START, periods=3, freq="5min")
    result = decide(HouseEvidence(index=index, streams=[_stream("climate", 0.5)]), "medium", 2, {})
    assert result is not None
    report = build_report("device", result)
    assert report["watched"] == ["climate", "heating", "ventilation"]
    assert report["not_watched"]["controller_link"] == "no connection status"
