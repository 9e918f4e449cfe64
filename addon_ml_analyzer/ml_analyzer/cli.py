"""Command line: `run` (the service) and `score-csv` (the detector engineer's tool).

`run` exits with 2 and a message naming the option when the configuration is invalid, with 1
when `--once` could not complete its cycle (a source or HA unreachable, no house found) or when
the service failed to start, else 0. `--health-port` serves `GET /health` for the Supervisor's
watchdog (config.yaml `watchdog:`): 200 while ticks keep finishing, 503 when the loop hangs.
`score-csv` exits with 2 and one line naming the file and the problem when an input cannot be
scored.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from ml_analyzer import __version__
from ml_analyzer.config import AnalyzerConfig, ConfigError, load_config, mask_url
from ml_analyzer.ha import HomeAssistantClient
from ml_analyzer.loop import AnalyzerService, TickResult
from ml_analyzer.readers import Reader
from ml_analyzer.readers.ha_history import HomeAssistantHistoryReader
from ml_analyzer.readers.influxdb_v1 import InfluxV1Reader
from ml_analyzer.readers.influxdb_v2 import InfluxV2Reader
from ml_analyzer.readers.victoriametrics import VictoriaMetricsReader

_LOGGER = logging.getLogger("ml_analyzer")

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2


def build_reader(
    config: AnalyzerConfig, session: aiohttp.ClientSession, ha: HomeAssistantClient
) -> Reader:
    """The reader for the chosen source (explicit, else the first configured of v1, v2,
    VictoriaMetrics, HA)."""
    source = config.chosen_source()
    if source == "influxdb_v1":
        return InfluxV1Reader(session, config.influxdb)
    if source == "influxdb_v2":
        return InfluxV2Reader(config.influxdb_v2)
    if source == "victoriametrics":
        return VictoriaMetricsReader(session, config.victoriametrics)
    return HomeAssistantHistoryReader(ha)


def _detector_factories(config: AnalyzerConfig) -> tuple[Any, Any]:
    """FarmAnalyzer and FarmHistory constructors (docs/CONTRACTS.md §5)."""
    from ml_analyzer.detectors import FarmAnalyzer, FarmHistory
    from ml_analyzer.flock_file import FILE_NAME, SavedFlockStore

    flocks = SavedFlockStore(Path(config.state_dir) / FILE_NAME if config.state_dir else None)

    def analyzer() -> Any:
        return FarmAnalyzer(sensitivity=config.sensitivity, seed=config.seed, flocks=flocks)

    def history(houses: Any) -> Any:
        return FarmHistory(houses=houses)

    return analyzer, history


async def _start_health(service: AnalyzerService, port: int) -> web.AppRunner | None:
    """`GET /health` on `port` (all interfaces: the Supervisor connects to the add-on's IP).

    A port that cannot be bound is logged and the service runs without it: the health check
    exists to keep the analyzer running, never to stop it.
    """

    async def health(_request: web.Request) -> web.Response:
        if service.healthy():
            return web.Response(text="ok\n")
        return web.Response(status=503, text="analysis loop stalled\n")

    app = web.Application()
    app.router.add_get("/health", health)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, port=port).start()
    except OSError as err:
        _LOGGER.warning("Health check not served on port %d: %s", port, err.strerror)
        await runner.cleanup()
        return None
    return runner


async def serve(
    config: AnalyzerConfig, *, once: bool, health_port: int | None = None
) -> TickResult | None:
    """Run the service until cancelled (or for one cycle); returns the last tick's result."""
    analyzer_factory, history_factory = _detector_factories(config)
    async with aiohttp.ClientSession() as session:
        ha = HomeAssistantClient(
            session,
            config.home_assistant.url,
            config.home_assistant.token,
            verify_ssl=config.home_assistant.verify_ssl,
        )
        reader = build_reader(config, session, ha)
        service = AnalyzerService(config, ha, reader, analyzer_factory, history_factory)
        _LOGGER.info(
            "ml_analyzer %s: source %s, Home Assistant at %s, every %d s",
            __version__,
            reader.name,
            mask_url(config.home_assistant.url),
            config.interval_seconds,
        )
        health = (
            await _start_health(service, health_port)
            if health_port is not None and not once
            else None
        )
        try:
            return await service.run(once=once)
        finally:
            if health is not None:
                await health.cleanup()
            await reader.close()
            await ha.close()


async def _serve_until_signal(
    config: AnalyzerConfig, once: bool, health_port: int | None = None
) -> TickResult | None:
    """Stop cleanly on SIGTERM (the Supervisor's and Docker's stop) as on Ctrl-C."""
    task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    if task is not None:
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        return await serve(config, once=once, health_port=health_port)
    except asyncio.CancelledError:
        _LOGGER.info("Stopped")
        return None


def _run_command(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config)
    except ConfigError as err:
        sys.stderr.write(f"ml_analyzer: {err}\n")
        return EXIT_CONFIG
    logging.basicConfig(
        level=config.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for notice in config.notices:
        _LOGGER.warning("%s", notice)
    try:
        result = asyncio.run(_serve_until_signal(config, args.once, args.health_port))
    except Exception:
        _LOGGER.exception("The analyzer stopped on an unexpected error")
        return EXIT_FAILED
    if result is None:
        return EXIT_OK
    if not result.ok or (args.once and result.houses == 0):
        # With no house found the cycle analyzed nothing: `--once` must not report success
        # (the service logged what to do).
        return EXIT_FAILED
    return EXIT_OK


def _port(text: str) -> int:
    """A TCP port for argparse (a bad one: one line naming the flag, exit 2)."""
    try:
        port = int(text)
    except ValueError:
        port = 0
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"'{text}' is not a port between 1 and 65535")
    return port


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ml_analyzer", description=__doc__)
    parser.add_argument("--version", action="version", version=__version__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run the analyzer service")
    run.add_argument("--config", type=Path, help="YAML or JSON options (else environment only)")
    run.add_argument("--once", action="store_true", help="run one cycle and exit")
    run.add_argument(
        "--health-port",
        type=_port,
        help="serve GET /health on this port (the add-on's Supervisor watchdog)",
    )
    score = commands.add_parser("score-csv", help="score every CSV of IN_DIR into OUT_DIR")
    score.add_argument("in_dir", type=Path)
    score.add_argument("out_dir", type=Path)
    replay = commands.add_parser(
        "replay", help="run the analyzer tick by tick over history (CSV files or the source)"
    )
    given = replay.add_mutually_exclusive_group(required=True)
    given.add_argument("--csv", type=Path, metavar="DIR", help="DIR/<farm>/<house>.csv files")
    given.add_argument("--config", type=Path, help="the analyzer's options (its configured source)")
    replay.add_argument("--timezone", default="UTC", help="Area/City of local times (default UTC)")
    replay.add_argument("--start", help="ISO 8601 start with offset (--config)")
    replay.add_argument("--end", help="ISO 8601 end with offset (--config)")
    replay.add_argument("--out", type=Path, required=True, help="folder for the output CSVs")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of `python -m ml_analyzer`."""
    arguments = sys.argv[1:] if argv is None else argv
    args = _parser().parse_args(arguments)
    if args.command == "replay":
        from ml_analyzer.replay import main as replay_main

        return replay_main(args)
    if args.command == "score-csv":
        from ml_analyzer.scorecsv import ScoreCsvError
        from ml_analyzer.scorecsv import run as score_csv

        try:
            score_csv(args.in_dir, args.out_dir)
        except ScoreCsvError as err:
            sys.stderr.write(f"ml_analyzer score-csv: {err}\n")
            return EXIT_CONFIG
        return EXIT_OK
    return _run_command(args)
