"""The recorder reader against a real HA recorder (in-memory SQLite) over the websocket API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pandas as pd
import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from ml_analyzer.ha import HomeAssistantClient
from ml_analyzer.readers import EntityRef
from ml_analyzer.readers.ha_history import (
    HomeAssistantHistoryReader,
    parse_history,
    parse_statistics,
)
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
    do_adhoc_statistics,
)

START = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
MEASUREMENT = {"unit_of_measurement": "°C", "state_class": "measurement"}


@pytest.fixture
async def ha(
    recorder_mock: Any, hass: HomeAssistant, hass_client: Any, hass_access_token: str
) -> AsyncIterator[HomeAssistantClient]:
    for component in ("http", "websocket_api", "history", "sensor"):
        assert await async_setup_component(hass, component, {})
    client = await hass_client()
    async with aiohttp.ClientSession() as session:
        ha_client = HomeAssistantClient(
            session, f"http://{client.host}:{client.port}", hass_access_token
        )
        yield ha_client
        await ha_client.close()


async def test_statistics_and_raw_history(
    recorder_mock: Any, hass: HomeAssistant, ha: HomeAssistantClient, freezer: FrozenDateTimeFactory
) -> None:
    # Frozen time moves forward from now: the access token must not look issued in the future.
    start = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=5)
    start -= timedelta(minutes=start.minute % 5)
    freezer.move_to(start)
    hass.states.async_set("sensor.house_1_temperature", "20.0", MEASUREMENT)
    hass.states.async_set("binary_sensor.house_1_alarm", "off")
    await async_wait_recording_done(hass)
    freezer.move_to(start + timedelta(minutes=2))
    hass.states.async_set("sensor.house_1_temperature", "22.0", MEASUREMENT)
    hass.states.async_set("binary_sensor.house_1_alarm", "on")
    await async_wait_recording_done(hass)
    freezer.move_to(start + timedelta(minutes=3))
    hass.states.async_set("binary_sensor.house_1_alarm", "unavailable")
    await async_wait_recording_done(hass)
    freezer.move_to(start + timedelta(minutes=6))
    do_adhoc_statistics(hass, start=start)
    await async_wait_recording_done(hass)

    reader = HomeAssistantHistoryReader(ha)
    series = await reader.read(
        [EntityRef("sensor.house_1_temperature", "°C"), EntityRef("binary_sensor.house_1_alarm")],
        start,
        start + timedelta(minutes=6),
    )

    temperature = series["sensor.house_1_temperature"]
    # One 5-minute mean (time-weighted: 2 min at 20, 3 min at 22), dated at the period's end.
    assert list(temperature.index) == [pd.Timestamp(start + timedelta(minutes=5))]
    assert temperature.iloc[0] == pytest.approx(21.2)
    alarm = series["binary_sensor.house_1_alarm"]
    # off → 0, on → 1, and `unavailable` is a gap, not a value.
    assert list(alarm) == [0.0, 1.0]
    assert alarm.index[1] == pd.Timestamp(start + timedelta(minutes=2))
    assert reader.queries == 2


def test_statistics_answer_in_iso_and_epoch_forms() -> None:
    end_ms = pd.Timestamp(START + timedelta(minutes=5)).value / 1e6
    answer: dict[str, list[dict[str, Any]]] = {
        "sensor.a": [
            {"start": end_ms - 300_000, "end": end_ms, "mean": 21.0},
            {"start": end_ms, "end": end_ms + 300_000, "mean": None},
        ],
        "sensor.b": [
            {
                "start": START.isoformat(),
                "end": (START + timedelta(minutes=5)).isoformat(),
                "mean": 3,
            }
        ],
    }
    series = parse_statistics(answer, START, START + timedelta(hours=1))
    assert list(series["sensor.a"]) == [21.0]  # a period without a mean is a gap
    assert series["sensor.b"].index[0] == pd.Timestamp(START + timedelta(minutes=5))


def test_history_answer_uses_last_changed_and_skips_text() -> None:
    stamp = START.timestamp()
    answer = {
        "sensor.a": [
            {"s": "1.5", "lu": stamp},
            {"s": "unknown", "lu": stamp + 60},
            {"s": "2.5", "lc": stamp + 120, "lu": stamp + 180},
            {"s": "nan", "lu": stamp + 240},
        ]
    }
    series = parse_history(answer, START, START + timedelta(hours=1))["sensor.a"]
    assert list(series) == [1.5, 2.5]
    assert series.index[1] == pd.Timestamp(START + timedelta(minutes=2))
