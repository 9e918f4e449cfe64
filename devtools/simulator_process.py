"""The RotemNetWeb simulator as a child process of the stack, on the wall clock.

The stack moves the scenario file onto the wall clock (`timeline_scenario`) so the simulator
and the history backfill describe one and the same farm, then runs `python -m simulator` and
talks to its `/_sim/` control API.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from devtools.processes import ChildProcess, free_port, spawn, wait_until


def timeline_scenario(
    source: Path,
    *,
    origin: datetime,
    fault_at: datetime | None,
    farms: int,
    houses: int,
    seed: int,
) -> dict[str, Any]:
    """The scenario file moved onto the wall clock: starts at `origin`, first fault at `fault_at`.

    Later events keep their distance to the first one; without `fault_at` every event keeps its
    distance to the scenario's start. The simulator and the history backfill
    both read the result, so they describe one and the same farm.
    """
    from simulator.scenario import parse_time

    data: dict[str, Any] = yaml.safe_load(source.read_text()) or {}
    old_start = parse_time(data["start"], origin) if data.get("start") else origin
    events = data.get("events") or []
    times = [parse_time(event.get("at", 0), old_start) for event in events]
    first = min(times, default=old_start)
    anchor, reference = (origin, old_start) if fault_at is None else (fault_at, first)
    for event, when in zip(events, times, strict=True):
        event["at"] = (anchor + (when - reference)).isoformat()
    data.update(start=origin.isoformat(), farms=farms, houses=houses, seed=seed, events=events)
    return data


class SimulatorProcess:
    """`python -m simulator` on a free port (the same port again after a stop)."""

    def __init__(
        self,
        *,
        python: str,
        scenario_path: Path,
        log_path: Path,
        farms: int,
        houses: int,
        speed: float,
        seed: int,
        http: Callable[[], aiohttp.ClientSession],
    ) -> None:
        self.python = python
        self.scenario_path = scenario_path
        self.log_path = log_path
        self.farms = farms
        self.houses = houses
        self.speed = speed
        self.seed = seed
        self._http = http
        self.port = 0
        self.child: ChildProcess | None = None

    @property
    def url(self) -> str:
        """The simulator's base URL (what the Rotem config flow's service address gets)."""
        return f"http://127.0.0.1:{self.port}/"

    def command(self) -> list[str]:
        """The simulator's command line for this stack."""
        return [
            self.python,
            "-m",
            "simulator",
            "--port",
            str(self.port),
            "--farms",
            str(self.farms),
            "--houses",
            str(self.houses),
            "--scenario",
            str(self.scenario_path),
            "--speed",
            str(self.speed),
            "--seed",
            str(self.seed),
        ]

    async def start(self) -> None:
        """Run the simulator (the scenario file must exist) and wait for /_sim/status."""
        if not self.port:
            self.port = free_port()
        self.child = spawn("simulator", self.command(), self.log_path)
        await wait_until(lambda: self.get("status"), within=60, what="the simulator's /_sim/status")

    def stop(self) -> None:
        """Stop the simulator only (the cloud goes away; HA keeps running)."""
        child, self.child = self.child, None
        if child is not None:
            child.stop()

    async def get(self, what: str) -> dict[str, Any]:
        """GET /_sim/<what> (status, truth)."""
        if self.child is not None:
            self.child.check_alive()
        async with self._http().get(f"{self.url}_sim/{what}") as response:
            response.raise_for_status()
            result: dict[str, Any] = await response.json()
            return result

    async def post(self, what: str, payload: Mapping[str, Any] | None = None) -> Any:
        """POST /_sim/<what> (fault, clear, reset-counters)."""
        async with self._http().post(f"{self.url}_sim/{what}", json=payload or {}) as response:
            response.raise_for_status()
            return await response.json(content_type=None)
