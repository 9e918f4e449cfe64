"""What the integration costs inside Home Assistant, against the simulator in its own process.

Starts ``python -m simulator --port 0`` as a separate process (so its answering costs nothing
here), sets up a Home Assistant test instance (pytest-homeassistant-custom-component's harness,
no pytest) with one Rotem config entry per simulated farm, then polls every farm's coordinator
together, twelve times. The simulator runs at 300x, and cycles start at least one real second
apart, so each poll sees at least five new simulated minutes (values change as in real life).

Prints one figure per line: entities created, requests per poll, CPU time per poll cycle of all
farms on the event-loop thread (``time.thread_time`` on the loop thread around the refresh and
the state writes it causes: everything that blocks the loop, whoever scheduled it) and on the
other threads (the executor: ``time.process_time`` minus the loop thread's share), and memory
growth over polls (tracemalloc).

Then where the loop time goes, each measured on its own cycles so one instrument does not slow
another down: the HTTP exchanges alone (every farm's ``get_site`` together, parsing off the loop
as in a poll), the coordinators' listeners (telling the entities and the state writes), what
telling costs when nothing changed (so the rest is the writes: CPU per state write), the longest
uninterrupted run of the loop thread (every asyncio callback timed; a real Home Assistant polls
each farm on its own timer, so this is what blocks the loop at once), and one farm polled alone.

Last, the floor: what the same cycle costs the loop with nothing of this integration in it.
The same fifty requests from a bare aiohttp session (same headers and cookie, body read, not
parsed), and as many state writes as a cycle makes, from plain ``SensorEntity`` objects (a
temperature with unit, state class and precision, value changed before each write) in the same
Home Assistant instance, with one state-change listener as during the measured cycles. The
difference between a cycle and this floor is what the integration itself adds.

    .venv/bin/python bench/ha_poll.py            # 1 farm x 8 houses and 50 farms x 8 houses
    .venv/bin/python bench/ha_poll.py --farms 5
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import logging
import os
import statistics
import subprocess
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from unittest.mock import patch

import aiohttp
from aiohttp import ThreadedResolver

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from homeassistant import loader
from homeassistant.components.sensor import (
    DATA_COMPONENT as SENSOR_COMPONENT,
)
from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorStateClass,
)
from homeassistant.const import EVENT_STATE_CHANGED, UnitOfTemperature
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers import aiohttp_client, frame
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_test_home_assistant,
)

from custom_components.rotem_farm.const import DOMAIN
from custom_components.rotem_farm.coordinator import RotemFarmCoordinator
from custom_components.rotem_farm.rotemnet import client as rotem_client

ROOT = Path(__file__).resolve().parents[1]
START = "2026-11-23T06:00:00Z"
SPEED = 300.0  # simulated seconds per real second: 5 simulated minutes per real second
CYCLE_SECONDS = 1.0  # cycles start at least this far apart (one simulated poll interval)
POLLS = 12
WARMUP_POLLS = 3
MEMORY_POLLS = 6
BREAKDOWN_POLLS = 4
SLICE_REPORTED = 0.010  # seconds: uninterrupted loop runs longer than this are counted
HOUSES = 8


def figure(name: str, value: float, unit: str) -> None:
    """One ``name: value unit`` line."""
    text = f"{value:.3f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)
    print(f"{name}: {text} {unit}".rstrip())


@contextlib.contextmanager
def simulator(farms: int) -> Iterator[str]:
    """Run the simulator in its own process; yield its base URL, stop it on exit."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "simulator",
            "--port",
            "0",
            "--farms",
            str(farms),
            "--houses",
            str(HOUSES),
            "--seed",
            "1",
            "--speed",
            str(SPEED),
            "--start",
            START,
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.startswith("simulator listening on "):
            raise RuntimeError(f"simulator did not start: {line!r}")
        yield line.split()[3]
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def _sim_get(base_url: str, path: str, *, post: bool = False) -> dict[str, object]:
    async with aiohttp.ClientSession() as session:
        method = session.post if post else session.get
        async with method(base_url + path) as response:
            result: dict[str, object] = await response.json()
            return result


