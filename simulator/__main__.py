"""Command line: ``python -m simulator --port P --farms F --houses H [...]``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from dataclasses import replace
from datetime import UTC, datetime

from .scenario import Scenario, ScenarioError, load, parse_time
from .server import Simulation, SimulatorServer


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m simulator",
        description="RotemNetWeb-compatible cloud simulator (loopback use).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8321, help="port; 0 picks a free one")
    parser.add_argument("--farms", type=int, help="number of farms/accounts (farm1..farmF)")
    parser.add_argument("--houses", type=int, help="houses per farm")
    parser.add_argument("--scenario", help="scenario file, or a name in simulator/scenarios/")
    parser.add_argument("--speed", type=float, default=1.0, help="simulated seconds per second")
    parser.add_argument("--seed", type=int, help="random seed (same seed, same farm)")
    parser.add_argument("--start", help="simulated start time, ISO 8601 (default now)")
    parser.add_argument("--password", default="demo", help="password of every account")
    return parser.parse_args(argv)


def build_simulation(args: argparse.Namespace) -> Simulation:
    """The simulation the command line asks for (options override the scenario file)."""
    scenario = load(args.scenario) if args.scenario else Scenario()
    overrides: dict[str, int] = {}
    if args.farms is not None:
        overrides["farms"] = args.farms
    if args.houses is not None:
        overrides["houses"] = args.houses
    if args.seed is not None:
        overrides["seed"] = args.seed
    scenario = replace(scenario, **overrides)  # type: ignore[arg-type]
    if scenario.farms < 1 or scenario.houses < 1:
        raise ScenarioError("--farms and --houses must be at least 1")
    start = parse_time(args.start, datetime.now(UTC)) if args.start else None
    return Simulation(scenario, start=start, speed=args.speed, password=args.password)


async def _serve(args: argparse.Namespace) -> None:
    simulation = build_simulation(args)
    server = SimulatorServer(simulation, host=args.host, port=args.port)
    await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    sys.stdout.write(
        f"simulator listening on {server.base_url} farms={simulation.scenario.farms} "
        f"houses={simulation.scenario.houses} scenario={simulation.scenario.name} "
        f"seed={simulation.scenario.seed} speed={simulation.speed} "
        f"start={simulation.start.isoformat()}\n"
    )
    sys.stdout.flush()
    try:
        await stop.wait()
    finally:
        await server.stop()


def main(argv: list[str] | None = None) -> int:
    """Run until SIGINT/SIGTERM."""
    args = _arguments(argv)
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(_serve(args))
    except (ScenarioError, OSError) as err:
        sys.stderr.write(f"simulator: {err}\n")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
