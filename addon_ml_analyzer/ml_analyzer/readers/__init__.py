"""Data sources for the analyzer: one module per source, one small interface.

A reader turns a list of HA entities and a time window into one float series per entity
(`{entity_id: pandas.Series}`, UTC `DatetimeIndex`, sorted). Points are returned as stored:
no resampling, no filling — a gap is information (a controller offline, a sensor down) and the
detectors decide what it means. An entity without points in the window is absent from the
result. A source that cannot be reached raises `SourceUnavailableError`, so the loop can back
off without knowing which source it talks to; an answer that is not shaped as the source's
protocol says (a proxy's HTML page, a corrupt or foreign answer) raises `SourceAnswerError`, a
kind of unavailability, never a `KeyError` or `TypeError` that would stop the service.

Values are cleaned at the reader, per role (`PLAUSIBLE_RANGES`): a non-finite number or one no
sensor of that kind can read (1e308 °C, a humidity of -5 %) is dropped, so it becomes a gap and
never a verdict ("anomaly" with a 309-digit number, or "all normal" for -inf).
"""

from __future__ import annotations

import socket
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import aiohttp
import numpy as np
import numpy.typing as npt
import pandas as pd

FloatArray = npt.NDArray[np.float64]

# What opening a connection may raise: aiohttp's errors (ClientConnectorDNSError for a name that
# does not resolve), OSError from getaddrinfo, timeouts, and TypeError from aiodns 3.2 paired
# with pycares 5 (`Channel.getaddrinfo() takes 3 positional arguments`), which aiohttp does not
# wrap. Only the step that opens the connection is guarded this wide (by the readers and the HA
# client), so a TypeError of our own code still surfaces.
CONNECT_ERRORS = (aiohttp.ClientError, OSError, TimeoutError, TypeError)
# Epoch milliseconds a point may carry: what numpy's nanosecond datetimes can hold (1678-2262).
MAX_EPOCH_MS = 9.2e12


def connect_reason(err: BaseException) -> str:
    """Why a connection failed, without the URL (which may carry credentials)."""
    if isinstance(err, TypeError | aiohttp.ClientConnectorDNSError | socket.gaierror):
        return f"name resolution failed ({type(err).__name__})"
    return type(err).__name__


class SourceUnavailableError(Exception):
    """The data source cannot be reached or failed server-side: retry later."""


class SourceAnswerError(SourceUnavailableError):
    """The source answered, but not in its protocol's shape (a proxy page, a foreign server,
    a truncated or corrupt document): treated like an outage, retried later."""


class SourceQueryError(Exception):
    """The data source refused a query (configuration problem, e.g. unknown database)."""


@dataclass(frozen=True)
class EntityRef:
    """An HA entity to read, with the unit its state carries (InfluxDB files points by unit)."""

    entity_id: str
    unit: str | None = None
    role: str | None = None
    """The signal's role (`discovery.INPUT_ROLES`), which selects its plausible range."""

    @property
    def domain(self) -> str:
        """`sensor` of `sensor.house_1_temperature`."""
        return self.entity_id.partition(".")[0]

    @property
    def object_id(self) -> str:
        """`house_1_temperature` of `sensor.house_1_temperature` (HA's influx entity_id tag)."""
        return self.entity_id.partition(".")[2]


Points = tuple[npt.NDArray[np.int64], FloatArray]
"""One entity's points as plain arrays: epoch nanoseconds (sorted, unique) and values."""


class Reader(Protocol):
    """What every data source offers the loop.

    A reader may also offer `read_points(entities, start, end) -> dict[str, Points]`, the same
    points as arrays: the loop prefers it, because a tick reads thousands of entities with a
    point or two each, and building a pandas series per entity costs more than the data.
    """

    name: str

    async def read(
        self, entities: Sequence[EntityRef], start: datetime, end: datetime
    ) -> dict[str, pd.Series]:
        """Points with start <= time < end for each entity, as float series."""

    async def close(self) -> None:
        """Release connections owned by the reader."""


