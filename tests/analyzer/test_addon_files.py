"""The add-on's files agree with each other and with the ml_analyzer configuration loader."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml
from ml_analyzer import __version__
from ml_analyzer.config import _CHOICES, ADVANCED, INT_RANGES, load_config
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
ADDON = ROOT / "addon_ml_analyzer"


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def addon() -> dict[str, Any]:
    data: dict[str, Any] = _yaml(ADDON / "config.yaml")
    return data


def _leaves(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    leaves: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            leaves.update(_leaves(value, f"{prefix}{key}."))
        else:
            leaves[f"{prefix}{key}"] = value
    return leaves


def test_required_keys(addon: dict[str, Any]) -> None:
    assert addon["slug"] == "rotem_ml_analyzer"
    assert addon["version"] == __version__
    assert set(addon["arch"]) == {"aarch64", "amd64"}
    assert addon["init"] is False
    assert addon["homeassistant_api"] is True
    for key in ("name", "description", "url"):
        assert isinstance(addon[key], str)
        assert addon[key]


def test_every_option_has_a_schema_entry_and_back(addon: dict[str, Any]) -> None:
    """A schema entry without a default is optional (`?`): a default would make it required."""
    options, schema = _leaves(addon["options"]), _leaves(addon["schema"])
    assert set(options) <= set(schema)
    for option in set(schema) - set(options):
        assert schema[option].endswith("?"), option


def test_old_top_level_options_stay_optional_in_the_schema(addon: dict[str, Any]) -> None:
    """The Supervisor drops options missing from the schema: an install from before the
    `advanced` group keeps its values only while the old keys are in it (optional, hidden)."""
    for key in ADVANCED:
        assert addon["schema"][key] == addon["schema"]["advanced"][key], key
        assert key not in addon["options"], key
        assert addon["schema"][key].endswith("?"), key


def test_apparmor_profile_is_the_slug(addon: dict[str, Any]) -> None:
    """The Supervisor's own reading (supervisor/utils/apparmor.py): exactly one top-level
    `profile NAME` line, and NAME must be the slug."""
    text = (ADDON / "apparmor.txt").read_text(encoding="utf-8")
    names = {m[1] for line in text.splitlines() if (m := re.match(r"^profile ([^ ]+).*$", line))}
    assert names == {addon["slug"]}
    assert text.count("{") == text.count("}")
    # What the service needs: its data, Python and its packages, the network.
    for rule in ("/data/** rw", "/usr/local/lib/** mr", "network inet", "/opt/rotem/** r"):
        assert rule in text, rule


def test_schema_types_match_defaults_and_the_loader(addon: dict[str, Any]) -> None:
    options = _leaves(addon["options"])
    for option, kind in _leaves(addon["schema"]).items():
        if option not in options:
            continue  # optional without a default: checked below
        value = options[option]
        if match := re.fullmatch(r"list\((.*)\)", kind):
            choices = tuple(match.group(1).split("|"))
            assert value in choices, option
            assert set(_CHOICES[option]) == set(choices), option
        elif match := re.fullmatch(r"int\((\d+),(\d+)\)\??", kind):
            low, high = int(match.group(1)), int(match.group(2))
            assert isinstance(value, int), option
            assert low <= value <= high, option
            assert INT_RANGES[option] == (low, high), option
        elif kind == "port":
            assert isinstance(value, int), option
            assert INT_RANGES[option] == (1, 65535), option
        elif kind == "bool":
            assert isinstance(value, bool), option
        else:
            assert kind in ("str", "str?", "password?", "url?"), option
            assert isinstance(value, str), option
    for option, kind in _leaves(addon["schema"]).items():
        if option not in options and (match := re.fullmatch(r"int\((\d+),(\d+)\)\?", kind)):
            bounds = (int(match.group(1)), int(match.group(2)))
            assert (INT_RANGES.get(option) or INT_RANGES[f"advanced.{option}"]) == bounds, option


def test_defaults_load_as_the_supervisor_writes_them(addon: dict[str, Any], tmp_path: Path) -> None:
    options = tmp_path / "options.json"
    options.write_text(json.dumps(addon["options"]))
    config = load_config(options, {"SUPERVISOR_TOKEN": "supervisor-secret"})
    assert config.home_assistant.url == "http://supervisor/core"
    assert config.chosen_source() == "home_assistant"
    assert config.sensitivity == "medium"
    assert "supervisor-secret" not in repr(config)


def test_translations_name_every_option_and_field(addon: dict[str, Any]) -> None:
    """Walks the schema: every option and every nested field has a name and a description
    (the add-on translation format: `configuration: <option>: fields: <field>`)."""
    translations = _yaml(ADDON / "translations" / "en.yaml")["configuration"]
    assert set(translations) == set(addon["schema"])
    for option, kind in addon["schema"].items():
        entry = translations[option]
        assert entry["name"], option
        assert entry["description"], option
        if isinstance(kind, dict):
            assert set(entry["fields"]) == set(kind), option
            for field, text in entry["fields"].items():
                assert text["name"], f"{option}.{field}"
                assert text["description"], f"{option}.{field}"
        else:
            assert "fields" not in entry, option


def test_run_script_starts_the_package_with_the_supervisor_options() -> None:
    script = (ADDON / "run.sh").read_text(encoding="utf-8").strip().splitlines()
    assert script[0].startswith("#!/usr/bin/with-contenv bashio")
    assert shlex.split(script[-1]) == [
        "exec",
        "python3",
        "-m",
        "ml_analyzer",
        "run",
        "--config",
        "/data/options.json",
        "--health-port",
        "8099",
    ]


def test_watchdog_checks_the_health_port_run_sh_serves(addon: dict[str, Any]) -> None:
    # The Supervisor's own patterns (supervisor/addons/validate.py and addon.py, RE_WATCHDOG).
    schema = r"^(?:https?|\[PROTO:\w+\]|tcp):\/\/\[HOST\]:(\[PORT:\d+\]|\d+).*$"
    runtime = (
        r"^(?:(?P<s_prefix>https?|tcp)|\[PROTO:(?P<t_proto>\w+)\])"
        r":\/\/\[HOST\]:(?:\[PORT:)?(?P<t_port>\d+)\]?(?P<s_suffix>.*)$"
    )
    assert re.match(schema, addon["watchdog"])
    match = re.match(runtime, addon["watchdog"])
    assert match is not None
    assert match["s_suffix"] == "/health"
    script = (ADDON / "run.sh").read_text(encoding="utf-8").strip().splitlines()
    assert shlex.split(script[-1])[-2:] == ["--health-port", match["t_port"]]


def test_dockerfile_builds_from_the_ha_base_image(addon: dict[str, Any]) -> None:
    """The default is HA's multi-arch Python base, so no (deprecated) build.yaml is needed."""
    dockerfile = (ADDON / "Dockerfile").read_text(encoding="utf-8")
    default = re.search(r"^ARG BUILD_FROM=(\S+)$", dockerfile, re.MULTILINE)
    assert default, "ARG BUILD_FROM needs a default"
    assert re.fullmatch(r"ghcr\.io/home-assistant/base-python:\d+\.\d+-alpine\d+\.\d+", default[1])
    assert re.search(r"^FROM \$\{?BUILD_FROM\}?$", dockerfile, re.MULTILINE)
    assert not (ADDON / "build.yaml").exists()
    assert set(addon["arch"]) == {"amd64", "aarch64"}  # the base image's platforms


