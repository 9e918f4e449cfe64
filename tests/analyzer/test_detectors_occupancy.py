"""Occupancy and flock state from what the controller really reports (issue 11, §1).

The real captured farm reports 0 birds in every house at growth day 21 with ~950 L of water a
day: the count was never entered. Such a house is full, and its water and feed must still be
judged (against its own and its siblings' rates, as no per-bird rate exists).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest
from ml_analyzer.detectors import FarmAnalyzer, FarmHistory
from ml_analyzer.detectors.engine import farm_evidence
from ml_analyzer.detectors.grid import ROWS_PER_DAY, FarmGrid, prepare
from ml_analyzer.detectors.occupancy import occupancy, settled

from bench.backtest import run_scenario
from simulator.scenario import Scenario, ScenarioError
from simulator.series import iter_house_frames
from tests.analyzer.farm_reference import judge

START = datetime(2026, 1, 5, tzinfo=UTC)


def _grid(frames: dict[str, pd.DataFrame]) -> FarmGrid:
    return FarmGrid.from_frames({house: prepare(frame) for house, frame in frames.items()})


def _house(days: float, *, birds: float, water_per_day: float, growth_day: float) -> pd.DataFrame:
    """A house on the 5-minute grid: a daily water counter that resets at midnight."""
    index = pd.date_range(START, periods=int(days * ROWS_PER_DAY), freq="5min")
    since_midnight = (index - index.normalize()) / pd.Timedelta(days=1)
    return pd.DataFrame(
        {
            "temperature": 25.0,
            "water_daily": water_per_day * np.asarray(since_midnight),
            "bird_count": birds,
            "growth_day": growth_day + np.floor((index - START) / pd.Timedelta(days=1)),
        },
        index=index,
    )


def test_a_full_house_that_reports_no_birds_is_occupied() -> None:
    """The captured farm's state: 0 birds, growth day 21, water flowing."""
    grid = _grid({"1": _house(4, birds=0.0, water_per_day=950.0, growth_day=21.0)})
    state = occupancy(grid)
    assert state is not None
    assert (state == 1.0).all()
    mask = settled(grid)
    assert mask is not None
    assert mask.all()


def _since_start(index: pd.Index) -> npt.NDArray[np.float64]:
    """Hours since START of each stamp, whatever unit the index holds (pandas 2 builds
    microsecond indexes: their raw integers are not nanoseconds)."""
    stamps = pd.DatetimeIndex(index).as_unit("ns").asi8
    hours: npt.NDArray[np.float64] = (stamps - pd.Timestamp(START).as_unit("ns").value) / 3.6e12
    assert hours.min() >= -1.0, "stamps must lie after START: else the selections are empty"
    return hours


def _hours(grid: FarmGrid) -> npt.NDArray[np.float64]:
    """Hours since START of each grid row."""
    return _since_start(grid.index)


def test_an_empty_house_is_not_settled_and_a_new_flock_settles_after_two_days() -> None:
    frame = _house(6, birds=0.0, water_per_day=0.0, growth_day=0.0)
    hours = _since_start(frame.index)
    placed = hours >= 48
    frame["growth_day"] = np.where(placed, 0.0, np.nan)
    frame["water_daily"] = np.where(placed, frame["temperature"] * 4.0 * (hours % 24), 0.0)
    grid = _grid({"1": frame})
    mask = settled(grid)
    assert mask is not None
    at = _hours(grid)
    assert not mask[(at > 0) & (at < 48)].any()  # the first row's water is unknown
    assert not mask[(at >= 48) & (at < 96)].any()
    assert mask[at >= 97].all()


def test_the_bird_count_alone_never_empties_a_house() -> None:
    frame = _house(3, birds=0.0, water_per_day=0.0, growth_day=0.0)
    only_birds = frame[["temperature", "bird_count"]]
    assert settled(_grid({"1": only_birds})) is None


def test_a_stale_growth_day_does_not_keep_an_empty_house_full() -> None:
    """An empty house whose growth day stopped a day and a half ago, no water: empty."""
    frame = _house(4, birds=0.0, water_per_day=0.0, growth_day=40.0)
    hours = _since_start(frame.index)
    frame["growth_day"] = np.where(hours >= 24, np.nan, frame["growth_day"])
    grid = _grid({"1": frame})
    state = occupancy(grid)
    assert state is not None
    at = _hours(grid)
    assert (state[at < 24, 0] == 1.0).all()
    assert (state[at >= 72, 0] == 0.0).all()


