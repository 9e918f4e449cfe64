"""Days of a faulty cloud, in minutes: the real integration in a real HA and the analyzer.

Starts the devtools stack's parts (InfluxDB, the simulator on an accelerated clock, a `hass`
process with the Rotem farm added through its config flow, the analyzer against both), then
injects, for every simulated day, the faults the cloud and the links really show: a session
expiry, an hour of outage (503), half an hour of throttling (429 with Retry-After), three
malformed answers, an hour of BOM-prefixed answers, a controller off line for two hours, a house
missing from one answer and a unit change (°F for two hours). HA is told to read the farm every
`--poll-seconds` (an automation calling `homeassistant.update_entity`, as users do; the
integration's own interval is 5 real minutes), so a simulated day holds dozens of polls.

Prints `name: value unit` lines: polls, log records by kind (expected / unexpected) of HA and
the analyzer, log records per fault, secrets found in the logs (must be 0), entities lost (must
be 0), and the RSS of HA and the analyzer at the end of each simulated day.

    .venv/bin/python bench/soak.py                  # 7 simulated days, 4 real minutes each
    .venv/bin/python bench/soak.py --days 2 --day-seconds 480 --poll-seconds 10

HA reads the farm at most every 10 s (the coordinator's refresh cooldown): at 240 s a day that
is a poll every 2 simulated hours, so the hour-long faults fall between polls; use 480 s or
more for a day where every fault is met by a poll.

Not part of scripts/test; tests/e2e/test_soak.py runs one simulated day of it.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import secrets
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from devtools import REPO_ROOT
from devtools.houses import DOMAIN
from devtools.influxdb import INFLUX_DATABASE
from devtools.processes import wait_until
from devtools.simulator_process import SimulatorProcess
from devtools.stack import DemoStack, StackSettings

FARM = 1
HOUSES = 4
OFFLINE_HOUSE = 2
MISSING_HOUSE = 3


@dataclass(frozen=True)
class PlannedFault:
    """One fault of the schedule: what to post to `/_sim/fault`, and its name in the figures."""

    name: str
    event: dict[str, Any]
    at_hours: float
    hours: float


def day_schedule(day: int) -> list[PlannedFault]:
    """The faults of simulated day `day` (hours from that day's start)."""
    plan: list[tuple[str, dict[str, Any], float, float]] = [
        ("session_expired", {"kind": "session_expired"}, 1.0, 0.0),
        ("outage_503", {"kind": "cloud_outage"}, 3.0, 1.0),
        (
            "throttled_429",
            {"kind": "cloud_outage", "params": {"status": 429, "retry_after": 30}},
            6.0,
            0.5,
        ),
        ("malformed_json", {"kind": "malformed_json", "params": {"count": 3}}, 9.0, 1.0),
        ("bom", {"kind": "bom"}, 12.0, 1.0),
        (
            "controller_offline",
            {"kind": "controller_offline", "farm": FARM, "house": OFFLINE_HOUSE},
            14.0,
            2.0,
        ),
        (
            "house_missing",
            {"kind": "house_missing", "house": MISSING_HOUSE, "params": {"count": 1}},
            18.0,
            1.0,
        ),
        ("unit_change", {"kind": "unit_change", "params": {"units": "imperial"}}, 20.0, 2.0),
    ]
    faults = []
    for name, event, at, hours in plan:
        start = day * 24 + at
        posted = {**event, "at": f"{start * 3600:.0f}s"}
        if hours:
            posted["duration"] = f"{hours * 3600:.0f}s"
        faults.append(PlannedFault(name, posted, start, hours))
    return faults


class PasswordSimulator(SimulatorProcess):
    """The stack's simulator with a password of its own (a secret the logs must never show)."""

    password = ""

    def command(self) -> list[str]:
        """The stack's command line plus `--password`."""
        return [*super().command(), "--password", self.password]


@dataclass
class LogRecord:
    """One record of a log (with its continuation lines, e.g. a traceback)."""

    source: str
    when: datetime | None
    level: str
    logger: str
    text: str

    @property
    def traceback(self) -> bool:
        """Whether the record carries a traceback."""
        return "Traceback (most recent call last)" in self.text


_LEVEL = r"(DEBUG|INFO|WARNING|ERROR|CRITICAL)"
_HA_LINE = re.compile(
    r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+) " + _LEVEL + r" \([^)]*\) \[([^\]]+)\] "
)
_ANALYZER_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),\d+ " + _LEVEL + r" ([\w.]+): ")


