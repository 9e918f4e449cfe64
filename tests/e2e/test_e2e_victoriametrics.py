"""A real Home Assistant's influxdb integration writes to VictoriaMetrics; the analyzer reads it.

No part is replaced: a `hass` process, configured like a user who moved from InfluxDB to
VictoriaMetrics (HA's `influxdb:` integration, api_version 1, pointed at VictoriaMetrics' HTTP
port), gets state changes over its REST API, writes them through its own InfluxDB client, and
the analyzer's VictoriaMetrics reader must find every one of them under HA's layout.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from ml_analyzer.config import VictoriaMetricsConfig
from ml_analyzer.readers import EntityRef
from ml_analyzer.readers.victoriametrics import VictoriaMetricsReader

from devtools.ha_config import HAConfig, InfluxTarget
from devtools.home_assistant import HomeAssistantProcess
from devtools.processes import wait_until
from tests.support.victoriametrics import VictoriaMetricsServer, victoriametrics_server

__all__ = ["victoriametrics_server"]

pytestmark = [pytest.mark.e2e, pytest.mark.victoriametrics]

TEMPERATURE = EntityRef("sensor.vm_house_1_temperature", "°C")
HEATERS = EntityRef("sensor.vm_house_1_heaters_running")  # no unit: its own entity id
ALARM = EntityRef("binary_sensor.vm_house_1_alarm")


async def test_real_ha_writes_to_victoriametrics_and_the_reader_finds_it(
    victoriametrics_server: VictoriaMetricsServer, tmp_path: Path
) -> None:
    server = victoriametrics_server
    ha = HomeAssistantProcess(
        tmp_path / "ha",
        HAConfig(influxdb=InfluxTarget(server.host, server.port, "home_assistant")),
    )
    started = datetime.now(UTC) - timedelta(seconds=1)
    temperatures = [21.5, 22.25, 23.0]
    try:
        await ha.start()
        await ha.onboard("farmer", "farmer-password-1")
        for value in temperatures:
            await ha.rest(
                "POST",
                f"/api/states/{TEMPERATURE.entity_id}",
                {
                    "state": str(value),
                    "attributes": {
                        "unit_of_measurement": "°C",
                        "friendly_name": "House 1 temperature",
                        "state_class": "measurement",
                    },
                },
            )
            await asyncio.sleep(0.05)  # distinct HA timestamps, even at millisecond precision
        await ha.rest("POST", f"/api/states/{HEATERS.entity_id}", {"state": "3"})
        await ha.rest("POST", f"/api/states/{ALARM.entity_id}", {"state": "on"})

        async with aiohttp.ClientSession() as session:
            reader = VictoriaMetricsReader(session, VictoriaMetricsConfig(url=server.url))

            async def everything_read() -> dict[str, list[float]] | None:
                server.flush()
                found = await reader.read(
                    [TEMPERATURE, HEATERS, ALARM], started, datetime.now(UTC) + timedelta(1)
                )
                values = {entity_id: list(series) for entity_id, series in found.items()}
                complete = len(values) == 3 and len(values[TEMPERATURE.entity_id]) >= 3
                return values if complete else None

            values = await wait_until(
                everything_read, within=120, what="HA's points in VictoriaMetrics"
            )
        assert values == {
            TEMPERATURE.entity_id: temperatures,
            HEATERS.entity_id: [3.0],
            ALARM.entity_id: [1.0],
        }, ha.log_tail()
    finally:
        await ha.stop()