def test_image_key_names_what_the_workflow_publishes(addon: dict[str, Any]) -> None:
    """The Supervisor pulls ghcr.io/<owner>/<arch>-<name>: the repository owner's registry, and
    the per-architecture name home-assistant/builder's matrix gives .github/workflows/addon.yml."""
    owner = _yaml(ROOT / "repository.yaml")["url"].removeprefix("https://github.com/").split("/")[0]
    assert addon["image"] == f"ghcr.io/{owner}/{{arch}}-rotem-ml-analyzer"
    workflow = (ROOT / ".github" / "workflows" / "addon.yml").read_text(encoding="utf-8")
    assert "addon_ml_analyzer/config.yaml" in workflow
    assert "home-assistant/builder/actions/prepare-multi-arch-matrix@" in workflow


def test_image_pins_the_versions_the_tests_ran() -> None:
    """The test venv runs the image's pins, except PyYAML: HA 2025.4 pins 6.0.2, which has no
    musl wheel for Python 3.13; test_addon_lock.py runs the analyzer's tests on the lock's."""
    from importlib.metadata import version

    for line in (ADDON / "requirements.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, pinned = line.partition("==")
            if name != "PyYAML":
                assert version(name) == pinned, name


def test_images_and_documents() -> None:
    with Image.open(ADDON / "icon.png") as icon:
        assert icon.size == (128, 128)
    with Image.open(ADDON / "logo.png") as logo:
        assert logo.format == "PNG"
    assert f"## {__version__}" in (ADDON / "CHANGELOG.md").read_text()
    docs = (ADDON / "DOCS.md").read_text()
    for option in _leaves(_yaml(ADDON / "config.yaml")["options"]):
        assert f"`{option.rpartition('.')[2]}`" in docs, option


def test_repository_file() -> None:
    repository = _yaml(ROOT / "repository.yaml")
    assert {"name", "url", "maintainer"} <= set(repository)
