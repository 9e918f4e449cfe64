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
from urllib.parse import urlsplit

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

ADDON_DATA = Path("/data")
"""The add-on's storage: kept across updates and restarts, unlike the rest of the container."""

# Engineering settings, grouped under `advanced:` so the add-on's configuration screen shows the
# farmer's options first. Before 0.2.0 they were top-level keys; those are still read (and
# reported by `AnalyzerConfig.notices`) so an existing install keeps its values.
ADVANCED: tuple[str, ...] = ("refit_minutes", "history_days", "publish_every", "seed", "state_dir")

# Integer options by their path in config.yaml's schema: (minimum, maximum). The schema uses the
# same bounds (a test checks).
INT_RANGES: dict[str, tuple[int, int]] = {
    "interval_seconds": (60, 3600),
    "advanced.refit_minutes": (5, 1440),
    "advanced.history_days": (1, 90),
    "advanced.publish_every": (1, 12),
    "advanced.seed": (0, 2**31 - 1),
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
        host = f"[{self.host}]" if ":" in self.host else self.host  # IPv6 literal
        return f"{scheme}://{host}:{self.port}{path}"


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
    notices: tuple[str, ...] = field(default=(), compare=False)
    """What loading changed in the user's options (old keys moved), logged once at start."""

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
    name: type(value)
    for name, value in vars(AnalyzerConfig()).items()
    if name not in _SECTIONS and name not in ADVANCED and name != "notices"
}
_ADVANCED_TYPES = {name: type(vars(AnalyzerConfig())[name]) for name in ADVANCED}
INFLUXDB_DEFAULT_PORT = InfluxV1Config().port


def _as_int(option: str, value: Any) -> int:
    # An old top-level key ("seed") has the bounds of its place under advanced.
    low, high = INT_RANGES.get(option) or INT_RANGES[f"advanced.{option}"]
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


def _check_url(option: str, url: str) -> None:
    """An http(s) URL with a host and a valid port; the value itself is never echoed (it may
    carry credentials)."""
    if not url:
        return
    if not url.startswith(("http://", "https://")):
        raise ConfigError(option, "must start with http:// or https://")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ConfigError(option, "is not a valid URL (host or port)") from None
    if not parts.hostname or (port is not None and not 1 <= port <= 65535):
        raise ConfigError(
            option, "is not a valid URL: it needs a host, e.g. http://192.168.1.10:8086"
        )
    if any(character.isspace() for character in url):
        raise ConfigError(option, "is not a valid URL: it contains spaces")


def _split_host(host: str) -> tuple[str, Any]:
    """`host` as (scheme or "", urlsplit result); errors name `influxdb.host`."""
    scheme = ""
    if "://" in host:
        scheme = host.partition("://")[0].lower()
        if scheme not in ("http", "https"):
            raise ConfigError("influxdb.host", "must be a host name or IP, or an http(s):// URL")
        text = host
    else:
        text = "//" + host
    try:
        parts = urlsplit(text)
        _ = parts.port
    except ValueError:
        raise ConfigError("influxdb.host", "has an invalid port") from None
    if parts.username is not None or parts.password is not None:
        raise ConfigError(
            "influxdb.host", "must not contain credentials: use influxdb.username and password"
        )
    if not parts.hostname or parts.query or parts.fragment or any(c.isspace() for c in host):
        raise ConfigError("influxdb.host", "must be a host name or IP, e.g. 192.168.1.10")
    return scheme, parts


def _influx_host(section: InfluxV1Config) -> InfluxV1Config:
    """`influxdb.host` as HA's influxdb integration takes it (a name or an IP), but also a URL
    or `name:port` as people paste them: `http://db:8086` must not become
    `http://http://db:8086:8086`. Scheme, port and path move to their own options; a value that
    contradicts one set explicitly is an error rather than a guess."""
    host = section.host
    if not host or (host.count(":") > 1 and "[" not in host and "://" not in host):
        return section  # not configured, or a bare IPv6 address (no port)
    scheme, parts = _split_host(host)
    values: dict[str, Any] = {"host": parts.hostname}
    if scheme == "https":
        values["ssl"] = True
    elif scheme == "http" and section.ssl:
        raise ConfigError("influxdb.host", "starts with http:// but influxdb.ssl is true")
    port = parts.port
    if port is not None:
        # The Supervisor always writes a port (8086 unless changed): only a changed one can
        # contradict the host's.
        if section.port not in (port, INFLUXDB_DEFAULT_PORT):
            raise ConfigError(
                "influxdb.host", f"names port {port} but influxdb.port is {section.port}"
            )
        values["port"] = port
    path = parts.path.strip("/")
    if path:
        if section.path.strip("/") not in ("", path):
            raise ConfigError("influxdb.host", "has a path that differs from influxdb.path")
        values["path"] = path
    return replace(section, **values)


def _check_state_dir(state_dir: str, addon: bool) -> None:
    """A state directory that cannot hold state is refused at start, not found out later when
    a save fails (the flock history would silently not survive a restart)."""
    if not state_dir:
        return
    path = Path(os.path.normpath(state_dir))
    if addon and not (path.is_absolute() and path.is_relative_to(ADDON_DATA)):
        raise ConfigError(
            "advanced.state_dir",
            "must be /data or a directory under it in the add-on (elsewhere it is lost on update)",
        )
    existing = path
    while not existing.exists() and existing.parent != existing:
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        what = "is a file" if existing == path else f"is inside a file ({existing})"
        raise ConfigError("advanced.state_dir", f"{what}: it must be a directory")
    if existing.is_dir() and not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError("advanced.state_dir", f"is not writable ({existing})")


