"""strings.json, translations/en.json, services.yaml and icons.json against the code.

hassfest checks the files' shapes; a custom integration also needs translations/en.json complete,
because HA loads nothing else for it (strings.json is only the source, and its `[%key:…%]`
references are resolved by core's tooling, not at run time). These checks read the code with
`ast` for every translation key, flow step, error, abort and service it uses, and import the
platform modules for the entity descriptions built from data (enum options).
"""

from __future__ import annotations

import ast
import importlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from homeassistant.helpers.entity import EntityDescription

REPO = Path(__file__).parents[2]
PACKAGE = "custom_components.rotem_farm"
INTEGRATION = REPO / "custom_components" / "rotem_farm"
REFERENCE = re.compile(r"\[%key:[^%]+%\]")
EXCEPTION_CALLS = ("Error", "Failed", "NotReady", "Invalid")
# Ordered: the first fragment found in a class or description name gives the platform.
PLATFORM_NAMES = (
    ("BinarySensor", "binary_sensor"),
    ("Sensor", "sensor"),
    ("Button", "button"),
    ("Number", "number"),
    ("Date", "date"),
    ("Switch", "switch"),
    ("Select", "select"),
)


@dataclass(frozen=True)
class KeyUse:
    """A translation key used in code: the section it needs, the platform if known, where."""

    section: str  # entity | exceptions | selector | issues
    key: str
    platform: str | None
    where: str


def _source_files() -> list[Path]:
    return sorted(
        path
        for path in INTEGRATION.rglob("*.py")
        if "rotemnet" not in path.relative_to(INTEGRATION).parts
    )


def _module_name(path: Path) -> str:
    """Dotted module name of a repository file (a file elsewhere, as in the scanner's own test,
    is a top-level module)."""
    if not path.is_relative_to(REPO):
        return path.stem
    return ".".join(path.relative_to(REPO).with_suffix("").parts)


def _import(module_name: str) -> ModuleType | None:
    try:
        return importlib.import_module(module_name)
    except ImportError:
        return None


class _Constants:
    """Resolve a name to the string it holds: module-level assignments, then imported names."""

    def __init__(self, tree: ast.Module, module_name: str) -> None:
        self.values: dict[str, str] = {}
        self.imports: dict[str, tuple[str, str]] = {}
        package = module_name.rpartition(".")[0]
        for node in tree.body:
            if isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                value = node.value
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    for target in targets:
                        if isinstance(target, ast.Name):
                            self.values[target.id] = value.value
            elif isinstance(node, ast.ImportFrom) and node.module is not None:
                source = f"{package}.{node.module}" if node.level == 1 else node.module
                for alias in node.names:
                    self.imports[alias.asname or alias.name] = (source, alias.name)

    def resolve(self, node: ast.expr) -> str | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.Name):
            if node.id in self.values:
                return self.values[node.id]
            if node.id in self.imports:
                module_name, attribute = self.imports[node.id]
                module = _import(module_name)
                value = getattr(module, attribute, None) if module else None
                return value if isinstance(value, str) else None
        return None


def _call_name(node: ast.Call) -> str:
    func = node.func
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def _platform_of(name: str) -> str | None:
    return next((platform for fragment, platform in PLATFORM_NAMES if fragment in name), None)


