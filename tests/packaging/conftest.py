"""Paths and parsed files the packaging checks share.

The checks read the repository as HACS, hassfest and the add-on store would: files on disk, not
a running integration. Each fixture parses one file once per test that asks for it.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).parents[2]
DOMAIN = "rotem_farm"
INTEGRATION = REPO / "custom_components" / DOMAIN


def _read_json(path: Path) -> Any:
    """Parse a JSON file; keys keep their order (the manifest's order is checked)."""
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture
def repo() -> Path:
    """The repository root."""
    return REPO


@pytest.fixture
def integration() -> Path:
    """custom_components/rotem_farm."""
    return INTEGRATION


@pytest.fixture
def manifest() -> dict[str, Any]:
    """custom_components/rotem_farm/manifest.json."""
    data: dict[str, Any] = _read_json(INTEGRATION / "manifest.json")
    return data


@pytest.fixture
def pyproject() -> dict[str, Any]:
    """pyproject.toml."""
    with (REPO / "pyproject.toml").open("rb") as handle:
        return tomllib.load(handle)


@pytest.fixture
def strings() -> dict[str, Any]:
    """strings.json: the source of the translations."""
    data: dict[str, Any] = _read_json(INTEGRATION / "strings.json")
    return data


@pytest.fixture
def en() -> dict[str, Any]:
    """translations/en.json: what HA loads for a custom integration."""
    data: dict[str, Any] = _read_json(INTEGRATION / "translations" / "en.json")
    return data


@pytest.fixture
def services_yaml() -> dict[str, Any]:
    """services.yaml."""
    data: dict[str, Any] = yaml.safe_load((INTEGRATION / "services.yaml").read_text("utf-8"))
    return data
