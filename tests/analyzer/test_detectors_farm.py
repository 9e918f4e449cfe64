"""Farm detectors: each failure signature on small generated farms, explanations, robustness."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest
from ml_analyzer.detectors import FarmAnalyzer, FarmHistory, HouseResult
from ml_analyzer.detectors.alarms import SENSITIVITY, alarm_state
from ml_analyzer.detectors.decision import CHECKS, signal_words
from ml_analyzer.detectors.engine import farm_evidence

START = pd.Timestamp("2026-01-05T00:00:00Z")
DAYS = 5
HOUSES = ("1", "2", "3", "4")
FAULT_AT = START + pd.Timedelta(days=4)

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]  # a row mask: True where the fault is active
Fault = Callable[[pd.DataFrame, BoolArray], None]


def _smooth_noise(rng: np.random.Generator, rows: int, scale: float, span: int = 12) -> FloatArray:
    raw = rng.normal(0.0, 1.0, rows + span)
    kernel = np.ones(span) / np.sqrt(span)
    return scale * np.convolve(raw, kernel, "valid")[:rows]


def _daily_total(rate_per_row: FloatArray, index: pd.DatetimeIndex) -> FloatArray:
    day = index.normalize()
    totals = pd.Series(rate_per_row, index=index).groupby(day).cumsum()
    return np.asarray(totals, dtype=np.float64)  # the stubs lose the dtype through groupby


def make_house(house: int, seed: int = 0, days: int = DAYS) -> pd.DataFrame:
    """A quiet house under control on a cold week: heaters work against the night chill."""
    index = pd.date_range(START, periods=days * 288, freq="5min")
    rng = np.random.default_rng(seed * 100 + house)
    hours = index.hour + index.minute / 60.0
    age = 20.0 + np.arange(len(index)) / 288.0
    outside = (
        5.0 + 4.0 * np.sin(2 * np.pi * (hours - 10.0) / 24.0) + _smooth_noise(rng, len(index), 0.3)
    )
    set_point = 30.0 - 0.25 * age
    temperature = set_point + _smooth_noise(rng, len(index), 0.1)
    heaters = np.clip(
        np.round((set_point - outside - 12.0) / 2.0 + rng.uniform(-0.5, 0.5, len(index))), 0, 8
    )
    rhythm = np.where((hours > 5) & (hours < 22), 1.2, 0.5)
    birds = np.full(len(index), 20000.0)
    water = birds * 0.30 / 288.0 * rhythm * (1 + _smooth_noise(rng, len(index), 0.01))
    feed = birds * 0.15 / 288.0 * rhythm * (1 + _smooth_noise(rng, len(index), 0.01))
    frame = pd.DataFrame(
        {
            "temperature": temperature,
            "set_temperature": set_point,
            "outside_temperature": outside,
            "humidity": 60.0 + _smooth_noise(rng, len(index), 0.8),
            "static_pressure": 25.0 + _smooth_noise(rng, len(index), 0.2),
            "target_pressure": 25.0,
            "heaters_running": heaters,
            "bird_count": birds,
            "growth_day": np.floor(age),
            "connection": 1.0,
        },
        index=index,
    )
    for probe in range(1, 5):
        frame[f"probe_temperature_{probe}"] = (
            temperature + 0.3 * (probe - 2.5) + _smooth_noise(rng, len(index), 0.03)
        )
    frame["_water_rate"] = water
    frame["_feed_rate"] = feed
    return frame


def finish(frame: pd.DataFrame) -> pd.DataFrame:
    """Turn the per-row rates into the running daily totals the controller reports."""
    out = frame.copy()
    index = pd.DatetimeIndex(out.index)
    out["water_daily"] = _daily_total(out.pop("_water_rate").to_numpy(), index)
    out["feed_daily"] = _daily_total(out.pop("_feed_rate").to_numpy(), index)
    return out


def make_farm(
    fault: Fault | None = None, faulty: str = "2", seed: int = 0
) -> dict[str, pd.DataFrame]:
    farm = {}
    for house in HOUSES:
        frame = make_house(int(house), seed)
        if fault is not None and house == faulty:
            fault(frame, np.asarray(frame.index >= FAULT_AT))
        farm[house] = finish(frame)
    return farm


def _ramp(active: BoolArray, hours: float) -> FloatArray:
    return np.clip(np.cumsum(active) / (hours * 12.0), 0.0, 1.0)


def heater_failure(frame: pd.DataFrame, active: BoolArray) -> None:
    frame.loc[active, "heaters_running"] = 8.0
    drop = 4.0 * _ramp(active, 3.0)
    for column in [c for c in frame.columns if "temperature" in c and c != "set_temperature"]:
        if column != "outside_temperature":
            frame[column] = frame[column] - drop


def fan_failure(frame: pd.DataFrame, active: BoolArray) -> None:
    loss = _ramp(active, 1.0)
    frame["static_pressure"] = frame["static_pressure"] - 8.0 * loss
    frame["humidity"] = frame["humidity"] + 10.0 * loss


def probe_drift(frame: pd.DataFrame, active: BoolArray) -> None:
    frame["probe_temperature_2"] = frame["probe_temperature_2"] + 1.5 * np.cumsum(active) / 288.0


def probe_stuck(frame: pd.DataFrame, active: BoolArray) -> None:
    first = int(np.argmax(active))
    frame.loc[active, "probe_temperature_2"] = frame["probe_temperature_2"].iloc[first]


def probe_dropout(frame: pd.DataFrame, active: BoolArray) -> None:
    frame.loc[active, "probe_temperature_2"] = np.nan


def water_leak(frame: pd.DataFrame, active: BoolArray) -> None:
    frame["_water_rate"] = frame["_water_rate"] * (1.0 + 0.6 * _ramp(active, 0.5))


def water_blockage(frame: pd.DataFrame, active: BoolArray) -> None:
    frame["_water_rate"] = frame["_water_rate"] * (1.0 - 0.8 * _ramp(active, 2.0))


def feed_stop(frame: pd.DataFrame, active: BoolArray) -> None:
    frame.loc[active, "_feed_rate"] = 0.0


def controller_offline(frame: pd.DataFrame, active: BoolArray) -> None:
    recent = active & np.asarray(frame.index >= frame.index[-1] - pd.Timedelta(hours=1))
    frame.loc[recent, "connection"] = 0.0
    signals = [c for c in frame.columns if c != "connection" and not c.startswith("_")]
    frame.loc[recent, signals] = np.nan


def analyze(farm: dict[str, pd.DataFrame], sensitivity: str = "medium") -> dict[str, HouseResult]:
    analyzer = FarmAnalyzer(sensitivity=sensitivity)  # type: ignore[arg-type]
    return analyzer.update(FarmHistory(houses=farm))


def test_clean_farm_raises_no_alarm() -> None:
    results = analyze(make_farm())
    assert set(results) == set(HOUSES)
    for result in results.values():
        assert not result.anomaly
        assert 0.0 <= result.anomaly_score <= 100.0
        assert result.explanation


def test_clean_farm_has_no_alarm_episode_over_the_whole_run() -> None:
    level = SENSITIVITY["medium"]
    for house, evidence in farm_evidence(make_farm(seed=4)).items():
        for stream in evidence.streams:
            state = alarm_state(stream.z, level, stream.slow)
            assert state.sum() == 0, (house, stream.name)


@pytest.mark.parametrize(
    ("fault", "subsystem", "signal"),
    [
        (heater_failure, "heating", None),
        (fan_failure, "ventilation", None),
        (probe_drift, "sensor", "probe_temperature_2"),
        (probe_stuck, "sensor", "probe_temperature_2"),
        (probe_dropout, "sensor", "probe_temperature_2"),
        (water_leak, "water", "water_daily"),
        (water_blockage, "water", "water_daily"),
        (feed_stop, "feed", "feed_daily"),
        (controller_offline, "controller_link", "connection"),
    ],
)
def test_failure_signature_is_detected_and_explained(
    fault: Fault, subsystem: str, signal: str | None
) -> None:
    results = analyze(make_farm(fault))
    result = results["2"]
    assert result.anomaly
    assert result.subsystem == subsystem
    if signal is not None:
        assert result.signal == signal
    assert result.signal is not None
    assert signal_words(result.signal) in result.explanation
    assert result.check is not None
    assert CHECKS[result.check] in result.explanation
    assert isinstance(result.since, datetime)
    assert result.since >= FAULT_AT.to_pydatetime()
    assert result.failure_risk > 0
    for house in ("1", "3", "4"):
        assert not results[house].anomaly, house


def test_explanations_are_in_a_farmers_terms_and_local_time() -> None:
    """Real values with units, how long, since when on the HA instance's clock, what to check."""
    analyzer = FarmAnalyzer(timezone="Europe/Berlin")
    heater = analyzer.update(FarmHistory(houses=make_farm(heater_failure)))["2"]
    assert heater.explanation == (
        "Temperature 4.0 °C below set point (usually +0.0 °C), for 21 h 30 min, "
        "since 09 Jan 03:25. Check the heaters and the gas supply"
    )
    assert (heater.subsystem, heater.signal, heater.unit, heater.check) == (
        "heating",
        "temperature",
        "°C",
        "heaters",
    )
    assert heater.since is not None
    assert heater.since.isoformat() == "2026-01-09T02:25:00+00:00"
    leak = FarmAnalyzer(timezone="America/Chicago").update(
        FarmHistory(houses=make_farm(water_leak))
    )["2"]
    assert leak.explanation == (
        "Water intake 61 % above usual (0.83 vs 0.52 L/1000 birds/5 min), for 22 h 10 min, "
        "since 08 Jan 19:45. Check the drinker lines for a leak"
    )
    assert (leak.subsystem, leak.signal, leak.check) == ("water", "water_daily", "water_leak")
    assert leak.unit == "L/1000 birds/5 min"


