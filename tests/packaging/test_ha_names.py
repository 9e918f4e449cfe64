"""Every Home Assistant name the integration uses must exist in the running Home Assistant.

The integration supports HA 2025.4 up to the newest release. A name removed or moved in a new
release breaks the integration at import time, before any behaviour test can run; this finds it by
name. It runs on the pinned HA (.venv) and, through scripts/newest_ha, on the newest release.

Checked: `from homeassistant.x import Name` (Name is an attribute or a submodule of x),
`import homeassistant.x`, and `alias.attr` where alias is an imported homeassistant module (for
example `dr.async_get`). Imports under `if TYPE_CHECKING:` count: mypy needs them too.
"""

from __future__ import annotations

import ast
import importlib
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest
from homeassistant import const as ha_const

INTEGRATION = Path(__file__).parents[2] / "custom_components" / "rotem_farm"


@dataclass(frozen=True)
class HaName:
    """One use of a Home Assistant name: where, which module, which attribute (None: module)."""

    file: str
    line: int
    module: str
    name: str | None

    def __str__(self) -> str:
        target = self.module if self.name is None else f"{self.module}.{self.name}"
        return f"{self.file}:{self.line} {target}"


def _is_ha(module: str | None) -> bool:
    return module is not None and (module == "homeassistant" or module.startswith("homeassistant."))


def ha_names_in(path: Path, base: Path) -> list[HaName]:
    """The homeassistant names one source file imports or reaches through a module alias.

    ``base`` is the folder the reported file names are relative to.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    file = str(path.relative_to(base))
    found: list[HaName] = []
    module_aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and _is_ha(node.module):
            assert node.module is not None
            for alias in node.names:
                found.append(HaName(file, node.lineno, node.module, alias.name))
                full = f"{node.module}.{alias.name}"
                module_aliases[alias.asname or alias.name] = full
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if _is_ha(alias.name):
                    found.append(HaName(file, node.lineno, alias.name, None))
                    if alias.asname:
                        module_aliases[alias.asname] = alias.name
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in module_aliases
        ):
            found.append(HaName(file, node.lineno, module_aliases[node.value.id], node.attr))
    return found


def _all_ha_names() -> list[HaName]:
    names: set[HaName] = set()
    for path in sorted(INTEGRATION.rglob("*.py")):
        names.update(ha_names_in(path, INTEGRATION.parents[1]))
    return sorted(names, key=lambda use: (use.file, use.line, use.module, use.name or ""))


def _resolve(module_name: str) -> ModuleType | None:
    try:
        return importlib.import_module(module_name)
    except ImportError:
        return None


def _missing(use: HaName) -> str | None:
    """Why a name does not exist in the running HA, or None when it does."""
    module = _resolve(use.module)
    if module is None:
        # `alias.attr` on an alias that is a class, not a module, is not ours to check here.
        parent, _, leaf = use.module.rpartition(".")
        parent_module = _resolve(parent) if parent else None
        if parent_module is not None and hasattr(parent_module, leaf):
            return None
        return f"module {use.module} does not exist"
    if use.name is None or hasattr(module, use.name):
        return None
    if _resolve(f"{use.module}.{use.name}") is not None:
        return None
    return f"{use.module} has no {use.name}"


def _deprecated(use: HaName) -> str | None:
    """The removal version when the running HA marks this name as a deprecated constant.

    HA keeps a deprecated constant importable for a year as ``_DEPRECATED_<name>`` (a
    DeprecatedConstant/DeprecatedConstantEnum carrying the breaking version) and only warns at
    import; the newest release is where such names show up first.
    """
    module = _resolve(use.module)
    if module is None or use.name is None:
        return None
    marker = getattr(module, f"_DEPRECATED_{use.name}", None)
    if marker is None:
        return None
    return str(getattr(marker, "breaks_in_ha_version", None) or "a future release")


# Names the integration must import, not merely may: the typing core's CI checks (platforms take
# AddConfigEntryEntitiesCallback), the repair issues and their fix flow, and the pressure units
# the running release accepts. Being imported, each is then checked to exist in the running
# release like every other name, so the newest release (scripts/newest_ha) must have them too.
ENTITIES_CALLBACK = ("homeassistant.helpers.entity_platform", "AddConfigEntryEntitiesCallback")
REQUIRED_NAMES = {
    ENTITIES_CALLBACK,
    ("homeassistant.helpers", "issue_registry"),
    ("homeassistant.helpers.issue_registry", "async_create_issue"),
    ("homeassistant.helpers.issue_registry", "async_delete_issue"),
    ("homeassistant.components.repairs", "RepairsFlow"),
    ("homeassistant.helpers.start", "async_at_started"),
    ("homeassistant.components.sensor.const", "DEVICE_CLASS_UNITS"),
}
PLATFORMS = {"binary_sensor", "button", "date", "number", "sensor"}


def test_required_names_are_imported() -> None:
    """The names the integration's typing rests on are among its imports, where needed."""
    uses = _all_ha_names()
    imported = {(use.module, use.name) for use in uses}
    assert imported >= REQUIRED_NAMES, REQUIRED_NAMES - imported
    importers = {Path(use.file).stem for use in uses if (use.module, use.name) == ENTITIES_CALLBACK}
    assert importers >= PLATFORMS, PLATFORMS - importers


