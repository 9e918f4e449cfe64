"""Command line: `run` (the service), `score-csv` and `backtest` (the detector engineer's tools).

`run` exits with 2 and a message naming the option when the configuration is invalid, with 1
when `--once` could not complete its cycle (a source or HA unreachable), else 0.
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

from ml_analyzer import __version__
from ml_analyzer.config import AnalyzerConfig, ConfigError, load_config
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
    from ml_analyzer.flock_history import FILE_NAME, FlockStore

    flocks = FlockStore(Path(config.state_dir) / FILE_NAME) if config.state_dir else FlockStore()

    def analyzer() -> Any:
        return FarmAnalyzer(sensitivity=config.sensitivity, seed=config.seed, flocks=flocks)

    def history(houses: Any) -> Any:
        return FarmHistory(houses=houses)

    return analyzer, history


async def serve(config: AnalyzerConfig, *, once: bool) -> TickResult | None:
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
            config.home_assistant.url,
            config.interval_seconds,
        )
        try:
            return await service.run(once=once)
        finally:
            await reader.close()
            await ha.close()


async def _serve_until_signal(config: AnalyzerConfig, once: bool) -> TickResult | None:
    """Stop cleanly on SIGTERM (the Supervisor's and Docker's stop) as on Ctrl-C."""
    task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    if task is not None:
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        return await serve(config, once=once)
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
    result = asyncio.run(_serve_until_signal(config, args.once))
    if result is None or result.ok:
        return EXIT_OK
    return EXIT_FAILED


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ml_analyzer", description=__doc__)
    parser.add_argument("--version", action="version", version=__version__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run the analyzer service")
    run.add_argument("--config", type=Path, help="YAML or JSON options (else environment only)")
    run.add_argument("--once", action="store_true", help="run one cycle and exit")
    score = commands.add_parser("score-csv", help="score every CSV of IN_DIR into OUT_DIR")
    score.add_argument("in_dir", type=Path)
    score.add_argument("out_dir", type=Path)
    commands.add_parser("backtest", help="replay a simulator scenario (see --help)", add_help=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of `python -m ml_analyzer`."""
    arguments = sys.argv[1:] if argv is None else argv
    if arguments[:1] == ["backtest"]:
        from ml_analyzer.backtest import main as backtest_main

        status: int = backtest_main(arguments[1:])
        return status
    args = _parser().parse_args(arguments)
    if args.command == "score-csv":
        from ml_analyzer.scorecsv import run as score_csv

        score_csv(args.in_dir, args.out_dir)
        return EXIT_OK
    return _run_command(args)
