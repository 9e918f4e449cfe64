"""A clone of the repository runs its own tests: nothing outside it (no ``../shared``) is read.

The repository's files (``git ls-files``: committed, staged and new files that are not ignored)
are copied into a temporary folder that has no ``shared/`` beside it, and the fast suite runs
there in a subprocess with the same interpreter and ``PYTHONPATH`` pointing at the copy, so the
copy's modules win over the checkout the venv was set up from. The run must pass with no test
skipped: a test that silently skipped for want of a file outside the repository would prove
nothing on a maintainer's fresh clone.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# The client, simulator and two integration modules that parse the real captures; together
# they read every capture file the tests use. Kept small: the run takes about a minute.
FAST_SUITE = (
    "tests/rotemnet",
    "tests/simulator",
    "tests/integration/test_sensor.py",
    "tests/integration/test_diagnostics.py",
)
# Set by pytest-cov for its subprocess support: the clone's run must not write coverage data
# into this checkout's data file (its paths would be the temporary copy's).
_COVERAGE_VARIABLES = ("COV_CORE_", "COVERAGE_")


def repository_files(repo: Path) -> list[str]:
    """The files a clone would hold: tracked plus new ones that .gitignore does not exclude."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=repo,
        check=True,
        capture_output=True,
    ).stdout.decode("utf-8")
    # A tracked file deleted in the work tree is listed but gone: a clone would not have it.
    return [name for name in listed.split("\0") if name and (repo / name).is_file()]


def copy_repository(repo: Path, target: Path) -> None:
    """Copy the repository's files (not .git, .venv or ignored output) into ``target``."""
    for name in repository_files(repo):
        destination = target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(repo / name, destination, follow_symlinks=False)


def clone_environment(clone: Path) -> dict[str, str]:
    """This process's environment with the clone first on the path and no coverage hooks."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(_COVERAGE_VARIABLES) and key != "PYTEST_ADDOPTS"
    }
    environment["PYTHONPATH"] = os.pathsep.join([str(clone), str(clone / "addon_ml_analyzer")])
    return environment


# Code and scripts that may not name a folder outside the repository.
_GUARDED = (
    "tests/",
    "scripts/",
    "bench/",
    "devtools/",
    "custom_components/",
    "addon_ml_analyzer/",
    "simulator/",
)
_OUTSIDE = re.compile(r"\.\./shared|/work/shared|/\s*[\"']shared[\"']")
# None: the NAB benches take the harness folder from --tools or NAB_TOOLS, with no default.
_KNOWN_OUTSIDE: set[str] = set()


def test_no_code_names_the_shared_folder_beside_the_repository() -> None:
    """A regression guard besides the clone run: no new path into ../shared."""
    offenders = []
    for name in repository_files(REPO):
        if not name.startswith(_GUARDED) or name.startswith("tests/fixtures/"):
            continue
        if name in _KNOWN_OUTSIDE or name == "tests/packaging/test_clone.py":
            continue
        text = (REPO / name).read_bytes().decode("utf-8", errors="replace")
        offenders += [f"{name}: {match.group(0)}" for match in _OUTSIDE.finditer(text)]
    assert not offenders, offenders
    # The two spellings the tests used before the captures moved are caught.
    assert _OUTSIDE.search(
        'Path(__file__).resolve().parents[2].parent / "shared" / "rotem-captures"'
    )
    assert _OUTSIDE.search('Path(__file__).parents[2] / ".." / "shared" / "rotem-captures"')


def test_repository_files_list_the_captures_and_no_ignored_output() -> None:
    """The copy holds the test captures and leaves out the venv and caches."""
    files = repository_files(REPO)
    assert "tests/fixtures/rotem-captures/GetSiteControllersInfo.json" in files
    assert not [name for name in files if name.startswith(".venv/") or "__pycache__" in name]


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_fast_suite_passes_on_a_clone_without_shared_beside_it(tmp_path: Path) -> None:
    """The client, simulator and integration tests pass on the copy, none skipped."""
    clone = tmp_path / "ha-rotem-farm"
    copy_repository(REPO, clone)
    assert not (clone.parent / "shared").exists()
    assert (clone / "tests" / "fixtures" / "rotem-captures" / "README.md").is_file()
    report = tmp_path / "junit.xml"

    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-q",
            "-rs",
            f"--junitxml={report}",
            *FAST_SUITE,
        ],
        cwd=clone,
        env=clone_environment(clone),
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )

    output = (run.stdout + run.stderr)[-4000:]
    assert run.returncode == 0, output
    suites = ET.parse(report).getroot()
    totals = {
        kind: sum(int(suite.get(kind, "0")) for suite in suites.iter("testsuite"))
        for kind in ("tests", "failures", "errors", "skipped")
    }
    assert totals["tests"] > 300, totals
    assert totals["failures"] == totals["errors"] == 0, output
    skipped = [
        f"{case.get('classname')}.{case.get('name')}: {skip.get('message')}"
        for case in suites.iter("testcase")
        for skip in case.iter("skipped")
    ]
    assert not skipped, skipped


def test_clone_environment_imports_the_clone_code(tmp_path: Path) -> None:
    """With that environment the packages come from the copy, not from the venv's checkout."""
    clone = tmp_path / "ha-rotem-farm"
    copy_repository(REPO, clone)
    modules = ("custom_components.rotem_farm", "simulator", "ml_analyzer", "tests.captures")
    probe = "; ".join(
        [
            "import importlib",
            *[f"print(importlib.import_module({name!r}).__file__)" for name in modules],
        ]
    )
    run = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        env=clone_environment(clone),
        capture_output=True,
        text=True,
        check=True,
    )
    files = run.stdout.split()
    assert len(files) == len(modules)
    assert all(Path(file).is_relative_to(clone) for file in files), files