def test_integration_imports_homeassistant_names() -> None:
    """The scan sees the integration's imports (an empty scan would check nothing)."""
    modules = {use.module for use in _all_ha_names()}
    assert "homeassistant.core" in modules
    assert "homeassistant.config_entries" in modules


def test_every_homeassistant_name_exists() -> None:
    """No import of the integration names something the running HA does not have."""
    missing = [f"{use}: {why}" for use in _all_ha_names() if (why := _missing(use)) is not None]
    assert not missing, f"on Home Assistant {ha_const.__version__}:\n" + "\n".join(missing)


def test_no_deprecated_homeassistant_constant_is_used() -> None:
    """A deprecated constant still imports but is removed later; use what both releases have."""
    deprecated = [
        f"{use}: removed in {version}"
        for use in _all_ha_names()
        if (version := _deprecated(use)) is not None
    ]
    assert not deprecated, f"on Home Assistant {ha_const.__version__}:\n" + "\n".join(deprecated)


def test_deprecated_constant_is_reported() -> None:
    """The deprecation check can fail: a constant HA marks as deprecated is reported."""
    module = _resolve("homeassistant.const")
    assert module is not None
    names = [
        name.removeprefix("_DEPRECATED_")
        for name in vars(module)
        if name.startswith("_DEPRECATED_")
    ]
    if not names:
        pytest.skip("this Home Assistant has no deprecated constants in homeassistant.const")
    assert _deprecated(HaName("x.py", 1, "homeassistant.const", names[0])) is not None
    assert _deprecated(HaName("x.py", 1, "homeassistant.const", "STATE_ON")) is None


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            "from homeassistant.helpers import device_registry as dr\ndr.async_get(hass)\n",
            {
                ("homeassistant.helpers", "device_registry"),
                ("homeassistant.helpers.device_registry", "async_get"),
            },
        ),
        ("import homeassistant.util.dt as dt_util\n", {("homeassistant.util.dt", None)}),
        ("from aiohttp import ClientSession\n", set()),
    ],
)
def test_scanner_finds_imports_and_alias_attributes(
    tmp_path: Path, source: str, expected: set[tuple[str, str | None]]
) -> None:
    """The scanner itself: from-imports, module imports, alias attributes; others ignored."""
    path = tmp_path / "example.py"
    path.write_text(source, encoding="utf-8")
    found = {(use.module, use.name) for use in ha_names_in(path, tmp_path)}
    assert found == expected


def test_missing_name_is_reported() -> None:
    """A name that does not exist is reported with the reason (the check can fail)."""
    use = HaName("x.py", 1, "homeassistant.core", "NoSuchThingInHomeAssistant")
    assert _missing(use) == "homeassistant.core has no NoSuchThingInHomeAssistant"
    assert _missing(HaName("x.py", 1, "homeassistant.no_such_module", None)) is not None
    assert _missing(HaName("x.py", 1, "homeassistant.core", "HomeAssistant")) is None
