"""scripts/bump_version.py: one version in manifest.json, the add-on, ml_analyzer and pyproject.

Run as the release workflow and a maintainer run it (a subprocess), on a copy of the files.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "bump_version.py"
VERSIONED = (
    "pyproject.toml",
    "custom_components/rotem_farm/manifest.json",
    "addon_ml_analyzer/config.yaml",
    "addon_ml_analyzer/ml_analyzer/__init__.py",
)
CHANGELOGS = ("CHANGELOG.md", "addon_ml_analyzer/CHANGELOG.md")


def bump_version(*args: str, root: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the script (on ``root`` when given) and return its exit status and output."""
    extra = ["--root", str(root)] if root else []
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args, *extra],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def read_versions(root: Path) -> list[str]:
    """Each file's version, read the way its own consumer reads it."""
    pyproject = tomllib.loads((root / VERSIONED[0]).read_text())["project"]["version"]
    manifest = json.loads((root / VERSIONED[1]).read_text())["version"]
    addon = yaml.safe_load((root / VERSIONED[2]).read_text())["version"]
    init = re.search(r'__version__ = "([^"]+)"', (root / VERSIONED[3]).read_text())
    assert init is not None
    return [pyproject, manifest, addon, init.group(1)]


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """The versioned files and both changelogs, copied to a scratch root."""
    for name in (*VERSIONED, *CHANGELOGS):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, tmp_path / name)
    return tmp_path


def add_entry(root: Path, changelog: str, version: str) -> None:
    """Put a ``## version`` entry on top of a changelog's entries."""
    path = root / changelog
    text = path.read_text()
    first = text.index("\n## ")
    path.write_text(f"{text[: first + 1]}## {version}\n\n- Something changed.\n{text[first:]}")


def test_the_repository_agrees_with_itself() -> None:
    """Today's four files hold one version, and both changelogs describe it."""
    assert bump_version("--check").returncode == 0
    version = read_versions(REPO)[0]
    assert set(read_versions(REPO)) == {version}
    notes = bump_version("--notes", version)
    assert notes.returncode == 0, notes.stderr
    assert "## Integration" in notes.stdout
    assert "## Analyzer add-on" in notes.stdout


def test_bump_writes_every_file_and_nothing_else(copy: Path) -> None:
    """Only the version changes: every other line of every file stays byte for byte."""
    before = {name: (copy / name).read_text() for name in VERSIONED}
    old = read_versions(copy)[0]
    for changelog in CHANGELOGS:
        add_entry(copy, changelog, "9.8.7")

    run = bump_version("9.8.7", root=copy)

    assert run.returncode == 0, run.stderr
    assert read_versions(copy) == ["9.8.7"] * 4
    for name in VERSIONED:
        after = (copy / name).read_text()
        assert after != before[name]
        assert after.replace("9.8.7", old) == before[name], name
    assert bump_version("--check", "9.8.7", root=copy).returncode == 0
    assert bump_version("--check", old, root=copy).returncode == 1
    notes = bump_version("--notes", "9.8.7", root=copy).stdout
    assert notes.count("- Something changed.") == 2


def test_bump_without_a_changelog_entry_writes_nothing(copy: Path) -> None:
    """A release needs its notes first: one line names the changelog, no file is touched."""
    add_entry(copy, CHANGELOGS[0], "9.8.7")
    before = read_versions(copy)

    run = bump_version("9.8.7", root=copy)

    assert run.returncode == 2
    assert run.stderr.strip().splitlines() == [
        "bump_version: addon_ml_analyzer/CHANGELOG.md: no entry '## 9.8.7': write the changes first"
    ]
    assert read_versions(copy) == before


def test_check_names_the_file_that_disagrees(copy: Path) -> None:
    """A hand-edited manifest is caught before a release publishes it."""
    manifest = copy / VERSIONED[1]
    data = json.loads(manifest.read_text())
    data["version"] = "0.0.9"
    manifest.write_text(json.dumps(data, indent=2) + "\n")

    run = bump_version("--check", root=copy)

    assert run.returncode == 1
    assert run.stderr.splitlines() == [f"{VERSIONED[1]}: 0.0.9 (want {read_versions(copy)[0]})"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("1.x",), "bump_version: argument version: not a version like 1.2.3: '1.x'"),
        ((), "bump_version: a version is needed (or --check)"),
        (("--notes",), "bump_version: a version is needed (or --check)"),
        (("--check", "--notes", "1.0.0"), "not allowed with argument"),
    ],
)
def test_bad_arguments_get_one_line_and_exit_2(args: tuple[str, ...], message: str) -> None:
    """No usage block, no traceback: one line that names the problem."""
    run = bump_version(*args)
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1
    assert message in lines[0]
