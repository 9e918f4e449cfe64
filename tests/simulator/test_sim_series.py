"""The benchmark API: long frame with contract roles, and the fault truth."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simulator import series
from simulator.report import house_report
from simulator.scenario import (
    SCENARIO_DIR,
    FaultEvent,
    Scenario,
    ScenarioError,
    load,
    parse_duration,
)
from simulator.server import Simulation
from tests.simulator.simhelpers import START

CONTRACT_KEYS = {
    "temperature",
    "set_temperature",
    "outside_temperature",
    "tunnel_temperature",
    "humidity",
    "static_pressure",
    "target_pressure",
    "vent_level",
    "vent_level_percent",
    "air_flow",
    "water_daily",
    "feed_daily",
    "bird_count",
    "livability",
    "growth_day",
    "heaters_running",
    "tunnel_fans_running",
    "exhaust_fans_running",
    "connection",
}


def _scenario(*events: dict[str, object], houses: int = 2) -> Scenario:
    return Scenario(
        farms=1,
        houses=houses,
        seed=4,
        start=START,
        events=tuple(FaultEvent.from_dict(event) for event in events),
    )


def test_frame_is_long_format_with_contract_roles() -> None:
    result = series.generate(_scenario(), START, START + timedelta(days=1))
    frame = result.frame
    assert list(frame.columns) == ["timestamp", "farm", "house", "role", "value"]
    assert str(frame["timestamp"].dtype) == "datetime64[ns, UTC]"
    roles = set(frame["role"].astype(str))
    probes = {role for role in roles if role.startswith("probe_temperature_")}
    assert probes == {f"probe_temperature_{n}" for n in range(1, 9)}
    assert roles - probes <= CONTRACT_KEYS
    assert set(series.BASE_ROLES) <= roles
    per_role = frame.groupby(["house", "role"], observed=True).size()
    assert set(per_role) == {288}, "one value per 5 minutes per house and role"
    assert not frame["value"].isna().any()
    assert frame["timestamp"].min() == pd.Timestamp(START)


def test_series_matches_the_values_the_server_reports() -> None:
    scenario = _scenario()
    result = series.generate(
        scenario, START, START + timedelta(hours=3), roles=["temperature", "water_daily"]
    )
    simulation = Simulation(scenario, start=START)
    when = START + timedelta(hours=2)
    report = house_report(simulation.farms[0], simulation.farms[0].houses[1], when, [])
    frame = result.frame
    row = frame[(frame["house"] == 2) & (frame["timestamp"] == pd.Timestamp(when))]
    values = dict(zip(row["role"].astype(str), row["value"], strict=True))
    assert values["temperature"] == pytest.approx(report.values["temperature"])
    assert values["water_daily"] == pytest.approx(report.values["water_daily"])


def test_generate_is_deterministic_and_seeded() -> None:
    first = series.generate(_scenario(), START, START + timedelta(hours=6), roles=["humidity"])
    again = series.generate(_scenario(), START, START + timedelta(hours=6), roles=["humidity"])
    pd.testing.assert_frame_equal(first.frame, again.frame)


def test_heater_failure_truth_records_onset_failure_and_alarm() -> None:
    scenario = _scenario(
        {
            "kind": "heater_failure",
            "farm": 1,
            "house": 2,
            "at": "2d",
            "params": {"wear_days": 1},
        },
        {"kind": "water_leak", "farm": 1, "house": 1, "at": "1d", "duration": "6h"},
    )
    result = series.generate(scenario, START, START + timedelta(days=3), roles=["temperature"])
    heater, leak = result.faults
    assert heater.kind == "heater_failure"
    assert heater.start == START + timedelta(days=1)
    assert heater.failure_at == START + timedelta(days=2)
    assert heater.alarm_at is not None
    assert heater.failure_at < heater.alarm_at < heater.failure_at + timedelta(hours=8)
    assert leak.alarm_at is None, "a leak does not move the temperature"
    assert leak.end == START + timedelta(days=1, hours=6)


def test_offline_controller_and_outage_leave_gaps() -> None:
    scenario = _scenario(
        {"kind": "controller_offline", "farm": 1, "house": 1, "at": "2h", "duration": "1h"},
        {"kind": "cloud_outage", "at": "5h", "duration": "30m"},
    )
    frame = series.generate(
        scenario, START, START + timedelta(hours=8), roles=["temperature", "connection"]
    ).frame
    house_1 = frame[frame["house"] == 1]
    offline = house_1[
        (house_1["timestamp"] >= pd.Timestamp(START + timedelta(hours=2)))
        & (house_1["timestamp"] < pd.Timestamp(START + timedelta(hours=3)))
    ]
    assert set(offline["role"].astype(str)) == {"connection"}
    assert set(offline["value"]) == {0.0}
    outage = frame[
        (frame["timestamp"] >= pd.Timestamp(START + timedelta(hours=5)))
        & (frame["timestamp"] < pd.Timestamp(START + timedelta(hours=5, minutes=30)))
    ]
    assert outage.empty
    house_2_connection = frame[(frame["house"] == 2) & (frame["role"] == "connection")]
    assert set(house_2_connection["value"]) == {1.0}


def test_house_frames_are_wide_per_house() -> None:
    frames = list(
        series.iter_house_frames(
            _scenario(), START, START + timedelta(hours=2), roles=["temperature", "humidity"]
        )
    )
    assert [(farm, house) for farm, house, _ in frames] == [(1, 1), (1, 2)]
    frame = frames[0][2]
    assert list(frame.columns) == ["temperature", "humidity"]
    assert len(frame) == 24
    assert str(frame.index.dtype) == "datetime64[ns, UTC]"


def test_every_shipped_scenario_loads_and_generates() -> None:
    files = sorted(Path(SCENARIO_DIR).glob("*.yaml"))
    assert {"demo.yaml", "faultfree.yaml"} <= {file.name for file in files}
    for file in files:
        scenario = load(file)
        assert scenario.description
        result = series.generate(scenario, START, START + timedelta(hours=1), roles=["temperature"])
        assert len(result.faults) == len(scenario.events)
        assert not result.frame.empty
    demo = load("demo")
    assert [(e.kind, e.farm, e.house, e.at) for e in demo.events] == [
        ("heater_failure", 1, 3, "4h")
    ]


def test_demo_heater_fails_after_a_few_hours_and_the_alarm_follows() -> None:
    result = series.generate(
        load("demo"), START, START + timedelta(hours=12), roles=["temperature"]
    )
    (truth,) = result.faults
    assert truth.failure_at == START + timedelta(hours=4)
    assert truth.alarm_at is not None
    assert truth.alarm_at < START + timedelta(hours=10)


@pytest.mark.parametrize(
    "document",
    [
        {"events": [{"kind": "meteor"}]},
        {"events": [{"kind": "heater_failure", "farm": 1}]},
        {"events": [{"kind": "bom", "when": "1h"}]},
        {"events": [{"kind": "bom", "at": "1h", "duration": "soon"}]},
        {"farm_options": [{"farm": 1, "units": "cubits"}]},
        {"events": [{"kind": "house_missing", "farm": 1}]},
        {"events": [{"kind": "unit_change", "params": {"units": "cubits"}}]},
        {"colour": "red"},
    ],
)
def test_invalid_scenarios_are_refused(document: dict[str, object]) -> None:
    with pytest.raises(ScenarioError):
        Scenario.from_dict(document)


def test_durations() -> None:
    assert parse_duration("90m") == timedelta(minutes=90)
    assert parse_duration("2d") == timedelta(days=2)
    assert parse_duration(30) == timedelta(seconds=30)
    assert np.isclose(parse_duration("1.5h").total_seconds(), 5400.0)


def test_any_step_gives_the_same_values_at_shared_times() -> None:
    """A 1-minute series (off the 5-minute integration grid) agrees with the 5-minute one."""
    roles = ["temperature", "water_daily", "feed_daily"]
    end = START + timedelta(hours=3)
    fine = series.generate(_scenario(), START, end, timedelta(minutes=1), roles=roles).frame
    coarse = series.generate(_scenario(), START, end, timedelta(minutes=5), roles=roles).frame
    merged = coarse.merge(fine, on=["timestamp", "farm", "house", "role"], suffixes=("", "_1m"))
    assert len(merged) == len(coarse)
    np.testing.assert_allclose(merged["value"], merged["value_1m"], rtol=1e-9, atol=1e-9)
