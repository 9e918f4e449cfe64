"""InfluxDB 2.x reader (Flux through influxdb-client's async API), same layout as 1.x.

HA's influxdb integration (api_version 2) writes to a bucket: `_measurement` = unit of
measurement (or the default), tag `entity_id` without the domain, tag `domain`, `_field` =
`value`. One Flux query per measurement and window selects every wanted entity with a regex.
The answer is Flux's annotated CSV, parsed here by column name (tables may repeat headers and
annotations), so the parsing is tested against recorded answers without a 2.x server.

A `_time` that is not an RFC 3339 moment makes the answer `SourceAnswerError` (the source is
not what it claims to be); a `_value` that is not a number is a gap, and values are cleaned per
role (`readers.keep_plausible`: NaN, ±inf and 1e308 never reach the detectors).
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

import pandas as pd

from ml_analyzer.config import InfluxV2Config, mask_url, without_userinfo
from ml_analyzer.readers import (
    CONNECT_ERRORS,
    EntityRef,
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

QueryFunction = Callable[[str], Awaitable[str]]
# Flux writes `_time` as RFC 3339 in UTC with up to nine fractional digits; an offset is
# accepted too. Anything else ("now", "NaT", a number) is not a time Flux sends.
RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})", re.ASCII
)


def parse_time(text: str) -> float:
    """Epoch milliseconds of a Flux `_time`, or `SourceAnswerError`."""
    if not RFC3339.fullmatch(text):
        raise SourceAnswerError("InfluxDB 2.x sent a _time that is not an RFC 3339 time")
    try:
        return float(pd.Timestamp(text).value / 1e6)
    except (ValueError, OverflowError):
        raise SourceAnswerError("InfluxDB 2.x sent a _time that is not a valid moment") from None


def flux_string(text: str) -> str:
    """A Flux string literal (backslash, quote and interpolation escaped)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("${", "\\${")
    return f'"{escaped}"'


def _rfc3339(moment: datetime) -> str:
    return pd.Timestamp(moment).tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def build_flux(
    bucket: str,
    measurement: str,
    object_ids: Sequence[str],
    start: datetime,
    end: datetime,
    *,
    field: str = "value",
) -> str:
    """One Flux query for all entities of one measurement in [start, end); `field` is `state`
    for text-valued roles (`readers.influx_field`)."""
    return (
        f"from(bucket: {flux_string(bucket)})\n"
        f"  |> range(start: {_rfc3339(start)}, stop: {_rfc3339(end)})\n"
        f"  |> filter(fn: (r) => r._measurement == {flux_string(measurement)}"
        f" and r._field == {flux_string(field)})\n"
        f"  |> filter(fn: (r) => r.entity_id =~ {anchored_regex(object_ids)})\n"
        '  |> keep(columns: ["_time", "_value", "entity_id", "domain"])\n'
    )


def parse_annotated_csv(
    text: str, texts: Mapping[str, float] | None = None
) -> dict[tuple[str, str], tuple[list[float], list[float]]]:
    """(entity_id tag, domain tag) → (epoch ms, values) from Flux annotated CSV.

    `texts` reads a text-valued role's states (`readers.TEXT_STATES`); a state not in it is
    left out (a gap).
    Every table starts with annotation rows (`#datatype`, `#group`, `#default`) and a header
    row; a Flux runtime error arrives as a table with an `error` column. Values are returned
    as sent (non-finite ones too): the reader cleans them per role.
    """
    if not isinstance(text, str):
        raise SourceAnswerError("InfluxDB 2.x sent an answer that is not text")
    points: dict[tuple[str, str], tuple[list[float], list[float]]] = defaultdict(lambda: ([], []))
    header: list[str] | None = None
    for row in csv.reader(text.splitlines()):
        if not row or all(not cell for cell in row):
            header = None
            continue
        if row[0].startswith("#"):
            header = None
            continue
        if header is None:
            header = row
            continue
        record = dict(zip(header, row, strict=False))
        if "error" in header:
            raise SourceQueryError(f"InfluxDB 2.x query failed: {record.get('error', '')[:300]}")
        time_text, value_text = record.get("_time", ""), record.get("_value", "")
        if not time_text or not value_text:
            continue
        stamp = parse_time(time_text)
        if texts is not None:
            if value_text not in texts:
                continue
            value = texts[value_text]
        else:
            try:
                value = float(value_text)
            except ValueError:
                continue
        key = (record.get("entity_id", ""), record.get("domain", ""))
        points[key][0].append(stamp)
        points[key][1].append(value)
    return dict(points)


