"""Data sources for the analyzer: one module per source, one small interface.

A reader turns a list of HA entities and a time window into one float series per entity
(`{entity_id: pandas.Series}`, UTC `DatetimeIndex`, sorted). Points are returned as stored:
no resampling, no filling — a gap is information (a controller offline, a sensor down) and the
detectors decide what it means. An entity without points in the window is absent from the
result. A source that cannot be reached raises `SourceUnavailableError`, so the loop can back
off without knowing which source it talks to.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import numpy as np
import numpy.typing as npt
import pandas as pd

FloatArray = npt.NDArray[np.float64]


class SourceUnavailableError(Exception):
    """The data source cannot be reached or failed server-side: retry later."""


class SourceQueryError(Exception):
    """The data source refused a query (configuration problem, e.g. unknown database)."""


@dataclass(frozen=True)
class EntityRef:
    """An HA entity to read, with the unit its state carries (InfluxDB files points by unit)."""

    entity_id: str
    unit: str | None = None

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


def to_points(times: Sequence[float] | FloatArray, values: Sequence[float] | FloatArray) -> Points:
    """Points from epoch milliseconds and values: nanoseconds, sorted, duplicates dropped (the
    last wins). The values are always copied: the loop keeps them for days, and a view of the
    reader's time/value pairs would keep the pairs alive too (half as much memory again)."""
    stamps = np.round(np.asarray(times, dtype=np.float64) * 1e6).astype(np.int64)
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
