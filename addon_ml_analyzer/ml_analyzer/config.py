"""Typed, validated configuration of the analyzer service.

The same options come from three places: the add-on's `/data/options.json` (written by the
Supervisor from config.yaml's schema), a YAML/JSON file for Container/Core installs, and
environment variables (`ML_ANALYZER_<SECTION>_<OPTION>`, e.g. `ML_ANALYZER_INFLUXDB_PORT`).
Every value is checked here once, so the rest of the service can trust it; a bad value raises
`ConfigError` naming the option (the CLI turns it into exit code 2). Secrets are kept out of
`repr` so a logged configuration never shows a password or token.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, cast

import yaml

Sensitivity = Literal["low", "medium", "high"]
Source = Literal["influxdb_v1", "influxdb_v2", "victoriametrics", "home_assistant"]

SENSITIVITIES: tuple[str, ...] = ("low", "medium", "high")
SOURCES: tuple[str, ...] = (
    "auto",
    "influxdb_v1",
    "influxdb_v2",
    "victoriametrics",
    "home_assistant",
)
LOG_LEVELS: tuple[str, ...] = ("debug", "info", "warning", "error")

ENV_PREFIX = "ML_ANALYZER_"
SUPERVISOR_URL = "http://supervisor/core"

# Integer options: (minimum, maximum). config.yaml's schema uses the same bounds (a test checks).
INT_RANGES: dict[str, tuple[int, int]] = {
    "interval_seconds": (60, 3600),
    "refit_minutes": (5, 1440),
    "history_days": (1, 90),
    "publish_every": (1, 12),
    "seed": (0, 2**31 - 1),
    "influxdb.port": (1, 65535),
}


class ConfigError(ValueError):
    """A configuration value is missing or invalid; `option` is its dotted name."""

    def __init__(self, option: str, problem: str) -> None:
        super().__init__(f"option '{option}' {problem}")
        self.option = option


@dataclass(frozen=True)
class HomeAssistantConfig:
    """Where Home Assistant's REST and websocket APIs are and how to authenticate."""

    url: str = ""
    token: str = field(default="", repr=False)
    verify_ssl: bool = True


@dataclass(frozen=True)
class InfluxV1Config:
    """InfluxDB 1.x settings, named like HA's influxdb integration (api_version 1)."""

    host: str = ""
    port: int = 8086
    ssl: bool = False
    verify_ssl: bool = True
    database: str = "home_assistant"
    username: str = ""
    password: str = field(default="", repr=False)
    path: str = ""
    default_measurement: str = ""
    override_measurement: str = ""

    @property
    def configured(self) -> bool:
        """A host is what makes InfluxDB 1.x the chosen source."""
        return bool(self.host)

    @property
    def url(self) -> str:
        """Base URL of the HTTP API, including an optional path prefix (reverse proxies)."""
        scheme = "https" if self.ssl else "http"
        path = "/" + self.path.strip("/") if self.path.strip("/") else ""
        return f"{scheme}://{self.host}:{self.port}{path}"


@dataclass(frozen=True)
class InfluxV2Config:
    """InfluxDB 2.x settings, named like HA's influxdb integration (api_version 2)."""

    url: str = ""
    token: str = field(default="", repr=False)
    org: str = ""
    bucket: str = "Home Assistant"
    verify_ssl: bool = True
    default_measurement: str = ""
    override_measurement: str = ""

    @property
    def configured(self) -> bool:
        """A URL and token make InfluxDB 2.x the chosen source (when 1.x is not configured)."""
        return bool(self.url and self.token)


@dataclass(frozen=True)
class VictoriaMetricsConfig:
    """VictoriaMetrics that HA's influxdb integration (api_version 1) writes to.

    VictoriaMetrics takes HA's InfluxDB writes unchanged and files them as series
    `<measurement>_value{entity_id, domain}`, so the measurement options mean what they mean
    in HA's influxdb configuration. `url` is the base of its HTTP API: `http://host:8428` for
    the single server, `http://vmselect:8481/select/0/prometheus` for a cluster's tenant 0.
    Basic auth (username/password) or a bearer token, for a vmauth or reverse proxy in front.
    """

    url: str = ""
    username: str = ""
    password: str = field(default="", repr=False)
    token: str = field(default="", repr=False)
    verify_ssl: bool = True
    default_measurement: str = ""
    override_measurement: str = ""

    @property
    def configured(self) -> bool:
        """A URL makes VictoriaMetrics the chosen source (when no InfluxDB is configured)."""
        return bool(self.url)


