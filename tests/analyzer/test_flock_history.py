"""Flock history: daily heating summaries per flock and the comparison with earlier flocks."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest
from ml_analyzer.config import default_state_dir, load_config
from ml_analyzer.detectors import FarmAnalyzer, FarmHistory, HouseResult, RawBuffer
from ml_analyzer.detectors.alarms import SENSITIVITY, SLOW_Z_FACTOR
from ml_analyzer.detectors.arrays import pack_medians as _pack_medians
from ml_analyzer.detectors.evidence.flock_days import DaySummary, summarise_days
from ml_analyzer.detectors.evidence.flocks import STALE_SECONDS, STREAM, WARN_DAYS, FlockStore
from ml_analyzer.flock_file import FILE_NAME, SavedFlockStore

DAY = pd.Timedelta(days=1)
START = pd.Timestamp("2026-01-01T00:00:00Z")
FLOCK_DAYS = 21
EMPTY_DAYS = 10


class Buffer:
    """A house's raw points as the analyzer's RawBuffer offers them (no 10-day trim)."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.times: npt.NDArray[np.int64] = pd.DatetimeIndex(frame.index).as_unit("ns").asi8
        self._frame = frame

    def column(self, role: str) -> npt.NDArray[np.float64] | None:
        if role not in self._frame:
            return None
        values: npt.NDArray[np.float64] = self._frame[role].to_numpy(dtype=float)
        return values


def flock_frame(
    start: pd.Timestamp, days: int, wear: float, seed: int, birds_heat: float = 0.0
) -> pd.DataFrame:
    """A flock's 5-minute points: heaters on a line of the heat demand (slope x `wear`, less
    the birds' own heat)."""
    index = pd.date_range(start, start + days * DAY, freq="5min", inclusive="left")
    rng = np.random.default_rng(seed)
    hours = (index - start) / pd.Timedelta(hours=1)
    growth = np.floor(hours / 24.0)
    wanted = 32.0 - 0.25 * growth
    outside = 4.0 + 5.0 * np.sin(2 * np.pi * hours / 24.0) + rng.normal(0.0, 0.5, len(index))
    demand = np.maximum(wanted - outside, 0.0)
    heaters = np.clip(
        0.25 * demand * wear - birds_heat + rng.normal(0.0, 0.3, len(index)), 0.0, 12.0
    )
    inside = wanted + rng.normal(0.0, 0.2, len(index))
    return pd.DataFrame(
        {
            "growth_day": growth,
            "heaters_running": heaters,
            "set_temperature": wanted,
            "outside_temperature": outside,
            "temperature": inside,
        },
        index=index,
    )