def parse_log(path: Path, source: str, pattern: re.Pattern[str]) -> list[LogRecord]:
    """Split a log into records: a line that starts with a timestamp opens one."""
    records: list[LogRecord] = []
    if not path.exists():
        return records
    for line in path.read_text(errors="replace").splitlines():
        match = pattern.match(line)
        if match:
            when = datetime.fromisoformat(match.group(1)).replace(tzinfo=UTC)
            records.append(LogRecord(source, when, match.group(2), match.group(3), line))
        elif records:
            records[-1].text += "\n" + line
        elif line.strip():
            records.append(LogRecord(source, None, "OUTPUT", "", line))
    return records


#: Records that say what the faults should make them say (typed errors, at most a warning or
#: the coordinator's one error line per failed poll), and HA's own notes about this setup.
EXPECTED = (
    re.compile(r"\[custom_components\.rotem_farm[\w.]*\] "),
    re.compile(r"\[homeassistant\.loader\] We found a custom integration"),
    # A unit change: HA's statistics notice the new unit (the integration switched on purpose).
    re.compile(r"\[homeassistant\.components\.sensor\.recorder\] .*unit"),
    re.compile(r"ml_analyzer[\w.]*: "),
)


def classify(record: LogRecord) -> str:
    """`expected` or `unexpected` for a WARNING-or-worse record; a traceback is unexpected."""
    if record.traceback or "Unexpected error" in record.text:
        return "unexpected"
    if any(pattern.search(record.text) for pattern in EXPECTED):
        return "expected"
    return "unexpected"


@dataclass
class Figures:
    """What one soak run measured (printed by `report`, asserted by the e2e test)."""

    days: int
    speed: float
    polls: int = 0
    logins: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    per_fault: Counter[str] = field(default_factory=Counter)
    unexpected: list[str] = field(default_factory=list)
    secrets_found: dict[str, int] = field(default_factory=dict)
    entities_before: int = 0
    entities_after: int = 0
    devices_before: int = 0
    devices_after: int = 0
    rss_mib: list[tuple[float, float]] = field(default_factory=list)
    ha_alive: bool = False
    analyzer_alive: bool = False
    analyzer_ticks: int = 0

    @property
    def entities_lost(self) -> int:
        """Entities of the farm at the start that are gone at the end."""
        return max(0, self.entities_before - self.entities_after)

    def report(self) -> Iterable[str]:
        """`name: value unit` lines."""
        yield f"simulated days: {self.days} days"
        yield f"clock speed: {self.speed:g} x"
        yield f"polls: {self.polls} polls"
        yield f"logins: {self.logins} logins"
        yield f"analyzer passes: {self.analyzer_ticks} passes"
        for kind in ("expected", "unexpected"):
            for source in ("ha", "analyzer"):
                yield f"errors {kind} {source}: {self.errors[f'{kind} {source}']} records"
        for name, count in sorted(self.per_fault.items()):
            yield f"log records during {name}: {count} records"
        for name, count in sorted(self.secrets_found.items()):
            yield f"secrets found {name}: {count} lines"
        yield f"secrets found: {sum(self.secrets_found.values())} lines"
        yield f"entities before: {self.entities_before} entities"
        yield f"entities after: {self.entities_after} entities"
        yield f"entities lost: {self.entities_lost} entities"
        yield f"devices lost: {max(0, self.devices_before - self.devices_after)} devices"
        for day, (ha, analyzer) in enumerate(self.rss_mib):
            yield f"rss day {day} ha: {ha:.0f} MiB"
            yield f"rss day {day} analyzer: {analyzer:.0f} MiB"
        yield f"ha alive: {int(self.ha_alive)} bool"
        yield f"analyzer alive: {int(self.analyzer_alive)} bool"
        for line in self.unexpected[:20]:
            yield "# unexpected: " + line.splitlines()[0][:300]


