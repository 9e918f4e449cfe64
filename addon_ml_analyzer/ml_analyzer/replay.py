"""`replay`: run the live analyzer tick by tick over history and write what the entities showed.

The replay drives the service itself (`loop.AnalyzerService`), not a copy of its logic: every
tick discovers, fits on the same cadence (new farm fitted up to one interval ago, refit every
`refit_minutes` on `history_days`), scores the points since the farm's cursor and publishes
through the real `Publisher` into a recorder instead of Home Assistant. A house's row at a tick
is its last published report, which is what its entities show at that moment (empty before its
first verdict: the entities are unknown then). Only the clock and the data source are replaced:
the clock steps one interval per tick, and the source is either CSV files or the configured one.

CSV input: `DIR/<farm>/<house>.csv`, a `timestamp` column (ISO 8601 with offset) plus any of the
input roles (`discovery.INPUT_ROLES`, `probe_temperature_N`). A farm's time zone (`--timezone`,
or `DIR/<farm>/farm.json` `{"timezone": "Area/City"}`) gives the local times of the output.
Bad input is a `ReplayError` whose message names the file and the problem; the command prints
it as one line and exits 2.
"""

from __future__ import annotations

import asyncio
import csv
import json
import logging
import math
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd

from ml_analyzer.config import AnalyzerConfig
from ml_analyzer.discovery import House, Inventory, is_input_role
from ml_analyzer.loop import (
    DEFAULT_SETTLE_SECONDS,
    SETTLE_SECONDS,
    AnalyzerFactory,
    AnalyzerService,
    HistoryFactory,
    HomeAssistantAPI,
    TickResult,
    as_points,
)
from ml_analyzer.readers import EntityRef, Points, keep_plausible, points_series

_LOGGER = logging.getLogger(__name__)

CSV_SOURCE = "CSV files"
OUTPUT_COLUMNS = (
    "timestamp",
    "anomaly",
    "anomaly_score",
    "failure_risk",
    "failing_subsystem",
    "time_to_failure_hours",
    "watched",
    "explanation",
)
SUMMARY_COLUMNS = ("farm", "house", "start", "end", "subsystem")
_OFFSET = re.compile(r"(Z|[+-]\d{2}(:?\d{2})?)$", re.IGNORECASE)


class ReplayError(ValueError):
    """Input the replay cannot use; the message names the file (or option) and the problem."""


def zone(name: str, where: str) -> ZoneInfo:
    """The IANA time zone `name`, or a ReplayError naming `where` it came from."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise ReplayError(f"{where}: unknown time zone '{name}' (use Area/City)") from err


def parse_moment(text: str, option: str) -> datetime:
    """An ISO 8601 time with offset for `--start`/`--end` (naive is refused: ambiguous)."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as err:
        raise ReplayError(f"{option}: '{text}' is not an ISO 8601 time") from err
    if moment.tzinfo is None:
        raise ReplayError(f"{option}: '{text}' has no UTC offset (e.g. 2026-01-10T00:00+01:00)")
    return moment.astimezone(UTC)


@dataclass(frozen=True)
class ReplayHouse:
    """One house of the replay: where it came from and where its rows go."""

    house: House
    relative: Path
    """Path of its CSV relative to the input and output folders."""
    timezone: ZoneInfo


@dataclass
class ReplayInput:
    """The houses to replay, their points by entity id, and the span their data covers."""

    houses: list[ReplayHouse]
    points: dict[str, Points] = field(default_factory=dict)
    first: datetime | None = None
    last: datetime | None = None

    def inventory(self) -> Inventory:
        """The houses as discovery would have found them."""
        return Inventory({item.house.key: item.house for item in self.houses})


