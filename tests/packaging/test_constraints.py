"""The pip constraints scripts/setup and scripts/newest_ha install under (scripts/constraints/).

Each file carries the package constraints of one pinned Home Assistant; without them pip paired
aiodns 3.2.0 with pycares 5 and no host name resolved. The file of the running HA must hold
HA's own list (but for the lines it says it leaves out), and the running venv must resolve.
"""

from __future__ import annotations

import asyncio
import re
from importlib.metadata import version
from pathlib import Path

import homeassistant
import pytest
from aiohttp.resolver import DefaultResolver
from homeassistant.const import __version__ as ha_version
from packaging.requirements import Requirement

REPO = Path(__file__).parents[2]
CONSTRAINTS = REPO / "scripts" / "constraints"
LEFT_OUT = re.compile(r"^# left out \([^)]*\): (?P<line>.+)$")


def _ha_part(text: str) -> tuple[bool, list[str]]:
    """Whether the file copies HA's whole list, and its lines after the marker of HA's list.

    A left-out line is restored as HA had it. ``---- homeassistant X package_constraints.txt``
    marks the whole list; ``---- from homeassistant X ...`` a verbatim excerpt.
    """
    head, marker, rest = text.partition(" package_constraints.txt ----\n")
    assert marker, "no '---- ... package_constraints.txt ----' marker"
    whole = not head.rsplit("----", 1)[-1].strip().startswith("from ")
    lines = []
    for line in rest.splitlines():
        left_out = LEFT_OUT.match(line)
        lines.append(left_out["line"] if left_out else line)
    return whole, lines


def _requirements(path: Path) -> list[Requirement]:
    """The constraints of a file (comments and blank lines skipped)."""
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [Requirement(line) for line in lines if line]


def test_the_running_ha_has_its_constraints_file() -> None:
    """scripts/setup and scripts/newest_ha must find the file of every HA they install."""
    assert (CONSTRAINTS / f"ha-{ha_version}.txt").is_file(), sorted(CONSTRAINTS.iterdir())


def test_ha_part_is_ha_own_list() -> None:
    """HA's list is copied unchanged (a dropped line stays as '# left out (...)'), or excerpted."""
    whole, ours = _ha_part((CONSTRAINTS / f"ha-{ha_version}.txt").read_text())
    theirs = (Path(homeassistant.__file__).parent / "package_constraints.txt").read_text()
    if whole:
        assert ours == theirs.splitlines()
    else:
        assert ours, "an empty excerpt"
        assert f"\n{chr(10).join(ours)}\n" in f"\n{theirs}\n", "not a verbatim excerpt"


@pytest.mark.parametrize("path", sorted(CONSTRAINTS.glob("ha-*.txt")), ids=lambda path: path.name)
def test_every_file_parses_and_pins_pycares(path: Path) -> None:
    """pip must read each file, and each must pin pycares (ours or HA's own line)."""
    names = [requirement.name.lower() for requirement in _requirements(path)]
    assert "pycares" in names


def test_installed_pycares_is_the_constrained_one() -> None:
    """The venv was built under the constraints: the installed pycares satisfies them."""
    requirements = _requirements(CONSTRAINTS / f"ha-{ha_version}.txt")
    pycares = [r for r in requirements if r.name.lower() == "pycares"]
    installed = version("pycares")
    assert all(r.specifier.contains(installed) for r in pycares), (installed, pycares)


def test_the_default_resolver_resolves_localhost() -> None:
    """What a mismatched aiodns/pycares pair breaks: one lookup through aiohttp's default."""

    async def lookup() -> list[str]:
        resolver = DefaultResolver()
        try:
            return [entry["host"] for entry in await resolver.resolve("localhost", 80)]
        finally:
            await resolver.close()

    assert "127.0.0.1" in asyncio.run(lookup()), DefaultResolver.__name__