async def _setup_farms(
    hass: HomeAssistant, farms: int, base_url: str
) -> list[RotemFarmCoordinator]:
    coordinators: list[RotemFarmCoordinator] = []
    for number in range(1, farms + 1):
        entry = MockConfigEntry(
            domain=DOMAIN,
            title=f"Farm {number}",
            unique_id=f"bench-farm-{number}",
            data={
                "farm_kind": "rotem",
                "username": f"farm{number}",
                "password": "demo",
                "base_url": base_url,
                "api_style": "legacy",
            },
        )
        entry.add_to_hass(hass)
        if not await hass.config_entries.async_setup(entry.entry_id):
            raise RuntimeError(f"farm {number} did not set up")
        await hass.async_block_till_done()
        coordinator = entry.runtime_data.coordinator
        assert coordinator is not None
        coordinators.append(coordinator)
    return coordinators


@dataclass(frozen=True, slots=True)
class CycleCost:
    """CPU seconds one poll cycle took on the event-loop thread and on every other thread.

    ``listeners`` is the loop's share spent in the coordinators' listeners (telling entities,
    writing states), when :func:`_time_listeners` instruments them.
    """

    loop: float
    other: float
    listeners: float = 0.0


class ListenerClock:
    """Loop CPU spent in the coordinators' ``async_update_listeners`` (entities and writes).

    Wraps each coordinator's method on the instance; two ``thread_time`` calls per farm and
    poll, so the instrument costs nothing measurable.
    """

    def __init__(self, coordinators: list[RotemFarmCoordinator]) -> None:
        """Instrument every coordinator."""
        self.spent = 0.0
        for coordinator in coordinators:
            coordinator.async_update_listeners = self._timed(  # type: ignore[method-assign]
                coordinator.async_update_listeners
            )

    def _timed(self, update_listeners: Callable[[], None]) -> Callable[[], None]:
        @callback
        def timed() -> None:
            started = time.thread_time()
            try:
                update_listeners()
            finally:
                self.spent += time.thread_time() - started

        return timed

    def take(self) -> float:
        """Seconds spent since the last call."""
        spent, self.spent = self.spent, 0.0
        return spent


@contextlib.contextmanager
def loop_gc() -> Iterator[list[float]]:
    """CPU seconds of each garbage collection the loop thread runs meanwhile.

    Python's cyclic collector runs on whichever thread crosses its allocation threshold, and
    a collection walks every young object of the process, whoever made it.
    """
    pauses: list[float] = []
    loop_thread = threading.get_ident()
    started = 0.0

    def timed(phase: str, _info: dict[str, int]) -> None:
        nonlocal started
        if threading.get_ident() != loop_thread:
            return
        if phase == "start":
            started = time.thread_time()
        else:
            pauses.append(time.thread_time() - started)

    gc.callbacks.append(timed)
    try:
        yield pauses
    finally:
        gc.callbacks.remove(timed)


@contextlib.contextmanager
def loop_slices(gc_pauses: list[float]) -> Iterator[list[tuple[float, float]]]:
    """Time every asyncio callback on this thread (each uninterrupted run of the loop).

    Patches ``asyncio.events.Handle._run`` (task steps, timers and I/O callbacks all run
    through it) for the duration; yields the list each run's CPU seconds go to, with the part
    of it the garbage collections of ``gc_pauses`` (see :func:`loop_gc`) took.
    """
    slices: list[tuple[float, float]] = []
    original = asyncio.events.Handle._run

    def timed_run(handle: asyncio.events.Handle) -> None:
        collections = len(gc_pauses)
        started = time.thread_time()
        original(handle)
        slices.append((time.thread_time() - started, sum(gc_pauses[collections:])))

    asyncio.events.Handle._run = timed_run  # type: ignore[method-assign,assignment]
    try:
        yield slices
    finally:
        asyncio.events.Handle._run = original  # type: ignore[method-assign]