def rss_mib(pid: int | None) -> float:
    """Resident memory of a process from /proc (NaN when it is gone)."""
    if pid is None:
        return float("nan")
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


async def farm_registry(stack: DemoStack) -> tuple[int, int]:
    """(entities, devices) of the integration in HA's registries."""
    entities = [e for e in await stack.ha.entity_registry() if e.get("platform") == DOMAIN]
    devices = [
        d
        for d in await stack.ha.device_registry()
        if any(domain == DOMAIN for domain, _ in d.get("identifiers", []))
    ]
    return len(entities), len(devices)


async def create_poll_automation(stack: DemoStack, entry_id: str, seconds: int) -> None:
    """Read the farm every `seconds` (homeassistant.update_entity on one of its entities)."""
    registry = await stack.ha.entity_registry()
    entity_id = next(
        e["entity_id"]
        for e in registry
        if e.get("config_entry_id") == entry_id and e.get("platform") == DOMAIN
    )
    automation_id = "rotem_farm_soak_poll"
    await stack.ha.rest(
        "POST",
        f"/api/config/automation/config/{automation_id}",
        {
            "id": automation_id,
            "alias": "Read the Rotem farm often (soak)",
            "triggers": [{"trigger": "time_pattern", "seconds": f"/{seconds}"}],
            "actions": [
                {"action": "homeassistant.update_entity", "target": {"entity_id": entity_id}}
            ],
        },
    )


def write_analyzer_config(stack: DemoStack, influx_password: str, interval: int) -> None:
    """The analyzer's config with InfluxDB credentials (1.x without auth ignores them)."""
    tokens = stack.ha.tokens
    assert tokens is not None
    path = stack.analyzer.config_path
    path.write_text(
        yaml.safe_dump(
            {
                "home_assistant": {"url": stack.ha.url, "token": tokens.long_lived},
                "influxdb": {
                    "host": "127.0.0.1",
                    "port": stack.influxdb.port,
                    "database": INFLUX_DATABASE,
                    "username": "soak",
                    "password": influx_password,
                },
                "interval_seconds": interval,
                "sensitivity": "medium",
                "log_level": "debug",
            },
            sort_keys=False,
        )
    )
    path.chmod(0o600)


#: Shapes of the cloud's secrets whose values the soak cannot know (the simulator makes them).
SECRET_SHAPES = {
    "jwt": re.compile(r"eyJ[\w-]{8,}\.[\w-]{8,}\.[\w-]{8,}"),
    "session cookie": re.compile(r"ASP\.NET_SessionId=(?!\*)[^;\s'\"]+"),
    "connection token": re.compile(r"farmConnectionToken['\"]?\s*[:=]\s*['\"]?[0-9a-f]{8,}"),
}


def find_secrets(paths: Sequence[Path], known: dict[str, str]) -> dict[str, int]:
    """Lines of the logs showing a known secret, or something shaped like the cloud's tokens."""
    found = dict.fromkeys([*known, *SECRET_SHAPES], 0)
    for path in paths:
        if not path.exists():
            continue
        for line in path.read_text(errors="replace").splitlines():
            for name, value in known.items():
                if value and value in line:
                    found[name] += 1
            for name, pattern in SECRET_SHAPES.items():
                if pattern.search(line):
                    found[name] += 1
    return found


@dataclass
class Run:
    """What the analysis of the logs needs from a run: times, fault windows, secrets."""

    wall_start: datetime
    windows: list[tuple[str, float, float]] = field(default_factory=list)
    known_secrets: dict[str, str] = field(default_factory=dict)


