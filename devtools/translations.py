"""Regenerate custom_components/rotem_farm/translations/en.json from strings.json.

Home Assistant builds a core integration's English translation from its strings.json at release
time, resolving ``[%key:...%]`` references; a custom integration is loaded from
``translations/en.json`` as it is, so we do that resolution here. ``--check`` exits 1 when the
committed file is out of date (the test suite runs the same comparison). Run it as
`python scripts/translations.py`.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

import homeassistant

COMPONENT = Path(__file__).resolve().parents[1] / "custom_components" / "rotem_farm"
STRINGS = COMPONENT / "strings.json"
EN = COMPONENT / "translations" / "en.json"
DOMAIN = "rotem_farm"
_REFERENCE = re.compile(r"\[%key:([a-z0-9_:]+)%\]")


def _lookup(tree: Any, path: list[str], reference: str) -> str:
    node = tree
    for part in path:
        if not isinstance(node, dict) or part not in node:
            raise KeyError(f"unresolved translation reference {reference}")
        node = node[part]
    if not isinstance(node, str):
        raise KeyError(f"translation reference {reference} is not a string")
    return node


def _resolve_text(text: str, own: dict[str, Any], core: dict[str, Any]) -> str:
    def replace(match: re.Match[str]) -> str:
        reference = match.group(1)
        parts = reference.split("::")
        if parts[:2] == ["component", DOMAIN]:
            value = _lookup(own, parts[2:], reference)
        elif parts[0] == "common":
            value = _lookup(core, parts, reference)
        else:
            raise KeyError(f"unsupported translation reference {reference}")
        return _resolve_text(value, own, core)

    return _REFERENCE.sub(replace, text)


def resolve(node: Any, own: dict[str, Any], core: dict[str, Any]) -> Any:
    """Return ``node`` with every ``[%key:...%]`` reference replaced by its text."""
    if isinstance(node, dict):
        return {key: resolve(value, own, core) for key, value in node.items()}
    if isinstance(node, str):
        return _resolve_text(node, own, core)
    return node


def render() -> str:
    """The en.json text strings.json yields (sorted keys are not applied: order is kept)."""
    own = json.loads(STRINGS.read_text(encoding="utf-8"))
    core_strings = Path(homeassistant.__file__).parent / "strings.json"
    core = json.loads(core_strings.read_text(encoding="utf-8"))
    return json.dumps(resolve(own, own, core), indent=2, ensure_ascii=False) + "\n"


def main() -> int:
    """Write en.json, or with --check report whether it is current."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if en.json is out of date")
    args = parser.parse_args()
    text = render()
    if args.check:
        current = EN.read_text(encoding="utf-8") if EN.exists() else ""
        if current != text:
            sys.stderr.write(f"{EN} is out of date: run scripts/translations.py\n")
            return 1
        return 0
    EN.parent.mkdir(exist_ok=True)
    EN.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