async def _poll_all(
    hass: HomeAssistant,
    coordinators: list[RotemFarmCoordinator],
    *,
    together: bool = True,
    clock: ListenerClock | None = None,
) -> CycleCost:
    """Refresh every farm once; return the CPU seconds spent on and off the loop thread.

    ``together`` refreshes all farms at once (the worst case: every timer fires at the same
    moment); otherwise one after the other, so a slowed-down interpreter (tracemalloc) cannot
    push the last answers past the client's time-out. This coroutine runs on the loop thread,
    so ``thread_time`` counts everything the loop ran meanwhile (all farms' callbacks, the
    state writes and their listeners); the simulator is another process and counts nowhere.
    """
    started = time.monotonic()
    loop_before = time.thread_time()
    process_before = time.process_time()
    if together:
        await asyncio.gather(*(coordinator.async_refresh() for coordinator in coordinators))
    else:
        for coordinator in coordinators:
            await coordinator.async_refresh()
    await hass.async_block_till_done()
    loop = time.thread_time() - loop_before
    other = time.process_time() - process_before - loop
    listeners = clock.take() if clock is not None else 0.0
    await _next_interval(started)
    return CycleCost(loop=loop, other=max(0.0, other), listeners=listeners)


async def _next_interval(started: float) -> None:
    """Wait so the next cycle sees (at least) one new simulated poll interval."""
    await asyncio.sleep(max(0.0, CYCLE_SECONDS - (time.monotonic() - started)))


async def _fetch_all(hass: HomeAssistant, coordinators: list[RotemFarmCoordinator]) -> float:
    """Loop CPU of every farm's site request alone, together, as a poll makes them."""
    started = time.monotonic()
    loop_before = time.thread_time()
    await asyncio.gather(*(coordinator.client.get_site() for coordinator in coordinators))
    await hass.async_block_till_done()
    loop = time.thread_time() - loop_before
    await _next_interval(started)
    return loop


def _tell_unchanged(coordinators: list[RotemFarmCoordinator]) -> float:
    """Loop CPU of telling every farm's entities about a poll that changed nothing.

    The coordinators' listeners run again on the data they already showed: this is what
    finding the changed entities costs, without any state write.
    """
    loop_before = time.thread_time()
    for coordinator in coordinators:
        coordinator.async_update_listeners()
    return time.thread_time() - loop_before


async def _poll_each(hass: HomeAssistant, coordinators: list[RotemFarmCoordinator]) -> list[float]:
    """Loop CPU of each farm's poll on its own (as its own timer would start it)."""
    started = time.monotonic()
    costs: list[float] = []
    for coordinator in coordinators:
        loop_before = time.thread_time()
        await coordinator.async_refresh()
        await hass.async_block_till_done()
        costs.append(time.thread_time() - loop_before)
    await _next_interval(started)
    return costs