# Plausible values per input role (discovery.INPUT_ROLES, plus probe_temperature_N), wide
# enough for every unit the integration may publish a role in (°C and °F; Pa, mmH2O and inH2O;
# litres and gallons; m³/h and CFM). The bounds reject what no sensor of that kind can read, not
# what is unusual: unusual values are the detectors' business.
_TEMPERATURE = (-70.0, 160.0)
PLAUSIBLE_RANGES: dict[str, tuple[float, float]] = {
    "temperature": _TEMPERATURE,
    "set_temperature": _TEMPERATURE,
    "outside_temperature": _TEMPERATURE,
    "tunnel_temperature": _TEMPERATURE,
    "probe_temperature": _TEMPERATURE,
    "humidity": (0.0, 100.0),
    "static_pressure": (-5000.0, 5000.0),
    "target_pressure": (-5000.0, 5000.0),
    "co2": (0.0, 100_000.0),
    "ammonia": (0.0, 10_000.0),
    "vent_level": (-1000.0, 100_000.0),
    "vent_level_percent": (0.0, 100.0),
    "air_flow": (0.0, 1e9),
    "water_daily": (0.0, 1e7),
    "feed_daily": (0.0, 1e7),
    "bird_count": (0.0, 1e7),
    "livability": (0.0, 100.0),
    "growth_day": (-100.0, 1000.0),
    "heaters_running": (0.0, 1000.0),
    "tunnel_fans_running": (0.0, 1000.0),
    "exhaust_fans_running": (0.0, 1000.0),
    "alarm": (0.0, 1.0),
    "connection": (0.0, 1.0),
    "house_mode": (0.0, 1.0),
}
# Roles whose HA state is text (an enum sensor), and the number each state is read as. HA's
# influxdb integration stores such a state in the string field `state` (no `value` field), the
# recorder as the state itself. The house mode is read as an occupancy flag: 1 for a mode that
# holds birds (full house or room, a brooding stage, catching), 0 for an empty house or room;
# a state not listed (unknown, unavailable, a mode added later) is a gap.
HOUSE_MODE_OCCUPIED: dict[str, float] = {
    "full_house": 1.0,
    "first_brood": 1.0,
    "second_brood": 1.0,
    "third_brood": 1.0,
    "full_room": 1.0,
    "catching": 1.0,
    "empty_house": 0.0,
    "empty_room": 0.0,
}
TEXT_STATES: dict[str, dict[str, float]] = {"house_mode": HOUSE_MODE_OCCUPIED}
# A signal of unknown role: only what no float a sensor sends can mean.
ANY_RANGE = (-1e12, 1e12)


def plausible_range(role: str | None) -> tuple[float, float]:
    """The range of values kept for a role (probes share one entry)."""
    if role is None:
        return ANY_RANGE
    if role.startswith("probe_temperature_"):
        role = "probe_temperature"
    return PLAUSIBLE_RANGES.get(role, ANY_RANGE)


def text_states(role: str | None) -> dict[str, float] | None:
    """The numbers a text-valued role's states are read as, or None for a numeric role."""
    return None if role is None else TEXT_STATES.get(role)


def influx_field(role: str | None) -> str:
    """The field HA's influxdb integration writes a role's state to: `state` for text."""
    return "state" if text_states(role) is not None else "value"


def keep_plausible(entity: EntityRef, points: Points) -> Points:
    """The points whose value is finite and within the entity's role range (others dropped)."""
    stamps, numbers = points
    low, high = plausible_range(entity.role)
    with np.errstate(invalid="ignore"):
        keep = np.isfinite(numbers) & (numbers >= low) & (numbers <= high)
    if bool(keep.all()):
        return points
    return stamps[keep], numbers[keep]


def to_points(times: Sequence[float] | FloatArray, values: Sequence[float] | FloatArray) -> Points:
    """Points from epoch milliseconds and values: nanoseconds, sorted, duplicates dropped (the
    last wins). The values are always copied: the loop keeps them for days, and a view of the
    reader's time/value pairs would keep the pairs alive too (half as much memory again).

    A time that is not finite or beyond what a nanosecond stamp holds is `SourceAnswerError`:
    no source of ours sends one, so the answer is not what it claims to be."""
    milliseconds = np.asarray(times, dtype=np.float64)
    if milliseconds.size and not bool(np.all(np.abs(milliseconds) < MAX_EPOCH_MS)):
        raise SourceAnswerError("the source sent a time that is not a valid moment")
    stamps = np.round(milliseconds * 1e6).astype(np.int64)
    numbers = np.array(values, dtype=np.float64)
    if stamps.size > 1 and bool(np.any(stamps[1:] <= stamps[:-1])):
        order = np.argsort(stamps, kind="stable")
        stamps, numbers = stamps[order], numbers[order]
        last = np.append(stamps[1:] != stamps[:-1], True)
        stamps, numbers = stamps[last], numbers[last]
    return stamps, numbers


def to_series(
    entity_id: str, times: Sequence[float] | FloatArray, values: Sequence[float] | FloatArray
) -> pd.Series:
    """A float series on a UTC nanosecond index from epoch milliseconds (see to_points)."""
    return points_series(entity_id, to_points(times, values))


def points_series(entity_id: str, points: Points) -> pd.Series:
    """Points as a float series on a UTC nanosecond index (what `Reader.read` returns)."""
    stamps, numbers = points
    index = pd.DatetimeIndex(stamps.view("M8[ns]"), name="timestamp").tz_localize("UTC")
    return pd.Series(numbers, index=index, name=entity_id)


def influx_measurement(entity: EntityRef, default_measurement: str, override: str) -> str:
    """The measurement HA's influxdb integration writes an entity's points to.

    Override wins; otherwise the unit of measurement; without a unit the configured default
    measurement, and without that the full entity id (HA's own fallback).
    """
    if override:
        return override
    if entity.unit:
        return entity.unit
    return default_measurement or entity.entity_id


def anchored_regex(names: Sequence[str]) -> str:
    """`/^(a|b|c)$/` matching exactly these tag values (InfluxQL and Flux share Go regex)."""
    escaped = [
        "".join(char if char.isalnum() or char == "_" else "\\" + char for char in name)
        for name in sorted(set(names))
    ]
    return "/^(" + "|".join(escaped) + ")$/"
