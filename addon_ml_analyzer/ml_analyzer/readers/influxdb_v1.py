"""InfluxDB 1.x reader (InfluxQL over HTTP), for data written by HA's influxdb integration.

HA files each state under measurement = unit of measurement (or the configured default),
tag `entity_id` = the object id WITHOUT the domain, tag `domain`, field `value`. We ask for many
entities at once: one query per measurement and window, `entity_id =~ /^(a|b|c)$/` grouped by
entity and domain — a farm of 400 houses is a handful of queries, not thousands. The answer is
requested chunked and parsed chunk by chunk into numpy arrays, so a 14-day window of millions of
points never exists as one JSON document or as millions of Python lists.
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

import aiohttp
import numpy as np
import numpy.typing as npt
import pandas as pd

from ml_analyzer.config import InfluxV1Config
from ml_analyzer.readers import (
    EntityRef,
    Points,
    SourceQueryError,
    SourceUnavailableError,
    anchored_regex,
    influx_measurement,
    points_series,
    to_points,
)

CHUNK_POINTS = 10_000
PARALLEL_QUERIES = 2
QUERY_TIMEOUT = aiohttp.ClientTimeout(total=600, sock_read=300)


def quote_identifier(name: str) -> str:
    """InfluxQL double-quoted identifier (measurements such as `°C` or `%`)."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _epoch_ns(moment: datetime) -> int:
    return int(pd.Timestamp(moment).tz_convert("UTC").value)


def build_query(
    measurement: str | Sequence[str], object_ids: Sequence[str], start: datetime, end: datetime
) -> str:
    """One InfluxQL statement for all entities of one measurement (or several) in [start, end).

    Several measurements are matched with one regex: HA files a unit-less entity under its own
    entity id when no default measurement is set, and one query still serves them all.
    """
    source = (
        quote_identifier(measurement)
        if isinstance(measurement, str)
        else anchored_regex(measurement)
    )
    return (
        f'SELECT "value" FROM {source} '
        f'WHERE "entity_id" =~ {anchored_regex(object_ids)} '
        f"AND time >= {_epoch_ns(start)} AND time < {_epoch_ns(end)} "
        'GROUP BY "entity_id", "domain"'
    )


async def _lines(response: aiohttp.ClientResponse) -> AsyncIterator[bytes]:
    """Newline-delimited JSON documents of a chunked answer, however the bytes arrive."""
    buffer = b""
    async for block in response.content.iter_chunked(1 << 20):
        buffer += block
        *complete, buffer = buffer.split(b"\n")
        for line in complete:
            if line.strip():
                yield line
    if buffer.strip():
        yield buffer