def key_uses(path: Path) -> Iterator[KeyUse]:
    """Every literal (or constant) translation key in one source file, classified."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    constants = _Constants(tree, _module_name(path))
    where = path.name
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            keywords = {keyword.arg: keyword.value for keyword in node.keywords}
            if "translation_key" not in keywords:
                continue
            key = constants.resolve(keywords["translation_key"])
            if key is None:
                continue
            name = _call_name(node)
            if name == "async_create_issue":
                yield KeyUse("issues", key, None, f"{where}:{node.lineno}")
            elif "translation_domain" in keywords or name.endswith(EXCEPTION_CALLS):
                yield KeyUse("exceptions", key, None, f"{where}:{node.lineno}")
            elif "Selector" in name:
                yield KeyUse("selector", key, None, f"{where}:{node.lineno}")
            else:
                yield KeyUse("entity", key, _platform_of(name), f"{where}:{node.lineno}")
        elif isinstance(node, ast.ClassDef):
            bases = " ".join(ast.unparse(base) for base in node.bases)
            for item in node.body:
                if (
                    isinstance(item, ast.Assign)
                    and any(
                        isinstance(target, ast.Name) and target.id == "_attr_translation_key"
                        for target in item.targets
                    )
                    and (key := constants.resolve(item.value)) is not None
                ):
                    yield KeyUse("entity", key, _platform_of(bases), f"{where}:{item.lineno}")


def _all_key_uses() -> list[KeyUse]:
    return [use for path in _source_files() for use in key_uses(path)]


def _leaves(
    tree: dict[str, Any], prefix: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], Any]]:
    for key, value in tree.items():
        if isinstance(value, dict):
            yield from _leaves(value, (*prefix, key))
        else:
            yield (*prefix, key), value


def _get(tree: dict[str, Any], *path: str) -> Any:
    node: Any = tree
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


# ---- en.json against strings.json ---------------------------------------------------------------


def test_en_json_has_every_string_of_strings_json(
    strings: dict[str, Any], en: dict[str, Any]
) -> None:
    """A string only in strings.json is never shown: HA reads translations/en.json."""
    missing = [".".join(path) for path, _ in _leaves(strings) if _get(en, *path) is None]
    extra = [".".join(path) for path, _ in _leaves(en) if _get(strings, *path) is None]
    assert not missing, f"in strings.json, missing from en.json: {missing}"
    assert not extra, f"in en.json but not in strings.json (edit strings.json first): {extra}"


def test_en_json_has_no_unresolved_references(en: dict[str, Any]) -> None:
    """`[%key:common::…%]` would be shown literally for a custom integration."""
    unresolved = [".".join(path) for path, value in _leaves(en) if REFERENCE.search(str(value))]
    assert not unresolved, f"unresolved references in en.json: {unresolved}"


def test_en_json_matches_strings_json_where_it_has_text(
    strings: dict[str, Any], en: dict[str, Any]
) -> None:
    """Text edited in strings.json reaches en.json (references excepted: they are resolved)."""
    stale = [
        ".".join(path)
        for path, value in _leaves(strings)
        if isinstance(value, str) and not REFERENCE.search(value) and _get(en, *path) != value
    ]
    assert not stale, f"en.json differs from strings.json at: {stale}"


# ---- translation keys used in code --------------------------------------------------------------


def test_code_scan_finds_translation_keys() -> None:
    """The scan sees entity and exception keys (an empty scan would check nothing)."""
    sections = {use.section for use in _all_key_uses()}
    assert {"entity", "exceptions"} <= sections


def test_every_translation_key_in_code_has_strings(en: dict[str, Any]) -> None:
    """Entity names, exception messages, selector options and issues used in code are translated."""
    missing: list[str] = []
    for use in _all_key_uses():
        if use.section == "entity":
            platforms = [use.platform] if use.platform else list(_get(en, "entity") or {})
            found = any(_get(en, "entity", platform, use.key) for platform in platforms)
            label = f"entity.{use.platform or '*'}.{use.key}"
        elif use.section == "exceptions":
            found = bool(_get(en, "exceptions", use.key, "message"))
            label = f"exceptions.{use.key}.message"
        elif use.section == "selector":
            found = bool(_get(en, "selector", use.key, "options"))
            label = f"selector.{use.key}.options"
        else:
            found = bool(_get(en, "issues", use.key, "title"))
            label = f"issues.{use.key}.title"
        if not found:
            missing.append(f"{use.where}: {label}")
    assert not missing, "translation keys without strings in en.json:\n" + "\n".join(missing)


def _descriptions(value: Any, depth: int = 0) -> Iterator[EntityDescription]:
    if isinstance(value, EntityDescription):
        yield value
    elif depth < 3 and isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield from _descriptions(item, depth + 1)
    elif depth < 3 and isinstance(value, dict):
        for item in value.values():
            yield from _descriptions(item, depth + 1)


def _description_platform(description: EntityDescription) -> str | None:
    for cls in type(description).__mro__:
        if cls.__module__.startswith("homeassistant.components."):
            return cls.__module__.split(".")[2]
    return None


def test_entity_descriptions_have_names_and_enum_states(en: dict[str, Any]) -> None:
    """Descriptions built at import time (also from data): a name, and a string per enum option."""
    problems: list[str] = []
    seen = 0
    for path in _source_files():
        module = _import(_module_name(path))
        assert module is not None, f"{path.name} does not import"
        for value in vars(module).values():
            for description in _descriptions(value):
                key = description.translation_key
                if key is None:
                    continue
                seen += 1
                platform = _description_platform(description)
                platforms = [platform] if platform else list(_get(en, "entity") or {})
                entry = next(
                    (_get(en, "entity", p, key) for p in platforms if _get(en, "entity", p, key)),
                    None,
                )
                if entry is None:
                    problems.append(f"{path.name}: entity.{platform or '*'}.{key} missing")
                    continue
                options = getattr(description, "options", None) or []
                problems.extend(
                    f"{path.name}: entity.{platform}.{key}.state.{option} missing"
                    for option in options
                    if not _get(entry, "state", str(option))
                )
    assert seen, "no entity descriptions found: the import scan is broken"
    assert not problems, "\n".join(problems)


def test_icons_json_names_existing_entities(en: dict[str, Any]) -> None:
    """An icon for a translation key no entity has is dead configuration (often a typo)."""
    icons = json.loads((INTEGRATION / "icons.json").read_text(encoding="utf-8"))
    orphans = [
        f"entity.{platform}.{key}"
        for platform, keys in (icons.get("entity") or {}).items()
        for key in keys
        if _get(en, "entity", platform, key) is None
    ]
    assert not orphans, f"icons.json entries without an entity translation: {orphans}"


# ---- config flow --------------------------------------------------------------------------------


@dataclass
class FlowStrings:
    """What one flow class shows: step ids, menu options, errors and abort reasons."""

    section: str  # config | options
    steps: set[str]
    menus: dict[str, set[str]]
    errors: set[str]
    aborts: set[str]


def _flow_strings(tree: ast.Module, constants: _Constants) -> list[FlowStrings]:
    flows: list[FlowStrings] = []
    for cls in (node for node in tree.body if isinstance(node, ast.ClassDef)):
        bases = " ".join(ast.unparse(base) for base in cls.bases)
        if "OptionsFlow" in bases:
            section = "options"
        elif "ConfigFlow" in bases:
            section = "config"
        else:
            continue
        flow = FlowStrings(section, set(), {}, set(), set())
        for method in (
            node for node in cls.body if isinstance(node, ast.AsyncFunctionDef | ast.FunctionDef)
        ):
            _scan_flow_method(method, constants, flow)
        flows.append(flow)
    return flows


def _scan_flow_method(
    method: ast.FunctionDef | ast.AsyncFunctionDef, constants: _Constants, flow: FlowStrings
) -> None:
    for node in ast.walk(method):
        if isinstance(node, ast.Call):
            name = _call_name(node)
            keywords = {keyword.arg: keyword.value for keyword in node.keywords}
            step = constants.resolve(keywords["step_id"]) if "step_id" in keywords else None
            if step is not None:
                flow.steps.add(step)
                if name == "async_show_menu" and isinstance(keywords.get("menu_options"), ast.List):
                    options = keywords["menu_options"]
                    assert isinstance(options, ast.List)
                    flow.menus[step] = {
                        value for item in options.elts if (value := constants.resolve(item))
                    }
            if "reason" in keywords and (reason := constants.resolve(keywords["reason"])):
                flow.aborts.add(reason)
            elif name == "_abort_if_unique_id_configured":
                flow.aborts.add("already_configured")
            elif name == "async_update_reload_and_abort":
                if "reauth" in method.name:
                    flow.aborts.add("reauth_successful")
                elif "reconfigure" in method.name:
                    flow.aborts.add("reconfigure_successful")
            if isinstance(keywords.get("errors"), ast.Dict):
                errors = keywords["errors"]
                assert isinstance(errors, ast.Dict)
                flow.errors.update(v for item in errors.values if (v := constants.resolve(item)))
        elif isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Subscript) and ast.unparse(target.value) == "errors"
            for target in node.targets
        ):
            assigned = node.value
            candidates = assigned.values if isinstance(assigned, ast.BoolOp) else [assigned]
            flow.errors.update(v for item in candidates if (v := constants.resolve(item)))
        elif isinstance(node, ast.Return) and isinstance(node.value, ast.Tuple):
            # Helpers that return (result, "error_key"), as the login helper does.
            flow.errors.update(v for item in node.value.elts[1:] if (v := constants.resolve(item)))


def _config_flow_strings() -> list[FlowStrings]:
    path = INTEGRATION / "config_flow.py"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return _flow_strings(tree, _Constants(tree, _module_name(path)))


def test_config_flow_scan_finds_the_flows() -> None:
    """The scan sees both the config flow and the options flow with their steps."""
    flows = {flow.section: flow for flow in _config_flow_strings()}
    assert "user" in flows["config"].steps
    assert "init" in flows["options"].steps


def test_every_flow_step_error_and_abort_has_strings(en: dict[str, Any]) -> None:
    """A step without a title shows its raw id; an error or abort without text shows the key."""
    missing: list[str] = []
    for flow in _config_flow_strings():
        missing.extend(
            f"{flow.section}.step.{step}"
            for step in flow.steps
            if _get(en, flow.section, "step", step) is None
        )
        missing.extend(
            f"{flow.section}.step.{step}.menu_options.{option}"
            for step, options in flow.menus.items()
            for option in options
            if not _get(en, flow.section, "step", step, "menu_options", option)
        )
        missing.extend(
            f"{flow.section}.error.{error}"
            for error in flow.errors
            if not _get(en, flow.section, "error", error)
        )
        missing.extend(
            f"{flow.section}.abort.{abort}"
            for abort in flow.aborts
            if not _get(en, flow.section, "abort", abort)
        )
    assert not missing, f"flow strings missing from en.json: {missing}"


# ---- services -----------------------------------------------------------------------------------


def _registered_services() -> set[str]:
    services: set[str] = set()
    for path in _source_files():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        constants = _Constants(tree, _module_name(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _call_name(node) in (
                "async_register",
                "async_register_admin_service",
                "async_register_entity_service",
            ):
                args = [
                    arg for arg in node.args if not (isinstance(arg, ast.Name) and arg.id == "hass")
                ]
                if _call_name(node) == "async_register_entity_service":
                    names = args[:1]
                else:
                    names = args[1:2]
                services.update(v for arg in names if (v := constants.resolve(arg)))
    return services


def test_services_yaml_documents_exactly_the_registered_services(
    services_yaml: dict[str, Any],
) -> None:
    """hassfest requires every registered service in services.yaml; an extra one is a ghost."""
    registered = _registered_services()
    assert registered, "no service registration found: the scan is broken"
    assert set(services_yaml) == registered


def test_every_service_and_field_has_strings(
    services_yaml: dict[str, Any], en: dict[str, Any]
) -> None:
    """Services and their fields are named and described in en.json (the UI shows nothing else)."""
    missing: list[str] = []
    for service, spec in services_yaml.items():
        for part in ("name", "description"):
            if not _get(en, "services", service, part):
                missing.append(f"services.{service}.{part}")
        for field in (spec or {}).get("fields") or {}:
            for part in ("name", "description"):
                if not _get(en, "services", service, "fields", field, part):
                    missing.append(f"services.{service}.fields.{field}.{part}")
    assert not missing, f"service strings missing from en.json: {missing}"


def test_every_service_has_an_icon(services_yaml: dict[str, Any]) -> None:
    """hassfest requires an icon per service in icons.json."""
    icons = json.loads((INTEGRATION / "icons.json").read_text(encoding="utf-8"))
    missing = [
        service for service in services_yaml if not _get(icons, "services", service, "service")
    ]
    assert not missing, f"services without an icon in icons.json: {missing}"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            'raise UpdateFailed(translation_domain=DOMAIN, translation_key="api_error")\n',
            ("exceptions", "api_error", None),
        ),
        (
            'D = BinarySensorEntityDescription(key="a", translation_key="alarm")\n',
            ("entity", "alarm", "binary_sensor"),
        ),
        (
            'K = "co2"\nD = SensorEntityDescription(key=K, translation_key=K)\n',
            ("entity", "co2", "sensor"),
        ),
        (
            'class B(ButtonEntity):\n    _attr_translation_key = "start_flock"\n',
            ("entity", "start_flock", "button"),
        ),
        (
            'S = SelectSelectorConfig(options=[], translation_key="api_style")\n',
            ("selector", "api_style", None),
        ),
    ],
)
def test_key_scanner_classifies_uses(
    tmp_path: Path, source: str, expected: tuple[str, str, str | None]
) -> None:
    """The scanner: exceptions, entities per platform, constants, class attributes, selectors."""
    path = tmp_path / "example.py"
    path.write_text(source, encoding="utf-8")
    assert [(use.section, use.key, use.platform) for use in key_uses(path)] == [expected]
