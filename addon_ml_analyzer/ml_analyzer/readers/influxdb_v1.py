"""InfluxDB 1.x reader (InfluxQL over HTTP), for data written by HA's influxdb integration.

HA files each state under measurement = unit of measurement (or the configured default),
tag `entity_id` = the object id WITHOUT the domain, tag `domain`, field `value`. We ask for many
entities at once: one query per measurement and window, `entity_id =~ /^(a|b|c)$/` grouped by
entity and domain — a farm of 400 houses is a handful of queries, not thousands. The answer is
requested chunked and parsed chunk by chunk into numpy arrays, so a 14-day window of millions of
points never exists as one JSON document or as millions of Python lists.

Every document of the answer is checked against InfluxDB's shape (`parse_document`,
`parse_series`): anything else (a JSON list, `tags` that are not an object, rows that are not
`[time, value]`) is `SourceAnswerError`. A value that is not a number (a string such as "on", a
null) is a gap, like the recorder reader's non-numeric states; values are then cleaned per role
(`readers.keep_plausible`).
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime
from typing import Any

import aiohttp
import numpy as np
import numpy.typing as npt
import pandas as pd

from ml_analyzer.config import InfluxV1Config, mask_url, without_userinfo
from ml_analyzer.readers import (
    CONNECT_ERRORS,
    EntityRef,
    Points,
    SourceAnswerError,
    SourceQueryError,
    SourceUnavailableError,
    anchored_regex,
    connect_reason,
    influx_field,
    influx_measurement,
    keep_plausible,
    points_series,
    text_states,
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
    measurement: str | Sequence[str],
    object_ids: Sequence[str],
    start: datetime,
    end: datetime,
    *,
    field: str = "value",
) -> str:
    """One InfluxQL statement for all entities of one measurement (or several) in [start, end).

    Several measurements are matched with one regex: HA files a unit-less entity under its own
    entity id when no default measurement is set, and one query still serves them all. `field`
    is `state` for text-valued roles (`readers.influx_field`).
    """
    source = (
        quote_identifier(measurement)
        if isinstance(measurement, str)
        else anchored_regex(measurement)
    )
    return (
        f"SELECT {quote_identifier(field)} FROM {source} "
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


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def parse_document(document: Any) -> list[dict[str, Any]]:
    """The series of one JSON document of a (chunked) InfluxQL answer.

    An `error` (of the document or of a statement) is the server refusing the query:
    `SourceQueryError`. A document not shaped as InfluxDB's: `SourceAnswerError`.
    """
    if not isinstance(document, dict):
        raise SourceAnswerError("InfluxDB sent an unexpected answer (not a JSON object)")
    if document.get("error"):
        raise SourceQueryError(f"InfluxDB: {str(document['error'])[:300]}")
    statements = document.get("results") or []
    if not isinstance(statements, list):
        raise SourceAnswerError("InfluxDB sent an unexpected answer ('results' is not a list)")
    found: list[dict[str, Any]] = []
    for statement in statements:
        if not isinstance(statement, dict):
            raise SourceAnswerError("InfluxDB sent an unexpected answer (a result is no object)")
        if statement.get("error"):
            raise SourceQueryError(f"InfluxDB: {str(statement['error'])[:300]}")
        series = statement.get("series") or []
        if not isinstance(series, list) or not all(isinstance(item, dict) for item in series):
            raise SourceAnswerError("InfluxDB sent an unexpected answer ('series' malformed)")
        found.extend(series)
    return found


def parse_series(
    series: dict[str, Any], texts: Mapping[str, float] | None = None
) -> tuple[str, str, npt.NDArray[np.float64]]:
    """(entity_id tag, domain tag, rows as an (n, 2) array of epoch ms and value) of one series.

    Rows are `[time, value]` (we select one field): the whole block is converted at once when
    it is clean; otherwise row by row, where a value that is not a number becomes NaN (dropped
    later: a gap) and a row that is not `[number, value]` is `SourceAnswerError`. `texts` reads
    a text-valued role's states (`readers.TEXT_STATES`): a state not in it is a gap too.
    """
    tags = series.get("tags")
    if tags is None:
        tags = {}
    if not isinstance(tags, dict):
        raise SourceAnswerError("InfluxDB sent an unexpected answer ('tags' is not an object)")
    object_id, domain = tags.get("entity_id", ""), tags.get("domain", "")
    if not isinstance(object_id, str) or not isinstance(domain, str):
        raise SourceAnswerError("InfluxDB sent an unexpected answer (a tag is not a string)")
    values = series.get("values")
    if values is None:
        values = []
    if not isinstance(values, list):
        raise SourceAnswerError("InfluxDB sent an unexpected answer ('values' is not a list)")
    if texts is not None:
        values = [
            [row[0], texts.get(row[1], np.nan) if isinstance(row[1], str) else np.nan]
            if isinstance(row, list) and len(row) == 2
            else row
            for row in values
        ]
    try:
        rows = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        rows = _rows_one_by_one(values)
    if rows.size == 0:
        return object_id, domain, np.empty((0, 2))
    if (
        rows.ndim != 2
        or rows.shape[1] != 2
        or not all(isinstance(row, list) and _number(row[0]) for row in (values[0], values[-1]))
    ):
        rows = _rows_one_by_one(values)
    if not bool(np.isfinite(rows[:, 0]).all()):
        raise SourceAnswerError("InfluxDB sent an unexpected answer (a time is not finite)")
    return object_id, domain, rows


def _rows_one_by_one(values: list[Any]) -> npt.NDArray[np.float64]:
    rows = np.empty((len(values), 2))
    for position, row in enumerate(values):
        if not isinstance(row, list) or len(row) != 2 or not _number(row[0]):
            raise SourceAnswerError(
                "InfluxDB sent an unexpected answer (a row is not [time, value])"
            )
        try:
            rows[position, 0] = float(row[0])
        except OverflowError:
            raise SourceAnswerError("InfluxDB sent an unexpected answer (time overflows)") from None
        try:
            rows[position, 1] = float(row[1]) if _number(row[1]) else np.nan
        except OverflowError:
            rows[position, 1] = np.nan
    return rows


class InfluxV1Reader:
    """Reads HA's InfluxDB 1.x database; `queries` counts the HTTP queries sent."""

    name = "InfluxDB 1.x"

    def __init__(self, session: aiohttp.ClientSession, config: InfluxV1Config) -> None:
        self._session = session
        self._config = config
        self._auth = (
            aiohttp.BasicAuth(config.username, config.password) if config.username else None
        )
        # Credentials in the URL serve when no username is set; with one, aiohttp would refuse
        # both at once (a ValueError), so the explicit username wins.
        self._url = without_userinfo(config.url) if config.username else config.url
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
        by_measurement: dict[tuple[str, str | None], list[EntityRef]] = defaultdict(list)
        own_measurement: dict[str | None, list[EntityRef]] = defaultdict(list)
        for entity in entities:
            measurement = influx_measurement(
                entity, self._config.default_measurement, self._config.override_measurement
            )
            # A text-valued role is its own query (another field, its own reading of states).
            kind = entity.role if text_states(entity.role) is not None else None
            if measurement == entity.entity_id:
                own_measurement[kind].append(entity)
            else:
                by_measurement[measurement, kind].append(entity)
        jobs: list[tuple[str | list[str], str | None, list[EntityRef]]] = [
            (measurement, kind, group) for (measurement, kind), group in by_measurement.items()
        ]
        for kind, group in own_measurement.items():
            jobs.append(([entity.entity_id for entity in group], kind, group))
        # influxd encodes raw points on one core per query: two at a time keep it busy.
        limit = asyncio.Semaphore(PARALLEL_QUERIES)

        async def run(
            measurement: str | list[str], kind: str | None, group: list[EntityRef]
        ) -> dict[str, Points]:
            async with limit:
                return await self._read_measurement(measurement, kind, group, start, end)

        result: dict[str, Points] = {}
        for part in await asyncio.gather(*(run(*job) for job in jobs)):
            result.update(part)
        return result

    async def _read_measurement(
        self,
        measurement: str | Sequence[str],
        kind: str | None,
        entities: Sequence[EntityRef],
        start: datetime,
        end: datetime,
    ) -> dict[str, Points]:
        """One query for `entities` of one measurement; `kind` is their role when it is
        text-valued (read from the `state` field), None for numbers."""
        by_tags = {(entity.object_id, entity.domain): entity.entity_id for entity in entities}
        by_object_id: dict[str, list[str]] = defaultdict(list)
        for entity in entities:
            by_object_id[entity.object_id].append(entity.entity_id)
        query = build_query(measurement, list(by_object_id), start, end, field=influx_field(kind))
        refs = {entity.entity_id: entity for entity in entities}
        texts = text_states(kind)
        chunks: dict[str, list[npt.NDArray[np.float64]]] = defaultdict(list)
        async for series in self._query(query):
            object_id, domain, rows = parse_series(series, texts)
            entity_id = by_tags.get((object_id, domain))
            if entity_id is None and not domain and len(by_object_id[object_id]) == 1:
                entity_id = by_object_id[object_id][0]
            if entity_id is None or not len(rows):
                continue
            chunks[entity_id].append(rows)
        result: dict[str, Points] = {}
        for entity_id, parts in chunks.items():
            points = np.concatenate(parts) if len(parts) > 1 else parts[0]
            found = keep_plausible(refs[entity_id], to_points(points[:, 0], points[:, 1]))
            if len(found[0]):
                result[entity_id] = found
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
        where = mask_url(self._config.url)
        try:
            response = await self._session.post(
                f"{self._url}/query",
                params=params,
                data={"q": query},
                auth=self._auth,
                timeout=QUERY_TIMEOUT,
                ssl=self._config.verify_ssl,
            )
        except CONNECT_ERRORS as err:
            raise SourceUnavailableError(
                f"InfluxDB unreachable at {where}: {connect_reason(err)}"
            ) from None
        try:
            async with response:
                if response.status in (401, 403):
                    raise SourceQueryError(
                        f"InfluxDB rejected the credentials for database "
                        f"'{self._config.database}' ({response.status})"
                    )
                if response.status >= 500:
                    raise SourceUnavailableError(f"InfluxDB answered {response.status}")
                if response.status >= 400:
                    text = " ".join((await response.text(errors="replace")).split())[:300]
                    raise SourceQueryError(
                        f"InfluxDB refused the query ({response.status}): {text}"
                    )
                async for line in _lines(response):
                    try:
                        document = json.loads(line)
                    except ValueError:
                        raise SourceAnswerError(
                            f"InfluxDB at {where} sent an answer that is not JSON "
                            f"({response.content_type})"
                        ) from None
                    for series in parse_document(document):
                        yield series
        except (aiohttp.ClientError, TimeoutError) as err:
            raise SourceUnavailableError(
                f"InfluxDB unreachable at {where}: {type(err).__name__}"
            ) from None

    async def close(self) -> None:
        """Nothing to release: the HTTP session belongs to the caller."""
