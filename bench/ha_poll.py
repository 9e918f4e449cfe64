"""What the integration costs inside Home Assistant, against the in-process simulator.

Sets up a Home Assistant test instance (pytest-homeassistant-custom-component's harness, no
pytest), the simulator on a loopback port and one Rotem config entry per simulated farm, then
polls every farm's coordinator together, twelve times (one simulated hour). Prints one figure
per line: entities created, requests per poll, event-loop CPU time per poll cycle of all farms
(``time.process_time`` around the refresh, which includes parsing and state writes), and memory
growth over the hour (tracemalloc).

    .venv/bin/python bench/ha_poll.py            # 1 farm x 8 houses and 50 farms x 8 houses
    .venv/bin/python bench/ha_poll.py --farms 5
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import statistics
import sys
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest.mock import patch

from aiohttp import ThreadedResolver

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from homeassistant import loader
from homeassistant.core import HomeAssistant
from homeassistant.helpers import aiohttp_client, frame
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_test_home_assistant,
)

from custom_components.rotem_farm.const import DOMAIN
from custom_components.rotem_farm.coordinator import RotemFarmCoordinator
from simulator.scenario import Scenario
from simulator.server import Simulation, SimulatorServer

START = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
POLL = timedelta(minutes=5)
POLLS = 12
WARMUP_POLLS = 3
MEMORY_POLLS = 6
HOUSES = 8


def figure(name: str, value: float, unit: str) -> None:
    """One ``name: value unit`` line."""
    text = f"{value:.3f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)
    print(f"{name}: {text} {unit}".rstrip())


async def _setup_farms(
    hass: HomeAssistant, simulation: Simulation, server: SimulatorServer
) -> list[RotemFarmCoordinator]:
    coordinators: list[RotemFarmCoordinator] = []
    for farm in simulation.farms:
        entry = MockConfigEntry(
            domain=DOMAIN,
            title=f"Farm {farm.number}",
            unique_id=farm.gateway,
            data={
                "farm_kind": "rotem",
                "username": f"farm{farm.number}",
                "password": "demo",
                "base_url": server.base_url,
                "api_style": "legacy",
            },
        )
        entry.add_to_hass(hass)
        if not await hass.config_entries.async_setup(entry.entry_id):
            raise RuntimeError(f"farm {farm.number} did not set up")
        await hass.async_block_till_done()
        coordinator = entry.runtime_data.coordinator
        assert coordinator is not None
        coordinators.append(coordinator)
    return coordinators


async def _poll_all(
    hass: HomeAssistant,
    simulation: Simulation,
    coordinators: list[RotemFarmCoordinator],
    *,
    together: bool = True,
) -> float:
    """Advance the simulated clock one poll and refresh every farm; return the CPU seconds.

    ``together`` refreshes all farms at once (the worst case: every timer fires at the same
    moment); otherwise one after the other, so a slowed-down interpreter (tracemalloc) cannot
    push the last answers past the client's time-out.
    """
    simulation.advance(POLL)
    before = time.process_time()
    if together:
        await asyncio.gather(*(coordinator.async_refresh() for coordinator in coordinators))
    else:
        for coordinator in coordinators:
            await coordinator.async_refresh()
    await hass.async_block_till_done()
    return time.process_time() - before


async def run(farms: int) -> None:
    """Measure ``farms`` farms of eight houses."""
    label = f"{farms}x{HOUSES}"
    simulation = Simulation(Scenario(farms=farms, houses=HOUSES, seed=1), start=START, speed=0.0)
    async with (
        SimulatorServer(simulation) as server,
        async_test_home_assistant() as hass,
    ):
        hass.data.pop(loader.DATA_CUSTOM_COMPONENTS, None)
        frame.async_setup(hass)  # the pytest hass fixture does this; entities need it
        started = time.perf_counter()
        coordinators = await _setup_farms(hass, simulation, server)
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

        simulation.counters.requests.clear()
        simulation.counters.logins = 0
        cpu: list[float] = []
        failed = 0
        for _ in range(POLLS):
            cpu.append(await _poll_all(hass, simulation, coordinators))
            failed += sum(not coordinator.last_update_success for coordinator in coordinators)
        requests = sum(simulation.counters.requests.values())
        # tracemalloc slows Python down several times: memory is measured on its own hour.
        # The first polls fill caches (translations, state attribute caches): warm up first,
        # then measure what keeps growing.
        tracemalloc.start()
        for _ in range(WARMUP_POLLS):
            await _poll_all(hass, simulation, coordinators, together=False)
        baseline = tracemalloc.take_snapshot()
        for _ in range(MEMORY_POLLS):
            await _poll_all(hass, simulation, coordinators, together=False)
        growth = tracemalloc.take_snapshot().compare_to(baseline, "filename")
        tracemalloc.stop()
        figure(f"requests_per_farm_per_poll_{label}", requests / (farms * POLLS), "requests")
        figure(f"logins_during_hour_{label}", float(simulation.counters.logins), "logins")
        figure(f"failed_polls_{label}", failed, "polls")
        # CPU includes the simulator answering in the same process: an upper bound for HA.
        figure(f"cpu_per_poll_cycle_median_{label}", 1000 * statistics.median(cpu), "ms")
        figure(f"cpu_per_poll_cycle_max_{label}", 1000 * max(cpu), "ms")
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