async def run(farms: int) -> None:
    """Measure ``farms`` farms of eight houses."""
    label = f"{farms}x{HOUSES}"
    with simulator(farms) as base_url:
        async with async_test_home_assistant() as hass:
            hass.data.pop(loader.DATA_CUSTOM_COMPONENTS, None)
            frame.async_setup(hass)  # the pytest hass fixture does this; entities need it
            started = time.perf_counter()
            coordinators = await _setup_farms(hass, farms, base_url)
            setup_seconds = time.perf_counter() - started
            entities = [
                entry for entry in er.async_get(hass).entities.values() if entry.platform == DOMAIN
            ]
            figure(f"setup_time_{label}", setup_seconds, "s")
            figure(f"entities_{label}", len(entities), "entities")
            figure(f"entities_per_house_{label}", len(entities) / (farms * HOUSES), "entities")
            figure(
                f"entities_enabled_{label}",
                sum(entry.disabled_by is None for entry in entities),
                "entities",
            )

            changes = 0

            @callback
            def count_change(_event: Event) -> None:
                nonlocal changes
                changes += 1

            stop_counting = hass.bus.async_listen(EVENT_STATE_CHANGED, count_change)
            await _sim_get(base_url, "_sim/reset-counters", post=True)
            costs: list[CycleCost] = []
            failed = 0
            for _ in range(POLLS):
                costs.append(await _poll_all(hass, coordinators))
                failed += sum(not coordinator.last_update_success for coordinator in coordinators)
            stop_counting()
            status = await _sim_get(base_url, "_sim/status")
            requests_by_operation = status["requests"]
            assert isinstance(requests_by_operation, dict)
            requests = sum(requests_by_operation.values())
            logins = status["logins"]
            assert isinstance(logins, int)
            # tracemalloc slows Python down several times: memory is measured on its own polls.
            # The first polls fill caches (translations, state attribute caches): warm up
            # first, then measure what keeps growing.
            tracemalloc.start()
            for _ in range(WARMUP_POLLS):
                await _poll_all(hass, coordinators, together=False)
            baseline = tracemalloc.take_snapshot()
            for _ in range(MEMORY_POLLS):
                await _poll_all(hass, coordinators, together=False)
            growth = tracemalloc.take_snapshot().compare_to(baseline, "filename")
            tracemalloc.stop()
            figure(f"requests_per_farm_per_poll_{label}", requests / (farms * POLLS), "requests")
            figure(f"logins_during_polls_{label}", float(logins), "logins")
            figure(f"failed_polls_{label}", failed, "polls")
            figure(f"state_changes_per_poll_cycle_{label}", changes / POLLS, "states")
            loop = [cost.loop for cost in costs]
            other = [cost.other for cost in costs]
            figure(f"loop_cpu_per_poll_cycle_median_{label}", 1000 * statistics.median(loop), "ms")
            figure(f"loop_cpu_per_poll_cycle_max_{label}", 1000 * max(loop), "ms")
            figure(
                f"executor_cpu_per_poll_cycle_median_{label}", 1000 * statistics.median(other), "ms"
            )
            figure(
                f"memory_growth_per_poll_after_warmup_{label}",
                sum(stat.size_diff for stat in growth) / 1024 / MEMORY_POLLS,
                "KiB",
            )
            breakdown = await _measure_breakdown(hass, coordinators)
            breakdown.print(label, farms)
            floor_http = await _bare_exchanges(coordinators)
            floor_writes = await _bare_writes(hass, round(breakdown.writes))
            floor = floor_http + floor_writes
            figure(f"loop_cpu_floor_bare_aiohttp_exchanges_{label}", 1000 * floor_http, "ms")
            figure(f"loop_cpu_floor_bare_state_writes_{label}", 1000 * floor_writes, "ms")
            figure(f"loop_cpu_floor_total_{label}", 1000 * floor, "ms")
            figure(
                f"loop_cpu_integration_above_floor_median_{label}",
                1000 * (statistics.median(loop) - floor),
                "ms",
            )
            for entry in hass.config_entries.async_entries(DOMAIN):
                await hass.config_entries.async_unload(entry.entry_id)
            await hass.async_block_till_done()
            await hass.async_stop(force=True)


