"""docs/blueprints.md offers every blueprint with a working import badge and its inputs."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest
from homeassistant.util.yaml import load_yaml

from .conftest import BLUEPRINT_FILES, BLUEPRINT_SOURCE

DOC = Path(__file__).parents[2] / "docs" / "blueprints.md"
RAW = "https://raw.githubusercontent.com/rotem-farm/ha-rotem-farm/main/blueprints/automation/rotem_farm/"
BADGE = (
    "[![Open your Home Assistant instance and show the blueprint import dialog with a specific "
    "blueprint pre-filled.](https://my.home-assistant.io/badges/blueprint_import.svg)]"
    "(https://my.home-assistant.io/redirect/blueprint_import/?blueprint_url={url})"
)


def test_every_blueprint_file_is_listed() -> None:
    """A new blueprint file must be added to the tests and the docs."""
    assert sorted(path.name for path in BLUEPRINT_SOURCE.glob("*.yaml")) == sorted(BLUEPRINT_FILES)


@pytest.mark.parametrize("name", BLUEPRINT_FILES)
def test_doc_has_an_import_badge_with_the_encoded_raw_url(name: str) -> None:
    """The badge opens HA's import dialog with this file's raw URL, fully URL-encoded."""
    assert BADGE.format(url=quote(RAW + name, safe="")) in DOC.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", BLUEPRINT_FILES)
def test_doc_names_every_input(name: str) -> None:
    """Each input's display name appears in the doc's table for that blueprint."""
    data = load_yaml(BLUEPRINT_SOURCE / name)
    assert isinstance(data, dict)
    doc = DOC.read_text(encoding="utf-8")
    section = doc.split(f"`{name}`", 1)[1].split("\n## ", 1)[0]
    missing = [
        spec["name"] for spec in data["blueprint"]["input"].values() if spec["name"] not in section
    ]
    assert not missing, f"{name}: inputs not documented: {missing}"