def _check_urls(config: AnalyzerConfig) -> None:
    _check_url("home_assistant.url", config.home_assistant.url)
    _check_url("influxdb_v2.url", config.influxdb_v2.url)
    _check_url("victoriametrics.url", config.victoriametrics.url)
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


def mask_url(url: str) -> str:
    """The URL with its userinfo (`user:password@`) replaced by `***@`, for logs and errors.

    `home_assistant.url` and the InfluxDB URLs may carry credentials; every place that shows a
    URL to a person goes through here. Text that is not a URL is returned unchanged.
    """
    scheme, separator, rest = url.partition("://")
    if not separator:
        return url
    authority_end = len(rest)
    for stop in "/?#":
        position = rest.find(stop)
        if position != -1:
            authority_end = min(authority_end, position)
    authority = rest[:authority_end]
    if "@" not in authority:
        return url
    host = authority.rpartition("@")[2]
    return f"{scheme}://***@{host}{rest[authority_end:]}"


def without_userinfo(url: str) -> str:
    """The URL without `user:password@` (for clients that authenticate otherwise)."""
    masked = mask_url(url)
    return masked.replace("://***@", "://", 1) if masked != url else url


def _advanced(raw: Mapping[str, Any]) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The `advanced` group's values, with old top-level keys moved in, and what was moved."""
    group = raw.get("advanced")
    if group is None:
        group = {}
    if not isinstance(group, Mapping):
        raise ConfigError("advanced", "must be a mapping of options")
    values: dict[str, Any] = {}
    for key, value in group.items():
        if key not in _ADVANCED_TYPES:
            raise ConfigError(f"advanced.{key}", "is not a known option")
        values[key] = _convert(f"advanced.{key}", _ADVANCED_TYPES[key], value)
    moved, ignored = [], []
    for key in ADVANCED:
        if key not in raw or raw[key] is None:
            continue
        value = _convert(key, _ADVANCED_TYPES[key], raw[key])
        if key in values:
            if values[key] != value:
                ignored.append(key)
        else:
            values[key] = value
            moved.append(key)
    notices = []
    if moved:
        notices.append(
            f"Option(s) {', '.join(moved)} now belong under 'advanced'; the values given at the "
            "top level are used: move them there (Configuration → Advanced) to silence this"
        )
    if ignored:
        notices.append(
            f"Option(s) {', '.join(ignored)} are set both at the top level and under 'advanced'; "
            "the 'advanced' values are used: remove the top-level ones"
        )
    return values, tuple(notices)


def config_from_mapping(raw: Mapping[str, Any], *, addon: bool = False) -> AnalyzerConfig:
    """Validate a parsed options mapping (file or environment) into an `AnalyzerConfig`.

    `addon`: running under the Supervisor, where state must stay in /data.
    """
    values, notices = _advanced(raw)
    for key, value in raw.items():
        if key in _SECTIONS:
            values[key] = _build_section(key, value)
        elif key in _TOP_LEVEL:
            values[key] = _convert(key, _TOP_LEVEL[key], value)
        elif key != "advanced" and key not in ADVANCED:
            raise ConfigError(key, "is not a known option")
    if "influxdb" in values:
        values["influxdb"] = _influx_host(values["influxdb"])
    config = AnalyzerConfig(**values, notices=notices)
    _check_urls(config)
    _check_state_dir(config.state_dir, addon)
    return config


def read_file(path: Path) -> dict[str, Any]:
    """Parse a YAML or JSON options file (JSON is YAML, but JSON errors read better)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError("--config", f"cannot be read: {err.strerror}") from None
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except json.JSONDecodeError as err:
        raise ConfigError("--config", f"is not valid JSON: {err.msg} (line {err.lineno})") from None
    except yaml.YAMLError as err:
        # Never the error's text: PyYAML quotes the offending line, which may hold a token or
        # a password. The line number is enough to find it.
        mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise ConfigError("--config", f"is not valid YAML{where}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError("--config", "must contain a mapping of options")
    return data


def env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    """Options from `ML_ANALYZER_*` variables: `ML_ANALYZER_INFLUXDB_V2_URL` → influxdb_v2.url."""
    result: dict[str, Any] = {}
    # Longest section names first, so INFLUXDB_V2_* is not read as influxdb.v2_*.
    sections = sorted([*_SECTIONS, "advanced"], key=len, reverse=True)
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
    config = config_from_mapping(raw, addon=bool(supervisor_token))
    if not config.state_dir:
        config = replace(config, state_dir=str(default_state_dir(path)))
    return config


def default_state_dir(config_path: Path | None, data: Path = ADDON_DATA) -> Path:
    """Where the analyzer keeps its state when `state_dir` is not set: the add-on's /data
    (kept across updates and restarts), else `.ml_analyzer` beside the configuration file
    (or in the working directory)."""
    if data.is_dir():
        return data
    base = config_path.parent if config_path is not None else Path.cwd()
    return base / ".ml_analyzer"
