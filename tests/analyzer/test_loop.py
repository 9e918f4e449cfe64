"""The scheduler: each point scored once, refit cadence, new houses, outages and bad houses."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest
from ml_analyzer.config import AnalyzerConfig
from ml_analyzer.ha import HomeAssistantConnectionError
from ml_analyzer.loop import AnalyzerService, Backoff, as_points, house_frame, merge_points
from ml_analyzer.readers import EntityRef, Points, SourceUnavailableError

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
STEP = timedelta(minutes=5)


@dataclass
class FakeResult:
    anomaly: bool = False
    anomaly_score: float = 10.0
    failure_risk: float = 5.0
    subsystem: str = "none"
    explanation: str = "normal"
    signal: str | None = None
    expected: float | None = None
    actual: float | None = None
    since: datetime | None = None
    time_to_failure_hours: float | None = None


@dataclass
class History:
    houses: dict[str, pd.DataFrame]


@dataclass
class FakeAnalyzer:
    """Records what it was given; the score moves 2 points per tick, so every tick publishes."""

    fits: list[dict[str, pd.DataFrame]] = field(default_factory=list)
    updates: list[dict[str, pd.DataFrame]] = field(default_factory=list)
    broken_houses: set[str] = field(default_factory=set)

    def fit(self, history: History) -> None:
        self.fits.append(history.houses)

    def update(self, history: History) -> dict[str, FakeResult]:
        self.updates.append(history.houses)
        if self.broken_houses & set(history.houses):
            raise RuntimeError("detector failure")
        return {
            key: FakeResult(anomaly_score=50 + float(frame["temperature"].iloc[-1]) * 2 / 5)
            for key, frame in history.houses.items()
        }


class FakeHA:
    """Registries of N houses of farm GW1 and a service that can be switched off."""

    def __init__(self, houses: int) -> None:
        self.houses = houses
        self.down = False
        self.loaded = True
        self.calls: list[dict[str, Any]] = []

    async def command(self, command_type: str, **payload: Any) -> Any:
        if self.down:
            raise HomeAssistantConnectionError("HA unreachable at http://ha:8123/api")
        numbers = range(1, self.houses + 1)
        if command_type == "config/device_registry/list":
            return [
                {
                    "id": f"dev{n}",
                    "identifiers": [["rotem_farm", f"GW1_{n}"]],
                    "config_entries": ["e1"],
                }
                for n in numbers
            ]
        if command_type == "config_entries/get":
            return [{"entry_id": "e1", "state": "loaded" if self.loaded else "setup_retry"}]
        if command_type == "config/entity_registry/list":
            return [
                {
                    "entity_id": f"sensor.house_{n}_temperature",
                    "unique_id": f"GW1_{n}_temperature",
                    "platform": "rotem_farm",
                    "device_id": f"dev{n}",
                }
                for n in numbers
            ]
        return [
            {
                "entity_id": f"sensor.house_{n}_temperature",
                "attributes": {"unit_of_measurement": "°C"},
            }
            for n in numbers
        ]

    async def call_service(self, domain: str, service: str, data: Mapping[str, Any]) -> Any:
        if self.down:
            raise HomeAssistantConnectionError("HA unreachable at http://ha:8123/api")
        self.calls.append(dict(data))
        return []


class FakeReader:
    """Points every 5 minutes for every entity, value = minutes since T0; can be switched off."""

    name = "Fake source"

    def __init__(self) -> None:
        self.down = False
        self.reads: list[tuple[datetime, datetime]] = []

    async def read(
        self, entities: Sequence[EntityRef], start: datetime, end: datetime
    ) -> dict[str, pd.Series]:
        if self.down:
            raise SourceUnavailableError("Fake source unreachable")
        self.reads.append((start, end))
        index = pd.date_range(T0 - timedelta(days=30), end, freq=STEP, inclusive="left")
        index = index[index >= pd.Timestamp(start)]
        values = (index - pd.Timestamp(T0)).total_seconds() / 60
        return {e.entity_id: pd.Series(values, index=index, dtype=float) for e in entities}

    async def close(self) -> None:
        return None


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def _service(
    houses: int = 2, **options: Any
) -> tuple[AnalyzerService, FakeHA, FakeReader, Clock, list[FakeAnalyzer]]:
    config = AnalyzerConfig(**options)
    ha, reader, clock = FakeHA(houses), FakeReader(), Clock()
    analyzers: list[FakeAnalyzer] = []

    def factory() -> FakeAnalyzer:
        analyzers.append(FakeAnalyzer())
        return analyzers[-1]

    service = AnalyzerService(
        config,
        ha,
        reader,
        factory,
        History,
        clock=clock,
    )
    return service, ha, reader, clock, analyzers


def _scored_times(analyzer: FakeAnalyzer, key: str) -> list[pd.Timestamp]:
    """Points of the first fit and of every update (a refit re-reads on purpose)."""
    times: list[pd.Timestamp] = []
    for houses in [analyzer.fits[0], *analyzer.updates]:
        if key in houses:
            times.extend(houses[key].index)
    return times


class PointsReader(FakeReader):
    """A reader that offers plain arrays (`read_points`), as the InfluxDB 1.x reader does."""

    async def read(
        self, entities: Sequence[EntityRef], start: datetime, end: datetime
    ) -> dict[str, pd.Series]:
        raise AssertionError("the loop should read points, not series")

    async def read_points(
        self, entities: Sequence[EntityRef], start: datetime, end: datetime
    ) -> dict[str, Points]:
        series = await FakeReader.read(self, entities, start, end)
        return {entity_id: as_points(values) for entity_id, values in series.items()}


async def test_a_reader_with_read_points_gives_the_same_points_as_read() -> None:
    with_series, _, _, clock, by_series = _service()
    with_points, _, _, clock_points, by_points = _service()
    with_points._reader = PointsReader()
    for _ in range(3):
        assert (await with_series.tick()).ok
        assert (await with_points.tick()).ok
        clock.now += STEP
        clock_points.now += STEP
    for fitted, expected in zip(by_points[0].fits, by_series[0].fits, strict=True):
        assert fitted.keys() == expected.keys()
        for key, frame in fitted.items():
            pd.testing.assert_frame_equal(frame, expected[key])
    assert len(by_points[0].updates) == len(by_series[0].updates) == 3
    for updated, expected in zip(by_points[0].updates, by_series[0].updates, strict=True):
        for key, frame in updated.items():
            pd.testing.assert_frame_equal(frame, expected[key])


async def test_first_tick_fits_and_publishes() -> None:
    service, ha, _, _, analyzers = _service()
    result = await service.tick()
    assert result.ok
    assert result.fitted_farms == 1
    assert result.scored_houses == 2
    assert len(ha.calls) == 1
    assert {r["device_id"] for r in ha.calls[0]["reports"]} == {"dev1", "dev2"}
    fit = analyzers[0].fits[0]["GW1_1"]
    assert fit.index[0] >= pd.Timestamp(T0 - timedelta(days=14) - timedelta(seconds=15))
    assert list(fit.columns) == ["temperature"]


async def test_every_point_reaches_the_analyzer_exactly_once() -> None:
    service, _, reader, clock, analyzers = _service(refit_minutes=15)
    for _ in range(8):  # crosses two refits
        assert (await service.tick()).ok
        clock.now += STEP
    times = _scored_times(analyzers[0], "GW1_2")
    assert len(times) == len(set(times))
    assert len(analyzers[0].fits) == 3
    # A refit's window ends where scoring stands, so it never includes unscored points.
    last_scored = max(max(h["GW1_2"].index) for h in analyzers[0].updates[:-1])
    assert max(analyzers[0].fits[-1]["GW1_2"].index) <= last_scored
    # Contiguous: no gap between the first fitted point and the last scored one.
    ordered = sorted(times)
    assert all(b - a == STEP for a, b in itertools.pairwise(ordered))
    # Incremental reads only ask for the new points; refits read nothing (the window is kept).
    assert reader.reads[-1][1] - reader.reads[-1][0] <= STEP
    assert len(reader.reads) == 1 + 8
    refit = analyzers[0].fits[-1]["GW1_2"]
    assert refit.index[-1] - refit.index[0] <= timedelta(days=14)
    assert refit.index[-1] - refit.index[0] >= timedelta(days=14) - 2 * STEP
    kept_times, _ = service.window["sensor.house_2_temperature"]
    assert pd.Timedelta(int(kept_times[-1] - kept_times[0]), "ns") < timedelta(days=14)


async def test_new_house_triggers_a_refit_without_restart() -> None:
    service, ha, reader, clock, analyzers = _service(houses=1)
    await service.tick()
    ha.houses = 2
    clock.now += STEP
    result = await service.tick()
    assert result.fitted_farms == 1
    assert len(analyzers) == 2  # a fresh analyzer for the new set of houses
    assert "GW1_2" in analyzers[1].fits[0]
    assert len(analyzers[1].fits[0]["GW1_1"]) == len(analyzers[1].fits[0]["GW1_2"])
    # Only the new house's entities were read over the whole window.
    assert reader.reads[2][1] - reader.reads[2][0] > timedelta(days=13)
    assert {r["device_id"] for r in ha.calls[-1]["reports"]} == {"dev1", "dev2"}


async def test_source_outage_logs_once_keeps_cursor_and_recovers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    service, _, reader, clock, analyzers = _service()
    await service.tick()
    reader.down = True
    for _ in range(3):
        clock.now += STEP
        assert not (await service.tick()).ok
    reader.down = False
    clock.now += STEP
    assert (await service.tick()).ok
    messages = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    assert sum("Fake source unavailable" in m for m in messages) == 1
    assert sum("Fake source available again" in m for m in messages) == 1
    # The points of the outage are scored after it, none skipped and none twice.
    times = sorted(_scored_times(analyzers[0], "GW1_1"))
    assert len(times) == len(set(times))
    assert all(b - a == STEP for a, b in itertools.pairwise(times))


async def test_results_kept_while_ha_is_down_and_sent_on_recovery(
    caplog: pytest.LogCaptureFixture,
) -> None:
    service, ha, _reader, clock, _ = _service()
    await service.tick()
    calls = len(ha.calls)
    ha.down = True
    clock.now += STEP
    assert not (await service.tick()).ok
    ha.down = False
    result = await service.tick()  # a retry seconds later: no new points, the kept results go
    assert result.ok
    assert len(ha.calls) == calls + 1
    assert {r["device_id"] for r in ha.calls[-1]["reports"]} == {"dev1", "dev2"}
    messages = [r.getMessage() for r in caplog.records]
    assert sum("Home Assistant unavailable" in m for m in messages) == 1
    assert sum("Home Assistant available again" in m for m in messages) == 1


async def test_one_bad_house_does_not_stop_the_others() -> None:
    service, ha, _, clock, analyzers = _service()
    await service.tick()
    analyzers[0].broken_houses = {"GW1_1"}
    clock.now += STEP
    result = await service.tick()
    assert result.scored_houses == 1
    assert [r["device_id"] for r in ha.calls[-1]["reports"]] == ["dev2"]


async def test_no_result_means_nothing_published() -> None:
    service, ha, _, _, _ = _service()
    service._analyzer_factory = _Silent
    result = await service.tick()
    assert result.ok
    assert result.scored_houses == 0
    assert ha.calls == []


class _Silent:
    def fit(self, history: Any) -> None:
        return None

    def update(self, history: Any) -> dict[str, Any]:
        return {}


async def test_non_finite_score_is_not_published() -> None:
    service, ha, _, _, _ = _service(houses=1)

    class NaNAnalyzer(_Silent):
        def update(self, history: Any) -> dict[str, Any]:
            return {"GW1_1": FakeResult(anomaly_score=float("nan"))}

    service._analyzer_factory = NaNAnalyzer
    await service.tick()
    assert ha.calls == []


def test_backoff_doubles_up_to_the_interval() -> None:
    backoff = Backoff(5, 60)
    assert [backoff.next_delay() for _ in range(6)] == [5, 10, 20, 40, 60, 60]
    backoff.reset()
    assert backoff.next_delay() == 5


def test_house_frame_keeps_gaps_and_the_window() -> None:
    from ml_analyzer.discovery import House

    house = House(
        key="GW1_1",
        farm_id="GW1",
        house_number=1,
        device_id="d",
        name="House 1",
        signals={"temperature": EntityRef("sensor.t"), "humidity": EntityRef("sensor.h")},
    )
    index = pd.DatetimeIndex([T0, T0 + STEP, T0 + 3 * STEP], tz="UTC")
    series = {
        "sensor.t": as_points(pd.Series([1.0, 2.0, 3.0], index=index)),
        "sensor.h": as_points(pd.Series([50.0], index=index[1:2])),
    }
    frame = house_frame(house, series, T0 + STEP, T0 + 4 * STEP)
    assert frame is not None
    assert list(frame.index) == list(index[1:])  # no filled row at T0 + 2 steps
    assert isinstance(frame.index, pd.DatetimeIndex)
    assert str(frame.index.tz) == "UTC"
    assert frame["temperature"].tolist() == [2.0, 3.0]
    assert frame["humidity"].isna().tolist() == [False, True]
    assert house_frame(house, series, T0 + 5 * STEP, T0 + 6 * STEP) is None


def test_merge_points_sorts_and_lets_the_re_read_point_win() -> None:
    old = (np.array([1, 2, 3], dtype=np.int64), np.array([1.0, 2.0, 3.0]))
    new = (np.array([3, 4], dtype=np.int64), np.array([30.0, 4.0]))
    times, values = merge_points(old, new)
    assert times.tolist() == [1, 2, 3, 4]
    assert values.tolist() == [1.0, 2.0, 30.0, 4.0]
    assert merge_points(None, new) is new
    empty = (np.array([], dtype=np.int64), np.array([]))
    assert merge_points(old, empty) is old


def _updated_times(analyzer: FakeAnalyzer, key: str) -> list[pd.Timestamp]:
    return [t for houses in analyzer.updates if key in houses for t in houses[key].index]


async def test_clock_step_back_never_re_feeds_scored_points() -> None:
    service, _, _, clock, analyzers = _service()
    for _ in range(4):
        assert (await service.tick()).ok
        clock.now += STEP
    cursor = service.farms["GW1"].cursor
    clock.now -= timedelta(hours=1)  # NTP corrects a clock that ran an hour fast
    for _ in range(16):
        assert (await service.tick()).ok
        assert service.farms["GW1"].cursor >= cursor  # the cursor never moves back
        cursor = service.farms["GW1"].cursor
        clock.now += STEP
    times = _updated_times(analyzers[0], "GW1_1")
    assert len(times) == len(set(times))  # nothing scored twice
    ordered = sorted(times)
    assert all(b - a == STEP for a, b in itertools.pairwise(ordered))  # and nothing skipped
    assert ordered[-1] > pd.Timestamp(T0 + 2 * STEP)


async def test_clock_jump_forward_reads_the_whole_interval() -> None:
    service, _, reader, clock, analyzers = _service(refit_minutes=24 * 60)
    for _ in range(2):
        assert (await service.tick()).ok
        clock.now += STEP
    before = service.farms["GW1"].cursor
    clock.now += timedelta(hours=6)  # a host that slept, or a clock set forward
    assert (await service.tick()).ok
    assert reader.reads[-1][0] == before  # the read starts where scoring stood
    times = sorted(_updated_times(analyzers[0], "GW1_2"))
    assert all(b - a == STEP for a, b in itertools.pairwise(times))  # no skipped interval
    assert times[-1] >= pd.Timestamp(clock.now - timedelta(minutes=6))
