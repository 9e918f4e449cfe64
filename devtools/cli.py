"""Command line of `scripts/demo` (`python -m devtools`), and its `dashboard` subcommand.

    python -m devtools [--check] [--dir D] [--speed S] [--seed N] [--fault-in MINUTES]
    python -m devtools dashboard --url URL [--token TOKEN]

The first starts the whole stack (`stack.DemoStack`), prints the URL and the login, and waits;
Ctrl-C stops everything it started. `--check` runs the same non-interactively: start, wait until
the farms' entities have values, print a summary, stop (for CI and the e2e tests). The second
prints the farm dashboard YAML for the houses of any running HA with the integration.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import signal
import sys
import webbrowser
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from devtools import REPO_ROOT
from devtools.dashboard import DASHBOARD_URL_PATH, print_dashboard
from devtools.processes import log
from devtools.stack import DEMO_PASSWORD, DEMO_USER, DemoStack, StackSettings

DESCRIPTION = (
    "The whole product on one machine, as a farmer would live it (run through `scripts/demo`)."
)


def open_browser(url: str) -> bool:
    """Open the URL where a desktop exists; headless machines just get it printed."""
    if not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or os.environ.get("BROWSER")
    ):
        return False
    with contextlib.suppress(webbrowser.Error):
        return webbrowser.open(url)
    return False


async def run(arguments: argparse.Namespace) -> int:
    """Start the stack, then wait for Ctrl-C (or, with --check, summarise and stop)."""
    root: Path = arguments.dir
    # A fresh state directory each run: onboarding, flows and helpers are part of the show.
    await asyncio.to_thread(shutil.rmtree, root, ignore_errors=True)
    stack = DemoStack(
        StackSettings(
            root=root,
            speed=arguments.speed,
            seed=arguments.seed,
            fault_in=None if arguments.fault_in is None else timedelta(minutes=arguments.fault_in),
        )
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        starting = asyncio.create_task(stack.start())
        stopper = asyncio.create_task(stop.wait())
        done, _pending = await asyncio.wait(
            {starting, stopper}, return_when=asyncio.FIRST_COMPLETED
        )
        if starting not in done:
            starting.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await starting
            log("interrupted while starting; stopping")
            return 130
        stopper.cancel()
        starting.result()
        dashboard = f"{stack.ha.url}/{DASHBOARD_URL_PATH}/0"
        print(
            f"\nRotem Farm demo is running.\n"
            f"  Home Assistant: {stack.ha.url}\n"
            f"  Farm dashboard: {dashboard}\n"
            f"  Login:          {DEMO_USER} / {DEMO_PASSWORD}\n"
            f"  Simulator:      {stack.sim_url}_sim/status\n"
            f"  Logs:           {root}/logs, {root}/ha/home-assistant.log\n",
            flush=True,
        )
        if arguments.check:
            log("waiting for the analyzer's first verdicts")
            await stack.wait_for_analysis()
            print(await stack.summary(), flush=True)
            return 0
        if not open_browser(dashboard):
            print("  (no desktop browser found: open the URL above yourself)", flush=True)
        print("Press Ctrl-C to stop everything.", flush=True)
        await stop.wait()
        log("stopping")
        return 0
    finally:
        await stack.stop()


def dashboard_main(args: Sequence[str]) -> int:
    """The `dashboard` subcommand: print the farm dashboard YAML of a running HA."""
    dashboard = argparse.ArgumentParser(
        prog="python -m devtools dashboard",
        description="Print the farm dashboard YAML for the houses of a running HA.",
    )
    dashboard.add_argument("--url", required=True, help="e.g. http://homeassistant.local:8123")
    dashboard.add_argument(
        "--token",
        default=os.environ.get("HA_TOKEN", ""),
        help="long-lived access token (default: $HA_TOKEN)",
    )
    options = dashboard.parse_args(args)
    if not options.token:
        dashboard.error("a long-lived access token is needed (--token or HA_TOKEN)")
    return asyncio.run(print_dashboard(options.url, options.token))


def main(argv: Sequence[str] | None = None) -> int:
    """Command line of scripts/demo (and the `dashboard` subcommand)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["dashboard"]:
        return dashboard_main(args[1:])
    parser = argparse.ArgumentParser(prog="scripts/demo", description=DESCRIPTION)
    parser.add_argument(
        "--check",
        action="store_true",
        default=os.environ.get("ROTEM_DEMO_CHECK") == "1",
        help="start all, wait for values, print a summary and stop (also ROTEM_DEMO_CHECK=1)",
    )
    parser.add_argument("--dir", type=Path, default=REPO_ROOT / ".demo", help="state directory")
    parser.add_argument("--speed", type=float, default=60.0, help="simulated seconds per second")
    parser.add_argument("--seed", type=int, default=1, help="simulator seed")
    parser.add_argument(
        "--fault-in",
        type=float,
        default=None,
        help="simulated minutes until house 3's heaters fail (negative: they failed that long"
        " ago; default: the scenario's 4 hours)",
    )
    arguments = parser.parse_args(args)
    return asyncio.run(run(arguments))
