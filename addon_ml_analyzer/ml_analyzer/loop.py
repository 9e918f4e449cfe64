"""The analyzer's scheduler: discover, (re)fit, score new points, publish — and survive outages.

Every tick (default 5 minutes) discovers the houses, reads only the points that arrived since
the previous tick and hands them to each farm's analyzer; on a slower cadence (default hourly),
and whenever a farm's set of houses changes, the farm's analyzer is refitted on a long window
(default 14 days). Each point reaches `update` exactly once: a farm keeps a cursor, the refit
window ends at that cursor, and a new farm is fitted up to one interval ago so its first results
come on the very first tick.

Failure policy: an unreachable data source or HA makes the tick fail; the loop retries with
exponential back-off, logs one line when an outage starts and one when it ends, and keeps the
results that could not be delivered (publishing has its own outage, so a REST-only failure or
an integration that is not loaded yet is one line too, and the kept results go in the next
tick's single call). Cursors only move after a successful read, so no point is
skipped. A farm or house whose detector raises is logged and skipped; the others go on. Houses
without enough data get no result, and nothing is published for them: their entities stay
unknown instead of showing a made-up value.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import numpy as np
import pandas as pd

from ml_analyzer.config import AnalyzerConfig
from ml_analyzer.discovery import House, Inventory, discover
from ml_analyzer.ha import (
    HomeAssistantAuthError,
    HomeAssistantCommandError,
    HomeAssistantConnectionError,
)
from ml_analyzer.publisher import InvalidResultError, Publisher, build_report
from ml_analyzer.readers import (
    EntityRef,
    Points,
    Reader,
    SourceQueryError,
    SourceUnavailableError,
)

_LOGGER = logging.getLogger(__name__)

BACKOFF_INITIAL = 5.0
# Points younger than this may still be on their way into the source (HA batches its InfluxDB
# writes; the recorder compiles 5-minute statistics a few seconds after each period).
SETTLE_SECONDS = {"Home Assistant recorder": 60.0}
DEFAULT_SETTLE_SECONDS = 15.0
HEALTH_SLACK_SECONDS = 600.0
# How much history the detectors need before a house's first verdict (detectors.MIN_SPAN; a
# test keeps the two equal). Only used to tell the user when to expect it.
FIRST_VERDICT_AFTER = timedelta(days=2)


def _days(span: timedelta) -> str:
    return f"{span / timedelta(days=1):g} days"


HA_ERRORS = (HomeAssistantConnectionError, HomeAssistantAuthError)
SOURCE_ERRORS = (SourceUnavailableError, SourceQueryError, *HA_ERRORS, HomeAssistantCommandError)


class HomeAssistantAPI(Protocol):
    """What the loop needs of HA (`ha.HomeAssistantClient`): websocket commands, service calls."""

    async def command(self, command_type: str, **payload: Any) -> Any:
        """Send one websocket command and return its result."""

    async def call_service(self, domain: str, service: str, data: Mapping[str, Any]) -> Any:
        """Call one HA service over REST."""


class Analyzer(Protocol):
    """What the loop needs of a farm analyzer (docs/CONTRACTS.md §5, FarmAnalyzer)."""

    def fit(self, history: Any) -> None:
        """Learn the farm's normal behaviour from a long window."""

    def update(self, history: Any) -> Mapping[str, Any]:
        """Score new points; return a HouseResult per house that has enough data."""


AnalyzerFactory = Callable[[], Analyzer]
HistoryFactory = Callable[[dict[str, pd.DataFrame]], Any]


