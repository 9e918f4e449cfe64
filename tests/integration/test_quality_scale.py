"""quality_scale.yaml is honest: each rule marked done that a test can tell is checked here.

Behavioural rules are proven by their own tests (named in RULE_TESTS); this file checks that
those tests exist and checks the structural rules directly.
"""

from __future__ import annotations

import ast
import importlib
import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from PIL import Image
from pytest_homeassistant_custom_component.common import MockConfigEntry

COMPONENT = Path(__file__).parents[2] / "custom_components" / "rotem_farm"
TESTS = Path(__file__).parent
SCALE = yaml.safe_load((COMPONENT / "quality_scale.yaml").read_text(encoding="utf-8"))["rules"]
STRINGS = json.loads((COMPONENT / "strings.json").read_text(encoding="utf-8"))
ICONS = json.loads((COMPONENT / "icons.json").read_text(encoding="utf-8"))
SOURCES = {path.name: path.read_text(encoding="utf-8") for path in COMPONENT.glob("*.py")}

# Rules whose truth is behaviour: the test (file::name) that fails if it is not true.
RULE_TESTS = {
    "config-flow": "test_config_flow.py::test_rotem_account_created",
    "test-before-configure": "test_config_flow.py::test_rotem_errors_and_recovery",
    "unique-config-entry": "test_config_flow.py::test_rotem_duplicate_aborts",
    "reauthentication-flow": "test_config_flow.py::test_reauth",
    "reconfiguration-flow": "test_config_flow.py::test_reconfigure_rotem",
    "test-before-setup": "test_init.py::test_first_refresh_failure_retries",
    "config-entry-unloading": "test_init.py::test_setup_and_unload",
    "entity-unavailable": "test_init.py::test_outage_and_recovery",
    "log-when-unavailable": "test_init.py::test_outage_and_recovery",
    "dynamic-devices": "test_init.py::test_dynamic_and_stale_houses",
    "stale-devices": "test_init.py::test_dynamic_and_stale_houses",
    "diagnostics": "test_diagnostics.py::test_diagnostics",
    "devices": "test_init.py::test_setup_and_unload",
    "repair-issues": "test_issues.py::test_no_farm_at_setup_raises_an_issue_not_reauth",
    "entity-event-setup": "test_init.py::test_entities_unsubscribe_when_removed",
    "appropriate-polling": "test_init.py::test_migration_drops_the_polling_interval",
}
# Every rule of Home Assistant's Integration Quality Scale (script/hassfest/quality_scale.py),
# by tier: 20 bronze, 10 silver, 21 gold, 3 platinum.
RULES_BY_TIER = {
    "bronze": (
        "action-setup", "appropriate-polling", "brands", "common-modules", "config-flow",
        "config-flow-test-coverage", "dependency-transparency", "docs-actions",
        "docs-conditions", "docs-high-level-description", "docs-installation-instructions",
        "docs-removal-instructions", "docs-triggers", "entity-event-setup", "entity-unique-id",
        "has-entity-name", "runtime-data", "test-before-configure", "test-before-setup",
        "unique-config-entry",
    ),
    "silver": (
        "action-exceptions", "config-entry-unloading", "docs-configuration-parameters",
        "docs-installation-parameters", "entity-unavailable", "integration-owner",
        "log-when-unavailable", "parallel-updates", "reauthentication-flow", "test-coverage",
    ),
    "gold": (
        "devices", "diagnostics", "discovery", "discovery-update-info", "docs-data-update",
        "docs-examples", "docs-known-limitations", "docs-supported-devices",
        "docs-supported-functions", "docs-troubleshooting", "docs-use-cases", "dynamic-devices",
        "entity-category", "entity-device-class", "entity-disabled-by-default",
        "entity-translations", "exception-translations", "icon-translations",
        "reconfiguration-flow", "repair-issues", "stale-devices",
    ),
    "platinum": ("async-dependency", "inject-websession", "strict-typing"),
}  # fmt: skip
KNOWN_RULES = {rule for rules in RULES_BY_TIER.values() for rule in rules}


def _status(rule: str) -> str:
    value = SCALE[rule]
    return str(value if isinstance(value, str) else value["status"])


def _done(rule: str) -> bool:
    return _status(rule) == "done"


def test_every_rule_assessed() -> None:
    """All 54 rules are listed, with a valid status; an exemption or a todo always says why."""
    assert len(KNOWN_RULES) == sum(len(rules) for rules in RULES_BY_TIER.values()) == 54
    assert set(SCALE) == KNOWN_RULES
    for rule, value in SCALE.items():
        assert _status(rule) in {"done", "todo", "exempt"}, rule
        if _status(rule) in {"exempt", "todo"}:
            assert isinstance(value, dict), rule
            assert value.get("comment"), rule


def test_vendored_client_is_not_dependency_transparent() -> None:
    """While the client ships inside the integration, the rule cannot be done."""
    manifest = json.loads((COMPONENT / "manifest.json").read_text(encoding="utf-8"))
    if (COMPONENT / "rotemnet").is_dir() or not manifest.get("requirements"):
        assert _status("dependency-transparency") == "todo"


@pytest.mark.parametrize("rule", sorted(RULE_TESTS))
def test_behavioural_rule_has_its_test(rule: str) -> None:
    """A rule marked done names a test that exists."""
    if not _done(rule):
        pytest.skip("not claimed")
    file_name, test_name = RULE_TESTS[rule].split("::")
    assert f"def {test_name}(" in (TESTS / file_name).read_text(encoding="utf-8")


def _check_parallel_updates() -> None:
    for module in ("sensor", "binary_sensor"):
        platform = importlib.import_module(f"custom_components.rotem_farm.{module}")
        assert platform.PARALLEL_UPDATES == 0, module


