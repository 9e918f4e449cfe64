"""The recorder reader on a large farm: 40 houses x 14 days through a capped websocket.

HA's own recorder cannot be filled with 40 houses x 14 days of 5-minute statistics in a test's
time (millions of rows through SQLite), so the server here is a real aiohttp websocket server
that speaks HA's websocket protocol (auth, `recorder/statistics_during_period`,
`history/history_during_period`, same answer shapes) and generates the rows for whatever range
and entities are asked. Like the Supervisor's proxy it refuses a message above 64 MiB (it
closes the connection). The small real-recorder tests are in test_ha_history_reader.py.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from ml_analyzer.ha import HomeAssistantClient
from ml_analyzer.readers import EntityRef
from ml_analyzer.readers.ha_history import HomeAssistantHistoryReader

PROXY_CAP = 64 * 1024 * 1024
HOUSES = 40
DAYS = 14
SENSOR_ROLES = (
    "temperature",
    "set_temperature",
    "outside_temperature",
    "humidity",
    "static_pressure",
    "co2",
    "vent_level_percent",
    "heaters_running",
    "tunnel_fans_running",
    "exhaust_fans_running",
    "water_daily",
    "feed_daily",
)
END = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
START = END - timedelta(days=DAYS)
PERIOD_MS = 300_000


@dataclass
class Recorder:
    """The generated recorder and what crossed the socket."""

    messages: list[int] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)


def _ms(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp() * 1000)


def _statistics(payload: dict[str, Any]) -> dict[str, list[dict[str, float]]]:
    low, high = _ms(payload["start_time"]), _ms(payload["end_time"])
    first = -(-low // PERIOD_MS) * PERIOD_MS
    starts = range(first, high, PERIOD_MS)
    answer = {}
    for number, entity_id in enumerate(payload["statistic_ids"]):
        base = 20.0 + number % 7
        answer[entity_id] = [
            {"start": start, "end": start + PERIOD_MS, "mean": base + (start // PERIOD_MS) % 10}
            for start in starts
        ]
    return answer


def _history(payload: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    low, high = _ms(payload["start_time"]), _ms(payload["end_time"])
    hour = 3_600_000
    first = -(-low // hour) * hour
    return {
        entity_id: [
            {"s": "on" if (moment // hour) % 2 else "off", "lu": moment / 1000}
            for moment in range(first, high, hour)
            if moment > low
        ]
        for entity_id in payload["entity_ids"]
    }


@pytest.fixture
async def recorder_url(aiohttp_client: Any) -> tuple[str, Recorder]:
    recorder = Recorder()

    async def websocket(request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse(max_msg_size=0)
        await socket.prepare(request)
        await socket.send_json({"type": "auth_required", "ha_version": "2025.4.4"})
        await socket.receive_json()
        await socket.send_json({"type": "auth_ok", "ha_version": "2025.4.4"})
        async for message in socket:
            command = json.loads(message.data)
            recorder.commands.append(command["type"])
            if command["type"] == "recorder/statistics_during_period":
                result: Any = _statistics(command)
            else:
                result = _history(command)
            text = json.dumps(
                {"id": command["id"], "type": "result", "success": True, "result": result}
            )
            recorder.messages.append(len(text))
            if len(text) > PROXY_CAP:
                await socket.close(code=1009, message=b"Message too big")
                break
            await socket.send_str(text)
        return socket

    app = web.Application()
    app.router.add_get("/api/websocket", websocket)
    client = await aiohttp_client(app)
    return f"http://{client.host}:{client.port}", recorder


async def test_forty_houses_fourteen_days_in_messages_below_the_proxy_cap(
    recorder_url: tuple[str, Recorder],
) -> None:
    url, recorder = recorder_url
    sensors = [
        EntityRef(f"sensor.gw1_house_{house}_{role}", None, role)
        for house in range(1, HOUSES + 1)
        for role in SENSOR_ROLES
    ]
    alarms = [
        EntityRef(f"binary_sensor.gw1_house_{house}_alarm", None, "alarm")
        for house in range(1, HOUSES + 1)
    ]
    async with aiohttp.ClientSession() as session:
        client = HomeAssistantClient(session, url, "token")
        try:
            series = await HomeAssistantHistoryReader(client).read([*sensors, *alarms], START, END)
        finally:
            await client.close()

    # Everything arrived: every 5-minute mean of 14 days for each of 480 sensors, the alarms.
    assert len(series) == len(sensors) + len(alarms)
    for entity in sensors:
        found = series[entity.entity_id]
        assert len(found) == DAYS * 288
        # Means are stamped with their period's end: START .. END - 5 min, none twice, no gap
        # at the chunks' seams.
        assert found.index[0] == START
        assert found.index[-1] == END - timedelta(minutes=5)
        assert (found.index[1:] - found.index[:-1] == timedelta(minutes=5)).all()
    for entity in alarms:
        found = series[entity.entity_id]
        assert len(found) == DAYS * 24
        assert (found.index[1:] - found.index[:-1] == timedelta(hours=1)).all()
    # In one message this would have been far above the proxy's cap; in chunks, far below.
    assert sum(recorder.messages) > PROXY_CAP
    assert max(recorder.messages) < PROXY_CAP / 4
    assert recorder.commands.count("recorder/statistics_during_period") >= DAYS
    print(  # the figures for the report (pytest -s)
        f"{len(recorder.messages)} messages, largest {max(recorder.messages) / 2**20:.1f} MiB, "
        f"total {sum(recorder.messages) / 2**20:.0f} MiB"
    )


def test_chunks_partition_the_range_and_bound_the_rows() -> None:
    from ml_analyzer.readers.ha_history import chunks

    ids = [f"sensor.s{n}" for n in range(1000)]
    parts = chunks(ids, START, END, rows=100_000)
    windows = sorted({(low, high) for _, low, high in parts})
    assert windows[0][0] == START
    assert windows[-1][1] == END
    assert all(a[1] == b[0] for a, b in itertools.pairwise(windows))
    for window in windows:
        in_window = [group for group, low, high in parts if (low, high) == window]
        assert sorted(entity for group in in_window for entity in group) == sorted(ids)
    assert all(len(group) * 288 <= 100_000 for group, _, _ in parts)
    # A tick's read of a few minutes stays one message; an empty range reads nothing.
    assert len(chunks(ids, END - timedelta(minutes=5), END)) == 1
    assert chunks(ids, END, END) == []
