"""Who may import whom: tests, dev tools and product stay apart (issue 14 §4).

`tests/` may use `devtools/` (the stack, the InfluxDB server, the HA process) but never
`scripts/`, which holds entry points only; nothing under `scripts/`, `bench/` or `devtools/`
imports `tests` (a tool must not depend on test code); the product (the integration, the
simulator, the analyzer) imports none of them. The scan reads every import statement with
`ast`, including those inside functions, so a lazy import breaks the rule too.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

#: (folder, top-level packages its Python files must not import).
RULES: tuple[tuple[str, frozenset[str]], ...] = (
    ("tests", frozenset({"scripts"})),
    ("scripts", frozenset({"tests"})),
    ("bench", frozenset({"tests"})),
    ("devtools", frozenset({"tests", "scripts"})),
    ("custom_components", frozenset({"tests", "scripts", "bench", "devtools"})),
    ("simulator", frozenset({"tests", "scripts", "bench", "devtools"})),
    ("addon_ml_analyzer", frozenset({"tests", "scripts", "bench", "devtools"})),
)


def imported_packages(source: str, filename: str = "<source>") -> Iterator[tuple[int, str]]:
    """(line, top-level package) of every absolute import in `source`."""
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name.partition(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module.partition(".")[0]


def violations(folder: str, forbidden: frozenset[str]) -> list[str]:
    """`path:line imports package` for each forbidden import under `folder`."""
    found: list[str] = []
    for path in sorted((REPO / folder).rglob("*.py")):
        relative = path.relative_to(REPO)
        source = path.read_text(encoding="utf-8")
        for line, package in imported_packages(source, str(relative)):
            if package in forbidden:
                found.append(f"{relative}:{line} imports {package}")
    return found


@pytest.mark.parametrize(("folder", "forbidden"), RULES, ids=[rule[0] for rule in RULES])
def test_imports_stay_apart(folder: str, forbidden: frozenset[str]) -> None:
    """No Python file under the folder imports a package the rules keep it from."""
    assert (REPO / folder).is_dir(), folder
    assert violations(folder, forbidden) == []


def test_scan_sees_every_kind_of_import() -> None:
    """The scan finds plain, dotted, from- and function-level imports; relative ones are local."""
    source = """
import scripts.demo
from tests.support import influxdb
import os, tests

def later():
    from devtools.stack import DemoStack
    from . import sibling
    from .tests import nothing
"""
    assert list(imported_packages(source)) == [
        (2, "scripts"),
        (3, "tests"),
        (4, "os"),
        (4, "tests"),
        (7, "devtools"),
    ]
