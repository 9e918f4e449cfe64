"""Analyzer throughput at farm-company scale against a real InfluxDB 1.x or VictoriaMetrics.

400 houses (50 farms of 8) x 8 signals x 30 days of 5-minute points (~27.6 M points) from the
simulator's vectorised model are written into a private `influxd` (or, with `--source
victoriametrics`, a private `victoria-metrics`, through its InfluxDB `/write`) exactly as HA's
influxdb integration lays them out (measurement = unit, tags entity_id/domain, field value;
unit-less signals under their own entity id). Then the real service runs against it — the
source's reader, the loop and the detectors' FarmAnalyzer; only HA is replaced by an in-process
stand-in that serves the registries and counts the reports.

Printed, one figure per line (`name: value unit`):
  read_window         reading the 14-day window of every house (once, at start-up)
  startup             the first tick: discovery, window read, fit of every farm, first scoring
  refit               a tick with the hourly refit of every farm (from the kept window) and scoring
  tick                incremental ticks 5 minutes apart (new points only), publishing included:
                      the median of --ticks ticks, wall clock and CPU time of the analyzer process
                      (the machine is shared: CPU time is the steadier figure), and min .. max
  points_per_second   window points divided by the refit time
  peak_rss            peak resident memory of the analyzer process (the loader runs apart)

Usage: `.venv/bin/python bench/analyzer_throughput.py [--farms 50 --houses 8 --days 30 --ticks 5]
[--source influxdb|victoriametrics]`
(`--probes N` adds N temperature probe entities per house: the probe evidence on every tick).
Targets: refit < 2 min on 2 cores, tick < 5 s, peak memory < 1 GiB.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import resource
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "addon_ml_analyzer")]

from ml_analyzer.cli import _detector_factories  # noqa: E402
from ml_analyzer.config import (  # noqa: E402
    AnalyzerConfig,
    InfluxV1Config,
    VictoriaMetricsConfig,
)
from ml_analyzer.loop import AnalyzerService  # noqa: E402
from ml_analyzer.readers import EntityRef, Points  # noqa: E402
from ml_analyzer.readers.influxdb_v1 import InfluxV1Reader  # noqa: E402
from ml_analyzer.readers.victoriametrics import VictoriaMetricsReader  # noqa: E402

from devtools.influxdb import InfluxServer, running_influxdb  # noqa: E402
from devtools.victoriametrics import VictoriaMetricsServer, running_victoriametrics  # noqa: E402
from simulator.scenario import Scenario  # noqa: E402
from simulator.series import iter_house_frames  # noqa: E402

DATABASE = "home_assistant"
# The eight signals and the units HA shows for them (None: a count without a unit).
SIGNALS: dict[str, str | None] = {
    "temperature": "°C",
    "set_temperature": "°C",
    "outside_temperature": "°C",
    "humidity": "%",
    "static_pressure": "Pa",
    "vent_level": "%",
    "water_daily": "L",
    "heaters_running": None,
}
END = datetime(2026, 11, 23, tzinfo=UTC)


def signals(probes: int = 0) -> dict[str, str | None]:
    """The eight signals plus `probes` temperature probes per house (°C, one entity each).

    The default (no probes) keeps the layout of the figures in docs/analyzer.md comparable; a
    house with three probes or more gets the probe evidence (each probe against the others)."""
    return SIGNALS | {f"probe_temperature_{n}": "°C" for n in range(1, probes + 1)}


BATCH_HOUSES = 4


def object_id(farm: int, house: int, role: str) -> str:
    """The object id HA would give the entity (no domain), as the influx entity_id tag."""
    return f"farm_{farm}_house_{house}_{role}"


def _house_lines(farm: int, house: int, frame: Any, roles: dict[str, str | None]) -> bytes:
    """Line protocol for one house: measurement = unit (or the entity id), tags, field value."""
    seconds = frame.index.as_unit("s").asi8
    parts = []
    for role, unit in roles.items():
        values = frame[role].to_numpy()
        keep = np.isfinite(values)
        name = object_id(farm, house, role)
        measurement = unit if unit else f"sensor.{name}"
        prefix = f"{measurement},domain=sensor,entity_id={name} value="
        parts.append(
            "".join(
                [
                    f"{prefix}{value:.3f} {second}\n"
                    for value, second in zip(
                        values[keep].tolist(), seconds[keep].tolist(), strict=True
                    )
                ]
            )
        )
    return "".join(parts).encode()


def _batches(farms: int, houses: int, days: int, probes: int) -> Iterator[bytes]:
    scenario = Scenario(farms=farms, houses=houses, seed=7)
    roles = signals(probes)
    chunk: list[bytes] = []
    for farm, house, frame in iter_house_frames(
        scenario, END - timedelta(days=days), END, roles=list(roles)
    ):
        chunk.append(_house_lines(farm, house, frame, roles))
        if len(chunk) == BATCH_HOUSES:
            yield b"".join(chunk)
            chunk = []
    if chunk:
        yield b"".join(chunk)


def load(
    url: str, farms: int, houses: int, days: int, probes: int = 0, *, source: str = "influxdb"
) -> None:
    """Generate and write all points (run in a separate process so its memory is not counted)."""
    host, port = url.removeprefix("http://").split(":")
    write: Callable[[str, bytes, str], None]
    if source == "victoriametrics":
        vm = VictoriaMetricsServer(url=url, host=host, port=int(port))

        def write(database: str, body: bytes, precision: str) -> None:
            vm.write_lines(database, body, precision, flush=False)

    else:
        server = InfluxServer(url=url, host=host, port=int(port))
        server.create_database(DATABASE)
        write = server.write_lines
    with ThreadPoolExecutor(max_workers=2) as pool:
        pending = []
        for body in _batches(farms, houses, days, probes):
            pending.append(pool.submit(write, DATABASE, body, "s"))
            if len(pending) > 2:
                pending.pop(0).result()
        for future in pending:
            future.result()
    if source == "victoriametrics":
        vm.flush()


class StandInHA:
    """Serves the registries of the simulated farms and accepts the reports."""

    def __init__(self, farms: int, houses: int, probes: int = 0) -> None:
        self.devices: list[dict[str, Any]] = []
        self.entities: list[dict[str, Any]] = []
        self.states: list[dict[str, Any]] = []
        self.reported = 0
        self.farms = farms
        for farm in range(1, farms + 1):
            for house in range(1, houses + 1):
                identifier = f"F{farm}_{house}"
                device_id = f"device_{farm}_{house}"
                self.devices.append(
                    {
                        "id": device_id,
                        "identifiers": [["rotem_farm", identifier]],
                        "config_entries": [f"entry_{farm}"],
                    }
                )
                for role, unit in signals(probes).items():
                    entity_id = f"sensor.{object_id(farm, house, role)}"
                    self.entities.append(
                        {
                            "entity_id": entity_id,
                            "unique_id": f"{identifier}_{role}",
                            "platform": "rotem_farm",
                            "device_id": device_id,
                        }
                    )
                    attributes = {"unit_of_measurement": unit} if unit else {}
                    self.states.append({"entity_id": entity_id, "attributes": attributes})

    async def command(self, command_type: str, **payload: Any) -> Any:
        return {
            "config/device_registry/list": self.devices,
            "config/entity_registry/list": self.entities,
            "get_states": self.states,
            "config_entries/get": [
                {"entry_id": f"entry_{farm}", "state": "loaded"}
                for farm in range(1, self.farms + 1)
            ],
        }[command_type]

    async def call_service(self, domain: str, service: str, data: Mapping[str, Any]) -> Any:
        self.reported += len(data["reports"])
        return []


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class TimedReader:
    """The real reader, timing each read and counting the points it returned."""

    def __init__(self, reader: InfluxV1Reader | VictoriaMetricsReader) -> None:
        self._reader = reader
        self.name = reader.name
        self.reads: list[tuple[float, int]] = []

    async def read(
        self, entities: Sequence[EntityRef], start: datetime, end: datetime
    ) -> dict[str, pd.Series]:
        started = time.perf_counter()
        series = await self._reader.read(entities, start, end)
        points = sum(len(values) for values in series.values())
        self.reads.append((time.perf_counter() - started, points))
        return series

    async def read_points(
        self, entities: Sequence[EntityRef], start: datetime, end: datetime
    ) -> dict[str, Points]:
        started = time.perf_counter()
        found = await self._reader.read_points(entities, start, end)
        points = sum(len(times) for times, _ in found.values())
        self.reads.append((time.perf_counter() - started, points))
        return found

    async def close(self) -> None:
        await self._reader.close()


class TimedAnalyzer:
    """The detectors' FarmAnalyzer, with the time spent inside fit/update added up (wall clock
    and CPU time of the worker thread that runs them)."""

    spent = 0.0
    spent_cpu = 0.0

    def __init__(self, analyzer: Any) -> None:
        self._analyzer = analyzer

    @classmethod
    def reset(cls) -> None:
        cls.spent = cls.spent_cpu = 0.0

    def fit(self, history: Any) -> None:
        started, cpu = time.perf_counter(), time.thread_time()
        self._analyzer.fit(history)
        TimedAnalyzer.spent += time.perf_counter() - started
        TimedAnalyzer.spent_cpu += time.thread_time() - cpu

    def update(self, history: Any) -> Any:
        started, cpu = time.perf_counter(), time.thread_time()
        results = self._analyzer.update(history)
        TimedAnalyzer.spent += time.perf_counter() - started
        TimedAnalyzer.spent_cpu += time.thread_time() - cpu
        return results


class TickTimes:
    """Wall clock and CPU time of one tick, and of the detectors within it."""

    def __init__(self) -> None:
        self.wall = self.cpu = self.detector = self.detector_cpu = 0.0

    async def run(self, service: AnalyzerService) -> Any:
        TimedAnalyzer.reset()
        started, cpu = time.perf_counter(), time.process_time()
        result = await service.tick()
        self.wall = time.perf_counter() - started
        self.cpu = time.process_time() - cpu
        self.detector, self.detector_cpu = TimedAnalyzer.spent, TimedAnalyzer.spent_cpu
        return result


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} s ({min(values):.2f} .. {max(values):.2f})"


async def measure(
    server: InfluxServer | VictoriaMetricsServer,
    farms: int,
    houses: int,
    ticks: int,
    probes: int = 0,
) -> None:
    """Run the analyzer against the loaded server and print the figures."""
    if isinstance(server, VictoriaMetricsServer):
        config = AnalyzerConfig(victoriametrics=VictoriaMetricsConfig(url=server.url))
    else:
        config = AnalyzerConfig(
            influxdb=InfluxV1Config(host=server.host, port=server.port, database=DATABASE)
        )
    ha = StandInHA(farms, houses, probes)
    detector_factory, history_factory = _detector_factories(config)

    def analyzer_factory() -> TimedAnalyzer:
        return TimedAnalyzer(detector_factory())

    async with aiohttp.ClientSession() as session:
        influx: InfluxV1Reader | VictoriaMetricsReader = (
            VictoriaMetricsReader(session, config.victoriametrics)
            if isinstance(server, VictoriaMetricsServer)
            else InfluxV1Reader(session, config.influxdb)
        )
        reader = TimedReader(influx)
        # Start so that the refit tick and every measured tick (5 minutes apart) get new points.
        clock = Clock(END - timedelta(minutes=5 * (ticks + 1)) + timedelta(seconds=15))
        service = AnalyzerService(
            config, ha, reader, analyzer_factory, history_factory, clock=clock
        )
        started = time.perf_counter()
        first = await service.tick()
        startup_seconds = time.perf_counter() - started
        read_seconds, window_points = reader.reads[0]
        queries = influx.queries

        # A scheduled refit (forced due) plus its tick: fit from the kept window, no big read.
        for state in service.farms.values():
            state.fitted_at -= timedelta(minutes=config.refit_minutes)
        clock.now += timedelta(minutes=5)
        refit = TickTimes()
        refit_tick = await refit.run(service)

        measured: list[TickTimes] = []
        tick_results = []
        reads: list[float] = []
        for _ in range(ticks):
            clock.now += timedelta(minutes=5)
            measured.append(TickTimes())
            done = len(reader.reads)
            tick_results.append(await measured[-1].run(service))
            reads.append(sum(seconds for seconds, _ in reader.reads[done:]))
        tick_points = reader.reads[-1][1]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"source: {influx.name}")
    print(f"houses: {first.houses} houses")
    print(f"read_window: {read_seconds:.1f} s")
    print(f"read_window_points: {window_points} points")
    print(f"read_window_rate: {window_points / read_seconds:.0f} points/s")
    print(f"startup_queries: {queries} queries")
    print(f"startup: {startup_seconds:.1f} s")
    print(f"refit: {refit.wall:.1f} s")
    print(f"refit_cpu: {refit.cpu:.1f} s")
    print(f"refit_detector: {refit.detector:.1f} s")
    print(f"refit_detector_cpu: {refit.detector_cpu:.1f} s")
    print(f"refit_service: {refit.wall - refit.detector:.1f} s")
    print(f"refit_fitted_farms: {refit_tick.fitted_farms} farms")
    print(f"ticks_measured: {ticks} ticks")
    print(f"tick: {_spread([t.wall for t in measured])}")
    print(f"tick_cpu: {_spread([t.cpu for t in measured])}")
    print(f"tick_detector: {_spread([t.detector for t in measured])}")
    print(f"tick_detector_cpu: {_spread([t.detector_cpu for t in measured])}")
    print(f"tick_service: {_spread([t.wall - t.detector for t in measured])}")
    print(f"tick_read: {_spread(reads)}")
    print(f"tick_new_points: {tick_points} points")
    print(f"tick_scored_houses: {tick_results[-1].scored_houses} houses")
    print(f"points_per_second: {window_points / refit.wall:.0f} points/s")
    print(f"peak_rss: {peak:.0f} MiB")
    print(f"reports_sent: {ha.reported} reports")
    failed = [t.errors for t in (first, refit_tick, *tick_results) if not t.ok]
    if failed:
        raise SystemExit(f"a tick failed: {failed}")


def main() -> None:
    """Load the data in a child process, then measure the analyzer in this one."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--farms", type=int, default=50)
    parser.add_argument("--houses", type=int, default=8)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--ticks", type=int, default=5, help="incremental ticks to measure")
    parser.add_argument(
        "--probes", type=int, default=0, help="temperature probes per house (default none)"
    )
    parser.add_argument(
        "--source",
        choices=("influxdb", "victoriametrics"),
        default="influxdb",
        help="the history source the points are written to and read from (default influxdb)",
    )
    args = parser.parse_args()
    running = running_victoriametrics if args.source == "victoriametrics" else running_influxdb
    with running() as server:
        started = time.perf_counter()
        context = multiprocessing.get_context("spawn")
        loader = context.Process(
            target=load,
            args=(server.url, args.farms, args.houses, args.days, args.probes),
            kwargs={"source": args.source},
        )
        loader.start()
        loader.join()
        if loader.exitcode != 0:
            raise SystemExit("loading the points failed")
        total = args.farms * args.houses * len(signals(args.probes)) * args.days * 288
        elapsed = time.perf_counter() - started
        print(f"grid_points: {total} points")
        print(f"load: {elapsed:.1f} s")
        print(f"load_rate: {total / elapsed:.0f} points/s")
        print(f"probes: {args.probes} per house")
        asyncio.run(measure(server, args.farms, args.houses, args.ticks, args.probes))


if __name__ == "__main__":
    main()