@dataclass(frozen=True, slots=True)
class Breakdown:
    """Where a poll cycle's loop time goes, from cycles of their own (see the docstring)."""

    listened: list[CycleCost]
    writes: float
    unchanged: list[float]
    fetches: list[float]
    slices: list[tuple[float, float]]
    gc_pauses: list[float]
    sliced: list[CycleCost]
    alone: list[float]

    def print(self, label: str, farms: int) -> None:
        """One figure per line."""
        loop = statistics.median(cost.loop for cost in self.listened)
        listeners = statistics.median(cost.listeners for cost in self.listened)
        checks = statistics.median(self.unchanged)
        fetch = statistics.median(self.fetches)
        figure(f"loop_cpu_breakdown_cycle_median_{label}", 1000 * loop, "ms")
        figure(f"loop_cpu_http_exchanges_only_median_{label}", 1000 * fetch, "ms")
        figure(f"loop_cpu_listeners_median_{label}", 1000 * listeners, "ms")
        figure(f"loop_cpu_change_checks_nothing_changed_{label}", 1000 * checks, "ms")
        figure(f"loop_cpu_rest_median_{label}", 1000 * (loop - listeners - fetch), "ms")
        figure(f"state_writes_per_poll_cycle_{label}", self.writes, "states")
        if self.writes:
            per_write = (listeners - checks) / self.writes
            figure(f"loop_cpu_per_state_write_{label}", 1e6 * per_write, "us")
        cycles = len(self.sliced)
        figure(f"loop_slice_longest_{label}", 1000 * max(run for run, _ in self.slices), "ms")
        figure(
            f"loop_slice_longest_without_garbage_collection_{label}",
            1000 * max(run - collecting for run, collecting in self.slices),
            "ms",
        )
        figure(
            f"loop_slices_over_10ms_per_cycle_{label}",
            sum(run > SLICE_REPORTED for run, _ in self.slices) / cycles,
            "slices",
        )
        figure(
            f"loop_cpu_garbage_collection_per_cycle_{label}",
            1000 * sum(self.gc_pauses) / cycles,
            "ms",
        )
        figure(
            f"loop_garbage_collection_pause_longest_{label}",
            1000 * max(self.gc_pauses, default=0.0),
            "ms",
        )
        figure(
            f"loop_cpu_per_poll_cycle_with_timed_slices_median_{label}",
            1000 * statistics.median(cost.loop for cost in self.sliced),
            "ms",
        )
        figure(
            f"loop_cpu_per_farm_poll_alone_median_{label}",
            1000 * statistics.median(self.alone),
            "ms",
        )
        figure(f"loop_cpu_per_farm_poll_alone_max_{label}", 1000 * max(self.alone), "ms")
        figure(f"loop_cpu_per_farm_share_of_cycle_{label}", 1000 * loop / farms, "ms")


async def _measure_breakdown(
    hass: HomeAssistant, coordinators: list[RotemFarmCoordinator]
) -> Breakdown:
    """Measure each part on cycles of its own, so one instrument does not slow another."""
    writes = 0

    @callback
    def count_write(_event: Event[EventStateChangedData]) -> None:
        nonlocal writes
        writes += 1

    clock = ListenerClock(coordinators)
    stop_counting = hass.bus.async_listen(EVENT_STATE_CHANGED, count_write)
    listened = [await _poll_all(hass, coordinators, clock=clock) for _ in range(BREAKDOWN_POLLS)]
    stop_counting()
    unchanged = [_tell_unchanged(coordinators) for _ in range(BREAKDOWN_POLLS)]
    fetches = [await _fetch_all(hass, coordinators) for _ in range(BREAKDOWN_POLLS)]
    with loop_gc() as gc_pauses, loop_slices(gc_pauses) as slices:
        sliced = [await _poll_all(hass, coordinators) for _ in range(BREAKDOWN_POLLS)]
    alone = [cost for _ in range(BREAKDOWN_POLLS) for cost in await _poll_each(hass, coordinators)]
    return Breakdown(
        listened=listened,
        writes=writes / BREAKDOWN_POLLS,
        unchanged=unchanged,
        fetches=fetches,
        slices=slices,
        gc_pauses=gc_pauses,
        sliced=sliced,
        alone=alone,
    )


class _LocalResolver(ThreadedResolver):
    """The plain threaded resolver, closable the way Home Assistant 2025.5+ closes its own."""

    async def real_close(self) -> None:
        """Close at Home Assistant's stop (newer releases call this, not ``close``)."""
        await self.close()