def _check_runtime_data() -> None:
    for name, source in SOURCES.items():
        assert "hass.data[DOMAIN]" not in source, name
    assert "entry.runtime_data = RotemFarmData(" in SOURCES["__init__.py"]


def _check_action_setup() -> None:
    setup = SOURCES["__init__.py"].split("async def async_setup(")[1].split("\nasync def")[0]
    assert "async_setup_services(hass)" in setup


def _check_brands() -> None:
    for name, size in (("icon.png", 256), ("icon@2x.png", 512)):
        with Image.open(COMPONENT / "brand" / name) as image:
            assert image.size == (size, size), name


PLATFORMS = ("binary_sensor", "button", "date", "number", "sensor")


def _function(source: str, name: str) -> ast.FunctionDef | ast.AsyncFunctionDef:
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name:
            return node
    raise AssertionError(f"no function {name}")


def _annotations(function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    return [ast.unparse(arg.annotation) if arg.annotation else "" for arg in function.args.args]


def _check_strict_typing() -> None:
    """What core's CI checks beyond mypy: the typed entry and entities callback, no ignores."""
    assert (COMPONENT / "rotemnet" / "py.typed").exists()
    for path in COMPONENT.rglob("*.py"):
        assert "type: ignore" not in path.read_text(encoding="utf-8"), path.name
    for platform in PLATFORMS:
        setup = _function(SOURCES[f"{platform}.py"], "async_setup_entry")
        assert _annotations(setup) == [
            "HomeAssistant",
            "RotemFarmConfigEntry",
            "AddConfigEntryEntitiesCallback",
        ], platform
    options = _function(SOURCES["config_flow.py"], "async_get_options_flow")
    assert _annotations(options) == ["RotemFarmConfigEntry"]


def _check_exception_translations() -> None:
    keys = set(STRINGS["exceptions"])
    for name, source in SOURCES.items():
        for key in re.findall(r'translation_domain=DOMAIN,\s+translation_key="([a-z_]+)"', source):
            assert key in keys, f"{name}: {key}"


def _check_inject_websession() -> None:
    assert "RotemClient(\n            async_create_clientsession(hass)," in SOURCES["__init__.py"]


STRUCTURAL: dict[str, Callable[[], None]] = {
    "parallel-updates": _check_parallel_updates,
    "runtime-data": _check_runtime_data,
    "action-setup": _check_action_setup,
    "brands": _check_brands,
    "strict-typing": _check_strict_typing,
    "exception-translations": _check_exception_translations,
    "inject-websession": _check_inject_websession,
}


@pytest.mark.parametrize("rule", sorted(STRUCTURAL))
def test_structural_rule(rule: str) -> None:
    """Rules a reading of the code can confirm."""
    if not _done(rule):
        pytest.skip("not claimed")
    STRUCTURAL[rule]()


@pytest.mark.usefixtures("mock_client", "entity_registry_enabled_by_default")
async def test_entity_rules(
    hass: HomeAssistant, rotem_entry: MockConfigEntry, entity_registry: er.EntityRegistry
) -> None:
    """has-entity-name, entity-unique-id, entity-translations, icon-translations,
    entity-device-class, entity-category and entity-disabled-by-default on a loaded farm."""
    rotem_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(rotem_entry.entry_id)
    await hass.async_block_till_done()
    entries = er.async_entries_for_config_entry(entity_registry, rotem_entry.entry_id)
    assert entries
    pattern = re.compile(r"^GW-0001(_\d+)?_[a-z0-9_]+$")
    for entry in entries:
        if _done("has-entity-name"):
            assert entry.has_entity_name, entry.entity_id
        if _done("entity-unique-id"):
            assert pattern.match(entry.unique_id), entry.unique_id
        if _done("entity-translations"):
            assert entry.translation_key in STRINGS["entity"][entry.domain], entry.entity_id
        if _done("icon-translations") and entry.original_device_class is None:
            assert entry.translation_key in ICONS["entity"].get(entry.domain, {}), entry.entity_id
    if _done("entity-device-class"):
        assert sum(entry.original_device_class is not None for entry in entries) > len(entries) / 2
    if _done("entity-category"):
        assert any(entry.entity_category is not None for entry in entries)
    if _done("icon-translations"):
        for domain, keys in ICONS["entity"].items():
            assert set(keys) <= set(STRINGS["entity"][domain]), domain
    if _done("entity-disabled-by-default"):
        from custom_components.rotem_farm.sensor import HOUSE_SENSORS, probe_description

        disabled = [d for d in HOUSE_SENSORS if not d.entity_registry_enabled_default]
        assert disabled
        assert not probe_description(1).entity_registry_enabled_default


def test_manifest_key_order() -> None:
    """hassfest's order: domain, name, then the other keys alphabetically."""
    keys = list(json.loads((COMPONENT / "manifest.json").read_text(encoding="utf-8")))
    assert keys[:2] == ["domain", "name"]
    assert keys[2:] == sorted(keys[2:])


def _steps() -> list[tuple[str, dict[str, object]]]:
    steps: list[tuple[str, dict[str, object]]] = []
    for flow in ("config", "options"):
        for name, step in STRINGS[flow]["step"].items():
            steps.append((f"{flow}.{name}", step))
            for section_name, section in step.get("sections", {}).items():
                steps.append((f"{flow}.{name}.{section_name}", section))
    return steps


@pytest.mark.parametrize(("name", "step"), _steps(), ids=[name for name, _ in _steps()])
def test_every_field_has_a_description(name: str, step: dict[str, object]) -> None:
    """Each form field is explained under the field (data_description), as HA asks."""
    data = step.get("data", {})
    descriptions = step.get("data_description", {})
    assert isinstance(data, dict)
    assert isinstance(descriptions, dict)
    assert set(data) <= set(descriptions), name
