"""The machinery of the 5-minute tick: it must compute exactly what the batch path computes.

The tick keeps the farm's grid as arrays (RawBuffer, LiveGrid), re-prepares only the last hour
with numpy (prepare_rows), derives signals with numpy windows (detectors/arrays.py) on the last
rows only and steps all alarm machines of a farm together (step_alarms). Each piece is checked
here against the pandas / batch version it replaces, on data with the awkward cases a real
source delivers (sentinels, a °F period, gaps, irregular and re-sent timestamps).
"""

from __future__ import annotations

import warnings
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from ml_analyzer.detectors import FarmAnalyzer, FarmHistory, RawBuffer
from ml_analyzer.detectors.alarms import SENSITIVITY, AlarmCarry, step_alarms
from ml_analyzer.detectors.arrays import pack_medians as _pack_medians
from ml_analyzer.detectors.arrays import rolling_max, rolling_mean, rolling_sum
from ml_analyzer.detectors.engine import TAIL_CONTEXT_ROWS, farm_evidence
from ml_analyzer.detectors.evidence import pack as pack_module
from ml_analyzer.detectors.evidence.base import TREND_ROWS, Signal
from ml_analyzer.detectors.evidence.links import LINK_LOOKBACK
from ml_analyzer.detectors.evidence.pack import SIGNALS
from ml_analyzer.detectors.grid import GRID_NS, FarmGrid, Tables, prepare, prepare_rows

from simulator.scenario import Scenario
from simulator.series import iter_house_frames
from tests.analyzer.farm_reference import enough_data as _enough_data
from tests.analyzer.farm_reference import judge, step_alarm

START = datetime(2026, 1, 5, tzinfo=UTC)
ROLES = [
    "temperature",
    "set_temperature",
    "outside_temperature",
    "humidity",
    "static_pressure",
    "target_pressure",
    "water_daily",
    "feed_daily",
    "heaters_running",
    "growth_day",
    "bird_count",
    "connection",
]
"""Every role the pack and link evidence read (the probes are tested with the batch path)."""


def _messy_house(seed: int, days: float = 3.0) -> pd.DataFrame:
    """Raw points as a recorder delivers them: jittered times, gaps, sentinels, a °F period."""
    rng = np.random.default_rng(seed)
    count = int(days * 24 * 60 / 4)
    seconds = np.cumsum(rng.integers(30, 420, count))
    index = pd.DatetimeIndex(START + pd.to_timedelta(seconds, unit="s"))
    frame = pd.DataFrame(
        {
            "temperature": 24.0 + rng.normal(0, 0.5, count),
            "set_temperature": np.full(count, 24.0),
            "humidity": 60.0 + rng.normal(0, 2.0, count),
            "probe_temperature_1": 24.0 + rng.normal(0, 0.5, count),
        },
        index=index,
    )
    frame.loc[rng.random(count) < 0.2, "humidity"] = np.nan  # humidity only now and then
    frame.loc[rng.random(count) < 0.02, "temperature"] = -9999.0  # sentinels
    fahrenheit = (frame.index > START + timedelta(days=1)) & (
        frame.index < START + timedelta(days=1, hours=3)
    )
    frame.loc[fahrenheit, ["temperature", "set_temperature", "probe_temperature_1"]] = (
        frame.loc[fahrenheit, ["temperature", "set_temperature", "probe_temperature_1"]] * 1.8
        + 32.0
    )
    gap = (frame.index > START + timedelta(days=2)) & (frame.index < START + timedelta(hours=50))
    return frame[~gap]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_prepare_rows_equals_prepare_on_the_rows_after_the_splice(seed: int) -> None:
    raw = _messy_house(seed)
    times = pd.DatetimeIndex(raw.index).as_unit("ns").asi8
    values = raw.to_numpy(dtype=float)
    columns = list(raw.columns)
    for hours in (5.0, 24.5, 49.0, 51.0, 70.0):
        splice = pd.Timestamp(START + timedelta(hours=hours)).floor("5min")
        first = splice.value // GRID_NS + 1
        rows = 40
        got = prepare_rows(times, values, columns, first, rows)
        expected = prepare(raw[raw.index > splice]).reindex(
            pd.date_range(splice + pd.Timedelta("5min"), periods=rows, freq="5min")
        )
        np.testing.assert_array_equal(got, expected.to_numpy(dtype=float), err_msg=str(hours))


