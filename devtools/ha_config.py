"""The generated configuration of the tools' Home Assistant (`configuration.yaml` and links).

The tools' HA must work offline, use the working tree's integration and blueprints, write to the
stack's InfluxDB and show the farm dashboard; `write_config` puts all of that in a config dir.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from devtools import REPO_ROOT
from devtools.processes import free_port

#: Integrations of `default_config` that work without the internet, plus what the product uses.
#: `default_config` itself is avoided: cloud, mobile_app, zeroconf, ssdp, dhcp, bluetooth, go2rtc
#: and friends reach for the network or hardware, which test machines do not have.
OFFLINE_INTEGRATIONS: tuple[str, ...] = (
    "frontend",
    "api",
    "config",
    "history",
    "logbook",
    "automation",
    "blueprint",
    "script",
    "scene",
    "person",
    "input_boolean",
    "input_number",
    "input_datetime",
    "input_text",
    "input_select",
    "counter",
    "timer",
    "system_log",
    "energy",
    "image_upload",
)


@dataclass(frozen=True)
class InfluxTarget:
    """Where HA's `influxdb:` integration writes (InfluxDB 1.x, no authentication)."""

    host: str
    port: int
    database: str


@dataclass
class HAConfig:
    """What goes into the generated configuration.yaml."""

    port: int = field(default_factory=free_port)
    name: str = "Rotem Farm"
    influxdb: InfluxTarget | None = None
    #: url_path (must contain a hyphen) -> YAML file of a Lovelace dashboard in YAML mode.
    dashboards: Mapping[str, Path] = field(default_factory=dict)
    #: Extra top-level YAML appended verbatim (e.g. helpers a test needs).
    extra_yaml: str = ""
    #: Logger levels, e.g. {"custom_components.rotem_farm": "debug"}.
    log_levels: Mapping[str, str] = field(default_factory=dict)
    time_zone: str = "UTC"


def write_config(config_dir: Path, config: HAConfig) -> None:
    """Write configuration.yaml and link the repository's integration and blueprints.

    The integration is symlinked, so the running HA always uses the working tree; blueprints are
    copied because HA writes into its blueprint folder.
    """
    config_dir.mkdir(parents=True, exist_ok=True)
    body: dict[str, Any] = {
        "homeassistant": {
            "name": config.name,
            "latitude": 32.08,
            "longitude": 34.78,
            "elevation": 30,
            "unit_system": "metric",
            "time_zone": config.time_zone,
            "currency": "EUR",
            "country": "IL",
            "language": "en",
        },
        "http": {"server_host": ["127.0.0.1"], "server_port": config.port},
        "recorder": {"commit_interval": 1, "purge_keep_days": 3},
        "logger": {
            "default": "warning",
            "logs": {
                "homeassistant.setup": "info",
                "custom_components.rotem_farm": "info",
                **config.log_levels,
            },
        },
    }
    for domain in OFFLINE_INTEGRATIONS:
        body.setdefault(domain, {})
    if config.influxdb is not None:
        body["influxdb"] = {
            "api_version": 1,
            "host": config.influxdb.host,
            "port": config.influxdb.port,
            "database": config.influxdb.database,
            "max_retries": 3,
            "include": {"domains": ["sensor", "binary_sensor"]},
        }
    if config.dashboards:
        dash_dir = config_dir / "dashboards"
        dash_dir.mkdir(exist_ok=True)
        dashboards: dict[str, Any] = {}
        for url_path, source in config.dashboards.items():
            shutil.copyfile(source, dash_dir / source.name)
            dashboards[url_path] = {
                "mode": "yaml",
                "title": "Farm",
                "icon": "mdi:barn",
                "show_in_sidebar": True,
                "filename": f"dashboards/{source.name}",
            }
        body["lovelace"] = {"mode": "storage", "dashboards": dashboards}
    text = yaml.safe_dump(body, sort_keys=False)
    # `automation: !include` keeps UI-created automations (from blueprints) in automations.yaml.
    text = text.replace("automation: {}\n", "automation: !include automations.yaml\n")
    text += config.extra_yaml
    (config_dir / "configuration.yaml").write_text(text)
    automations = config_dir / "automations.yaml"
    if not automations.exists():
        automations.write_text("[]\n")

    components = config_dir / "custom_components"
    components.mkdir(exist_ok=True)
    link = components / "rotem_farm"
    if link.is_symlink() or link.exists():
        if link.is_symlink():
            link.unlink()
        else:
            shutil.rmtree(link)
    link.symlink_to(REPO_ROOT / "custom_components" / "rotem_farm", target_is_directory=True)

    source_blueprints = REPO_ROOT / "blueprints" / "automation" / "rotem_farm"
    if source_blueprints.is_dir():
        target = config_dir / "blueprints" / "automation" / "rotem_farm"
        target.mkdir(parents=True, exist_ok=True)
        for blueprint in source_blueprints.glob("*.yaml"):
            shutil.copyfile(blueprint, target / blueprint.name)
