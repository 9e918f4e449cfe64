"""Scenario files: which farms exist and which faults happen when.

A scenario is YAML or JSON (schema in docs/simulator.md). Event times are either absolute
ISO 8601 timestamps or offsets from the simulation start (``"3h"``, ``"90m"``, ``"2d"``), so
one file serves the live server (start = now) and the benchmark API (start = any date).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

SCENARIO_DIR = Path(__file__).parent / "scenarios"

# Faults that change what a house's controller measures or does (the physics).
HOUSE_FAULTS = frozenset(
    {
        "heater_failure",
        "heater_wear",
        "fan_failure",
        "fan_wear",
        "probe_stuck",
        "probe_drift",
        "probe_dropout",
        "water_leak",
        "water_blockage",
        "feed_stop",
        "controller_offline",
    }
)
# Faults of the cloud service itself (the server's behaviour, not the data).
CLOUD_FAULTS = frozenset(
    {
        "cloud_outage",
        "slow_answers",
        "session_expired",
        "wrong_password",
        "no_farm",
        "malformed_json",
        "bom",
        "house_missing",
        "unit_change",
    }
)
# Cloud faults that concern one house of the answer (they keep their ``house``).
HOUSE_ANSWER_FAULTS = frozenset({"house_missing"})
FAULT_KINDS = HOUSE_FAULTS | CLOUD_FAULTS

_DURATION = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$")
_UNIT_SECONDS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


class ScenarioError(ValueError):
    """A scenario file or fault request does not follow the schema."""


def parse_duration(value: str | float | int) -> timedelta:
    """``"90m"``, ``"3h"``, ``"2d"``, ``"45s"`` or a number of seconds."""
    if isinstance(value, int | float):
        return timedelta(seconds=float(value))
    match = _DURATION.match(value)
    if match is None:
        raise ScenarioError(f"not a duration: {value!r} (use e.g. 90m, 3h, 2d)")
    return timedelta(seconds=float(match.group(1)) * _UNIT_SECONDS[match.group(2)])


def parse_time(value: str | float | int | datetime, start: datetime) -> datetime:
    """An absolute ISO 8601 time, or an offset from ``start``."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str) and ("T" in value or value.count("-") >= 2):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as err:
            raise ScenarioError(f"not an ISO 8601 time: {value!r}") from err
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return start + parse_duration(value)


@dataclass(frozen=True, slots=True)
class FaultEvent:
    """One fault as written in a scenario (times still relative)."""

    kind: str
    farm: int | None = None
    house: int | None = None
    at: str | float | datetime = 0
    duration: str | float | None = None
    params: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FaultEvent:
        """Validate one event mapping (from a file or from ``POST /_sim/fault``)."""
        if not isinstance(data, Mapping):
            raise ScenarioError("an event must be a mapping")
        kind = data.get("kind")
        if kind not in FAULT_KINDS:
            raise ScenarioError(f"unknown fault kind {kind!r}; known: {sorted(FAULT_KINDS)}")
        unknown = set(data) - {"kind", "farm", "house", "at", "duration", "params"}
        if unknown:
            raise ScenarioError(f"unknown event fields: {sorted(unknown)}")
        farm = data.get("farm")
        house = data.get("house")
        if kind in HOUSE_FAULTS and (not isinstance(farm, int) or not isinstance(house, int)):
            raise ScenarioError(f"{kind} needs integer 'farm' and 'house'")
        if kind in HOUSE_ANSWER_FAULTS and not isinstance(house, int):
            raise ScenarioError(f"{kind} needs an integer 'house'")
        if farm is not None and not isinstance(farm, int):
            raise ScenarioError("'farm' must be an integer")
        params = data.get("params") or {}
        if not isinstance(params, Mapping):
            raise ScenarioError("'params' must be a mapping")
        if kind == "unit_change" and params.get("units", "imperial") not in {"metric", "imperial"}:
            raise ScenarioError("unit_change.units must be metric or imperial")
        duration = data.get("duration")
        if duration is not None:
            parse_duration(duration)
        return cls(
            kind=str(kind),
            farm=farm,
            house=house if kind in HOUSE_FAULTS | HOUSE_ANSWER_FAULTS else None,
            at=data.get("at", 0),
            duration=duration,
            params=dict(params),
        )