def test_prepare_rows_after_the_last_point_gives_nothing() -> None:
    raw = _messy_house(4, days=1.0)
    first = raw.index[-1].value // GRID_NS + 10
    times = pd.DatetimeIndex(raw.index).as_unit("ns").asi8
    got = prepare_rows(times, raw.to_numpy(), list(raw.columns), first, 5)
    assert np.isnan(got).all()


@pytest.mark.parametrize("rows", [1, 6, 24, 300])
@pytest.mark.parametrize("min_periods", [0, 1, 4])
def test_rolling_windows_equal_pandas(rows: int, min_periods: int) -> None:
    rng = np.random.default_rng(rows)
    values = rng.normal(20.0, 5.0, (500, 3))
    values[rng.random(values.shape) < 0.3] = np.nan
    values[100:180, 1] = np.nan  # a long gap
    min_periods = min(min_periods, rows)
    frame = pd.DataFrame(values).rolling(rows, min_periods=min_periods)
    np.testing.assert_allclose(rolling_sum(values, rows, min_periods), frame.sum(), rtol=1e-9)
    np.testing.assert_allclose(rolling_mean(values, rows, min_periods), frame.mean(), rtol=1e-9)
    np.testing.assert_array_equal(rolling_max(values, rows, min_periods), frame.max())
    one = rolling_mean(values[:, 0], rows, min_periods)
    assert one.shape == (500,)
    np.testing.assert_allclose(one, frame.mean()[0], rtol=1e-9)


def test_rolling_max_of_nothing_is_empty() -> None:
    assert rolling_max(np.empty((0, 2)), 5).shape == (0, 2)


def test_pack_medians_equal_nanmedian_of_the_other_houses() -> None:
    rng = np.random.default_rng(5)
    for houses in range(1, 9):
        values = rng.normal(0.0, 1.0, (60, houses)).round(1)  # ties
        values[rng.random(values.shape) < 0.3] = np.nan
        got = _pack_medians(values)
        for column in range(houses):
            others = np.delete(values, column, axis=1)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                expected = np.nanmedian(others, axis=1) if houses > 1 else np.full(60, np.nan)
            np.testing.assert_array_equal(got[:, column], expected)


def test_step_alarms_equals_step_alarm_per_stream() -> None:
    rng = np.random.default_rng(8)
    index = pd.date_range("2026-01-01", periods=400, freq="5min", tz="UTC")
    level = SENSITIVITY["medium"]
    z = np.repeat(rng.normal(0.0, 5.0, (6, 80)), 5, axis=1)
    z[rng.random(z.shape) < 0.05] = np.nan
    slow = [False, True, False, True, False, False]
    together = [AlarmCarry()] * 6
    alone = [AlarmCarry()] * 6
    for begin, end in ((0, 1), (1, 130), (130, 131), (131, 400)):
        together = step_alarms(z[:, begin:end], index[begin:end], level, slow, together)
        alone = [
            step_alarm(z[s, begin:end], index[begin:end], level, slow[s], alone[s])
            for s in range(6)
        ]
        assert together == alone
    assert any(carry.on for carry in together)
    assert step_alarms(z[:, :0], index[:0], level, slow, together) == together


def test_raw_buffer_keeps_sorted_unique_points_of_the_last_ten_days() -> None:
    buffer = RawBuffer()
    stamps = pd.date_range(START, periods=4, freq="5min", tz="UTC")
    buffer.merge(pd.DataFrame({"temperature": [1.0, 2.0, 3.0, 4.0]}, index=stamps))
    # Out of order, a re-sent point (the new value wins), a new role, values as text.
    late = pd.DataFrame(
        {"humidity": ["50", "51"], "temperature": ["9", "x"]},
        index=[stamps[1].isoformat(), (stamps[0] - pd.Timedelta("5min")).isoformat()],
    )
    buffer.merge(late)
    frame = buffer.frame()
    assert list(frame.columns) == ["temperature", "humidity"]
    assert frame.index.is_monotonic_increasing
    assert frame.index.is_unique
    assert str(pd.DatetimeIndex(frame.index).tz) == "UTC"
    np.testing.assert_array_equal(frame["temperature"], [np.nan, 1.0, 9.0, 3.0, 4.0])
    np.testing.assert_array_equal(frame["humidity"], [51.0, np.nan, 50.0, np.nan, np.nan])
    assert buffer.column("co2") is None
    later = pd.DataFrame({"temperature": [5.0]}, index=[stamps[-1] + pd.Timedelta(days=10)])
    buffer.merge(later)
    assert len(buffer.times) == 1  # only points less than 10 days older than the newest stay