@dataclass(frozen=True)
class AnalyzerConfig:
    """Everything the service needs; build it with `load_config`."""

    sensitivity: Sensitivity = "medium"
    source: str = "auto"
    interval_seconds: int = 300
    refit_minutes: int = 60
    history_days: int = 14
    publish_every: int = 3
    seed: int = 0
    log_level: str = "info"
    state_dir: str = ""
    """Directory of the analyzer's own state (flock history); load_config fills the default."""
    home_assistant: HomeAssistantConfig = field(default_factory=HomeAssistantConfig)
    influxdb: InfluxV1Config = field(default_factory=InfluxV1Config)
    influxdb_v2: InfluxV2Config = field(default_factory=InfluxV2Config)
    victoriametrics: VictoriaMetricsConfig = field(default_factory=VictoriaMetricsConfig)

    def chosen_source(self) -> Source:
        """The data source: the explicit one, else the first configured of v1, v2,
        VictoriaMetrics, HA."""
        if self.source != "auto":
            return cast(Source, self.source)
        if self.influxdb.configured:
            return "influxdb_v1"
        if self.influxdb_v2.configured:
            return "influxdb_v2"
        if self.victoriametrics.configured:
            return "victoriametrics"
        return "home_assistant"


_SECTIONS: dict[str, type[Any]] = {
    "home_assistant": HomeAssistantConfig,
    "influxdb": InfluxV1Config,
    "influxdb_v2": InfluxV2Config,
    "victoriametrics": VictoriaMetricsConfig,
}
_CHOICES: dict[str, tuple[str, ...]] = {
    "sensitivity": SENSITIVITIES,
    "source": SOURCES,
    "log_level": LOG_LEVELS,
}
_TOP_LEVEL = {
    name: type(value) for name, value in vars(AnalyzerConfig()).items() if name not in _SECTIONS
}


def _as_int(option: str, value: Any) -> int:
    low, high = INT_RANGES[option]
    problem = f"must be an integer between {low} and {high}"
    if isinstance(value, bool):
        raise ConfigError(option, problem)
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            raise ConfigError(option, problem) from None
    if not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(option, problem)
    return value


def _as_bool(option: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "1", "yes", "on"):
        return True
    if isinstance(value, str) and value.strip().lower() in ("false", "0", "no", "off"):
        return False
    raise ConfigError(option, "must be true or false")