@dataclass(frozen=True, slots=True)
class Fault:
    """A fault with absolute times, as the model and the server use it."""

    kind: str
    farm: int | None
    house: int | None
    start: datetime
    end: datetime | None
    params: Mapping[str, Any] = field(default_factory=dict)

    def param(self, name: str, default: float) -> float:
        """A numeric parameter, with the documented default."""
        value = self.params.get(name, default)
        if not isinstance(value, int | float):
            raise ScenarioError(f"{self.kind}.{name} must be a number")
        return float(value)

    @property
    def onset(self) -> datetime:
        """When the physical problem truly begins: wear starts before the failure itself."""
        wear_days = float(self.params.get("wear_days", 0) or 0)
        return self.start - timedelta(days=wear_days)

    def active(self, when: datetime) -> bool:
        """True while the fault is in force (wear phase excluded)."""
        return self.start <= when and (self.end is None or when < self.end)

    def applies_to(self, farm: int, house: int | None = None) -> bool:
        """True when the fault concerns this farm (and house, for house faults)."""
        if self.farm is not None and self.farm != farm:
            return False
        return house is None or self.house is None or self.house == house

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready description (control endpoints, status)."""
        return {
            "kind": self.kind,
            "farm": self.farm,
            "house": self.house,
            "start": self.start.isoformat(),
            "onset": self.onset.isoformat(),
            "end": self.end.isoformat() if self.end else None,
            "params": dict(self.params),
        }


def resolve(event: FaultEvent, start: datetime) -> Fault:
    """Turn a scenario event into a fault with absolute times."""
    begin = parse_time(event.at, start)
    end = begin + parse_duration(event.duration) if event.duration is not None else None
    return Fault(event.kind, event.farm, event.house, begin, end, event.params)


@dataclass(frozen=True, slots=True)
class FarmOptions:
    """Per-farm settings a scenario may override."""

    units: str = "metric"
    utc_offset_hours: float = 0.0
    climate_mean: float = 13.0
    climate_season_amplitude: float = 8.0
    climate_daily_amplitude: float = 5.0
    heaters: int = 8
    tunnel_fans: int = 12
    probes: int = 8
    bird_count: str = "reported"
    """`unreported`: the controllers report 0 birds in every house (the count was never
    entered on them, as on the real captured farm); the birds are there all the same."""


BIRD_COUNT_MODES = ("reported", "unreported")


@dataclass(frozen=True, slots=True)
class Scenario:
    """Farms, houses, seed and fault events. ``start`` is optional (the caller decides)."""

    name: str = "faultfree"
    description: str = ""
    farms: int = 1
    houses: int = 8
    seed: int = 1
    start: datetime | None = None
    farm_options: Mapping[int, FarmOptions] = field(default_factory=dict)
    events: tuple[FaultEvent, ...] = ()

    def options(self, farm: int) -> FarmOptions:
        """The settings of farm ``farm`` (defaults when the scenario says nothing)."""
        return self.farm_options.get(farm, FarmOptions())

    def faults(self, start: datetime) -> list[Fault]:
        """Every event with absolute times, for a simulation starting at ``start``."""
        return [resolve(event, start) for event in self.events]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Scenario:
        """Validate a decoded scenario document."""
        if not isinstance(data, Mapping):
            raise ScenarioError("a scenario must be a mapping")
        unknown = set(data) - {
            "name",
            "description",
            "farms",
            "houses",
            "seed",
            "start",
            "farm_options",
            "events",
        }
        if unknown:
            raise ScenarioError(f"unknown scenario fields: {sorted(unknown)}")
        options: dict[int, FarmOptions] = {}
        for item in data.get("farm_options") or []:
            options[int(item["farm"])] = _farm_options(item)
        start = data.get("start")
        return cls(
            name=str(data.get("name", "scenario")),
            description=str(data.get("description", "")),
            farms=int(data.get("farms", 1)),
            houses=int(data.get("houses", 8)),
            seed=int(data.get("seed", 1)),
            start=parse_time(start, datetime.now(UTC)) if start is not None else None,
            farm_options=options,
            events=tuple(FaultEvent.from_dict(event) for event in data.get("events") or []),
        )


def _farm_options(item: Mapping[str, Any]) -> FarmOptions:
    climate = item.get("climate") or {}
    units = str(item.get("units", "metric"))
    if units not in {"metric", "imperial"}:
        raise ScenarioError(f"units must be metric or imperial, not {units!r}")
    bird_count = str(item.get("bird_count", "reported"))
    if bird_count not in BIRD_COUNT_MODES:
        raise ScenarioError(f"bird_count must be reported or unreported, not {bird_count!r}")
    defaults = FarmOptions()
    return FarmOptions(
        units=units,
        utc_offset_hours=float(item.get("utc_offset_hours", 0.0)),
        climate_mean=float(climate.get("mean", defaults.climate_mean)),
        climate_season_amplitude=float(
            climate.get("season_amplitude", defaults.climate_season_amplitude)
        ),
        climate_daily_amplitude=float(
            climate.get("daily_amplitude", defaults.climate_daily_amplitude)
        ),
        heaters=int(item.get("heaters", defaults.heaters)),
        tunnel_fans=int(item.get("tunnel_fans", defaults.tunnel_fans)),
        probes=int(item.get("probes", defaults.probes)),
        bird_count=bird_count,
    )


def load(path: str | Path) -> Scenario:
    """Read a scenario file; a bare name (``demo``) means ``simulator/scenarios/demo.yaml``."""
    file = Path(path)
    if not file.exists() and not file.suffix:
        file = SCENARIO_DIR / f"{path}.yaml"
    text = file.read_text(encoding="utf-8")
    data = json.loads(text) if file.suffix == ".json" else yaml.safe_load(text)
    return Scenario.from_dict(data or {})
