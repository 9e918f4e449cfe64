"""The add-on's own command, run in the venv for one cycle against a test HA and a real InfluxDB.

Points are written the way HA's influxdb integration writes them; HA's HTTP server is the test
instance's, on a loopback port. The command is taken from run.sh's last line, so a change there
is tested here.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import shlex
import signal
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component

from devtools.influxdb import InfluxServer
from tests.analyzer.ha_fixtures import setup_fake_farm

pytestmark = pytest.mark.influx

ROOT = Path(__file__).resolve().parents[2]
ADDON = ROOT / "addon_ml_analyzer"
ROLES = {
    "temperature": "°C",
    "set_temperature": "°C",
    "outside_temperature": "°C",
    "humidity": "%",
    "heaters_running": None,
}


def addon_command(options_path: Path) -> list[str]:
    """run.sh's final command with the venv's Python and a test options file, plus --once."""
    last = (ADDON / "run.sh").read_text(encoding="utf-8").strip().splitlines()[-1]
    words = shlex.split(last)
    assert words[0] == "exec"
    words = [sys.executable if w == "python3" else w for w in words[1:]]
    words = [str(options_path) if w == "/data/options.json" else w for w in words]
    # The add-on's health port, moved to a free one: tests run side by side on one machine.
    from tests.support.influxdb import _free_port

    words = [str(_free_port()) if w == "8099" else w for w in words]
    return [*words, "--once"]


def _lines(farm_id: str, houses: int, last: datetime, days: int) -> str:
    """Three days of 5-minute points per house and role, HA's line-protocol layout."""
    out = []
    steps = days * 288
    for house in range(1, houses + 1):
        for step in range(steps):
            moment = last - timedelta(minutes=5 * (steps - 1 - step))
            hour = moment.hour + moment.minute / 60
            outside = 12 + 6 * math.sin((hour - 9) / 24 * 2 * math.pi)
            values = {
                "temperature": 27.5 + 0.2 * math.sin(step / 7 + house),
                "set_temperature": 27.5,
                "outside_temperature": outside,
                "humidity": 60 + 3 * math.sin(step / 11),
                "heaters_running": 2.0 if outside < 12 else 0.0,
            }
            for role, value in values.items():
                unit = ROLES[role]
                measurement = unit if unit else "units"
                object_id = f"{farm_id.lower()}_house_{house}_{role}"
                out.append(
                    f"{measurement},domain=sensor,entity_id={object_id} value={value:.3f} "
                    f"{int(moment.timestamp())}"
                )
    return "\n".join(out)


async def test_addon_command_runs_one_cycle(
    hass: HomeAssistant,
    hass_client: Any,
    hass_access_token: str,
    influxdb_server: InfluxServer,
    tmp_path: Path,
) -> None:
    for component in ("http", "api", "websocket_api", "config"):
        assert await async_setup_component(hass, component, {})
    client = await hass_client()
    farm = await setup_fake_farm(hass)
    for house in (1, 2, 3):
        farm.add_house(house, ROLES)
    database = f"ha_{uuid.uuid4().hex[:8]}"
    influxdb_server.create_database(database)
    # The newest points are 30 s old: inside the first cycle's window of new points.
    last = datetime.now(UTC) - timedelta(seconds=30)
    influxdb_server.write_lines(database, _lines("GW1", 3, last, 3))

    options: dict[str, Any] = yaml.safe_load((ADDON / "config.yaml").read_text())["options"]
    options["influxdb"].update(
        host=influxdb_server.host,
        port=influxdb_server.port,
        database=database,
        default_measurement="units",
    )
    options["log_level"] = "debug"
    options_path = tmp_path / "options.json"
    options_path.write_text(json.dumps(options))
    env = {
        **os.environ,
        "PYTHONPATH": str(ADDON),
        "SUPERVISOR_TOKEN": hass_access_token,
        "ML_ANALYZER_HOME_ASSISTANT_URL": f"http://{client.host}:{client.port}",
    }
    process = await asyncio.create_subprocess_exec(
        *addon_command(options_path),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=240)
    log = stderr.decode()

    assert process.returncode == 0, log
    assert hass_access_token not in log
    assert "source InfluxDB 1.x" in log
    assert len(farm.reports) == 1, log
    call = farm.reports[0]
    assert call["interval"] == 300 * 3
    reported = {report["device_id"] for report in call["reports"]}
    assert reported == set(farm.house_devices.values())
    for report in call["reports"]:
        assert 0 <= report["anomaly_score"] <= 100
        assert 0 <= report["failure_risk"] <= 100
        assert report["subsystem"] in (
            "none",
            "heating",
            "ventilation",
            "water",
            "feed",
            "sensor",
            "controller_link",
        )