def make_stack(root: Path, speed: float, analyzer_interval: int, sim_password: str) -> DemoStack:
    """The demo stack's parts for one farm of four houses, its simulator with a password."""
    settings = StackSettings(
        root=root,
        farms=1,
        houses=HOUSES,
        speed=speed,
        scenario=REPO_ROOT / "simulator" / "scenarios" / "faultfree.yaml",
        analyzer_interval=analyzer_interval,
    )
    stack = DemoStack(settings)
    simulator = PasswordSimulator(
        python=settings.python,
        scenario_path=stack.scenario_path,
        log_path=root / "logs/simulator.log",
        farms=settings.farms,
        houses=settings.houses,
        speed=speed,
        seed=settings.seed,
        http=stack._session,
    )
    simulator.password = sim_password
    stack.simulator = simulator
    # Debug logs of the integration and the client: where a leaked secret would show first.
    stack.ha.config.log_levels = {"custom_components.rotem_farm": "debug"}
    return stack


async def start_stack(
    stack: DemoStack, sim_password: str, influx_password: str, poll_seconds: int
) -> None:
    """InfluxDB, simulator, HA with the farm added and read often, then the analyzer."""
    await stack.start_influxdb()
    await stack.start_simulator()
    await stack.start_home_assistant()
    entry_id = await stack.add_rotem_farm(password=sim_password)
    await create_poll_automation(stack, entry_id, poll_seconds)

    async def houses_ready() -> bool:
        houses = [h for h in (await stack.house_states()).values() if "set_temperature" in h]
        return len(houses) == HOUSES

    await wait_until(houses_ready, within=300, what="the farm's houses in HA")
    # Past days in InfluxDB, so the analyzer fits its detectors and publishes during the soak.
    await stack.backfill_history()
    write_analyzer_config(stack, influx_password, stack.settings.analyzer_interval)
    stack.analyzer.start()


async def run_days(
    stack: DemoStack, figures: Figures, day_seconds: float, poll_seconds: int
) -> Run:
    """Post every day's faults, let the days pass, sample RSS at the end of each day."""
    speed = figures.speed
    await stack.sim_post("reset-counters")
    started = time.monotonic()
    run = Run(wall_start=datetime.now(UTC))
    for day in range(figures.days):
        for fault in day_schedule(day):
            await stack.sim_post("fault", fault.event)
            begin = fault.at_hours * 3600 / speed
            # A one-shot fault shows at the next poll; its record may come a poll later.
            end = begin + fault.hours * 3600 / speed + 2 * poll_seconds
            run.windows.append((fault.name, begin, end))
    for day in range(figures.days):
        while time.monotonic() - started < (day + 1) * day_seconds:
            await asyncio.sleep(5.0)
            if stack.analyzer.child is not None:
                stack.analyzer.child.check_alive()
            await stack.ha.rest("GET", "/api/config")
        figures.rss_mib.append(
            (
                rss_mib(stack.ha.process.pid if stack.ha.process else None),
                rss_mib(stack.analyzer.child.process.pid if stack.analyzer.child else None),
            )
        )
        sys.stderr.write(f"soak: simulated day {day + 1} of {figures.days} done\n")
    # The faults are over: let the farm be read a few more times, then count what is left.
    await stack.sim_post("clear")
    await asyncio.sleep(3 * poll_seconds)
    figures.entities_after, figures.devices_after = await farm_registry(stack)
    status = await stack.sim_get("status")
    figures.polls = int(status["requests"].get("GetSiteControllersInfo", 0))
    figures.logins = int(status.get("logins", 0))
    figures.ha_alive = stack.ha.process is not None and stack.ha.process.poll() is None
    figures.analyzer_alive = stack.analyzer.child is not None and stack.analyzer.child.alive()
    return run