class Outage:
    """One log line when a dependency goes away and one when it is back."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.since: float | None = None

    @property
    def active(self) -> bool:
        """Whether an outage is going on."""
        return self.since is not None

    def failed(self, error: Exception | str) -> None:
        """Record a failure; only the first of an outage is logged."""
        if self.since is None:
            self.since = time.monotonic()
            _LOGGER.warning("%s unavailable, retrying with back-off: %s", self.name, error)

    def recovered(self) -> None:
        """Record a success; logs the end of an outage."""
        if self.since is not None:
            _LOGGER.info(
                "%s available again after %.0f s", self.name, time.monotonic() - self.since
            )
            self.since = None


class Backoff:
    """Exponential delays between retries, capped at the tick interval."""

    def __init__(self, initial: float, maximum: float) -> None:
        self._initial = initial
        self._maximum = maximum
        self._failures = 0

    def next_delay(self) -> float:
        """The delay before the next retry (doubles per consecutive failure)."""
        delay = min(self._maximum, self._initial * 2.0**self._failures)
        self._failures += 1
        return delay

    def reset(self) -> None:
        """Called after a success."""
        self._failures = 0


@dataclass
class FarmState:
    """A farm's fitted analyzer and how far its points have been consumed."""

    analyzer: Analyzer
    houses: frozenset[str]
    cursor: datetime
    fitted_at: datetime


@dataclass
class TickResult:
    """What one tick did (logged, returned by `--once`, asserted by tests)."""

    ok: bool = True
    houses: int = 0
    fitted_farms: int = 0
    scored_houses: int = 0
    published: int = 0
    errors: list[str] = field(default_factory=list)


def as_points(series: pd.Series) -> Points:
    """A reader's series as plain arrays (what the window keeps and frames are built from)."""
    index = series.index
    if not isinstance(index, pd.DatetimeIndex):
        index = pd.DatetimeIndex(index)
    if index.unit != "ns":
        index = index.as_unit("ns")
    return index.asi8, series.to_numpy(dtype=np.float64)


def merge_points(old: Points | None, new: Points) -> Points:
    """Old and new points of one entity, sorted and unique (a re-read point wins)."""
    if old is None or not len(old[0]):
        return new
    if not len(new[0]):
        return old
    times = np.concatenate([old[0], new[0]])
    values = np.concatenate([old[1], new[1]])
    if new[0][0] > old[0][-1]:
        return times, values
    order = np.argsort(times, kind="stable")
    times, values = times[order], values[order]
    last = np.append(times[1:] != times[:-1], True)
    return times[last], values[last]


def _epoch_ns(moment: datetime) -> int:
    return int(pd.Timestamp(moment).value)


def house_frame(
    house: House, points: Mapping[str, Points], start: datetime, end: datetime
) -> pd.DataFrame | None:
    """The house's points in [start, end) as one frame, a column per role, or None if empty.

    Rows are the union of the signals' timestamps; a signal without a point at a row is NaN
    there (never filled). Built with numpy: a tick builds hundreds of these frames.
    """
    low, high = _epoch_ns(start), _epoch_ns(end)
    columns: dict[str, Points] = {}
    for role, entity in house.signals.items():
        found = points.get(entity.entity_id)
        if found is None:
            continue
        times, values = found
        first, last = np.searchsorted(times, [low, high], side="left")
        if last > first:
            columns[role] = (times[first:last], values[first:last])
    if not columns:
        return None
    stamps = [times for times, _ in columns.values()]
    if all(len(times) == len(stamps[0]) for times in stamps) and all(
        np.array_equal(times, stamps[0]) for times in stamps[1:]
    ):
        index = stamps[0]
    else:
        index = np.unique(np.concatenate(stamps))
    data = np.full((len(index), len(columns)), np.nan)
    for position, (times, values) in enumerate(columns.values()):
        data[np.searchsorted(index, times), position] = values
    timestamps = pd.DatetimeIndex(index.view("M8[ns]"), name="timestamp").tz_localize("UTC")
    return pd.DataFrame(data, index=timestamps, columns=list(columns))


def _utcnow() -> datetime:
    return datetime.now(UTC)


