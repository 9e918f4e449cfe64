"""Home Assistant recorder reader, for installs without InfluxDB.

Numeric sensors with a state class have 5-minute statistics (`recorder/statistics_during_period`,
mean per period, kept ten days by default): compact and regular, so they are asked first. Each
mean is stamped with its period's END, because it summarises the five minutes before that
moment — stamping it with the start would let a detector see the future. Entities without
statistics (binary sensors, sensors without a state class) come from the raw state history
(`history/history_during_period`, minimal, no attributes); `on`/`off` become 1/0 and states that
are not numbers (`unavailable`, `unknown`) are left out: a gap, not a made-up value.

An answer not shaped as the recorder's (not an object of lists of objects, a time that is not a
time) is `SourceAnswerError`; values are cleaned per role (`readers.keep_plausible`).
"""

from __future__ import annotations

import asyncio
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import numpy as np
import pandas as pd

from ml_analyzer.readers import (
    EntityRef,
    SourceAnswerError,
    keep_plausible,
    points_series,
    text_states,
    to_points,
)

STATISTICS_PERIOD = timedelta(minutes=5)
# Rows of one answer: ~60 bytes each in HA's JSON, so a few MB, far below the Supervisor
# proxy's ~64 MiB websocket message cap.
ROWS_PER_MESSAGE = 100_000
CHUNK_SPAN = timedelta(days=1)
HISTORY_MARGIN = timedelta(seconds=1)
BINARY_VALUES = {"on": 1.0, "off": 0.0}


class CommandClient(Protocol):
    """The part of the HA client this reader needs."""

    async def command(self, command_type: str, **payload: Any) -> Any:
        """Send one websocket command and return its result."""


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _epoch_ms(value: Any) -> float | None:
    """HA sends statistics times as epoch ms (newer) or ISO strings (older)."""
    if _number(value):
        try:
            return float(value)
        except OverflowError:
            return None
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise SourceAnswerError("HA's recorder sent a time that is not a time") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.timestamp() * 1000.0
    return None


def _rows(answer: Any, what: str) -> Mapping[str, list[Mapping[str, Any]]]:
    """The recorder's answer checked: {entity_id: [object, ...]} (None is empty)."""
    if answer is None:
        return {}
    if not isinstance(answer, Mapping) or not all(
        isinstance(key, str)
        and isinstance(rows, list)
        and all(isinstance(row, Mapping) for row in rows)
        for key, rows in answer.items()
    ):
        raise SourceAnswerError(f"HA's recorder sent an unexpected {what} answer")
    return answer


def _state_value(state: Any, texts: Mapping[str, float] | None = None) -> float | None:
    if not isinstance(state, str):
        return None
    if texts is not None:
        return texts.get(state)
    if state in BINARY_VALUES:
        return BINARY_VALUES[state]
    try:
        value = float(state)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def parse_statistics(answer: Any, start: datetime, end: datetime) -> dict[str, pd.Series]:
    """Series of 5-minute means stamped with the period end, kept when start <= end < end."""
    low, high = pd.Timestamp(start).value / 1e6, pd.Timestamp(end).value / 1e6
    result: dict[str, pd.Series] = {}
    for entity_id, rows in _rows(answer, "statistics").items():
        times: list[float] = []
        values: list[float] = []
        for row in rows:
            stamp = _epoch_ms(row.get("end"))
            mean = row.get("mean")
            if stamp is None or isinstance(mean, bool) or not isinstance(mean, int | float):
                continue
            if not low <= stamp < high:
                continue
            try:
                values.append(float(mean))
            except OverflowError:
                continue
            times.append(stamp)
        if times:
            result[entity_id] = points_series(entity_id, to_points(times, values))
    return result


def parse_history(
    answer: Any,
    start: datetime,
    end: datetime,
    roles: Mapping[str, str | None] | None = None,
) -> dict[str, pd.Series]:
    """Numeric states at the time each took effect (last_changed), kept when start <= t < end.

    `roles` (entity id → role) selects how a text-valued role's states are read
    (`readers.TEXT_STATES`); other states are numbers or on/off.
    """
    low, high = start.timestamp(), end.timestamp()
    result: dict[str, pd.Series] = {}
    for entity_id, rows in _rows(answer, "history").items():
        times: list[float] = []
        values: list[float] = []
        texts = text_states((roles or {}).get(entity_id))
        for row in rows:
            value = _state_value(row.get("s", row.get("state")), texts)
            stamp = row.get("lc", row.get("lu"))
            if value is None or not _number(stamp) or not low <= stamp < high:
                continue
            times.append(float(stamp) * 1000.0)
            values.append(value)
        if times:
            result[entity_id] = points_series(entity_id, to_points(times, values))
    return result


