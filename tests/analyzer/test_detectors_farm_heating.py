"""Heating load: heater run time against the house's own heat-demand line (detectors/heating.py).

A wearing heater is compensated by the controller (the house holds its set point), so the
evidence must come from the run time per degree of demand, before the heaters fall short.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache

import numpy as np
import pandas as pd
import pytest
from ml_analyzer.detectors.alarms import SENSITIVITY, alarm_state
from ml_analyzer.detectors.baselines import BASELINE_LAG_HOURS, Baselines
from ml_analyzer.detectors.engine import farm_evidence
from ml_analyzer.detectors.evidence.heating import LONG_ROWS, ROWS_PER_DAY, heat_load

from simulator.scenario import Scenario
from simulator.series import iter_house_frames

START = datetime(2026, 1, 12, tzinfo=UTC)
DAYS = 11
WEAR_HOUSE = "3"
FAILURE = START + timedelta(days=8)
WEAR_START = FAILURE - timedelta(days=3)
LOAD_STREAMS = ("heat_load", "heat_load_daily")


@cache
def _farm(wear: bool) -> dict[str, pd.DataFrame]:
    """A winter farm of four houses (seed not used by the benchmark); house 3's heaters wear
    over three days from day 5 and fail at day 8 when `wear`."""
    events = [
        {
            "kind": "heater_failure",
            "farm": 1,
            "house": int(WEAR_HOUSE),
            "at": "8d",
            "params": {"wear_days": 3},
        }
    ]
    scenario = Scenario.from_dict(
        {
            "name": "heating",
            "farms": 1,
            "houses": 4,
            "seed": 2024,
            "start": START.isoformat(),
            "events": events if wear else [],
        }
    )
    end = START + timedelta(days=DAYS)
    return {str(house): frame for _, house, frame in iter_house_frames(scenario, START, end)}


def _first_alarm(farm: dict[str, pd.DataFrame], house: str, names: tuple[str, ...]) -> datetime:
    evidence = farm_evidence(farm)[house]
    level = SENSITIVITY["medium"]
    first: datetime | None = None
    for stream in evidence.streams:
        if stream.name not in names:
            continue
        state = alarm_state(stream.z, level, stream.slow)
        on = np.flatnonzero(state >= 1.0)
        if len(on):
            stamp = evidence.index[int(on[0])].to_pydatetime()
            first = stamp if first is None else min(first, stamp)
    assert first is not None, f"no alarm of {names} in house {house}"
    return first


def test_wearing_heater_warns_before_the_heaters_fall_short() -> None:
    farm = _farm(wear=True)
    warned = _first_alarm(farm, WEAR_HOUSE, LOAD_STREAMS)
    short = _first_alarm(farm, WEAR_HOUSE, ("climate", "climate_trend"))

    assert WEAR_START < warned < FAILURE - timedelta(hours=24)
    assert warned < short - timedelta(hours=12)
    stream = next(s for s in farm_evidence(farm)[WEAR_HOUSE].streams if s.name == "heat_load")
    assert (stream.signal, stream.subsystem_up, stream.slow) == ("heaters_running", "heating", True)


@pytest.mark.parametrize("wear", [False, True])
def test_heating_load_raises_no_alarm_in_healthy_houses(wear: bool) -> None:
    evidence = farm_evidence(_farm(wear))
    level = SENSITIVITY["medium"]
    checked = 0
    for house, found in evidence.items():
        if wear and house == WEAR_HOUSE:
            continue
        for stream in found.streams:
            if stream.name in LOAD_STREAMS:
                checked += 1
                assert alarm_state(stream.z, level, stream.slow).max() == 0.0, (house, stream.name)
    assert checked == (6 if wear else 8)


def test_incremental_heating_load_equals_the_batch_run() -> None:
    """What a fit + a tick evaluate (baselines replayed, only the last rows derived) equals one
    batch run over everything, row for row, during the wear."""
    farm = _farm(wear=True)
    fitted = WEAR_START + timedelta(hours=30)
    baselines = Baselines(record=True)
    farm_evidence({h: f[f.index <= fitted] for h, f in farm.items()}, baselines)
    baselines.record = False
    baselines.horizon = pd.Timestamp(fitted).floor("h") + pd.Timedelta(hours=BASELINE_LAG_HOURS)
    now = fitted + timedelta(hours=3)
    upto = {h: f[f.index <= now] for h, f in farm.items()}
    tick = farm_evidence(upto, baselines, tail=36)
    batch = farm_evidence(upto)
    compared = 0
    for house, found in tick.items():
        whole = {s.name: s for s in batch[house].streams}
        for stream in found.streams:
            if stream.name not in LOAD_STREAMS:
                continue
            expected = whole[stream.name]
            assert stream.z.index.equals(expected.z.index[-len(stream.z) :])
            np.testing.assert_allclose(
                stream.z.to_numpy(), expected.z.to_numpy()[-len(stream.z) :], rtol=1e-9, atol=1e-9
            )
            np.testing.assert_allclose(
                stream.actual.to_numpy(), expected.actual.to_numpy()[-len(stream.z) :], atol=1e-9
            )
            compared += 1
    assert compared == 8
    wearing = next(s for s in tick[WEAR_HOUSE].streams if s.name == "heat_load")
    assert np.nanmax(wearing.z.to_numpy()) > 3.0  # the wear shows in the compared rows


def _line_tables(days: int, wear_from: int | None = None) -> dict[str, pd.DataFrame]:
    """Two houses whose heaters run exactly on their demand line (no noise); house "b" needs
    25 % more run time from day `wear_from` (its heat per heater down to 80 %)."""
    index = pd.date_range("2026-01-01", periods=days * ROWS_PER_DAY, freq="5min", tz="UTC")
    hours = np.arange(len(index)) / 12.0
    outside = 2.0 + 5.0 * np.sin(2 * np.pi * hours / 24.0) + 2.0 * np.sin(2 * np.pi * hours / 61.0)
    demand = 24.0 - outside
    running = np.clip(0.25 * (demand - 6.0), 0.0, 8.0)
    worn = running.copy()
    if wear_from is not None:
        worn[wear_from * ROWS_PER_DAY :] *= 1.25
    frame = {"a": running, "b": worn}
    return {
        "heaters_running": pd.DataFrame(frame, index=index),
        "set_temperature": pd.DataFrame({"a": 24.0, "b": 24.0}, index=index),
        "outside_temperature": pd.DataFrame({"a": outside, "b": outside}, index=index),
    }


def test_heat_load_is_the_log_ratio_to_the_demand_line() -> None:
    load = heat_load(_line_tables(8, wear_from=5))
    row = 5 * ROWS_PER_DAY + LONG_ROWS  # a full day of wear, line still learnt before it
    for name in LOAD_STREAMS:
        assert load[name]["a"].iloc[row] == pytest.approx(0.0, abs=0.5)
        assert load[name]["a"].iloc[5 * ROWS_PER_DAY - 1] == pytest.approx(0.0, abs=0.5)
        # 100 ln 1.25 = 22.3 %, a little less with the prior half heater per row.
        assert 18.0 < load[name]["b"].iloc[row] < 22.4
        assert load[name]["b"].iloc[5 * ROWS_PER_DAY - 1] == pytest.approx(0.0, abs=0.5)


def test_heat_load_is_unknown_without_a_learnt_line_or_its_roles() -> None:
    tables = _line_tables(3)
    load = heat_load(tables)
    assert load["heat_load"].iloc[: 2 * ROWS_PER_DAY].isna().all().all()
    assert load["heat_load"].iloc[-1].notna().all()
    short = heat_load({role: table.iloc[:100] for role, table in tables.items()})
    assert short["heat_load_daily"].shape == (100, 2)
    assert short["heat_load_daily"].isna().all().all()
    assert heat_load({k: v for k, v in tables.items() if k != "outside_temperature"}) == {}
    only_a = dict(tables, set_temperature=tables["set_temperature"][["a"]])
    assert list(heat_load(only_a)["heat_load"].columns) == ["a"]
    no_house = dict(tables, set_temperature=tables["set_temperature"].iloc[:, :0])
    assert heat_load(no_house) == {}
    flat = dict(tables, outside_temperature=tables["outside_temperature"] * 0.0 + 2.0)
    assert heat_load(flat)["heat_load"].isna().all().all()  # no demand spread: no line