class AnalyzerService:
    """Runs ticks against one HA instance and one data source."""

    def __init__(
        self,
        config: AnalyzerConfig,
        ha: HomeAssistantAPI,
        reader: Reader,
        analyzer_factory: AnalyzerFactory,
        history_factory: HistoryFactory,
        *,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self._config = config
        self._ha = ha
        self._reader = reader
        self._analyzer_factory = analyzer_factory
        self._history_factory = history_factory
        self._clock = clock
        self._interval = timedelta(seconds=config.interval_seconds)
        self._refit = timedelta(minutes=config.refit_minutes)
        self._window = timedelta(days=config.history_days)
        self._settle = timedelta(seconds=SETTLE_SECONDS.get(reader.name, DEFAULT_SETTLE_SECONDS))
        self.publisher = Publisher(ha, config.interval_seconds, config.publish_every)
        self.ha_outage = Outage("Home Assistant")
        # Publishing has its own outage: HA's REST side may fail (or the integration may not be
        # loaded) while its websocket answers, and that must be one line, not one per tick.
        self.publish_outage = Outage("Home Assistant's rotem_farm.report_analysis")
        # Houses whose farm the integration has not loaded (yet): one line, and one when done.
        self.unloaded = Outage("Reporting to Home Assistant")
        self.source_outage = Outage(reader.name)
        self.no_houses_told = False
        self.waiting_told: set[str] = set()
        self.inventory: Inventory | None = None
        self.farms: dict[str, FarmState] = {}
        self.fit_failed: dict[str, datetime] = {}
        # The last `history_days` of every entity, kept up to date by the incremental reads, so
        # a refit costs no read; `windowed` are the entities whose whole window has been read.
        self.window: dict[str, Points] = {}
        self.windowed: set[str] = set()
        self.unpublished: dict[str, dict[str, Any]] = {}
        self.ticks = 0
        # The failure of the current run of unexpectedly failing ticks (None while they work).
        self.crash: str | None = None
        # When the loop last finished a tick, failed or not (the watchdog's health check).
        self.alive_at = time.monotonic()

    async def _discover(self, result: TickResult) -> Inventory | None:
        try:
            inventory = await discover(self._ha)
        except (*HA_ERRORS, HomeAssistantCommandError) as err:
            self.ha_outage.failed(err)
            result.ok = False
            result.errors.append(str(err))
            return self.inventory
        self.ha_outage.recovered()
        if not inventory.houses:
            if not self.no_houses_told:
                _LOGGER.warning(
                    "No Rotem Farm house found in Home Assistant. Install the Rotem Farm "
                    "integration and add a farm (Settings > Devices & services > Add "
                    "integration > Rotem Farm); houses are picked up every %d s, no restart "
                    "needed",
                    self._config.interval_seconds,
                )
                self.no_houses_told = True
        elif self.inventory is None or set(self.inventory.houses) != set(inventory.houses):
            self.no_houses_told = False
            _LOGGER.info(
                "Analyzing %d houses of %d farms from %s",
                len(inventory.houses),
                len(inventory.farms()),
                self._reader.name,
            )
        self.inventory = inventory
        return inventory

    async def _read(
        self, entities: Sequence[EntityRef], start: datetime, end: datetime, result: TickResult
    ) -> dict[str, Points] | None:
        """Points of the entities, or None when the source failed (the outage is recorded).

        A reader's `read_points` is preferred to `read` (Reader): no pandas series per entity.
        """
        if not entities:
            return {}
        read_points = getattr(self._reader, "read_points", None)
        try:
            if read_points is not None:
                points: dict[str, Points] = await read_points(entities, start, end)
            else:
                series = await self._reader.read(entities, start, end)
                points = {entity_id: as_points(found) for entity_id, found in series.items()}
        except SOURCE_ERRORS as err:
            self.source_outage.failed(err)
            result.ok = False
            result.errors.append(str(err))
            return None
        self.source_outage.recovered()
        return points

    def _history(
        self,
        houses: Sequence[House],
        series: Mapping[str, Points],
        start: datetime,
        end: datetime,
    ) -> dict[str, pd.DataFrame]:
        frames = {}
        for house in houses:
            frame = house_frame(house, series, start, end)
            if frame is not None:
                frames[house.key] = frame
        return frames

    async def _fit(
        self, farms: dict[str, list[House]], now: datetime, end: datetime, result: TickResult
    ) -> bool:
        """Fit new farms, farms whose houses changed and farms whose refit is due."""
        due: dict[str, datetime] = {}
        for farm_id, houses in farms.items():
            state = self.farms.get(farm_id)
            keys = frozenset(house.key for house in houses)
            failed_at = self.fit_failed.get(farm_id)
            if state is None and failed_at is not None and now - failed_at < self._refit:
                continue
            if state is None or state.houses != keys:
                due[farm_id] = state.cursor if state is not None else end - self._interval
            elif now - state.fitted_at >= self._refit:
                due[farm_id] = state.cursor
        if not due:
            return True
        start = end - self._window
        missing = [
            entity
            for farm_id in due
            for house in farms[farm_id]
            for entity in house.signals.values()
            if entity.entity_id not in self.windowed
        ]
        if missing:
            read = await self._read(missing, start, max(due.values()), result)
            if read is None:
                return False
            self._remember(read, start)
            self.windowed.update(entity.entity_id for entity in missing)
        for farm_id, fit_end in due.items():
            history = self._history(farms[farm_id], self.window, start, fit_end)
            state = self.farms.get(farm_id)
            keys = frozenset(house.key for house in farms[farm_id])
            analyzer = (
                state.analyzer
                if state is not None and state.houses == keys
                else self._analyzer_factory()
            )
            try:
                await asyncio.to_thread(analyzer.fit, self._history_factory(history))
            except Exception as err:
                _LOGGER.exception("Fitting farm %s failed; its houses are skipped", farm_id)
                result.errors.append(f"fit {farm_id}: {err}")
                self.farms.pop(farm_id, None)
                self.fit_failed[farm_id] = now
                continue
            self.fit_failed.pop(farm_id, None)
            self.farms[farm_id] = FarmState(analyzer, keys, fit_end, now)
            result.fitted_farms += 1
        return True

    def _remember(self, points: Mapping[str, Points], keep_from: datetime) -> None:
        """Add freshly read points to the window and forget those older than `keep_from`."""
        oldest = _epoch_ns(keep_from)
        for entity_id, new in points.items():
            times, values = merge_points(self.window.get(entity_id), new)
            first = int(np.searchsorted(times, oldest, side="left"))
            self.window[entity_id] = (times[first:], values[first:])

    def _forget(self, inventory: Inventory) -> None:
        """Drop the window of entities that are no longer analyzed."""
        known = {entity.entity_id for entity in inventory.entities()}
        for entity_id in set(self.window) - known:
            del self.window[entity_id]
        self.windowed &= known

    async def _update_farm(
        self, farm_id: str, frames: dict[str, pd.DataFrame], result: TickResult
    ) -> dict[str, Any]:
        """Results of one farm; if the farm fails as a whole, each house is tried alone."""
        analyzer = self.farms[farm_id].analyzer
        try:
            return dict(await asyncio.to_thread(analyzer.update, self._history_factory(frames)))
        except Exception:
            if len(frames) == 1:
                _LOGGER.exception("Scoring house %s failed", next(iter(frames)))
                result.errors.append(f"update {next(iter(frames))}")
                return {}
            _LOGGER.warning("Scoring farm %s failed; scoring its houses one by one", farm_id)
        results: dict[str, Any] = {}
        for key, frame in frames.items():
            try:
                single = await asyncio.to_thread(
                    analyzer.update, self._history_factory({key: frame})
                )
            except Exception:
                _LOGGER.exception("Scoring house %s failed", key)
                result.errors.append(f"update {key}")
                continue
            results.update(single)
        return results

    async def _update(
        self, farms: dict[str, list[House]], end: datetime, result: TickResult
    ) -> dict[str, dict[str, Any]] | None:
        """Score the points since each farm's cursor; reports by device id."""
        # A farm whose cursor is at or past `end` waits: the host clock stepped back (NTP, a
        # restored VM). Its cursor never moves back, so no scored point is fed again; a step
        # forward needs nothing special: the read spans cursor..end, however long.
        fitted = [
            farm_id
            for farm_id in farms
            if farm_id in self.farms and self.farms[farm_id].cursor < end
        ]
        if not fitted:
            return {}
        start = min(self.farms[farm_id].cursor for farm_id in fitted)
        entities = [
            entity
            for farm_id in fitted
            for house in farms[farm_id]
            for entity in house.signals.values()
        ]
        points = await self._read(entities, start, end, result)
        if points is None:
            return None
        self._remember(points, end - self._window)
        reports: dict[str, dict[str, Any]] = {}
        for farm_id in fitted:
            state = self.farms[farm_id]
            by_key = {house.key: house for house in farms[farm_id]}
            frames = self._history(farms[farm_id], points, state.cursor, end)
            state.cursor = end
            if not frames:
                continue
            for key, house_result in (await self._update_farm(farm_id, frames, result)).items():
                house = by_key.get(key)
                if house is None or house_result is None:
                    continue
                try:
                    reports[house.device_id] = build_report(house.device_id, house_result)
                except (InvalidResultError, TypeError, ValueError) as err:
                    _LOGGER.warning("Result of house %s not published: %s", key, err)
                    continue
                result.scored_houses += 1
        return reports

    async def tick(self) -> TickResult:
        """One cycle: discover, fit what is due, score new points, publish."""
        self.ticks += 1
        result = TickResult()
        now = self._clock()
        end = now - self._settle
        inventory = await self._discover(result)
        if inventory is None:
            return result
        result.houses = len(inventory.houses)
        farms = inventory.farms()
        for farm_id in set(self.farms) - set(farms):
            del self.farms[farm_id]
        self._forget(inventory)
        self.publisher.forget({house.device_id for house in inventory.houses.values()})
        if not await self._fit(farms, now, end, result):
            return result
        reports = await self._update(farms, end, result)
        if reports is None:
            return result
        self._tell_waiting(inventory, reports, end)
        await self._publish(inventory, reports, result)
        return result

    async def _publish(
        self, inventory: Inventory, reports: dict[str, dict[str, Any]], result: TickResult
    ) -> None:
        """Send this tick's and the kept results in one call; keep them if HA cannot take them.

        Only houses of farms the integration has loaded are sent (the service refuses the whole
        call for any other); the rest wait. HA refusing or failing the call is one outage, one
        log line, whatever the number of houses and ticks it lasts.
        """
        loaded = {house.device_id for house in inventory.houses.values() if house.loaded}
        known = {house.device_id for house in inventory.houses.values()}
        pending = {d: r for d, r in self.unpublished.items() if d in known} | reports
        ready = {d: r for d, r in pending.items() if d in loaded}
        self.unpublished = {d: r for d, r in pending.items() if d not in loaded}
        if self.unpublished:
            self.unloaded.failed(
                f"the Rotem Farm integration has not loaded the farm of {len(self.unpublished)} "
                "analyzed houses (Home Assistant starting, or the farm failed to set up); their "
                "results are kept and sent once it is loaded"
            )
        else:
            self.unloaded.recovered()
        if not ready:
            return
        try:
            result.published = await self.publisher.publish(ready, self.ticks)
        except HA_ERRORS as err:
            outage = self.ha_outage if self.ha_outage.active else self.publish_outage
            outage.failed(err)
        except HomeAssistantCommandError as err:
            hint = (
                " (the service is not registered yet: Home Assistant is starting or the Rotem "
                "Farm integration is not loaded)"
                if err.status == 400
                else ""
            )
            self.publish_outage.failed(f"{err}{hint}; results are kept and sent with the next call")
        else:
            self.publish_outage.recovered()
            return
        self.unpublished = pending
        result.ok = False
        result.errors.append("publishing failed")

    def _tell_waiting(
        self, inventory: Inventory, reports: Mapping[str, Any], end: datetime
    ) -> None:
        """Say once which houses wait for history, and when their first verdict is expected."""
        waiting: dict[str, datetime | None] = {}
        for house in inventory.houses.values():
            if house.device_id in reports or house.device_id in self.publisher_known():
                self.waiting_told.discard(house.key)
                continue
            if house.farm_id not in self.farms or house.key in self.waiting_told:
                continue
            firsts = [
                self.window[entity.entity_id][0][0]
                for entity in house.signals.values()
                if entity.entity_id in self.window and len(self.window[entity.entity_id][0])
            ]
            waiting[house.key] = (
                pd.Timestamp(int(min(firsts)), tz="UTC").to_pydatetime() + FIRST_VERDICT_AFTER
                if firsts
                else None
            )
        if not waiting:
            return
        self.waiting_told.update(waiting)
        expected = [moment for moment in waiting.values() if moment is not None]
        if expected:
            _LOGGER.info(
                "Waiting for history: %d houses (%s) have less than %s of data; the first "
                "verdict is expected around %s UTC",
                len(waiting),
                ", ".join(sorted(waiting)),
                _days(FIRST_VERDICT_AFTER),
                max(*expected, end).strftime("%Y-%m-%d %H:%M"),
            )
        else:
            _LOGGER.info(
                "Waiting for history: %s has no data in %s yet; the first verdict comes %s after "
                "its first recorded values",
                ", ".join(sorted(waiting)),
                self._reader.name,
                _days(FIRST_VERDICT_AFTER),
            )

    def publisher_known(self) -> set[str]:
        """Devices that already got a verdict (sent, or waiting to be sent)."""
        return self.publisher.sent_devices() | set(self.unpublished)

    def healthy(self, slack: float = HEALTH_SLACK_SECONDS) -> bool:
        """Whether the loop is turning: a tick finished (or failed) within two intervals plus
        `slack` (a first fit on weeks of data may take minutes). A hung read or a blocked loop
        turns this false, and the Supervisor's watchdog restarts the add-on."""
        limit = 2 * self._config.interval_seconds + slack
        return time.monotonic() - self.alive_at < limit

    def _crashed(self, error: Exception) -> TickResult:
        """A tick that raised what no step expects (a bug, a source's answer we did not foresee).

        The service must outlive it: logged once with its traceback (not on every retry of the
        same failure), then retried with back-off. Nothing is published while ticks fail, so
        the integration marks every house's analysis unavailable once its last report is three
        report intervals old (CONTRACTS §4): a stale verdict is never shown as current.
        """
        signature = f"{type(error).__name__}: {error}"
        if self.crash != signature:
            self.crash = signature
            _LOGGER.exception(
                "Analysis cycle %d failed unexpectedly; retrying with back-off. Until a cycle "
                "succeeds nothing is published and the houses' analysis goes unavailable",
                self.ticks,
            )
        else:
            _LOGGER.debug("Analysis cycle %d failed again: %s", self.ticks, error)
        return TickResult(ok=False, errors=[signature])

    async def run(self, *, once: bool = False) -> TickResult:
        """Tick forever (or once); failures retry with back-off instead of waiting a full tick."""
        backoff = Backoff(BACKOFF_INITIAL, float(self._config.interval_seconds))
        while True:
            started = time.monotonic()
            try:
                result = await self.tick()
            except Exception as err:
                result = self._crashed(err)
            else:
                if self.crash is not None:
                    _LOGGER.info("Analysis cycles run again after an unexpected failure")
                    self.crash = None
            self.alive_at = time.monotonic()
            _LOGGER.debug("Tick %d: %s", self.ticks, result)
            if once:
                return result
            if result.ok:
                backoff.reset()
                delay = self._config.interval_seconds - (time.monotonic() - started)
            else:
                delay = backoff.next_delay()
            await asyncio.sleep(max(0.0, delay))
