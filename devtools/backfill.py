"""The farm's past days written into InfluxDB (and HA's statistics) before HA writes its own.

The analyzer learns each house's normal behaviour from two days at least, and the dashboard's
24-hour graphs should show a past too; a fresh stack has neither. The simulator's model is a
function of time, so the past comes from the same model and timeline the live simulator
answers from (simulator.series).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from devtools.dashboard import HOUSE_HISTORY
from devtools.home_assistant import HomeAssistantProcess
from devtools.houses import unit
from devtools.influxdb import InfluxDBProcess


async def backfill_history(
    *,
    scenario_path: Path,
    truth: Mapping[str, Any],
    houses: Mapping[str, Mapping[str, Any]],
    history_days: float,
    influx: InfluxDBProcess,
    ha: HomeAssistantProcess,
) -> int:
    """Write the farm's past days into InfluxDB exactly as HA's influxdb integration would.

    Each point goes to the entity HA created for that house and key (`houses`: house states by
    device id, `truth`: the simulator's /_sim/truth naming each farm's gateway), under HA's
    layout (measurement = unit, tags `domain` and `entity_id` without the domain, field
    `value`); the past day's hourly statistics go to HA's recorder. Returns the point count.
    """
    from simulator import scenario as scenario_module
    from simulator import series

    gateways = {farm["farm"]: farm["gateway"] for farm in truth["farms"]}
    by_identifier = {house["_identifier"]: house for house in houses.values()}
    scenario = scenario_module.load(scenario_path)
    # Up to this very moment: the analyzer's first pass scores the points of its last
    # interval, so the newest past point must be recent, not just the stack's start.
    end = datetime.now(UTC)
    start = end - timedelta(days=history_days)
    result = await asyncio.to_thread(series.generate, scenario, start, end + timedelta(seconds=1))
    lines: list[str] = []
    statistics: list[dict[str, Any]] = []
    for (farm, house, role), rows in result.frame.groupby(["farm", "house", "role"], observed=True):
        state = by_identifier.get(f"{gateways.get(int(str(farm)))}_{house}", {}).get(str(role))
        if not isinstance(state, Mapping):
            continue
        if role in HOUSE_HISTORY:
            statistics.append(hourly_statistics(state, rows, end))
        prefix = influx_prefix(state)
        seconds = rows["timestamp"].astype("int64") // 1_000_000_000
        lines.extend(
            f"{prefix} value={float(value)!r} {int(second)}"
            for second, value in zip(seconds, rows["value"], strict=True)
        )
    await influx.write(lines)
    async with ha.websocket() as ws:
        for message in statistics:
            await ws.command("recorder/import_statistics", **message)
    return len(lines)


def hourly_statistics(state: Mapping[str, Any], rows: Any, end: datetime) -> dict[str, Any]:
    """Hourly mean/min/max of the past day, for HA's long-term statistics of this entity.

    The history graph card draws long-term statistics where the recorder has no states yet, so
    the dashboard's 24-hour graphs show the same past the analyzer reads from InfluxDB. Only
    complete hours are imported (the recorder compiles the running hour itself).
    """
    frame = rows.set_index("timestamp")["value"]
    last_hour = end.replace(minute=0, second=0, microsecond=0)
    frame = frame[(frame.index >= last_hour - timedelta(hours=24)) & (frame.index < last_hour)]
    hourly = frame.resample("1h").agg(["mean", "min", "max"]).dropna()
    return {
        "metadata": {
            "has_mean": True,
            "has_sum": False,
            "name": None,
            "source": "recorder",
            "statistic_id": state["entity_id"],
            "unit_of_measurement": unit(state) or None,
        },
        "stats": [
            {
                "start": start.isoformat(),
                "mean": float(row["mean"]),
                "min": float(row["min"]),
                "max": float(row["max"]),
            }
            for start, row in hourly.iterrows()
        ],
    }


def influx_prefix(state: Mapping[str, Any]) -> str:
    """Measurement and tags HA's influxdb integration uses for this entity (line protocol)."""
    domain, object_id = str(state["entity_id"]).split(".", 1)
    measurement = unit(state) or str(state["entity_id"])

    def escape(text: str, specials: str) -> str:
        for char in specials:
            text = text.replace(char, f"\\{char}")
        return text

    return (
        f"{escape(measurement, ', ')},domain={escape(domain, ', =')},"
        f"entity_id={escape(object_id, ', =')}"
    )
