"""VictoriaMetrics reader (export API over HTTP), for data written by HA's influxdb integration.

VictoriaMetrics accepts HA's InfluxDB 1.x writes unchanged (`/write`, line protocol) and files
each field as a series named `<measurement>_<field>`: HA's numeric state (field `value` under
measurement = unit) becomes `°C_value{entity_id="house_1_temperature", domain="sensor",
db="home_assistant"}`. The measurement is chosen exactly as for InfluxDB (`influx_measurement`),
and entities are matched by the same `entity_id` (object id) and `domain` tags.

We read raw points through `/api/v1/export`, not `query_range`: the detectors want points as
stored, and query_range would resample them onto a step grid and invent points across gaps
(its staleness window). As with the InfluxDB 1.x reader, one request serves many entities
(`entity_id=~"a|b|c"`) of one metric; the entity list is cut so each selector stays well under
VictoriaMetrics' 16 KiB query-length limit, and the answer (one JSON line per series, at most
`EXPORT_ROWS` points each) is parsed line by line into numpy arrays, so a 14-day window is never
one document in memory. Export bounds are inclusive at both ends; we ask for [start, end - 1 ms]
and filter again, so the window is half-open like every reader's.

VictoriaMetrics writes infinite values as bare `+Inf`/`-Inf` (not JSON): they are read and
dropped with NaN, like every non-finite value. An answer not shaped as the export format (a
proxy's HTML page, a truncated line, times that are not integers) raises
`SourceUnavailableError`: the source is not usable right now, and the loop retries later.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator, Sequence
from datetime import datetime
from typing import Any

import aiohttp
import numpy as np
import pandas as pd
from yarl import URL

from ml_analyzer.config import VictoriaMetricsConfig
from ml_analyzer.readers import (
    EntityRef,
    FloatArray,
    Points,
    SourceQueryError,
    SourceUnavailableError,
    influx_measurement,
    points_series,
    to_points,
)
from ml_analyzer.readers.influxdb_v1 import QUERY_TIMEOUT, _lines

EXPORT_ROWS = 10_000
PARALLEL_QUERIES = 2
# The regexes of one request stay below this many characters: one selector then stays under
# 16 KiB, the query-length limit VictoriaMetrics applies to its query APIs (-search.maxQueryLen)
# and a size any proxy in front passes. A farm of 400 houses is still a handful of requests.
MAX_REGEX_CHARS = 12_000
# Epoch milliseconds numpy's nanosecond datetimes can hold (years 1678-2262).
MAX_EPOCH_MS = 9.2e12
FIELD = "value"
_INFINITY = re.compile(rb"([+-]?)Inf(?:inity)?")


def metric_name(measurement: str) -> str:
    """The series VictoriaMetrics files HA's numeric state under: `<measurement>_value`."""
    return f"{measurement}_{FIELD}"


