"""Incremental scoring: fit + tick-by-tick updates decide exactly what one batch run decides.

The batch path is the one the scenario benchmark scores (`farm_evidence` over all the data,
then `alarm_state` per stream up to the judged row); the incremental path is what the service
runs (`FarmAnalyzer.fit` on a slow cadence, `update` with only the new points every tick).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from ml_analyzer.detectors import FarmAnalyzer, FarmHistory, HouseResult
from ml_analyzer.detectors.alarms import SENSITIVITY, AlarmCarry, alarm_state
from ml_analyzer.detectors.engine import farm_evidence

from simulator.scenario import Scenario
from simulator.series import iter_house_frames
from tests.analyzer.farm_reference import judge, since_of, step_alarm

START = datetime(2026, 1, 5, tzinfo=UTC)
DAYS = 7


def _farm(event: dict[str, object] | None) -> dict[str, pd.DataFrame]:
    scenario = Scenario.from_dict(
        {
            "name": "incremental",
            "farms": 1,
            "houses": 4,
            "seed": 11,
            "start": START.isoformat(),
            "events": [event] if event else [],
        }
    )
    return {
        str(house): frame
        for _, house, frame in iter_house_frames(scenario, START, START + timedelta(days=DAYS))
    }


def _same(live: HouseResult, batch: HouseResult) -> None:
    assert (live.anomaly, live.subsystem, live.signal, live.since) == (
        batch.anomaly,
        batch.subsystem,
        batch.signal,
        batch.since,
    )
    assert live.explanation == batch.explanation
    for name in ("anomaly_score", "failure_risk", "expected", "actual", "time_to_failure_hours"):
        a, b = getattr(live, name), getattr(batch, name)
        assert (a is None) == (b is None), name
        if a is not None:
            assert math.isclose(a, b, abs_tol=0.11), (name, a, b)


@pytest.mark.parametrize(
    "event",
    [
        {"kind": "heater_failure", "farm": 1, "house": 2, "at": "5d", "params": {"wear_days": 1}},
        {"kind": "probe_stuck", "farm": 1, "house": 3, "at": "5d", "params": {"probe": 2}},
    ],
)
def test_ticks_decide_what_the_batch_run_decides(event: dict[str, object]) -> None:
    frames = _farm(event)
    batch = farm_evidence(frames)
    grid = next(iter(batch.values())).index
    fitted_until = START + timedelta(days=4)
    analyzer = FarmAnalyzer("medium")
    analyzer.fit(FarmHistory({h: f[f.index <= fitted_until] for h, f in frames.items()}))

    # 5-minute ticks for half an hour, then ticks 3 h apart (a refit every 4th) to the end.
    stamps = [fitted_until + timedelta(minutes=5 * k) for k in range(1, 7)]
    stamps += list(pd.date_range(stamps[-1] + timedelta(hours=3), grid[-1], freq="3h"))
    before = fitted_until
    alarms = 0
    for number, stamp in enumerate(stamps):
        new = {h: f[(f.index > before) & (f.index <= stamp)] for h, f in frames.items()}
        if number > 6 and number % 4 == 0:
            analyzer.fit(FarmHistory(new))
            results = analyzer.update(FarmHistory({}))
        else:
            results = analyzer.update(FarmHistory(new))
        before = stamp
        at = grid.get_loc(pd.Timestamp(stamp).ceil("5min"))
        assert isinstance(at, int)  # a unique grid gives one position, not a slice or mask
        assert results, stamp
        for house, result in results.items():
            expected = judge(batch[house], "medium", at)
            assert expected is not None
            _same(result, expected)
            alarms += result.anomaly
    assert alarms > 0  # the fault was seen, so the alarm path was compared too


def test_a_long_gap_refits_by_itself() -> None:
    frames = _farm(None)
    cut = START + timedelta(days=3)
    analyzer = FarmAnalyzer("medium")
    analyzer.fit(FarmHistory({h: f[f.index <= cut] for h, f in frames.items()}))
    later = cut + timedelta(days=2)
    results = analyzer.update(
        FarmHistory({h: f[(f.index > cut) & (f.index <= later)] for h, f in frames.items()})
    )
    batch = farm_evidence({h: f[f.index <= later] for h, f in frames.items()})
    for house, result in results.items():
        expected = judge(batch[house], "medium", len(batch[house].index) - 1)
        assert expected is not None
        _same(result, expected)


@pytest.mark.parametrize("slow", [False, True])
def test_step_alarm_continues_alarm_state(slow: bool) -> None:
    rng = np.random.default_rng(3)
    z = np.repeat(rng.normal(0.0, 4.0, 300), rng.integers(1, 12, 300))
    z[rng.random(len(z)) < 0.05] = np.nan
    index = pd.date_range("2026-01-01", periods=len(z), freq="5min", tz="UTC")
    level = SENSITIVITY["high"]
    state = alarm_state(pd.Series(z), level, slow)
    assert state.max() == 1.0
    assert state.min() == 0.0
    carry = AlarmCarry()
    cuts = np.sort(rng.choice(np.arange(1, len(z)), 80, replace=False))
    for begin, end in zip(np.r_[0, cuts], np.r_[cuts, len(z)], strict=True):
        carry = step_alarm(z[begin:end], index[begin:end], level, slow, carry)
        assert carry.on == (state[end - 1] >= 1.0)
        assert carry.since == since_of(state, index, end - 1)