def test_an_unknown_time_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="Mars/Olympus"):
        FarmAnalyzer(timezone="Mars/Olympus")


def test_heater_failure_reports_expected_and_actual_temperatures() -> None:
    result = analyze(make_farm(heater_failure))["2"]
    assert result.expected is not None
    assert result.actual is not None
    if result.signal == "temperature":
        assert result.actual < result.expected - 1.0


def test_too_little_data_gives_no_result() -> None:
    farm = {house: frame.iloc[:200] for house, frame in make_farm().items()}
    assert analyze(farm) == {}


def test_gaps_and_duplicates_raise_no_alarm() -> None:
    farm = make_farm()
    frame = farm["3"]
    gap = (frame.index > START + pd.Timedelta(days=3)) & (
        frame.index < START + pd.Timedelta(days=3, hours=3)
    )
    frame = frame[~gap]
    farm["3"] = pd.concat([frame, frame.iloc[-400:-300]])
    results = analyze(farm)
    assert not results["3"].anomaly


def test_unit_change_to_fahrenheit_is_not_a_fault() -> None:
    farm = make_farm()
    frame = farm["1"].copy()
    later = frame.index >= START + pd.Timedelta(days=3)
    for column in [c for c in frame.columns if "temperature" in c]:
        frame.loc[later, column] = frame.loc[later, column] * 1.8 + 32.0
    farm["1"] = frame
    assert not analyze(farm)["1"].anomaly