def _with_mode(frame: pd.DataFrame, modes: list[tuple[float, float]]) -> pd.DataFrame:
    """The frame with a house mode flag (as the readers give it: 1 birds, 0 empty) that takes
    each (hour, flag) from that hour on; one point per change, as HA stores an enum state."""
    frame = frame.copy()
    frame["house_mode"] = np.nan
    for hour, flag in modes:
        frame.loc[START + timedelta(hours=hour), "house_mode"] = flag
    return frame


def test_an_empty_mode_empties_a_house_whose_growth_day_runs_on() -> None:
    """A controller that keeps counting growth days after the flock left: the empty mode
    says so once the water has stopped for a day; before that, the water keeps it occupied."""
    frame = _house(4, birds=0.0, water_per_day=950.0, growth_day=38.0)
    at_hours = _since_start(frame.index)
    frame["water_daily"] = np.where(at_hours >= 24, 0.0, frame["water_daily"])
    grid = _grid({"1": _with_mode(frame, [(0.0, 1.0), (24.0, 0.0)])})
    state = occupancy(grid)
    assert state is not None
    at = _hours(grid)
    assert (state[at < 47.5, 0] == 1.0).all()  # the last 24 h of water are a day's rows
    assert (state[at >= 48, 0] == 0.0).all()
    without_mode = occupancy(_grid({"1": frame}))
    assert without_mode is not None
    assert (without_mode[:, 0] == 1.0).all()  # the growth day alone keeps it full


def test_a_full_mode_with_a_growth_day_is_occupied_without_water() -> None:
    """Growth day 0 or more and a mode with birds: occupied, even while no water is counted
    (a house without a water meter, or a meter that stopped)."""
    frame = _house(3, birds=0.0, water_per_day=0.0, growth_day=10.0)
    grid = _grid({"1": _with_mode(frame, [(0.0, 1.0)])})
    state = occupancy(grid)
    assert state is not None
    assert (state[:, 0] == 1.0).all()


def test_water_makes_a_house_occupied_whatever_its_mode_says() -> None:
    frame = _house(3, birds=0.0, water_per_day=950.0, growth_day=-1.0)
    grid = _grid({"1": _with_mode(frame, [(0.0, 0.0)])})
    state = occupancy(grid)
    assert state is not None
    at = _hours(grid)
    assert (state[at >= 1, 0] == 1.0).all()


def test_the_mode_alone_decides_where_nothing_else_tells() -> None:
    """Only a house mode (no growth day, no water meter): an empty mode empties the house, a
    full one fills it, and before its first point the house is unknown (counted occupied)."""
    frame = _house(3, birds=0.0, water_per_day=0.0, growth_day=0.0)[["temperature"]]
    grid = _grid({"1": _with_mode(frame, [(12.0, 0.0), (36.0, 1.0)])})
    state = occupancy(grid)
    assert state is not None
    at = _hours(grid)
    assert np.isnan(state[at < 12, 0]).all()
    assert (state[(at >= 12) & (at < 36), 0] == 0.0).all()
    assert (state[at >= 36, 0] == 1.0).all()
    mask = settled(grid)
    assert mask is not None
    assert mask[at < 12, 0].all()
    assert not mask[(at >= 12) & (at < 36 + 48), 0].any()  # empty, then a new flock settling
    assert mask[at >= 36 + 48, 0].all()


@cache
def _simulated(bird_count: str, houses: int = 6, days: int = 5) -> dict[str, pd.DataFrame]:
    scenario = Scenario.from_dict(
        {
            "name": "capture_shape",
            "farms": 1,
            "houses": houses,
            "seed": 11,
            "start": START.isoformat(),
            "farm_options": [{"farm": 1, "bird_count": bird_count}],
        }
    )
    end = START + timedelta(days=days)
    return {str(house): frame for _, house, frame in iter_house_frames(scenario, START, end)}


def test_the_simulator_can_report_no_birds_while_they_drink() -> None:
    frames = _simulated("unreported")
    for frame in frames.values():
        assert (frame["bird_count"].dropna() == 0.0).all()
    assert any(frame["water_daily"].max() > 100.0 for frame in frames.values())
    with pytest.raises(ScenarioError, match="bird_count"):
        Scenario.from_dict({"farm_options": [{"farm": 1, "bird_count": "sometimes"}]})