class _BareSensor(SensorEntity):
    """A plain sensor, for the floor: Home Assistant's own cost of one state write."""

    _attr_should_poll = False
    _attr_device_class = SensorDeviceClass.TEMPERATURE
    _attr_state_class = SensorStateClass.MEASUREMENT
    _attr_native_unit_of_measurement = UnitOfTemperature.CELSIUS
    _attr_suggested_display_precision = 1

    def __init__(self, number: int) -> None:
        self._attr_name = f"Floor {number}"
        self._attr_unique_id = f"bench_floor_{number}"
        self._attr_native_value = 20.0


async def _bare_exchanges(coordinators: list[RotemFarmCoordinator]) -> float:
    """Loop CPU of every farm's site request from a bare aiohttp session (no client, no parse)."""
    requests: list[tuple[str, bytes, dict[str, str], dict[str, str]]] = []
    for coordinator in coordinators:
        # The bench replays each client's session (its login and cookie are private state).
        client = coordinator.client
        login = client._login_result
        cookie = client._session_cookie
        assert login is not None
        assert cookie is not None
        body = {"prmSiteControllersInfoParams": {"GatewayCode": login.gateway_code}}
        headers = {
            "Accept": "application/json, text/plain, */*",
            "Content-Type": "application/json;charset=UTF-8",
            "userToken": login.user_token,
            "farmConnectionToken": login.connection_token,
            "userLanguage": "ENGLISH",
        }
        url = login.web_server_url + rotem_client._LEGACY_SERVICE_PATH + "GetSiteControllersInfo"
        requests.append(
            (url, json.dumps(body).encode(), headers, {rotem_client.SESSION_COOKIE: cookie})
        )
    async with aiohttp.ClientSession() as session:

        async def post(
            url: str, data: bytes, headers: dict[str, str], cookies: dict[str, str]
        ) -> int:
            async with session.post(url, data=data, headers=headers, cookies=cookies) as response:
                return len(await response.read())

        await asyncio.gather(*(post(*request) for request in requests))  # connections up
        costs: list[float] = []
        for _ in range(BREAKDOWN_POLLS):
            started = time.monotonic()
            loop_before = time.thread_time()
            sizes = await asyncio.gather(*(post(*request) for request in requests))
            costs.append(time.thread_time() - loop_before)
            assert min(sizes) > 10_000, "the bare requests must get the whole site"
            await _next_interval(started)
    return statistics.median(costs)


async def _bare_writes(hass: HomeAssistant, writes: int) -> float:
    """Loop CPU of ``writes`` state writes of plain sensors in this Home Assistant instance."""
    sensors = [_BareSensor(number) for number in range(writes)]
    await hass.data[SENSOR_COMPONENT].async_add_entities(sensors)
    await hass.async_block_till_done()

    @callback
    def listen(_event: Event[EventStateChangedData]) -> None:
        """One listener, as the measured cycles had (a real instance has several)."""

    stop = hass.bus.async_listen(EVENT_STATE_CHANGED, listen)
    costs: list[float] = []
    for step in range(BREAKDOWN_POLLS):
        loop_before = time.thread_time()
        for sensor in sensors:
            sensor._attr_native_value = 20.0 + 0.1 * (step + 1)
            sensor.async_write_ha_state()
        costs.append(time.thread_time() - loop_before)
        await asyncio.sleep(0)
    stop()
    return statistics.median(costs)


async def main() -> None:
    """Run the requested sizes (default: one farm, then fifty)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--farms", type=int, action="append", help="farms to simulate")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    # HA resolves names through zeroconf, which a bare test instance has not set up; the
    # simulator is on 127.0.0.1, so the plain threaded resolver is enough (as in HA's tests).
    with contextlib.ExitStack() as stack:
        if hasattr(aiohttp_client, "_async_make_resolver"):
            stack.enter_context(
                patch.object(aiohttp_client, "_async_make_resolver", return_value=_LocalResolver())
            )
        for farms in args.farms or [1, 50]:
            await run(farms)


if __name__ == "__main__":
    asyncio.run(main())
