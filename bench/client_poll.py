"""What one poll of the real client costs against the simulator.

Starts the simulator in-process on a loopback port, sets up the RotemNetWeb client for every
farm (login and farm info, as the integration does at setup), then polls like the integration:
one ``get_site`` per farm every 5 simulated minutes for an hour. Prints one figure per line.

    .venv/bin/python bench/client_poll.py
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from custom_components.rotem_farm.rotemnet import RotemClient
from custom_components.rotem_farm.rotemnet.parsing import decode_json, parse_site
from simulator import wire
from simulator.scenario import Scenario
from simulator.server import Simulation, SimulatorServer

START = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
POLL = timedelta(minutes=5)
POLLS_PER_HOUR = 12
HOUSES = 8
PARSE_REPEATS = 200


def figure(name: str, value: float, unit: str) -> None:
    """One ``name: value unit`` line."""
    text = f"{value:.3f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)
    print(f"{name}: {text} {unit}".rstrip())


async def poll_hour(farms: int) -> None:
    """Set up ``farms`` clients, then poll them for one simulated hour."""
    simulation = Simulation(Scenario(farms=farms, houses=HOUSES, seed=1), start=START, speed=0.0)
    async with SimulatorServer(simulation) as server, aiohttp.ClientSession() as http:
        clients = [
            RotemClient(http, f"farm{number}", "demo", base_url=server.base_url)
            for number in range(1, farms + 1)
        ]
        for client in clients:
            await client.get_farm_info()
            await client.get_site()
        setup_requests = sum(simulation.counters.requests.values())
        simulation.counters.requests.clear()
        simulation.counters.logins = 0
        received_before = sum(client.stats.bytes_received for client in clients)
        started = time.perf_counter()
        for _ in range(POLLS_PER_HOUR):
            simulation.advance(POLL)
            await asyncio.gather(*(client.get_site() for client in clients))
        elapsed = time.perf_counter() - started
        received = sum(client.stats.bytes_received for client in clients) - received_before
    label = f"{farms}x{HOUSES}"
    polls = farms * POLLS_PER_HOUR
    requests = sum(simulation.counters.requests.values())
    figure(f"setup_requests_per_farm_{label}", setup_requests / farms, "requests")
    figure(f"requests_per_farm_per_poll_{label}", requests / polls, "requests")
    figure(f"logins_per_hour_steady_{label}", float(simulation.counters.logins), "logins")
    figure(f"bytes_per_poll_per_farm_{label}", round(received / polls), "bytes")
    figure(f"wall_time_per_poll_all_farms_{label}", 1000.0 * elapsed / POLLS_PER_HOUR, "ms")


def parse_time() -> None:
    """Median time to decode and parse one 8-house GetSiteControllersInfo answer."""
    simulation = Simulation(Scenario(farms=1, houses=HOUSES, seed=1), start=START)
    answer = wire.site_controllers_info(simulation.farms[0], START, [], "bench")
    raw = json.dumps(answer, ensure_ascii=False, separators=(",", ":")).encode()
    timings, cpu_timings = [], []
    for _ in range(PARSE_REPEATS):
        begin, begin_cpu = time.perf_counter(), time.process_time()
        parse_site(decode_json(raw))
        timings.append(time.perf_counter() - begin)
        cpu_timings.append(time.process_time() - begin_cpu)
    figure(f"site_answer_size_{HOUSES}_houses", len(raw), "bytes")
    figure("median_parse_time_site_answer", 1000.0 * statistics.median(timings), "ms")
    # CPU time is what the parse costs; wall time also counts other processes on a busy box.
    figure("median_parse_cpu_time_site_answer", 1000.0 * statistics.median(cpu_timings), "ms")


async def main() -> None:
    """Every figure of this benchmark."""
    started = time.perf_counter()
    figure(
        "machine",
        os.cpu_count() or 0,
        f"cpus {platform.machine()} python {platform.python_version()}",
    )
    # Other processes share the machine: CPU figures below are steadier than wall times.
    figure("load_average_1min", round(os.getloadavg()[0], 2), "")
    parse_time()
    await poll_hour(1)
    await poll_hour(50)
    figure("benchmark_duration", time.perf_counter() - started, "s")


if __name__ == "__main__":
    asyncio.run(main())