def analyse_logs(figures: Figures, run: Run, ha_log: Path, analyzer_log: Path) -> None:
    """Count the WARNING-or-worse records of the soak by kind and by fault window."""
    records = parse_log(ha_log, "ha", _HA_LINE)
    records += parse_log(analyzer_log, "analyzer", _ANALYZER_LINE)
    for record in records:
        # Start-up (onboarding, the first flows) is not the soak.
        if record.when is None or record.when < run.wall_start:
            continue
        if record.level not in {"WARNING", "ERROR", "CRITICAL"} and not record.traceback:
            continue
        kind = classify(record)
        figures.errors[f"{kind} {record.source}"] += 1
        if kind == "unexpected":
            figures.unexpected.append(f"{record.source}: {record.text}")
        offset = (record.when - run.wall_start).total_seconds()
        names = [name for name, begin, end in run.windows if begin <= offset <= end]
        for name in names or ["no fault"]:
            figures.per_fault[name] += 1


async def soak(
    root: Path,
    *,
    days: int,
    day_seconds: float,
    poll_seconds: int,
    analyzer_interval: int,
) -> Figures:
    """Run the stack through `days` simulated days of faults; return the figures."""
    speed = 86400 / day_seconds
    figures = Figures(days=days, speed=speed)
    sim_password = "soak-" + secrets.token_urlsafe(12)
    influx_password = "influx-" + secrets.token_urlsafe(12)
    stack = make_stack(root, speed, analyzer_interval, sim_password)
    try:
        await start_stack(stack, sim_password, influx_password, poll_seconds)
        figures.entities_before, figures.devices_before = await farm_registry(stack)
        run = await run_days(stack, figures, day_seconds, poll_seconds)
    finally:
        tokens = stack.ha.tokens
        await stack.stop()
    analyse_logs(figures, run, stack.ha.log_path, stack.analyzer.log_path)
    figures.analyzer_ticks = count_passes(stack.analyzer.log_path)
    known = {"simulator password": sim_password, "influxdb password": influx_password}
    if tokens is not None:
        known |= {
            "ha long-lived token": tokens.long_lived,
            "ha access token": tokens.access_token,
            "ha refresh token": tokens.refresh_token,
        }
    logs = [stack.ha.log_path, stack.ha.config_dir / "hass.stdout.log", stack.analyzer.log_path]
    figures.secrets_found = find_secrets(logs, known)
    return figures


#: The analyzer's log line of one pass (DEBUG: `Tick N: TickResult(...)`).
PASS_LINE = "ml_analyzer.loop: Tick "


def count_passes(path: Path) -> int:
    """Analyzer passes: lines of its log that report one."""
    if not path.exists():
        return 0
    return sum(1 for line in path.read_text(errors="replace").splitlines() if PASS_LINE in line)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the options, run the soak, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--days", type=int, default=7, help="simulated days (default 7)")
    parser.add_argument(
        "--day-seconds", type=float, default=240, help="real seconds per simulated day (240)"
    )
    parser.add_argument(
        "--poll-seconds",
        type=int,
        default=10,
        help="real seconds between HA's reads (10: HA's refresh cooldown, faster is not read)",
    )
    parser.add_argument(
        "--analyzer-interval", type=int, default=60, help="real seconds between passes (60)"
    )
    parser.add_argument("--dir", type=Path, default=None, help="keep the state and logs here")
    args = parser.parse_args(argv)
    if args.days < 1:
        parser.error("--days must be at least 1")
    if args.day_seconds < 60:
        parser.error("--day-seconds must be at least 60")
    if not 1 <= args.poll_seconds <= 59:
        parser.error("--poll-seconds must be between 1 and 59")
    if args.analyzer_interval < 60:
        parser.error("--analyzer-interval must be at least 60 (the analyzer's minimum)")

    def run(root: Path) -> Figures:
        return asyncio.run(
            soak(
                root,
                days=args.days,
                day_seconds=args.day_seconds,
                poll_seconds=args.poll_seconds,
                analyzer_interval=args.analyzer_interval,
            )
        )

    if args.dir is not None:
        args.dir.mkdir(parents=True, exist_ok=True)
        figures = run(args.dir)
    else:
        with tempfile.TemporaryDirectory(prefix="rotem-soak-") as tmp:
            figures = run(Path(tmp))
    for line in figures.report():
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