def _farm_timezone(folder: Path, default: ZoneInfo) -> ZoneInfo:
    settings = folder / "farm.json"
    if not settings.is_file():
        return default
    try:
        data = json.loads(settings.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ReplayError(f"{settings}: not a JSON file ({err})") from err
    if not isinstance(data, dict) or not isinstance(data.get("timezone"), str):
        raise ReplayError(f'{settings}: expected {{"timezone": "Area/City"}}')
    return zone(data["timezone"], str(settings))


def read_house_csv(path: Path) -> pd.DataFrame:
    """A house CSV as a frame indexed by UTC timestamp, one float column per role.

    Empty cells are missing values (NaN, never 0). Raises ReplayError naming the file and the
    problem: no rows, no `timestamp` column, a column that is not an input role, a time that is
    not ISO 8601 with offset, a value that is not a number.
    """
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except pd.errors.EmptyDataError as err:
        raise ReplayError(f"{path}: empty file") from err
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as err:
        raise ReplayError(f"{path}: not a readable CSV ({err})") from err
    columns = [str(name).strip() for name in raw.columns]
    raw.columns = pd.Index(columns)
    if "timestamp" not in columns:
        raise ReplayError(f"{path}: no 'timestamp' column")
    unknown = [name for name in columns if name != "timestamp" and not is_input_role(name)]
    if unknown:
        raise ReplayError(
            f"{path}: unknown column '{unknown[0]}' (not an input role; see DOCS.md, Replay)"
        )
    if len(set(columns)) != len(columns):
        raise ReplayError(f"{path}: a column appears twice")
    if raw.empty:
        raise ReplayError(f"{path}: empty file (a header but no rows)")
    stamps = raw["timestamp"].str.strip()
    for line, stamp in enumerate(stamps, start=2):
        if not _OFFSET.search(stamp):
            raise ReplayError(
                f"{path}: line {line}: timestamp '{stamp}' is not ISO 8601 with a UTC offset"
            )
    try:
        index = pd.DatetimeIndex(pd.to_datetime(stamps, utc=True, format="ISO8601"))
    except (ValueError, TypeError) as err:
        raise ReplayError(f"{path}: unparsable timestamp ({err})") from err
    data: dict[str, np.ndarray[Any, np.dtype[np.float64]]] = {}
    for name in columns:
        if name == "timestamp":
            continue
        text = raw[name].str.strip()
        values = pd.to_numeric(text.where(text != ""), errors="coerce")
        bad = values.isna() & (text != "")
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0]) + 2
            raise ReplayError(
                f"{path}: line {row}: '{text.iloc[row - 2]}' in {name} is not a number"
            )
        data[name] = values.to_numpy(dtype=np.float64)
    frame = pd.DataFrame(data, index=index.rename("timestamp"))
    return frame[~frame.index.duplicated(keep="last")].sort_index()


def load_csv(root: Path, timezone: str = "UTC") -> ReplayInput:
    """Every `root/<farm>/<house>.csv` as a house; its points keyed by made-up entity ids."""
    if not root.is_dir():
        raise ReplayError(f"{root}: not a folder")
    default = zone(timezone, "--timezone")
    result = ReplayInput([])
    for farm_index, folder in enumerate(sorted(p for p in root.iterdir() if p.is_dir())):
        files = sorted(folder.glob("*.csv"))
        if not files:
            continue
        tz = _farm_timezone(folder, default)
        for number, path in enumerate(files, start=1):
            frame = read_house_csv(path)
            key = f"{folder.name}/{path.stem}"
            signals: dict[str, EntityRef] = {}
            for role in frame.columns:
                entity = EntityRef(f"replay.f{farm_index}_h{number}_{role}", None, role)
                times, values = as_points(frame[role].dropna())
                points = keep_plausible(entity, (times, values))
                if not len(points[0]):
                    continue
                signals[role] = entity
                result.points[entity.entity_id] = points
                first = pd.Timestamp(int(points[0][0]), tz="UTC").to_pydatetime()
                last = pd.Timestamp(int(points[0][-1]), tz="UTC").to_pydatetime()
                result.first = first if result.first is None else min(result.first, first)
                result.last = last if result.last is None else max(result.last, last)
            house = House(
                key=key,
                farm_id=folder.name,
                house_number=number,
                device_id=key,
                name=path.stem,
                signals=signals,
            )
            result.houses.append(ReplayHouse(house, path.relative_to(root), tz))
    if not result.houses:
        raise ReplayError(f"{root}: no <farm>/<house>.csv file")
    if result.first is None:
        raise ReplayError(f"{root}: no values in any house file")
    return result


