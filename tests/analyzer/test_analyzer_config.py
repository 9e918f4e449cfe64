"""Configuration loading: files, environment, SUPERVISOR_TOKEN, and errors naming the option."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from ml_analyzer.cli import main
from ml_analyzer.config import ConfigError, load_config

TOKEN_ENV = {
    "ML_ANALYZER_HOME_ASSISTANT_URL": "http://127.0.0.1:8123",
    "ML_ANALYZER_HOME_ASSISTANT_TOKEN": "long-lived",
}


def _write(tmp_path: Path, options: dict[str, Any], suffix: str = ".yaml") -> Path:
    path = tmp_path / f"options{suffix}"
    path.write_text(json.dumps(options))
    return path


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"influxdb": {"port": 70000}},
            "ml_analyzer: option 'influxdb.port' must be an integer between 1 and 65535",
        ),
        (
            {"influxdb": {"port": "eighty"}},
            "ml_analyzer: option 'influxdb.port' must be an integer between 1 and 65535",
        ),
        ({"sensitivity": "extreme"}, "option 'sensitivity' must be one of low, medium, high"),
        ({"interval_seconds": True}, "option 'interval_seconds' must be an integer"),
        ({"influxdb": {"ssl": "maybe"}}, "option 'influxdb.ssl' must be true or false"),
        ({"influxdb": {"hostname": "x"}}, "option 'influxdb.hostname' is not a known option"),
        ({"colour": "red"}, "option 'colour' is not a known option"),
        ({"source": "influxdb_v1"}, "option 'influxdb.host' is required"),
        ({"influxdb_v2": {"url": "influx:8086"}}, "option 'influxdb_v2.url' must start with"),
        ({"victoriametrics": {"url": "vm:8428"}}, "option 'victoriametrics.url' must start with"),
        ({"source": "victoriametrics"}, "option 'victoriametrics.url' is required"),
        (
            {"victoriametrics": {"url": "http://vm:8428", "username": "u", "token": "t"}},
            "option 'victoriametrics.token' and victoriametrics.username exclude each other",
        ),
    ],
)
def test_bad_option_exits_2_naming_it(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    options: dict[str, Any],
    message: str,
) -> None:
    for name, value in TOKEN_ENV.items():
        monkeypatch.setenv(name, value)
    path = _write(tmp_path, options)
    assert main(["run", "--config", str(path), "--once"]) == 2
    assert message in capsys.readouterr().err


def test_missing_token_names_the_option(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("SUPERVISOR_TOKEN", raising=False)
    monkeypatch.setenv("ML_ANALYZER_HOME_ASSISTANT_URL", "http://127.0.0.1:8123")
    assert main(["run", "--config", str(_write(tmp_path, {}))]) == 2
    assert "option 'home_assistant.token' is required" in capsys.readouterr().err


def test_unreadable_file_names_the_flag(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "options.yaml"
    bad.write_text("sensitivity: [unclosed")
    assert main(["run", "--config", str(bad)]) == 2
    assert "option '--config' is not valid YAML/JSON" in capsys.readouterr().err


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, {"sensitivity": "low", "influxdb": {"host": "db", "port": 8086}})
    config = load_config(
        path,
        {
            **TOKEN_ENV,
            "ML_ANALYZER_SENSITIVITY": "high",
            "ML_ANALYZER_INFLUXDB_PORT": "8087",
            "ML_ANALYZER_INFLUXDB_V2_BUCKET": "farm",
            "ML_ANALYZER_INFLUXDB_PASSWORD": "hunter2",
        },
    )
    assert config.sensitivity == "high"
    assert config.influxdb.host == "db"
    assert config.influxdb.port == 8087
    assert config.influxdb_v2.bucket == "farm"
    assert config.influxdb.url == "http://db:8087"
    assert "hunter2" not in repr(config)
    assert "long-lived" not in repr(config)


def test_victoriametrics_from_the_environment_keeps_secrets_out_of_repr() -> None:
    config = load_config(
        None,
        {
            **TOKEN_ENV,
            "ML_ANALYZER_VICTORIAMETRICS_URL": "https://vm.example:8427",
            "ML_ANALYZER_VICTORIAMETRICS_USERNAME": "farm",
            "ML_ANALYZER_VICTORIAMETRICS_PASSWORD": "hunter2",
            "ML_ANALYZER_VICTORIAMETRICS_VERIFY_SSL": "false",
        },
    )
    assert config.chosen_source() == "victoriametrics"
    assert config.victoriametrics.url == "https://vm.example:8427"
    assert config.victoriametrics.username == "farm"
    assert config.victoriametrics.verify_ssl is False
    assert "hunter2" not in repr(config)


def test_environment_only(tmp_path: Path) -> None:
    config = load_config(None, TOKEN_ENV)
    assert config.home_assistant.url == "http://127.0.0.1:8123"
    assert config.interval_seconds == 300
    assert config.refit_minutes == 60
    assert config.history_days == 14


def test_supervisor_token_means_the_supervisor_proxy() -> None:
    config = load_config(None, {"SUPERVISOR_TOKEN": "abc"})
    assert config.home_assistant.url == "http://supervisor/core"
    assert config.home_assistant.token == "abc"


def test_explicit_token_wins_over_supervisor_token() -> None:
    config = load_config(None, {**TOKEN_ENV, "SUPERVISOR_TOKEN": "abc"})
    assert config.home_assistant.token == "long-lived"
    assert config.home_assistant.url == "http://127.0.0.1:8123"


@pytest.mark.parametrize(
    ("options", "source"),
    [
        ({}, "home_assistant"),
        ({"influxdb_v2": {"url": "http://i:8086", "token": "t"}}, "influxdb_v2"),
        (
            {"influxdb": {"host": "i"}, "influxdb_v2": {"url": "http://i:8086", "token": "t"}},
            "influxdb_v1",
        ),
        ({"influxdb": {"host": "i"}, "source": "home_assistant"}, "home_assistant"),
        ({"influxdb_v2": {"url": "http://i:8086"}}, "home_assistant"),
        ({"victoriametrics": {"url": "http://vm:8428"}}, "victoriametrics"),
        (
            {
                "influxdb_v2": {"url": "http://i:8086", "token": "t"},
                "victoriametrics": {"url": "http://vm:8428"},
            },
            "influxdb_v2",
        ),
        (
            {"victoriametrics": {"url": "http://vm:8428"}, "source": "home_assistant"},
            "home_assistant",
        ),
    ],
)
def test_source_is_the_first_configured(
    tmp_path: Path, options: dict[str, Any], source: str
) -> None:
    assert load_config(_write(tmp_path, options, ".json"), TOKEN_ENV).chosen_source() == source


def test_config_error_carries_the_option() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(None, {**TOKEN_ENV, "ML_ANALYZER_HISTORY_DAYS": "0"})
    assert caught.value.option == "history_days"