async def test_addon_command_fails_with_1_when_influxdb_is_down(
    hass: HomeAssistant, hass_client: Any, hass_access_token: str, tmp_path: Path
) -> None:
    from devtools.processes import free_port as _free_port

    for component in ("http", "api", "websocket_api", "config"):
        assert await async_setup_component(hass, component, {})
    client = await hass_client()
    farm = await setup_fake_farm(hass)
    farm.add_house(1, ROLES)
    options_path = tmp_path / "options.json"
    options_path.write_text(
        json.dumps({"influxdb": {"host": "127.0.0.1", "port": _free_port(), "password": "pw-42"}})
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(ADDON),
        "SUPERVISOR_TOKEN": hass_access_token,
        "ML_ANALYZER_HOME_ASSISTANT_URL": f"http://{client.host}:{client.port}",
    }
    process = await asyncio.create_subprocess_exec(
        *addon_command(options_path), env=env, stderr=asyncio.subprocess.PIPE
    )
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=120)
    log = stderr.decode()
    assert process.returncode == 1, log
    assert "InfluxDB 1.x unavailable" in log
    assert "pw-42" not in log
    assert farm.reports == []


async def test_service_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    """The Supervisor stops add-ons with SIGTERM: the loop (here in back-off) ends with 0."""
    from devtools.processes import free_port as _free_port

    options_path = tmp_path / "options.json"
    options_path.write_text(json.dumps({"log_level": "info"}))
    env = {
        **os.environ,
        "PYTHONPATH": str(ADDON),
        "SUPERVISOR_TOKEN": "token-that-is-never-accepted",
        "ML_ANALYZER_HOME_ASSISTANT_URL": f"http://127.0.0.1:{_free_port()}",
    }
    command = addon_command(options_path)[:-1]  # without --once: the service loop
    process = await asyncio.create_subprocess_exec(
        *command, env=env, stderr=asyncio.subprocess.PIPE
    )
    assert process.stderr is not None
    seen = b""
    while b"Home Assistant unavailable" not in seen:
        line = await asyncio.wait_for(process.stderr.readline(), timeout=60)
        assert line, seen.decode()
        seen += line
    process.send_signal(signal.SIGTERM)
    rest = await asyncio.wait_for(process.stderr.read(), timeout=30)
    await process.wait()
    log = (seen + rest).decode()
    assert process.returncode == 0, log
    assert "Stopped" in log
    assert "token-that-is-never-accepted" not in log


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"influxdb_v2": {"url": "influx:8086"}}, "option 'influxdb_v2.url' must start with"),
        ({"advanced": {"state_dir": "/share/rotem"}}, "option 'advanced.state_dir' must be /data"),
        ({"influxdb": {"host": "http://db:8087", "port": 9}}, "option 'influxdb.host' names port"),
    ],
)
async def test_addon_command_bad_option_is_one_line_exit_2(
    tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    """The add-on's own command with the Supervisor's options plus one bad value: the log the
    user sees is one line naming the option, no traceback."""
    options: dict[str, Any] = yaml.safe_load((ADDON / "config.yaml").read_text())["options"]
    for section, values in change.items():
        options[section].update(values)
    options_path = tmp_path / "options.json"
    options_path.write_text(json.dumps(options))
    env = {**os.environ, "PYTHONPATH": str(ADDON), "SUPERVISOR_TOKEN": "never-shown"}
    process = await asyncio.create_subprocess_exec(
        *addon_command(options_path), env=env, stderr=asyncio.subprocess.PIPE
    )
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    log = stderr.decode()
    assert process.returncode == 2, log
    assert log.count("\n") == 1, log
    assert message in log
    assert "never-shown" not in log