class PointsReader:
    """A Reader over points already in memory (the CSV input)."""

    name = CSV_SOURCE

    def __init__(self, points: Mapping[str, Points]) -> None:
        self._points = points

    async def read_points(
        self, entities: Sequence[EntityRef], start: datetime, end: datetime
    ) -> dict[str, Points]:
        """Points with start <= time < end of each entity (as the real readers answer)."""
        low, high = int(pd.Timestamp(start).value), int(pd.Timestamp(end).value)
        found: dict[str, Points] = {}
        for entity in entities:
            points = self._points.get(entity.entity_id)
            if points is None:
                continue
            first, last = np.searchsorted(points[0], [low, high], side="left")
            found[entity.entity_id] = (points[0][first:last], points[1][first:last])
        return found

    async def read(
        self, entities: Sequence[EntityRef], start: datetime, end: datetime
    ) -> dict[str, pd.Series]:
        """The same points as series (the Reader protocol)."""
        points = await self.read_points(entities, start, end)
        return {entity_id: points_series(entity_id, found) for entity_id, found in points.items()}

    async def close(self) -> None:
        """Nothing to release."""


class RecordingHA:
    """Home Assistant as the replay sees it: published reports are kept, never sent.

    Websocket commands (discovery) go to `inner` when there is one (the `--config` input reads
    the real inventory); the CSV input has none and fixes the inventory instead.
    """

    def __init__(self, inner: HomeAssistantAPI | None = None) -> None:
        self._inner = inner
        self.shown: dict[str, dict[str, Any]] = {}
        self.published_at: dict[str, int] = {}
        self.calls = 0

    async def command(self, command_type: str, **payload: Any) -> Any:
        """Forward a websocket command to the real HA (config input only)."""
        if self._inner is None:
            raise RuntimeError("the CSV replay has no Home Assistant to ask")
        return await self._inner.command(command_type, **payload)

    async def call_service(self, domain: str, service: str, data: Mapping[str, Any]) -> Any:
        """Record `rotem_farm.report_analysis`: each report is what its entities now show."""
        self.calls += 1
        for report in data.get("reports", []):
            self.shown[str(report["device_id"])] = dict(report)
        return None


class WatchingAnalyzer:
    """A farm analyzer that remembers its last result per house (for the `watched` column).

    The reports the service publishes do not carry `watched` (yet); the result does once the
    detectors provide it. Fit and update are the wrapped analyzer's, untouched.
    """

    def __init__(self, inner: Any, results: dict[str, Any]) -> None:
        self._inner = inner
        self._results = results

    def fit(self, history: Any) -> None:
        """The wrapped analyzer's fit."""
        self._inner.fit(history)

    def update(self, history: Any) -> Mapping[str, Any]:
        """The wrapped analyzer's update; its results are remembered by house key."""
        results: Mapping[str, Any] = self._inner.update(history)
        self._results.update({key: value for key, value in results.items() if value is not None})
        return results