def test_houses_without_a_bird_count_keep_their_water_and_climate_evidence() -> None:
    """Every occupied house of a six-house farm that reports 0 birds gets water evidence
    against its siblings (the `_house` streams) and its climate evidence; a farm with bird
    counts gets the per-bird streams only."""
    unreported = farm_evidence(_simulated("unreported"))
    occupied = [
        house
        for house, frame in _simulated("unreported").items()
        if (frame["growth_day"].iloc[-ROWS_PER_DAY:] >= 2).all()
    ]
    assert len(occupied) >= 3
    for house in occupied:
        streams = {stream.name: stream for stream in unreported[house].streams}
        assert np.isfinite(streams["water_house"].z.iloc[-ROWS_PER_DAY:]).all(), house
        assert np.isfinite(streams["feed_house"].z.iloc[-ROWS_PER_DAY:]).all(), house
        assert np.isfinite(streams["climate"].z.iloc[-ROWS_PER_DAY:]).all(), house
        assert streams["water"].z.isna().all()
    reported = farm_evidence(_simulated("reported"))
    for house in occupied:
        names = {stream.name for stream in reported[house].streams}
        assert "water" in names
        assert "water_house" not in names


def test_every_house_of_an_unreported_farm_gets_a_verdict() -> None:
    frames = _simulated("unreported")
    analyzer = FarmAnalyzer("medium")
    cut = START + timedelta(days=4)
    analyzer.fit(FarmHistory({h: f[f.index <= cut] for h, f in frames.items()}))
    results = analyzer.update(FarmHistory({h: f[f.index > cut] for h, f in frames.items()}))
    assert sorted(results) == sorted(frames)


@pytest.mark.parametrize("kind", ["water_leak", "heater_failure"])
def test_faults_are_found_when_the_controllers_report_no_birds(kind: str) -> None:
    scenario = Scenario.from_dict(
        {
            "name": kind,
            "farms": 1,
            "houses": 4,
            "seed": 7,
            "start": "2026-01-05T00:00:00+00:00",
            "farm_options": [{"farm": 1, "bird_count": "unreported"}],
            "events": [{"kind": kind, "farm": 1, "house": 2, "at": "84h"}],
        }
    )
    assert scenario.start is not None
    outcome = run_scenario(scenario, scenario.start, 5, "medium")
    (fault,) = outcome.faults
    assert fault.detected
    assert fault.subsystem == {"water_leak": "water", "heater_failure": "heating"}[kind]


def test_ticks_equal_the_batch_run_when_the_controllers_report_no_birds() -> None:
    """The `_house` intake streams and the occupancy read up to 26 h back: an update that
    derives them on its last rows only must decide what the batch run decides."""
    scenario = Scenario.from_dict(
        {
            "name": "leak",
            "farms": 1,
            "houses": 4,
            "seed": 5,
            "start": START.isoformat(),
            "farm_options": [{"farm": 1, "bird_count": "unreported"}],
            "events": [{"kind": "water_leak", "farm": 1, "house": 3, "at": "102h"}],
        }
    )
    end = START + timedelta(days=6)
    frames = {str(house): frame for _, house, frame in iter_house_frames(scenario, START, end)}
    batch = farm_evidence(frames)
    grid = next(iter(batch.values())).index
    cut = START + timedelta(days=4)
    analyzer = FarmAnalyzer("medium")
    analyzer.fit(FarmHistory({h: f[f.index <= cut] for h, f in frames.items()}))
    before = cut
    subsystems = set()
    for stamp in pd.date_range(cut + timedelta(minutes=5), grid[-1], freq="55min"):
        new = {h: f[(f.index > before) & (f.index <= stamp)] for h, f in frames.items()}
        results = analyzer.update(FarmHistory(new))
        before = stamp
        at = int(grid.searchsorted(stamp))
        for house, result in results.items():
            expected = judge(batch[house], "medium", at)
            assert expected is not None
            assert (result.anomaly, result.subsystem, result.signal, result.since) == (
                expected.anomaly,
                expected.subsystem,
                expected.signal,
                expected.since,
            ), (stamp, house)
            subsystems.add(result.subsystem)
    assert "water" in subsystems
