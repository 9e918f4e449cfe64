"""Home Assistant recorder reader, for installs without InfluxDB.

Numeric sensors with a state class have 5-minute statistics (`recorder/statistics_during_period`,
mean per period, kept ten days by default): compact and regular, so they are asked first. Each
mean is stamped with its period's END, because it summarises the five minutes before that
moment — stamping it with the start would let a detector see the future. Entities without
statistics (binary sensors, sensors without a state class) come from the raw state history
(`history/history_during_period`, minimal, no attributes); `on`/`off` become 1/0 and states that
are not numbers (`unavailable`, `unknown`) are left out: a gap, not a made-up value.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

import pandas as pd

from ml_analyzer.readers import EntityRef, to_series

STATISTICS_PERIOD = timedelta(minutes=5)
HISTORY_MARGIN = timedelta(seconds=1)
BINARY_VALUES = {"on": 1.0, "off": 0.0}


class CommandClient(Protocol):
    """The part of the HA client this reader needs."""

    async def command(self, command_type: str, **payload: Any) -> Any:
        """Send one websocket command and return its result."""


def _epoch_ms(value: Any) -> float | None:
    """HA sends statistics times as epoch ms (newer) or ISO strings (older)."""
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        return float(pd.Timestamp(value).value / 1e6)
    return None


def _state_value(state: Any) -> float | None:
    if not isinstance(state, str):
        return None
    if state in BINARY_VALUES:
        return BINARY_VALUES[state]
    try:
        value = float(state)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def parse_statistics(
    answer: dict[str, list[dict[str, Any]]], start: datetime, end: datetime
) -> dict[str, pd.Series]:
    """Series of 5-minute means stamped with the period end, kept when start <= end < end."""
    low, high = pd.Timestamp(start).value / 1e6, pd.Timestamp(end).value / 1e6
    result: dict[str, pd.Series] = {}
    for entity_id, rows in answer.items():
        times: list[float] = []
        values: list[float] = []
        for row in rows:
            stamp = _epoch_ms(row.get("end"))
            mean = row.get("mean")
            if stamp is None or not isinstance(mean, int | float) or not low <= stamp < high:
                continue
            times.append(stamp)
            values.append(float(mean))
        if times:
            result[entity_id] = to_series(entity_id, times, values)
    return result


def parse_history(
    answer: dict[str, list[dict[str, Any]]], start: datetime, end: datetime
) -> dict[str, pd.Series]:
    """Numeric states at the time each took effect (last_changed), kept when start <= t < end."""
    low, high = start.timestamp(), end.timestamp()
    result: dict[str, pd.Series] = {}
    for entity_id, rows in answer.items():
        times: list[float] = []
        values: list[float] = []
        for row in rows:
            value = _state_value(row.get("s", row.get("state")))
            stamp = row.get("lc", row.get("lu"))
            if value is None or not isinstance(stamp, int | float) or not low <= stamp < high:
                continue
            times.append(float(stamp) * 1000.0)
            values.append(value)
        if times:
            result[entity_id] = to_series(entity_id, times, values)
    return result


class HomeAssistantHistoryReader:
    """Reads the recorder through HA's websocket API."""

    name = "Home Assistant recorder"

    def __init__(self, client: CommandClient) -> None:
        self._client = client
        self.queries = 0

    async def read(
        self, entities: Sequence[EntityRef], start: datetime, end: datetime
    ) -> dict[str, pd.Series]:
        """Statistics where HA keeps them, raw state history for the rest."""
        entity_ids = sorted({entity.entity_id for entity in entities})
        if not entity_ids:
            return {}
        sensors = [entity_id for entity_id in entity_ids if entity_id.startswith("sensor.")]
        result: dict[str, pd.Series] = {}
        if sensors:
            self.queries += 1
            statistics = await self._client.command(
                "recorder/statistics_during_period",
                start_time=(start - STATISTICS_PERIOD).isoformat(),
                end_time=end.isoformat(),
                statistic_ids=sensors,
                period="5minute",
                types=["mean"],
            )
            result.update(parse_statistics(statistics or {}, start, end))
        missing = [entity_id for entity_id in entity_ids if entity_id not in result]
        if missing:
            self.queries += 1
            # HA selects states strictly after start_time; ours is a half-open [start, end).
            history = await self._client.command(
                "history/history_during_period",
                start_time=(start - HISTORY_MARGIN).isoformat(),
                end_time=end.isoformat(),
                entity_ids=missing,
                minimal_response=True,
                no_attributes=True,
                significant_changes_only=False,
                include_start_time_state=False,
            )
            result.update(parse_history(history or {}, start, end))
        return result

    async def close(self) -> None:
        """The HA client is owned by the service."""