class ReplayService(AnalyzerService):
    """The service with a fixed inventory (CSV input); every other step is the service's."""

    def __init__(self, *args: Any, inventory: Inventory | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._fixed = inventory

    async def _discover(self, result: TickResult) -> Inventory | None:
        if self._fixed is None:
            return await super()._discover(result)
        self.inventory = self._fixed
        return self._fixed


def detector_factories(config: AnalyzerConfig) -> tuple[AnalyzerFactory, HistoryFactory]:
    """The service's own factories, with an in-memory flock store (a replay saves no state)."""
    from ml_analyzer.cli import _detector_factories

    analyzer, history = _detector_factories(replace(config, state_dir=""))
    return analyzer, history


def tick_times(first: datetime, last: datetime, interval: timedelta) -> list[datetime]:
    """Ticks on interval boundaries from one interval after `first` until `last` is scored."""
    seconds = interval.total_seconds()
    start = datetime.fromtimestamp(math.floor(first.timestamp() / seconds) * seconds, UTC)
    stop = datetime.fromtimestamp(math.floor(last.timestamp() / seconds) * seconds, UTC)
    ticks = []
    moment = start + interval
    while moment <= stop + interval:
        ticks.append(moment)
        moment += interval
    return ticks


def _number(value: Any) -> str:
    return "" if value is None else f"{float(value):g}"


def _watched(report: Mapping[str, Any], result: Any) -> str:
    watched = report.get("watched", getattr(result, "watched", None))
    if watched is None:
        return ""
    if isinstance(watched, str):
        return watched
    return " ".join(str(item) for item in watched)


def row(
    moment: datetime, timezone: ZoneInfo, report: Mapping[str, Any] | None, result: Any
) -> dict[str, str]:
    """One output row: what the house's entities show at `moment` (empty: unknown)."""
    stamp = moment.astimezone(timezone).isoformat()
    if report is None:
        return dict.fromkeys(OUTPUT_COLUMNS, "") | {"timestamp": stamp}
    return {
        "timestamp": stamp,
        "anomaly": "true" if report["anomaly"] else "false",
        "anomaly_score": _number(report["anomaly_score"]),
        "failure_risk": _number(report["failure_risk"]),
        "failing_subsystem": str(report["subsystem"]),
        "time_to_failure_hours": _number(report.get("time_to_failure_hours")),
        "watched": _watched(report, result),
        "explanation": str(report.get("explanation", "")),
    }


async def replay(
    config: AnalyzerConfig,
    houses: Sequence[ReplayHouse],
    reader: Any,
    ticks: Sequence[datetime],
    *,
    inventory: Inventory | None = None,
    ha: HomeAssistantAPI | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, list[dict[str, str]]]:
    """Rows per house key, one per tick, through the service's own tick."""
    analyzer_factory, history_factory = detector_factories(config)
    results: dict[str, Any] = {}
    recorder = RecordingHA(ha)
    settle = timedelta(seconds=SETTLE_SECONDS.get(reader.name, DEFAULT_SETTLE_SECONDS))
    now = [ticks[0] + settle if ticks else datetime.now(UTC)]
    service = ReplayService(
        config,
        recorder,
        reader,
        lambda: WatchingAnalyzer(analyzer_factory(), results),
        history_factory,
        clock=lambda: now[0],
        inventory=inventory,
    )
    watched: dict[str, Any] = {}
    rows: dict[str, list[dict[str, str]]] = {item.house.key: [] for item in houses}
    for position, moment in enumerate(ticks):
        now[0] = moment + settle
        calls = recorder.calls
        outcome = await service.tick()
        if outcome.errors:
            _LOGGER.warning("Tick at %s: %s", moment.isoformat(), "; ".join(outcome.errors))
        if recorder.calls != calls:
            for item in houses:
                if item.house.device_id in recorder.shown and item.house.key in results:
                    watched[item.house.key] = results[item.house.key]
        for item in houses:
            report = recorder.shown.get(item.house.device_id)
            rows[item.house.key].append(
                row(moment, item.timezone, report, watched.get(item.house.key))
            )
        if progress is not None:
            progress(position + 1, len(ticks))
    return rows


@dataclass(frozen=True)
class Episode:
    """A run of ticks whose anomaly entity was on."""

    farm: str
    house: str
    start: str
    end: str
    subsystem: str


def episodes(farm: str, house: str, rows: Sequence[Mapping[str, str]]) -> list[Episode]:
    """The anomaly episodes of one house: start and end tick, and the subsystem most named."""
    found: list[Episode] = []
    current: list[Mapping[str, str]] = []
    for item in [*rows, {"anomaly": ""}]:
        if item.get("anomaly") == "true":
            current.append(item)
            continue
        if current:
            named = [r["failing_subsystem"] for r in current if r["failing_subsystem"] != "none"]
            subsystem = max(set(named), key=named.count) if named else "none"
            found.append(
                Episode(farm, house, current[0]["timestamp"], current[-1]["timestamp"], subsystem)
            )
            current = []
    return found


def write_output(
    out: Path, houses: Sequence[ReplayHouse], rows: Mapping[str, list[dict[str, str]]]
) -> list[Episode]:
    """One CSV per house at its relative path, and summary.csv; returns the episodes."""
    found: list[Episode] = []
    for item in houses:
        target = out / item.relative
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=OUTPUT_COLUMNS)
            writer.writeheader()
            writer.writerows(rows[item.house.key])
        found.extend(episodes(item.house.farm_id, item.house.name, rows[item.house.key]))
    out.mkdir(parents=True, exist_ok=True)
    with (out / "summary.csv").open("w", newline="", encoding="utf-8") as handle:
        summary = csv.writer(handle)
        summary.writerow(SUMMARY_COLUMNS)
        summary.writerows((e.farm, e.house, e.start, e.end, e.subsystem) for e in found)
    return found