def test_enough_data_needs_two_days_of_temperature() -> None:
    stamps = pd.date_range(START, periods=60, freq="h", tz="UTC")
    assert _enough_data(pd.DataFrame({"temperature": np.ones(60)}, index=stamps))
    assert not _enough_data(pd.DataFrame({"temperature": np.ones(30)}, index=stamps[::2]))
    naive = pd.DataFrame({"temperature": ["20"] * 60}, index=stamps.tz_localize(None))
    assert _enough_data(naive)
    assert not _enough_data(pd.DataFrame({"humidity": np.ones(60)}, index=stamps))


def _farm(
    events: list[dict[str, object]], houses: int = 4, days: int = 6
) -> dict[str, pd.DataFrame]:
    scenario = Scenario.from_dict(
        {
            "name": "tick",
            "farms": 1,
            "houses": houses,
            "seed": 5,
            "start": START.isoformat(),
            "events": events,
        }
    )
    end = START + timedelta(days=days)
    return {
        str(house): frame
        for _, house, frame in iter_house_frames(scenario, START, end, roles=ROLES)
    }


def test_kept_grid_equals_a_fresh_preparation_after_ticks() -> None:
    frames = {str(house): _messy_house(10 + house, days=5.0) for house in range(3)}
    cut = START + timedelta(days=3)
    analyzer = FarmAnalyzer()
    analyzer.fit(FarmHistory({h: f[f.index <= cut] for h, f in frames.items()}))
    before = cut
    for minutes in (5, 10, 15, 20, 45, 50, 180, 185):
        stamp = cut + timedelta(minutes=minutes)
        analyzer.update(
            FarmHistory({h: f[(f.index > before) & (f.index <= stamp)] for h, f in frames.items()})
        )
        before = stamp
    assert analyzer._live is not None
    live = analyzer._live.grid()
    batch = FarmGrid.from_frames({h: prepare(f[f.index <= before]) for h, f in frames.items()})
    rows = 400
    assert live.index[-1] == batch.index[-1]
    for role, table in batch.tables.items():
        expected = table.iloc[-rows:]
        got = live.tables[role].reindex(columns=expected.columns).iloc[-rows:]
        np.testing.assert_array_equal(got.to_numpy(), expected.to_numpy(), err_msg=role)


@pytest.mark.parametrize(
    "event",
    [
        {"kind": "controller_offline", "farm": 1, "house": 2, "at": "108h", "duration": "2h"},
        {"kind": "water_leak", "farm": 1, "house": 3, "at": "102h"},
    ],
)
def test_ticks_equal_the_batch_run_for_link_and_intake_evidence(event: dict[str, object]) -> None:
    frames = _farm([event])
    batch = farm_evidence(frames)
    grid = next(iter(batch.values())).index
    cut = START + timedelta(days=4)
    analyzer = FarmAnalyzer("medium")
    analyzer.fit(FarmHistory({h: f[f.index <= cut] for h, f in frames.items()}))
    before = cut
    stamps = list(pd.date_range(cut + timedelta(minutes=5), grid[-1], freq="55min"))
    subsystems = set()
    for stamp in stamps:
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
            assert result.explanation == expected.explanation
            subsystems.add(result.subsystem)
    assert subsystems - {"none"}  # the fault was seen, so an alarm path was compared


def test_a_tick_derives_signals_on_the_last_rows_only(monkeypatch: pytest.MonkeyPatch) -> None:
    frames = _farm([], houses=3, days=9)
    cut = START + timedelta(days=8)
    analyzer = FarmAnalyzer()
    analyzer.fit(FarmHistory({h: f[f.index <= cut] for h, f in frames.items()}))
    seen: list[int] = []

    def spy(tables: Tables) -> dict[str, pd.DataFrame]:
        seen.append(len(next(iter(tables.values()))))
        return {}

    monkeypatch.setattr(pack_module, "SIGNALS", [*SIGNALS, Signal(lookback=10, derive=spy)])
    new = {
        h: f[(f.index > cut) & (f.index <= cut + timedelta(minutes=5))] for h, f in frames.items()
    }
    assert analyzer.update(FarmHistory(new))
    longest = max(d.lookback for d in SIGNALS)
    evaluated = 1 + TREND_ROWS + TAIL_CONTEXT_ROWS
    assert seen == [evaluated + max(longest, LINK_LOOKBACK, 10)]