def _as_str(option: str, value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ConfigError(option, "must be a string")
    return value.strip()


def _convert(option: str, kind: type[Any], value: Any) -> Any:
    if kind is bool:
        return _as_bool(option, value)
    if kind is int:
        return _as_int(option, value)
    text = _as_str(option, value)
    choices = _CHOICES.get(option)
    if choices is not None and text not in choices:
        raise ConfigError(option, f"must be one of {', '.join(choices)}")
    return text


def _build_section(name: str, raw: Any) -> Any:
    section_type = _SECTIONS[name]
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise ConfigError(name, "must be a mapping of options")
    defaults = vars(section_type())
    values: dict[str, Any] = {}
    for key, value in raw.items():
        option = f"{name}.{key}"
        if key not in defaults:
            raise ConfigError(option, "is not a known option")
        values[key] = _convert(option, type(defaults[key]), value)
    return section_type(**values)


def _check_urls(config: AnalyzerConfig) -> None:
    for option, url in (
        ("home_assistant.url", config.home_assistant.url),
        ("influxdb_v2.url", config.influxdb_v2.url),
        ("victoriametrics.url", config.victoriametrics.url),
    ):
        if url and not url.startswith(("http://", "https://")):
            raise ConfigError(option, "must start with http:// or https://")
    source = config.source
    if source == "influxdb_v1" and not config.influxdb.configured:
        raise ConfigError("influxdb.host", "is required when source is influxdb_v1")
    if source == "influxdb_v2" and not config.influxdb_v2.configured:
        raise ConfigError("influxdb_v2.url", "and influxdb_v2.token are required for influxdb_v2")
    if source == "victoriametrics" and not config.victoriametrics.configured:
        raise ConfigError("victoriametrics.url", "is required when source is victoriametrics")
    if config.victoriametrics.username and config.victoriametrics.token:
        raise ConfigError(
            "victoriametrics.token", "and victoriametrics.username exclude each other: use one"
        )
    if not config.home_assistant.url:
        raise ConfigError(
            "home_assistant.url",
            "is required (or run as the add-on, where SUPERVISOR_TOKEN is set)",
        )
    if not config.home_assistant.token:
        raise ConfigError(
            "home_assistant.token",
            "is required: a long-lived access token (the add-on uses SUPERVISOR_TOKEN)",
        )


def config_from_mapping(raw: Mapping[str, Any]) -> AnalyzerConfig:
    """Validate a parsed options mapping (file or environment) into an `AnalyzerConfig`."""
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key in _SECTIONS:
            values[key] = _build_section(key, value)
        elif key in _TOP_LEVEL:
            values[key] = _convert(key, _TOP_LEVEL[key], value)
        else:
            raise ConfigError(key, "is not a known option")
    config = AnalyzerConfig(**values)
    _check_urls(config)
    return config


def read_file(path: Path) -> dict[str, Any]:
    """Parse a YAML or JSON options file (JSON is YAML, but JSON errors read better)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError("--config", f"cannot be read: {err.strerror}") from None
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as err:
        raise ConfigError("--config", f"is not valid YAML/JSON: {err}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError("--config", "must contain a mapping of options")
    return data


def env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    """Options from `ML_ANALYZER_*` variables: `ML_ANALYZER_INFLUXDB_V2_URL` → influxdb_v2.url."""
    result: dict[str, Any] = {}
    # Longest section names first, so INFLUXDB_V2_* is not read as influxdb.v2_*.
    sections = sorted(_SECTIONS, key=len, reverse=True)
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX):
            continue
        key = name[len(ENV_PREFIX) :].lower()
        for section in sections:
            if key.startswith(section + "_"):
                result.setdefault(section, {})[key[len(section) + 1 :]] = value
                break
        else:
            result[key] = value
    return result


def _merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


def load_config(path: Path | None, environ: Mapping[str, str] | None = None) -> AnalyzerConfig:
    """File options, overridden by `ML_ANALYZER_*` variables; SUPERVISOR_TOKEN fills HA access.

    Inside the add-on the Supervisor injects SUPERVISOR_TOKEN and proxies Core's API at
    http://supervisor/core, so when no explicit token is configured we use that pair.
    """
    env = os.environ if environ is None else environ
    raw = read_file(path) if path is not None else {}
    raw = _merge(raw, env_overrides(env))
    supervisor_token = env.get("SUPERVISOR_TOKEN", "")
    ha_raw = dict(raw.get("home_assistant") or {})
    if supervisor_token and not ha_raw.get("token"):
        ha_raw["token"] = supervisor_token
        ha_raw.setdefault("url", SUPERVISOR_URL)
        if not ha_raw.get("url"):
            ha_raw["url"] = SUPERVISOR_URL
    if ha_raw:
        raw["home_assistant"] = ha_raw
    config = config_from_mapping(raw)
    if not config.state_dir:
        config = replace(config, state_dir=str(default_state_dir(path)))
    return config


def default_state_dir(config_path: Path | None, data: Path = Path("/data")) -> Path:
    """Where the analyzer keeps its state when `state_dir` is not set: the add-on's /data
    (kept across updates and restarts), else `.ml_analyzer` beside the configuration file
    (or in the working directory)."""
    if data.is_dir():
        return data
    base = config_path.parent if config_path is not None else Path.cwd()
    return base / ".ml_analyzer"
