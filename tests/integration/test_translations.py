"""translations/en.json is strings.json with its references resolved, and complete."""

from __future__ import annotations

import json
from pathlib import Path

from scripts.translations import EN, STRINGS, render

COMPONENT = Path(__file__).parents[2] / "custom_components" / "rotem_farm"


def test_en_json_is_current() -> None:
    """Fails when strings.json changed without running scripts/translations.py."""
    assert EN.read_text(encoding="utf-8") == render(), "run scripts/translations.py"


def test_no_unresolved_reference() -> None:
    """Home Assistant loads en.json as it is: a reference left in would show as text."""
    assert "[%key:" not in EN.read_text(encoding="utf-8")
    assert json.loads(STRINGS.read_text(encoding="utf-8"))["config"]["step"]
