"""A farm read from VictoriaMetrics gets the same verdicts as the same farm read from InfluxDB.

The simulator's heater-failure scenario (one farm, four houses, eight signals, ten days) is
written as HA's influxdb integration lays it out — the same line-protocol bytes to a real
InfluxDB 1.x and a real VictoriaMetrics. Then the real service (loop, detectors, publisher)
runs the same ticks against each, with only HA replaced by an in-process stand-in that serves
the registries and records the reports. Reports, scores and subsystems must be identical.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import pytest
from ml_analyzer.cli import _detector_factories, build_reader
from ml_analyzer.config import AnalyzerConfig, InfluxV1Config, VictoriaMetricsConfig
from ml_analyzer.ha import HomeAssistantClient
from ml_analyzer.loop import AnalyzerService

from simulator.scenario import load
from simulator.series import iter_house_frames
from tests.support.influxdb import InfluxServer
from tests.support.victoriametrics import VictoriaMetricsServer

pytestmark = [pytest.mark.influx, pytest.mark.victoriametrics]

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "bench" / "scenarios" / "05_heater_failure_winter_h2.yaml"
DAYS = 10
TICKS = 3
ROLES: dict[str, str | None] = {
    "temperature": "°C",
    "set_temperature": "°C",
    "outside_temperature": "°C",
    "humidity": "%",
    "static_pressure": "Pa",
    "vent_level": "%",
    "water_daily": "L",
    "heaters_running": None,
}


class StandInHA:
    """The registries of the scenario's houses, and the reports sent to rotem_farm."""

    def __init__(self, prefix: str, houses: list[tuple[int, int]]) -> None:
        self.devices: list[dict[str, Any]] = []
        self.entities: list[dict[str, Any]] = []
        self.states: list[dict[str, Any]] = []
        self.calls: list[dict[str, Any]] = []
        self.houses = houses
        for farm, house in houses:
            identifier = f"{prefix.upper()}F{farm}_{house}"
            device_id = f"device_{farm}_{house}"
            self.devices.append(
                {
                    "id": device_id,
                    "identifiers": [["rotem_farm", identifier]],
                    "config_entries": [f"entry_{farm}"],
                }
            )
            for role, unit in ROLES.items():
                entity_id = f"sensor.{_object_id(prefix, farm, house, role)}"
                self.entities.append(
                    {
                        "entity_id": entity_id,
                        "unique_id": f"{identifier}_{role}",
                        "platform": "rotem_farm",
                        "device_id": device_id,
                    }
                )
                attributes = {"unit_of_measurement": unit} if unit else {}
                self.states.append({"entity_id": entity_id, "attributes": attributes})

    async def command(self, command_type: str, **payload: Any) -> Any:
        return {
            "config/device_registry/list": self.devices,
            "config/entity_registry/list": self.entities,
            "get_states": self.states,
            # The analyzer reports only houses of loaded farms.
            "config_entries/get": [
                {"entry_id": f"entry_{farm}", "state": "loaded"}
                for farm in sorted({farm for farm, _ in self.houses})
            ],
        }[command_type]

    async def call_service(self, domain: str, service: str, data: Mapping[str, Any]) -> Any:
        self.calls.append({"service": f"{domain}.{service}", **data})
        return []


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _object_id(prefix: str, farm: int, house: int, role: str) -> str:
    return f"{prefix}_farm_{farm}_house_{house}_{role}"


def _farm_lines(prefix: str) -> tuple[bytes, list[tuple[int, int]], datetime]:
    """HA's layout: measurement = unit (unit-less: the entity id), tags, field value."""
    scenario = load(SCENARIO)
    assert scenario.start is not None
    end = scenario.start + timedelta(days=DAYS)
    lines: list[str] = []
    houses: list[tuple[int, int]] = []
    for farm, house, frame in iter_house_frames(scenario, scenario.start, end, roles=list(ROLES)):
        houses.append((farm, house))
        stamps = np.asarray(frame.index, dtype="datetime64[s]").astype(np.int64)
        seconds = [int(second) for second in stamps]
        for role, unit in ROLES.items():
            name = _object_id(prefix, farm, house, role)
            measurement = unit or f"sensor.{name}"
            values = frame[role].to_numpy()
            lines.extend(
                f"{measurement},domain=sensor,entity_id={name} value={value:.3f} {second}"
                for value, second in zip(values.tolist(), seconds, strict=True)
                if np.isfinite(value)
            )
    return "\n".join(lines).encode(), houses, end


async def _run(
    config: AnalyzerConfig, ha: StandInHA, end: datetime
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """TICKS ticks 5 minutes apart ending at `end`; the reports and the start-up window."""
    detector_factory, history_factory = _detector_factories(config)
    clock = Clock(end - timedelta(minutes=5 * TICKS) + timedelta(seconds=15))
    async with aiohttp.ClientSession() as session:
        # The client is what cli.build_reader takes; only the recorder source would use it.
        unused = HomeAssistantClient(session, "http://127.0.0.1:9", "unused")
        reader = build_reader(config, session, unused)
        service = AnalyzerService(
            config, ha, reader, detector_factory, history_factory, clock=clock
        )
        for _ in range(TICKS):
            result = await service.tick()
            assert result.ok, result.errors
            clock.now += timedelta(minutes=5)
        window = dict(service.window)
        await reader.close()
    return ha.calls, window


async def test_same_verdicts_from_victoriametrics_and_influxdb(
    influxdb_server: InfluxServer,
    victoriametrics_server: VictoriaMetricsServer,
    tmp_path: Path,
) -> None:
    prefix = f"v{uuid.uuid4().hex[:8]}"
    body, houses, end = _farm_lines(prefix)
    database = f"ha_{prefix}"
    influxdb_server.create_database(database)
    influxdb_server.write_lines(database, body)
    victoriametrics_server.write_lines("home_assistant", body)
    common: dict[str, Any] = {"state_dir": str(tmp_path), "seed": 3}

    influx_config = AnalyzerConfig(
        influxdb=InfluxV1Config(
            host=influxdb_server.host, port=influxdb_server.port, database=database
        ),
        **common,
    )
    vm_config = AnalyzerConfig(
        victoriametrics=VictoriaMetricsConfig(url=victoriametrics_server.url), **common
    )
    assert influx_config.chosen_source() == "influxdb_v1"
    assert vm_config.chosen_source() == "victoriametrics"
    from_influx, influx_window = await _run(influx_config, StandInHA(prefix, houses), end)
    from_vm, vm_window = await _run(vm_config, StandInHA(prefix, houses), end)

    # The same points reached the analyzer...
    assert set(vm_window) == set(influx_window)
    assert len(vm_window) == len(houses) * len(ROLES)
    for entity_id, (times, values) in influx_window.items():
        assert np.array_equal(vm_window[entity_id][0], times), entity_id
        assert np.array_equal(vm_window[entity_id][1], values), entity_id
    # ...and gave the same verdicts, report for report.
    assert from_influx
    assert from_vm == from_influx
    reports = [report for call in from_vm for report in call["reports"]]
    assert {report["device_id"] for report in reports} == {
        f"device_{farm}_{house}" for farm, house in houses
    }
    scores = {report["device_id"]: report["anomaly_score"] for report in reports}
    assert len(set(scores.values())) > 1, scores  # real verdicts, not one constant
    # The scenario's heater failure in house 2 is what both found.
    flagged = {report["device_id"] for report in reports if report["anomaly"]}
    assert flagged == {"device_1_2"}, reports
    assert {report["subsystem"] for report in reports if report["anomaly"]} == {"heating"}