def test_controller_clock_jump_back_is_absorbed() -> None:
    farm = make_farm()
    frame = farm["4"]
    jumped = frame.iloc[-300:-200].copy()
    jumped.index = pd.DatetimeIndex(jumped.index) - pd.Timedelta(hours=1)
    farm["4"] = pd.concat([frame.iloc[:-200], jumped, frame.iloc[-200:]])
    assert not analyze(farm)["4"].anomaly


def test_new_flock_in_one_house_is_not_a_fault() -> None:
    farm = make_farm()
    frame = farm["2"].copy()
    placed = frame.index >= START + pd.Timedelta(days=4)
    frame.loc[placed, "growth_day"] = 0.0
    frame.loc[placed, "set_temperature"] = 33.0
    frame.loc[placed, "temperature"] = 33.0 + frame.loc[placed, "temperature"] * 0.0
    frame.loc[placed, "heaters_running"] = 8.0
    frame.loc[placed, "bird_count"] = 0.0
    later = frame.index >= START + pd.Timedelta(days=4, hours=6)
    frame.loc[later, "bird_count"] = 30000.0
    farm["2"] = frame
    assert not analyze(farm)["2"].anomaly


def test_feeding_points_in_chunks_gives_the_same_result_as_at_once() -> None:
    farm = make_farm(water_leak)
    at_once = analyze(farm)
    analyzer = FarmAnalyzer()
    cut = START + pd.Timedelta(days=4, hours=2)
    analyzer.fit(FarmHistory(houses={h: f[f.index < cut] for h, f in farm.items()}))
    chunked = analyzer.update(FarmHistory(houses={h: f[f.index >= cut] for h, f in farm.items()}))
    assert chunked == at_once


def test_results_are_deterministic() -> None:
    assert analyze(make_farm(fan_failure)) == analyze(make_farm(fan_failure))


def test_sensitivity_levels_are_ordered() -> None:
    assert SENSITIVITY["high"].z_on < SENSITIVITY["medium"].z_on < SENSITIVITY["low"].z_on
    with pytest.raises(ValueError, match="sensitivity"):
        FarmAnalyzer(sensitivity="extreme")  # type: ignore[arg-type]


def test_future_points_never_change_past_evidence() -> None:
    farm = make_farm(water_blockage)
    cut = START + pd.Timedelta(days=4, hours=3)
    early = farm_evidence({h: f[f.index <= cut] for h, f in farm.items()})
    full = farm_evidence(farm)
    for house, evidence in early.items():
        later = {stream.name: stream for stream in full[house].streams}
        for stream in evidence.streams:
            past = later[stream.name].z.loc[: stream.z.index[-1]]
            pd.testing.assert_series_equal(stream.z, past, check_names=False)


def test_more_frequent_link_drops_raise_the_link_risk_without_an_alarm() -> None:
    farm = make_farm()
    frame = farm["2"].copy()
    for hours_ago in (40, 26, 12, 4):
        start = frame.index[-1] - pd.Timedelta(hours=hours_ago)
        episode = (frame.index >= start) & (frame.index < start + pd.Timedelta(minutes=30))
        frame.loc[episode, "connection"] = 0.0
    farm["2"] = frame
    results = analyze(farm)
    assert not results["2"].anomaly
    assert results["2"].subsystem == "controller_link"
    assert results["2"].failure_risk > 0
    assert results["1"].subsystem == "none"
    assert "dropped 4 times" in results["2"].explanation