def chunks(
    entity_ids: Sequence[str], start: datetime, end: datetime, rows: int = ROWS_PER_MESSAGE
) -> list[tuple[list[str], datetime, datetime]]:
    """(entities, chunk start, chunk end) covering every entity over [start, end) in pieces
    whose answer holds at most about `rows` 5-minute rows.

    Windows of at most a day; as many entities per window as fit the budget. The chunks
    partition the time range, so each point belongs to exactly one answer.
    """
    span = min(end - start, CHUNK_SPAN)
    if span <= timedelta(0) or not entity_ids:
        return []
    per_entity = max(1, math.ceil(span / STATISTICS_PERIOD))
    group = max(1, rows // per_entity)
    result: list[tuple[list[str], datetime, datetime]] = []
    window_start = start
    while window_start < end:
        window_end = min(end, window_start + span)
        for first in range(0, len(entity_ids), group):
            result.append((list(entity_ids[first : first + group]), window_start, window_end))
        window_start = window_end
    return result


class HomeAssistantHistoryReader:
    """Reads the recorder through HA's websocket API, in messages of bounded size.

    The start-up read covers weeks of every entity of every house: as one websocket message it
    exceeds the Supervisor proxy's cap (about 64 MiB) on a large farm (40 houses by 14 days is
    over 100 MB). So every read goes in chunks (`chunks`): a day at most, and as many entities
    as keep an answer near `ROWS_PER_MESSAGE` rows (a few MB). A tick's read of the last few
    minutes is still a single message.
    """

    name = "Home Assistant recorder"

    def __init__(self, client: CommandClient, rows_per_message: int = ROWS_PER_MESSAGE) -> None:
        self._client = client
        self._rows = rows_per_message
        self.queries = 0

    async def read(
        self, entities: Sequence[EntityRef], start: datetime, end: datetime
    ) -> dict[str, pd.Series]:
        """Statistics where HA keeps them, raw state history for the rest."""
        refs = {entity.entity_id: entity for entity in entities}
        entity_ids = sorted(refs)
        found: dict[str, list[pd.Series]] = defaultdict(list)
        sensors = [entity_id for entity_id in entity_ids if entity_id.startswith("sensor.")]
        for group, low, high in chunks(sensors, start, end, self._rows):
            self.queries += 1
            statistics = await self._client.command(
                "recorder/statistics_during_period",
                start_time=(low - STATISTICS_PERIOD).isoformat(),
                end_time=high.isoformat(),
                statistic_ids=group,
                period="5minute",
                types=["mean"],
            )
            # A day of a few hundred entities is ~100k rows: parsed off the event loop.
            parsed = await asyncio.to_thread(parse_statistics, statistics, low, high)
            for entity_id, series in parsed.items():
                found[entity_id].append(series)
        missing = [entity_id for entity_id in entity_ids if entity_id not in found]
        for group, low, high in chunks(missing, start, end, self._rows):
            self.queries += 1
            # HA selects states strictly after start_time; ours is a half-open [start, end).
            history = await self._client.command(
                "history/history_during_period",
                start_time=(low - HISTORY_MARGIN).isoformat(),
                end_time=high.isoformat(),
                entity_ids=group,
                minimal_response=True,
                no_attributes=True,
                significant_changes_only=False,
                include_start_time_state=False,
            )
            roles = {entity_id: refs[entity_id].role for entity_id in group}
            parsed = await asyncio.to_thread(parse_history, history, low, high, roles)
            for entity_id, series in parsed.items():
                found[entity_id].append(series)
        result: dict[str, pd.Series] = {}
        for entity_id, parts in found.items():
            ref = refs.get(entity_id)
            if ref is None:  # an entity we did not ask for: not ours to read
                continue
            stamps = np.concatenate(
                [pd.DatetimeIndex(part.index).as_unit("ns").asi8 for part in parts]
            )
            values = np.concatenate([part.to_numpy(dtype=np.float64) for part in parts])
            kept = keep_plausible(ref, (stamps, values))
            if len(kept[0]):
                result[entity_id] = points_series(entity_id, kept)
        return result

    async def close(self) -> None:
        """The HA client is owned by the service."""
