"""A farm with one house: no pack, so each signal is judged against its own same-hour past."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from ml_analyzer.detectors.alarms import SENSITIVITY, alarm_state
from ml_analyzer.detectors.baselines import BASELINE_LAG_HOURS, hourly_baseline
from ml_analyzer.detectors.engine import farm_evidence

from tests.analyzer.test_detectors_farm import (
    START,
    Fault,
    analyze,
    finish,
    heater_failure,
    make_house,
    water_blockage,
    water_leak,
)

DAYS = 7
FAULT_AT = START + pd.Timedelta(days=6)


def one_house(fault: Fault | None = None, seed: int = 0) -> dict[str, pd.DataFrame]:
    frame = make_house(1, seed, days=DAYS)
    if fault is not None:
        fault(frame, np.asarray(frame.index >= FAULT_AT))
    return {"1": finish(frame)}


def test_same_hour_baseline_follows_the_day_rhythm_a_plain_median_calls_noise() -> None:
    index = pd.date_range(START, periods=6 * 288, freq="5min", tz="UTC")
    rhythm = np.where((index.hour >= 6) & (index.hour < 22), 1.2, 0.2)
    plain, _ = hourly_baseline(rhythm, index)
    own, own_mad = hourly_baseline(rhythm, index, seasonal=True)
    last = len(index) - 1
    # Night hours: the same hour of the earlier days says 0.2, all hours together say 1.2.
    assert index[last].hour == 23
    assert own[last] == pytest.approx(0.2)
    assert plain[last] == pytest.approx(1.2)
    assert own_mad[last] == pytest.approx(0.0)
    # Nothing is known before three earlier days of that hour exist (a day's lag included).
    assert np.isnan(own[: 3 * 288]).all()


def test_same_hour_baseline_is_causal() -> None:
    index = pd.date_range(START, periods=6 * 288, freq="5min", tz="UTC")
    values = np.sin(np.arange(len(index)) / 40.0)
    changed = values.copy()
    cut = 5 * 288
    changed[cut:] += 50.0
    before, before_mad = hourly_baseline(values, index, seasonal=True)
    after, after_mad = hourly_baseline(changed, index, seasonal=True)
    unaffected = cut + BASELINE_LAG_HOURS * 12
    np.testing.assert_array_equal(before[:unaffected], after[:unaffected])
    np.testing.assert_array_equal(before_mad[:unaffected], after_mad[:unaffected])


def test_a_quiet_house_alone_raises_no_alarm_over_the_whole_run() -> None:
    level = SENSITIVITY["medium"]
    for evidence in farm_evidence(one_house(seed=3)).values():
        for stream in evidence.streams:
            assert alarm_state(stream.z, level, stream.slow).sum() == 0, stream.name


@pytest.mark.parametrize(
    ("fault", "subsystem"),
    [(heater_failure, "heating"), (water_leak, "water"), (water_blockage, "water")],
)
def test_a_fault_in_a_house_alone_is_detected(fault: Fault, subsystem: str) -> None:
    result = analyze(one_house(fault))["1"]
    assert result.anomaly
    assert result.subsystem == subsystem
    assert result.since is not None
    assert result.since >= FAULT_AT.to_pydatetime()


def test_the_same_house_without_the_fault_stays_quiet() -> None:
    result = analyze(one_house())["1"]
    assert not result.anomaly