class InfluxV1Reader:
    """Reads HA's InfluxDB 1.x database; `queries` counts the HTTP queries sent."""

    name = "InfluxDB 1.x"

    def __init__(self, session: aiohttp.ClientSession, config: InfluxV1Config) -> None:
        self._session = session
        self._config = config
        self._auth = (
            aiohttp.BasicAuth(config.username, config.password) if config.username else None
        )
        self.queries = 0

    async def read(
        self, entities: Sequence[EntityRef], start: datetime, end: datetime
    ) -> dict[str, pd.Series]:
        """Points with start <= time < end, one query per measurement."""
        points = await self.read_points(entities, start, end)
        return {entity_id: points_series(entity_id, found) for entity_id, found in points.items()}

    async def read_points(
        self, entities: Sequence[EntityRef], start: datetime, end: datetime
    ) -> dict[str, Points]:
        """`read` as plain arrays (readers.Points): what the loop uses every tick."""
        by_measurement: dict[str, list[EntityRef]] = defaultdict(list)
        own_measurement: list[EntityRef] = []
        for entity in entities:
            measurement = influx_measurement(
                entity, self._config.default_measurement, self._config.override_measurement
            )
            if measurement == entity.entity_id:
                own_measurement.append(entity)
            else:
                by_measurement[measurement].append(entity)
        jobs: list[tuple[str | list[str], list[EntityRef]]] = list(by_measurement.items())
        if own_measurement:
            jobs.append(([entity.entity_id for entity in own_measurement], own_measurement))
        # influxd encodes raw points on one core per query: two at a time keep it busy.
        limit = asyncio.Semaphore(PARALLEL_QUERIES)

        async def run(measurement: str | list[str], group: list[EntityRef]) -> dict[str, Points]:
            async with limit:
                return await self._read_measurement(measurement, group, start, end)

        result: dict[str, Points] = {}
        for part in await asyncio.gather(*(run(*job) for job in jobs)):
            result.update(part)
        return result

    async def _read_measurement(
        self,
        measurement: str | Sequence[str],
        entities: Sequence[EntityRef],
        start: datetime,
        end: datetime,
    ) -> dict[str, Points]:
        by_tags = {(entity.object_id, entity.domain): entity.entity_id for entity in entities}
        by_object_id: dict[str, list[str]] = defaultdict(list)
        for entity in entities:
            by_object_id[entity.object_id].append(entity.entity_id)
        query = build_query(measurement, list(by_object_id), start, end)
        chunks: dict[str, list[npt.NDArray[np.float64]]] = defaultdict(list)
        async for series in self._query(query):
            tags = series.get("tags") or {}
            object_id = tags.get("entity_id", "")
            entity_id = by_tags.get((object_id, tags.get("domain", "")))
            if entity_id is None and not tags.get("domain") and len(by_object_id[object_id]) == 1:
                entity_id = by_object_id[object_id][0]
            values = series.get("values") or []
            if entity_id is None or not values:
                continue
            chunks[entity_id].append(np.asarray(values, dtype=np.float64).reshape(-1, 2))
        result: dict[str, Points] = {}
        for entity_id, parts in chunks.items():
            points = np.concatenate(parts) if len(parts) > 1 else parts[0]
            points = points[np.isfinite(points[:, 1])]
            if len(points):
                result[entity_id] = to_points(points[:, 0], points[:, 1])
        return result

    async def _query(self, query: str) -> AsyncIterator[dict[str, Any]]:
        """Run one statement; yield each (partial) series of the chunked answer."""
        self.queries += 1
        params = {
            "db": self._config.database,
            "epoch": "ms",
            "chunked": "true",
            "chunk_size": str(CHUNK_POINTS),
        }
        try:
            async with self._session.post(
                f"{self._config.url}/query",
                params=params,
                data={"q": query},
                auth=self._auth,
                timeout=QUERY_TIMEOUT,
                ssl=self._config.verify_ssl,
            ) as response:
                if response.status in (401, 403):
                    raise SourceQueryError(
                        f"InfluxDB rejected the credentials for database "
                        f"'{self._config.database}' ({response.status})"
                    )
                if response.status >= 500:
                    raise SourceUnavailableError(f"InfluxDB answered {response.status}")
                if response.status >= 400:
                    text = (await response.text())[:300]
                    raise SourceQueryError(
                        f"InfluxDB refused the query ({response.status}): {text}"
                    )
                async for line in _lines(response):
                    document = json.loads(line)
                    if document.get("error"):
                        raise SourceQueryError(f"InfluxDB: {document['error']}")
                    for statement in document.get("results") or ():
                        if statement.get("error"):
                            raise SourceQueryError(f"InfluxDB: {statement['error']}")
                        for series in statement.get("series") or ():
                            yield series
        except (aiohttp.ClientError, TimeoutError) as err:
            raise SourceUnavailableError(
                f"InfluxDB unreachable at {self._config.url}: {type(err).__name__}"
            ) from None
        except ValueError as err:
            raise SourceUnavailableError(f"InfluxDB sent an unreadable answer: {err}") from None

    async def close(self) -> None:
        """Nothing to release: the HTTP session belongs to the caller."""