def summary_text(found: Sequence[Episode], houses: int, ticks: int) -> str:
    """The printed summary: one line per episode."""
    lines = [f"Replayed {houses} houses over {ticks} ticks: {len(found)} anomaly episodes"]
    lines.extend(f"  {e.farm}/{e.house}: {e.start} .. {e.end}  {e.subsystem}" for e in found)
    return "\n".join(lines)


def run_csv(
    root: Path, out: Path, timezone: str = "UTC", config: AnalyzerConfig | None = None
) -> list[Episode]:
    """The `--csv` replay: read, tick, write; returns the episodes (ReplayError on bad input)."""
    data = load_csv(root, timezone)
    config = config or AnalyzerConfig()
    assert data.first is not None
    assert data.last is not None
    ticks = tick_times(data.first, data.last, timedelta(seconds=config.interval_seconds))
    rows = asyncio.run(
        replay(
            config,
            data.houses,
            PointsReader(data.points),
            ticks,
            inventory=data.inventory(),
        )
    )
    found = write_output(out, data.houses, rows)
    print(summary_text(found, len(data.houses), len(ticks)))
    return found


async def replay_config(
    config: AnalyzerConfig, start: datetime, end: datetime, timezone: ZoneInfo
) -> tuple[list[ReplayHouse], dict[str, list[dict[str, str]]], int]:
    """The `--config` replay: the configured source and HA's current inventory."""
    import aiohttp

    from ml_analyzer.cli import build_reader
    from ml_analyzer.discovery import discover
    from ml_analyzer.ha import HomeAssistantClient

    async with aiohttp.ClientSession() as session:
        ha = HomeAssistantClient(
            session,
            config.home_assistant.url,
            config.home_assistant.token,
            verify_ssl=config.home_assistant.verify_ssl,
        )
        reader = build_reader(config, session, ha)
        try:
            inventory = await discover(ha)
            houses = [
                ReplayHouse(house, Path(house.farm_id) / f"{house.house_number}.csv", timezone)
                for house in sorted(
                    inventory.houses.values(), key=lambda h: (h.farm_id, h.house_number)
                )
            ]
            ticks = tick_times(
                start,
                end - timedelta(seconds=config.interval_seconds),
                timedelta(seconds=config.interval_seconds),
            )
            rows = await replay(config, houses, reader, ticks, inventory=inventory, ha=ha)
        finally:
            await reader.close()
            await ha.close()
    return houses, rows, len(ticks)


def main(args: Any) -> int:
    """`replay` with parsed arguments: 0, or 2 and one line on bad input (no traceback)."""
    try:
        if args.csv is not None:
            if args.start or args.end:
                raise ReplayError("--start/--end: only with --config (the CSV files set the span)")
            run_csv(args.csv, args.out, args.timezone)
            return 0
        return _main_config(args)
    except ReplayError as err:
        print(f"ml_analyzer replay: {err}", file=sys.stderr)
        return 2


def _main_config(args: Any) -> int:
    from ml_analyzer.config import ConfigError, load_config

    if not args.start or not args.end:
        raise ReplayError("--config needs --start and --end")
    start = parse_moment(args.start, "--start")
    end = parse_moment(args.end, "--end")
    if end <= start:
        raise ReplayError(f"--end: '{args.end}' is not after --start")
    timezone = zone(args.timezone, "--timezone")
    try:
        config = load_config(args.config)
    except ConfigError as err:
        raise ReplayError(str(err)) from err
    logging.basicConfig(
        level=config.log_level.upper(), format="%(levelname)s %(name)s: %(message)s"
    )
    houses, rows, ticks = asyncio.run(replay_config(config, start, end, timezone))
    found = write_output(args.out, houses, rows)
    print(summary_text(found, len(houses), ticks))
    return 0