class InfluxV2Reader:
    """Reads HA's InfluxDB 2.x bucket; `queries` counts the Flux queries sent."""

    name = "InfluxDB 2.x"

    def __init__(self, config: InfluxV2Config, query: QueryFunction | None = None) -> None:
        self._config = config
        self._query = query
        self._client: Any = None
        self.queries = 0

    async def _default_query(self, flux: str) -> str:
        from influxdb_client.client.influxdb_client_async import InfluxDBClientAsync
        from influxdb_client.rest import ApiException

        if self._client is None:
            # The token authenticates; `user:password@` in the URL would make aiohttp refuse
            # the request (two kinds of credentials), so it is dropped.
            self._client = InfluxDBClientAsync(
                url=without_userinfo(self._config.url),
                token=self._config.token,
                org=self._config.org,
                verify_ssl=self._config.verify_ssl,
                timeout=600_000,
            )
        try:
            text: str = await self._client.query_api().query_raw(flux)
        except ApiException as err:
            status = int(err.status or 0)
            if status >= 500 or status == 0:
                raise SourceUnavailableError(f"InfluxDB 2.x answered {status}") from None
            raise SourceQueryError(
                f"InfluxDB 2.x refused the query ({status}): {err.reason}"
            ) from None
        return text

    async def read(
        self, entities: Sequence[EntityRef], start: datetime, end: datetime
    ) -> dict[str, pd.Series]:
        """Points with start <= time < end, one Flux query per measurement."""
        by_measurement: dict[tuple[str, str | None], list[EntityRef]] = defaultdict(list)
        for entity in entities:
            measurement = influx_measurement(
                entity, self._config.default_measurement, self._config.override_measurement
            )
            # A text-valued role is its own query (another field, its own reading of states).
            kind = entity.role if text_states(entity.role) is not None else None
            by_measurement[measurement, kind].append(entity)
        result: dict[str, pd.Series] = {}
        for (measurement, kind), group in by_measurement.items():
            flux = build_flux(
                self._config.bucket,
                measurement,
                [e.object_id for e in group],
                start,
                end,
                field=influx_field(kind),
            )
            text = await self._run(flux)
            by_tags = {(entity.object_id, entity.domain): entity for entity in group}
            by_object_id: dict[str, list[EntityRef]] = defaultdict(list)
            for entity in group:
                by_object_id[entity.object_id].append(entity)
            points = parse_annotated_csv(text, text_states(kind))
            for (object_id, domain), (times, values) in points.items():
                match = by_tags.get((object_id, domain))
                if match is None and not domain and len(by_object_id[object_id]) == 1:
                    match = by_object_id[object_id][0]
                if match is None or not times:
                    continue
                found = keep_plausible(match, to_points(times, values))
                if len(found[0]):
                    result[match.entity_id] = points_series(match.entity_id, found)
        return result

    async def _run(self, flux: str) -> str:
        self.queries += 1
        query = self._query or self._default_query
        try:
            return await query(flux)
        except (SourceQueryError, SourceUnavailableError):
            raise
        except CONNECT_ERRORS as err:
            raise SourceUnavailableError(
                f"InfluxDB 2.x unreachable at {mask_url(self._config.url)}: {connect_reason(err)}"
            ) from None

    async def close(self) -> None:
        """Close the influxdb-client connection pool if one was opened."""
        if self._client is not None:
            await self._client.close()
            self._client = None