def two_flocks(wear: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    first = flock_frame(START, FLOCK_DAYS, 1.0, seed=1)
    second_start = START + (FLOCK_DAYS + EMPTY_DAYS) * DAY
    return first, flock_frame(second_start, FLOCK_DAYS, wear, seed=2)


def test_summaries_of_a_synthetic_flock() -> None:
    first, _ = two_flocks(1.0)
    days = summarise_days(Buffer(first))
    # The last growth day has not ended yet: days 0 .. FLOCK_DAYS - 2 are complete.
    assert [day.growth_day for day in days] == list(range(FLOCK_DAYS - 1))
    day = days[3]
    rows = first[first["growth_day"] == 3]
    demand = (rows["set_temperature"] - rows["outside_temperature"]).clip(lower=0.0)
    assert day.heater_hours == pytest.approx(rows["heaters_running"].mean() * 24.0, rel=1e-9)
    assert day.degree_days == pytest.approx(demand.mean(), rel=1e-9)
    assert day.held
    assert day.ratio == pytest.approx(day.heater_hours / day.degree_days)
    assert day.slope == pytest.approx(0.25, rel=0.05)


def test_the_birds_heat_moves_the_ratio_but_not_the_slope() -> None:
    """More birds' heat (a heavier flock, a milder day) is no heater wear."""
    first = flock_frame(START, FLOCK_DAYS, 1.0, seed=1)
    second_start = START + (FLOCK_DAYS + EMPTY_DAYS) * DAY
    second = flock_frame(second_start, FLOCK_DAYS, 1.0, seed=2, birds_heat=2.0)
    store = FlockStore()
    store.observe("h1", Buffer(pd.concat([first, second])))
    old, new = store.houses["h1"][0].days[10], store.houses["h1"][1].days[10]
    assert new.ratio is not None
    assert old.ratio is not None
    assert new.ratio < 0.8 * old.ratio
    index = pd.date_range(second_start + 12 * DAY, second_start + 20 * DAY, freq="5min")
    z = store.streams(["h1"], index)[0].z
    assert float(z.max()) < SENSITIVITY["medium"].z_off * SLOW_Z_FACTOR


def test_a_day_below_set_point_is_no_comparison() -> None:
    """Heaters flat out and the house cold: the run time says nothing about the heat per hour."""
    first, second = two_flocks(1.3)
    second["temperature"] -= 3.0
    store = FlockStore()
    store.observe("h1", Buffer(pd.concat([first, second])))
    assert not any(day.held for day in store.houses["h1"][1].days.values())
    assert store.deviations("h1") == []


def test_change_only_points_give_the_same_means() -> None:
    """A recorder that stores only changes: the held values weigh by time."""
    first, _ = two_flocks(1.0)
    steady = first.copy()
    steady["heaters_running"] = np.where(pd.DatetimeIndex(steady.index).hour % 12 < 3, 2.0, 6.0)
    sparse = steady.copy()
    repeated = sparse["heaters_running"].diff() == 0
    sparse.loc[repeated, "heaters_running"] = np.nan
    full = summarise_days(Buffer(steady))
    changes = summarise_days(Buffer(sparse))
    assert len(changes) == len(full) == FLOCK_DAYS - 1
    for kept, changed in zip(full, changes, strict=True):
        assert changed.heater_hours == pytest.approx(kept.heater_hours, rel=0.01)
    # A point without any other for longer than the hold time is not a whole day of data.
    gone = first[pd.DatetimeIndex(first.index).hour == 0]
    assert summarise_days(Buffer(gone)) == []


def test_missing_roles_give_no_summary() -> None:
    first, _ = two_flocks(1.0)
    assert summarise_days(Buffer(first.drop(columns="outside_temperature"))) == []
    lost = first.copy()
    lost.loc[lost["growth_day"] == 4, "heaters_running"] = np.nan
    assert 4 not in [day.growth_day for day in summarise_days(Buffer(lost))]


def test_two_flocks_are_filed_apart_and_a_reset_starts_a_new_flock() -> None:
    first, second = two_flocks(1.0)
    store = FlockStore()
    assert store.observe("h1", Buffer(pd.concat([first, second])))
    assert [len(flock.days) for flock in store.houses["h1"]] == [FLOCK_DAYS - 1, FLOCK_DAYS - 1]
    # Seen again (a restart re-reads the buffer): nothing new.
    assert not store.observe("h2", Buffer(first.iloc[:0]))
    store._scanned.clear()
    assert not store.observe("h1", Buffer(second))
    # The growth day drops with no empty days between (a reset of the controller's counter).
    reset = flock_frame(START + FLOCK_DAYS * DAY, 5, 1.0, seed=3)
    store = FlockStore()
    store.observe("h1", Buffer(pd.concat([first, reset])))
    assert len(store.houses["h1"]) == 2


def test_bounded_to_the_last_flocks() -> None:
    store = FlockStore(max_flocks=2)
    for number in range(4):
        start = number * 50 * 86400.0
        store.add_day("h1", DaySummary(5, start, start + 86400.0, 10.0, 5.0, True))
    assert len(store.houses["h1"]) == 2
    assert store.houses["h1"][-1].days[5].start == 150 * 86400.0


def _flock_z(wear: float) -> float:
    first, second = two_flocks(wear)
    store = FlockStore()
    store.observe("h1", Buffer(pd.concat([first, second])))
    index = second.index[second.index >= second.index[0] + 12 * DAY]
    return float(np.nanmax(store.streams(["h1"], index)[0].z.to_numpy()))


def test_thirty_percent_more_run_time_per_degree_day_gives_a_warning() -> None:
    threshold = SENSITIVITY["medium"].z_on * SLOW_Z_FACTOR
    assert _flock_z(1.3) > threshold
    assert _flock_z(1.0) < SENSITIVITY["medium"].z_off * SLOW_Z_FACTOR


def test_a_change_shared_by_the_sibling_houses_cancels() -> None:
    """A colder second flock raises every house's heat per degree-day: not a fault."""
    store = FlockStore()
    first = flock_frame(START, FLOCK_DAYS, 1.0, seed=1)
    second_start = START + (FLOCK_DAYS + EMPTY_DAYS) * DAY
    for house, seed in (("h1", 11), ("h2", 12), ("h3", 13)):
        wear = 1.3 * (1.3 if house == "h3" else 1.0)
        second = flock_frame(second_start, FLOCK_DAYS, wear, seed=seed)
        store.observe(house, Buffer(pd.concat([first, second])))
    index = pd.date_range(second_start + 12 * DAY, second_start + 20 * DAY, freq="5min")
    h1, _, h3 = store.streams(["h1", "h2", "h3"], index)
    threshold = SENSITIVITY["medium"].z_on * SLOW_Z_FACTOR
    assert float(np.nanmax(h1.z.to_numpy())) < SENSITIVITY["medium"].z_off * SLOW_Z_FACTOR
    assert float(np.nanmin(h3.z.to_numpy())) > threshold
    # Expected: the earlier flock's ratio moved as the pack moved (x 1.3).
    ratio = h3.actual / h3.expected
    assert float(ratio.median()) == pytest.approx(1.3, rel=0.05)


def test_no_earlier_flock_gives_no_value() -> None:
    first, _ = two_flocks(1.0)
    store = FlockStore()
    store.observe("h1", Buffer(first))
    stream = store.streams(["h1"], pd.DatetimeIndex(first.index))[0]
    assert stream.z.isna().all()
    assert stream.actual.isna().all()
    assert stream.expected.isna().all()


def _analyzer_result(wear: float, tmp_path: Path) -> tuple[FarmAnalyzer, HouseResult]:
    first, second = two_flocks(wear)
    store = SavedFlockStore(tmp_path / FILE_NAME)
    store.observe("h1", Buffer(first))
    analyzer = FarmAnalyzer("medium", flocks=store)
    cut = second.index[0] + 14 * DAY
    analyzer.fit(FarmHistory({"h1": second[second.index < cut]}))
    results = analyzer.update(FarmHistory({"h1": second[second.index >= cut]}))
    return analyzer, results["h1"]


def test_the_analyzer_blames_heating_on_a_worn_second_flock(tmp_path: Path) -> None:
    analyzer, result = _analyzer_result(1.3, tmp_path)
    assert analyzer._carry[("h1", STREAM)].on
    assert result.subsystem == "heating"
    assert result.anomaly
    assert result.failure_risk > 30
    assert result.expected is not None
    assert result.actual is not None
    assert result.actual / result.expected == pytest.approx(1.3, rel=0.1)
    # The store was saved once the analyzer filed the second flock's days.
    assert len(SavedFlockStore(tmp_path / FILE_NAME).houses["h1"]) == 2


def test_the_analyzer_is_quiet_on_an_equal_second_flock(tmp_path: Path) -> None:
    analyzer, _ = _analyzer_result(1.0, tmp_path)
    assert not analyzer._carry[("h1", STREAM)].on


def test_store_survives_a_restart(tmp_path: Path) -> None:
    first, _ = two_flocks(1.0)
    path = tmp_path / "state" / FILE_NAME
    store = SavedFlockStore(path)
    store.observe("h1", Buffer(first))
    store.save()
    again = SavedFlockStore(path)
    assert again.houses == store.houses
    assert not list(path.parent.glob("*.tmp"))


def test_a_corrupt_file_starts_empty_with_one_log_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / FILE_NAME
    path.write_text('{"version": 1, "houses": {"h1": [[{"growth_day": 3}]]}}')
    with caplog.at_level(logging.WARNING):
        store = SavedFlockStore(path)
    assert store.houses == {}
    assert [r.message for r in caplog.records if "corrupt" in r.message] != []
    path.write_text("not json")
    assert SavedFlockStore(path).houses == {}
    assert SavedFlockStore(tmp_path / "missing.json").houses == {}


def test_a_failed_save_is_logged_once_and_does_not_raise(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    store = SavedFlockStore(blocker / FILE_NAME)
    store.add_day("h1", DaySummary(1, 0.0, 86400.0, 10.0, 5.0, True))
    with caplog.at_level(logging.WARNING):
        store.save()
        store.save()
    assert len([r for r in caplog.records if "Cannot save" in r.message]) == 1


def test_state_dir_defaults(tmp_path: Path) -> None:
    config_file = tmp_path / "options.yaml"
    assert default_state_dir(config_file, data=tmp_path / "nothing") == tmp_path / ".ml_analyzer"
    assert default_state_dir(None, data=tmp_path) == tmp_path
    config_file.write_text(
        json.dumps({"home_assistant": {"url": "http://127.0.0.1:1", "token": "t"}})
    )
    assert load_config(config_file, {}).state_dir
    config_file.write_text(
        json.dumps(
            {"home_assistant": {"url": "http://127.0.0.1:1", "token": "t"}, "state_dir": "/x"}
        )
    )
    assert load_config(config_file, {}).state_dir == "/x"


def test_raw_buffer_is_a_house_buffer() -> None:
    first, _ = two_flocks(1.0)
    raw = RawBuffer()
    raw.merge(first.iloc[-5 * 288 + 6 * 12 :])
    assert [day.growth_day for day in summarise_days(raw)] == [17, 18, 19]


def test_the_service_gives_every_farm_the_one_store(tmp_path: Path) -> None:
    """cli wiring: one SavedFlockStore in state_dir, shared by the analyzers of all farms."""
    from ml_analyzer.cli import _detector_factories
    from ml_analyzer.config import AnalyzerConfig

    analyzer, _ = _detector_factories(AnalyzerConfig(state_dir=str(tmp_path)))
    one, two = analyzer(), analyzer()
    assert one._flocks is two._flocks
    assert one._flocks.path == tmp_path / FILE_NAME
    memory, _ = _detector_factories(AnalyzerConfig())
    assert memory()._flocks.path is None


def _reference_flock_z(
    store: FlockStore, houses: list[str], index: pd.DatetimeIndex
) -> npt.NDArray[np.float64]:
    """The z of `streams` as first written (per house, lists of deviations), as a reference."""

    seconds = pd.DatetimeIndex(index).as_unit("ns").asi8 / 1e9
    shape = (len(index), len(houses))
    excess = [np.full(shape, np.nan) for _ in range(WARN_DAYS)]
    spread = np.full(shape, np.nan)
    for column, house in enumerate(houses):
        timeline = store.deviations(house)
        if not timeline:
            continue
        ends = np.array([d.end for d in timeline])
        flock = np.array([d.flock for d in timeline])
        day = np.array([d.growth_day for d in timeline])
        position = np.searchsorted(ends, seconds, side="right") - 1
        fresh = (position >= 0) & (seconds - ends[np.maximum(position, 0)] <= STALE_SECONDS)
        at = np.where(fresh, position, -1)
        chained = fresh.copy()
        for lag in range(WARN_DAYS):
            earlier = at - lag
            chained &= earlier >= 0
            if lag:
                low = np.clip(earlier, 0, len(timeline) - 1)
                high = np.clip(earlier + 1, 0, len(timeline) - 1)
                chained &= (flock[low] == flock[high]) & (day[high] == day[low] + 1)
            excess[lag][chained, column] = np.array([d.excess for d in timeline])[earlier[chained]]
        spread[fresh, column] = np.array([d.spread for d in timeline])[at[fresh]]
    packs = [np.nan_to_num(_pack_medians(values), nan=0.0) for values in excess]
    residual = [values - pack for values, pack in zip(excess, packs, strict=True)]
    with np.errstate(invalid="ignore"):
        z: npt.NDArray[np.float64] = np.maximum(np.min(np.stack(residual), axis=0) / spread, 0.0)
    return z


def test_streams_equal_the_reference_with_gaps_and_houses_without_history() -> None:
    store = FlockStore()
    first = flock_frame(START, FLOCK_DAYS, 1.0, seed=1)
    second_start = START + (FLOCK_DAYS + EMPTY_DAYS) * DAY
    for house, seed, wear in (("h1", 21, 1.3), ("h2", 22, 1.0), ("h3", 23, 1.1)):
        second = flock_frame(second_start, FLOCK_DAYS, wear, seed=seed)
        if house == "h2":  # a day without data: its neighbours are not consecutive
            second = second[
                (second.index < second_start + 9 * DAY) | (second.index >= second_start + 10 * DAY)
            ]
        store.observe(house, Buffer(pd.concat([first, second])))
    houses = ["h1", "h2", "h3", "h4"]  # h4 never reported a growth day
    index = pd.date_range(second_start, second_start + 24 * DAY, freq="5min")
    streams = store.streams(houses, index)
    z = np.column_stack([stream.z.to_numpy() for stream in streams])
    np.testing.assert_array_equal(z, _reference_flock_z(store, houses, index))
    assert np.isfinite(z[:, 0]).any()
    assert np.isnan(z[:, 3]).all()
    # A second call (cached arrays) gives the same values; a store without any history NaN.
    again = np.column_stack([stream.z.to_numpy() for stream in store.streams(houses, index)])
    np.testing.assert_array_equal(again, z)
    assert all(s.z.isna().all() for s in FlockStore().streams(houses, index))
