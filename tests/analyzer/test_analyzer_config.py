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
    assert "option '--config' is not valid YAML (line 1)" in capsys.readouterr().err


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


@pytest.mark.parametrize(
    ("host", "port", "ssl", "url"),
    [
        ("db", 8086, False, "http://db:8086"),
        ("http://db:8086", 8086, False, "http://db:8086"),
        ("http://db:8087", 8086, False, "http://db:8087"),
        ("https://db", 8086, False, "https://db:8086"),
        ("db:9999", 9999, False, "http://db:9999"),
        ("http://db:8086/influx/", 8086, False, "http://db:8086/influx"),
        ("::1", 8086, False, "http://[::1]:8086"),
    ],
)
def test_influxdb_host_with_scheme_or_port(
    tmp_path: Path, host: str, port: int, ssl: bool, url: str
) -> None:
    path = _write(tmp_path, {"influxdb": {"host": host, "port": port, "ssl": ssl}})
    assert load_config(path, TOKEN_ENV).influxdb.url == url


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"influxdb": {"host": "http://db:8087", "port": 8088}},
            "option 'influxdb.host' names port 8087 but influxdb.port is 8088",
        ),
        ({"influxdb": {"host": "http://db", "ssl": True}}, "option 'influxdb.host' starts with"),
        ({"influxdb": {"host": "db:port"}}, "option 'influxdb.host' has an invalid port"),
        ({"influxdb": {"host": "ftp://db"}}, "option 'influxdb.host' must be a host name"),
        ({"influxdb_v2": {"url": "http://"}}, "option 'influxdb_v2.url' is not a valid URL"),
        ({"influxdb_v2": {"url": "http://db:99999"}}, "option 'influxdb_v2.url' is not a valid"),
        ({"advanced": {"seed": -1}}, "option 'advanced.seed' must be an integer between 0"),
        ({"advanced": {"colour": 1}}, "option 'advanced.colour' is not a known option"),
        ({"advanced": 3}, "option 'advanced' must be a mapping"),
        ({"seed": "x"}, "option 'seed' must be an integer between 0"),
    ],
)
def test_bad_host_url_or_advanced_option_exits_2(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    options: dict[str, Any],
    message: str,
) -> None:
    for name, value in TOKEN_ENV.items():
        monkeypatch.setenv(name, value)
    assert main(["run", "--config", str(_write(tmp_path, options)), "--once"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err  # one line, no traceback
    assert message in err


def test_state_dir_that_is_a_file_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in TOKEN_ENV.items():
        monkeypatch.setenv(name, value)
    blocker = tmp_path / "state"
    blocker.write_text("")
    for state_dir in (blocker, blocker / "sub"):
        path = _write(tmp_path, {"advanced": {"state_dir": str(state_dir)}})
        assert main(["run", "--config", str(path), "--once"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1, err
        assert "option 'advanced.state_dir' is" in err
        assert "file" in err


def test_addon_state_dir_must_stay_in_data(tmp_path: Path) -> None:
    env = {"SUPERVISOR_TOKEN": "t"}
    for outside in ("/share/rotem", "/data/../config", "data/x"):
        path = _write(tmp_path, {"advanced": {"state_dir": outside}})
        with pytest.raises(ConfigError, match="must be /data or a directory under it") as caught:
            load_config(path, env)
        assert caught.value.option == "advanced.state_dir"
    # Standalone (no Supervisor) the directory may be anywhere.
    path = _write(tmp_path, {"advanced": {"state_dir": str(tmp_path / "state")}})
    assert load_config(path, TOKEN_ENV).state_dir == str(tmp_path / "state")


def test_old_top_level_options_are_moved_with_a_notice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    old = _write(tmp_path, {"seed": 7, "refit_minutes": 30, "advanced": {"history_days": 10}})
    config = load_config(old, TOKEN_ENV)
    assert (config.seed, config.refit_minutes, config.history_days) == (7, 30, 10)
    assert len(config.notices) == 1
    assert "refit_minutes, seed now belong under 'advanced'" in config.notices[0]
    both = _write(tmp_path, {"seed": 7, "advanced": {"seed": 8}})
    config = load_config(both, TOKEN_ENV)
    assert config.seed == 8
    assert "remove the top-level ones" in config.notices[0]
    assert load_config(None, {**TOKEN_ENV, "ML_ANALYZER_ADVANCED_SEED": "5"}).seed == 5
    assert load_config(None, TOKEN_ENV).notices == ()