def quote_label(value: str) -> str:
    """A MetricsQL string literal (double quotes, backslash escapes)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def alternatives(names: Sequence[str]) -> str:
    """`a|b|c` matching exactly these values (VictoriaMetrics anchors label regexes).

    `re.escape` escapes only ASCII punctuation, which Go's RE2 accepts escaped; a non-ASCII
    character such as `°` stays literal (RE2 refuses `\\°`).
    """
    return "|".join(re.escape(name) for name in sorted(set(names)))


def build_selector(metric: str | Sequence[str], object_ids: Sequence[str]) -> str:
    """The series selector of one request: one metric name (or several, for unit-less entities
    filed under their own entity id) and the object ids of the entities wanted."""
    name = (
        f"__name__={quote_label(metric)}"
        if isinstance(metric, str)
        else f"__name__=~{quote_label(alternatives(metric))}"
    )
    return "{" + name + f",entity_id=~{quote_label(alternatives(object_ids))}" + "}"


def _batches(entities: Sequence[EntityRef], *, own_names: bool) -> Iterator[list[EntityRef]]:
    """Entities cut into groups whose regex (object ids, plus metric names) fits one request."""
    group: list[EntityRef] = []
    size = 0
    for entity in entities:
        cost = len(re.escape(entity.object_id)) + 1
        if own_names:
            cost += len(re.escape(metric_name(entity.entity_id))) + 1
        if group and size + cost > MAX_REGEX_CHARS:
            yield group
            group, size = [], 0
        group.append(entity)
        size += cost
    if group:
        yield group


def _epoch_ms_ceil(moment: datetime) -> int:
    """The first whole millisecond at or after `moment` (VictoriaMetrics keeps milliseconds)."""
    return -(-int(pd.Timestamp(moment).tz_convert("UTC").value) // 1_000_000)


def _seconds(epoch_ms: int) -> str:
    """Epoch milliseconds as the decimal seconds the export API takes, without float rounding."""
    sign = "-" if epoch_ms < 0 else ""
    whole, fraction = divmod(abs(epoch_ms), 1000)
    return f"{sign}{whole}.{fraction:03d}"


def _malformed(what: str) -> SourceUnavailableError:
    return SourceUnavailableError(f"VictoriaMetrics sent an unexpected answer ({what})")


def parse_line(line: bytes) -> tuple[dict[str, Any], FloatArray, FloatArray]:
    """(labels, epoch ms, values) of one export line; `SourceUnavailableError` if malformed.

    Values keep non-finite numbers (the caller drops them); bare `+Inf`/`-Inf` are turned into
    JSON's `Infinity` first, only after `"values":[`, so no label text is ever rewritten (a JSON
    string cannot contain that sequence unescaped).
    """
    head, marker, tail = line.partition(b'"values":[')
    if marker:
        tail = _INFINITY.sub(lambda match: b"-Infinity" if match[1] == b"-" else b"Infinity", tail)
    try:
        document = json.loads(head + marker + tail)
    except ValueError:
        raise _malformed("a line is not JSON") from None
    if not isinstance(document, dict):
        raise _malformed("a line is not a JSON object")
    if "error" in document and "metric" not in document:
        raise SourceUnavailableError(f"VictoriaMetrics: {str(document['error'])[:300]}")
    labels = document.get("metric")
    if not isinstance(labels, dict) or not all(isinstance(value, str) for value in labels.values()):
        raise _malformed("'metric' is not an object of label strings")
    values = np.array(document.get("values"))
    stamps = np.array(document.get("timestamps"))
    if values.ndim != 1 or (values.size and values.dtype.kind not in "fi"):
        raise _malformed("'values' is not a list of numbers")
    if stamps.ndim != 1 or (stamps.size and stamps.dtype.kind != "i"):
        raise _malformed("'timestamps' is not a list of integers")
    if stamps.shape != values.shape:
        raise _malformed("'values' and 'timestamps' differ in length")
    times = stamps.astype(np.float64)
    if times.size and not bool((np.abs(times) < MAX_EPOCH_MS).all()):
        raise _malformed("a timestamp is out of range")
    return labels, times, values.astype(np.float64)


class VictoriaMetricsReader:
    """Reads what HA's influxdb integration wrote to VictoriaMetrics; `queries` counts the
    HTTP requests sent."""

    name = "VictoriaMetrics"

    def __init__(self, session: aiohttp.ClientSession, config: VictoriaMetricsConfig) -> None:
        self._session = session
        self._config = config
        url = URL(config.url)
        # Shown in errors and logs: never the credentials a URL may carry.
        self._where = str(url.with_user(None)) if url.user or url.password else config.url
        self._auth = (
            aiohttp.BasicAuth(config.username, config.password) if config.username else None
        )
        if self._auth is not None and (url.user or url.password):
            url = url.with_user(None)  # the explicit username wins over the URL's userinfo
        self._export_url = str(url).rstrip("/") + "/api/v1/export"
        self._headers = {"Authorization": f"Bearer {config.token}"} if config.token else {}
        self.queries = 0

    async def read(
        self, entities: Sequence[EntityRef], start: datetime, end: datetime
    ) -> dict[str, pd.Series]:
        """Points with start <= time < end, one request per metric (and entity batch)."""
        points = await self.read_points(entities, start, end)
        return {entity_id: points_series(entity_id, found) for entity_id, found in points.items()}

    async def read_points(
        self, entities: Sequence[EntityRef], start: datetime, end: datetime
    ) -> dict[str, Points]:
        """`read` as plain arrays (readers.Points): what the loop uses every tick."""
        start_ms, end_ms = _epoch_ms_ceil(start), _epoch_ms_ceil(end)
        if end_ms <= start_ms or not entities:
            return {}
        by_metric: dict[str, list[EntityRef]] = defaultdict(list)
        own_measurement: list[EntityRef] = []
        for entity in entities:
            measurement = influx_measurement(
                entity, self._config.default_measurement, self._config.override_measurement
            )
            if measurement == entity.entity_id:
                own_measurement.append(entity)
            else:
                by_metric[metric_name(measurement)].append(entity)
        jobs: list[tuple[str | list[str], list[EntityRef]]] = [
            (metric, batch)
            for metric, group in by_metric.items()
            for batch in _batches(group, own_names=False)
        ]
        jobs.extend(
            ([metric_name(entity.entity_id) for entity in batch], batch)
            for batch in _batches(own_measurement, own_names=True)
        )
        limit = asyncio.Semaphore(PARALLEL_QUERIES)

        async def run(metric: str | list[str], group: list[EntityRef]) -> dict[str, Points]:
            async with limit:
                return await self._read_metric(metric, group, start_ms, end_ms)

        result: dict[str, Points] = {}
        for part in await asyncio.gather(*(run(*job) for job in jobs)):
            result.update(part)
        return result

    async def _read_metric(
        self,
        metric: str | Sequence[str],
        entities: Sequence[EntityRef],
        start_ms: int,
        end_ms: int,
    ) -> dict[str, Points]:
        by_tags = {(entity.object_id, entity.domain): entity.entity_id for entity in entities}
        by_object_id: dict[str, list[str]] = defaultdict(list)
        for entity in entities:
            by_object_id[entity.object_id].append(entity.entity_id)
        selector = build_selector(metric, list(by_object_id))
        times_parts: dict[str, list[FloatArray]] = defaultdict(list)
        value_parts: dict[str, list[FloatArray]] = defaultdict(list)
        async for labels, times, values in self._export(selector, start_ms, end_ms):
            object_id, domain = labels.get("entity_id", ""), labels.get("domain", "")
            entity_id = by_tags.get((object_id, domain))
            if entity_id is None and not domain and len(by_object_id.get(object_id, ())) == 1:
                entity_id = by_object_id[object_id][0]
            if entity_id is None:
                continue
            keep = (times >= start_ms) & (times < end_ms) & np.isfinite(values)
            if bool(keep.any()):
                times_parts[entity_id].append(times[keep])
                value_parts[entity_id].append(values[keep])
        return {
            entity_id: to_points(np.concatenate(parts), np.concatenate(value_parts[entity_id]))
            for entity_id, parts in times_parts.items()
        }

    async def _export(
        self, selector: str, start_ms: int, end_ms: int
    ) -> AsyncIterator[tuple[dict[str, Any], FloatArray, FloatArray]]:
        """Run one export request; yield each line (a series, or part of one) parsed."""
        self.queries += 1
        form = {
            "match[]": selector,
            "start": _seconds(start_ms),
            "end": _seconds(end_ms - 1),
            "max_rows_per_line": str(EXPORT_ROWS),
        }
        try:
            async with self._session.post(
                self._export_url,
                data=form,
                auth=self._auth,
                headers=self._headers,
                timeout=QUERY_TIMEOUT,
                ssl=self._config.verify_ssl,
            ) as response:
                await self._check_status(response)
                async for line in _lines(response):
                    yield parse_line(line)
        except (aiohttp.ClientError, TimeoutError) as err:
            raise SourceUnavailableError(
                f"VictoriaMetrics unreachable at {self._where}: {type(err).__name__}"
            ) from None

    async def _check_status(self, response: aiohttp.ClientResponse) -> None:
        status = response.status
        if status in (401, 403):
            raise SourceQueryError(f"VictoriaMetrics rejected the credentials ({status})")
        if status < 400:
            return
        text = " ".join((await response.text(errors="replace")).split())[:300]
        if status >= 500:
            raise SourceUnavailableError(f"VictoriaMetrics answered {status}: {text}")
        if status == 404:
            raise SourceQueryError(
                f"no VictoriaMetrics export API under {self._where} (404): check the URL"
            )
        raise SourceQueryError(f"VictoriaMetrics refused the query ({status}): {text}")

    async def close(self) -> None:
        """Nothing to release: the HTTP session belongs to the caller."""
