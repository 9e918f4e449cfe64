"""translations/en.json is strings.json with its references resolved, and complete."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import homeassistant.const
import pytest

from devtools.translations import EN, STRINGS, render

COMPONENT = Path(__file__).parents[2] / "custom_components" / "rotem_farm"


def _same_tree(strings: Any, english: Any, path: str) -> None:
    """Same keys; own text equal; a common reference resolved to some text.

    Home Assistant's common strings change wording between releases, so a reference's text is
    not compared (the committed file holds the wording of the release scripts/setup installs).
    """
    if isinstance(strings, dict):
        assert isinstance(english, dict), path
        assert set(strings) == set(english), path
        for key, value in strings.items():
            _same_tree(value, english[key], f"{path}.{key}")
    elif isinstance(strings, str) and "[%key:common::" in strings:
        assert isinstance(english, str), path
        assert english, path
    else:
        assert strings == english or "[%key:" in str(strings), path


def test_en_json_is_current() -> None:
    """Fails when strings.json changed without running scripts/translations.py."""
    strings = json.loads(STRINGS.read_text(encoding="utf-8"))
    english = json.loads(EN.read_text(encoding="utf-8"))
    _same_tree(strings, english, "")
    rendered = json.loads(render())
    _same_tree(strings, rendered, "")


def test_en_json_matches_this_release() -> None:
    """On the Home Assistant release scripts/setup installs, the file is exactly the render."""
    if homeassistant.const.__version__ != "2025.4.4":
        pytest.skip("common strings differ on other releases")
    assert EN.read_text(encoding="utf-8") == render(), "run scripts/translations.py"


def test_no_unresolved_reference() -> None:
    """Home Assistant loads en.json as it is: a reference left in would show as text."""
    assert "[%key:" not in EN.read_text(encoding="utf-8")
    assert json.loads(STRINGS.read_text(encoding="utf-8"))["config"]["step"]
