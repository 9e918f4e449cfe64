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

    .venv/bin/python bench/ha_poll.py            # 1 farm x 8 houses and 50 farms x 8 houses
    .venv/bin/python bench/ha_poll.py --farms 5
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from unittest.mock import patch

import aiohttp
from aiohttp import ThreadedResolver

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from homeassistant import loader
from homeassistant.const import EVENT_STATE_CHANGED
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import aiohttp_client, frame
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_test_home_assistant,
)

from custom_components.rotem_farm.const import DOMAIN
from custom_components.rotem_farm.coordinator import RotemFarmCoordinator

ROOT = Path(__file__).resolve().parents[1]
START = "2026-11-23T06:00:00Z"
SPEED = 300.0  # simulated seconds per real second: 5 simulated minutes per real second
CYCLE_SECONDS = 1.0  # cycles start at least this far apart (one simulated poll interval)
POLLS = 12
WARMUP_POLLS = 3
MEMORY_POLLS = 6
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
    """CPU seconds one poll cycle took on the event-loop thread and on every other thread."""

    loop: float
    other: float


async def _poll_all(
    hass: HomeAssistant,
    coordinators: list[RotemFarmCoordinator],
    *,
    together: bool = True,
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
    # Wait so the next cycle sees (at least) one new simulated poll interval.
    await asyncio.sleep(max(0.0, CYCLE_SECONDS - (time.monotonic() - started)))
    return CycleCost(loop=loop, other=max(0.0, other))


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
            for entry in hass.config_entries.async_entries(DOMAIN):
                await hass.config_entries.async_unload(entry.entry_id)
            await hass.async_block_till_done()
            await hass.async_stop(force=True)


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
                patch.object(
                    aiohttp_client, "_async_make_resolver", return_value=ThreadedResolver()
                )
            )
        for farms in args.farms or [1, 50]:
            await run(farms)


if __name__ == "__main__":
    asyncio.run(main())
