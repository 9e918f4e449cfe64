"""The add-on image's lock file: complete, hashed, installable on the image, and tested.

``addon_ml_analyzer/requirements.lock`` (made by ``scripts/lock_addon`` from requirements.txt) is
what the Dockerfile installs with ``--require-hashes --only-binary=:all:``. These tests check
that it pins every package the analyzer needs at the versions the test venv runs, that PyPI has
musllinux wheels of all of them for both architectures at the base image's Python (the image
has no compiler), and that the analyzer's own unit tests pass in a clean venv installed from it
and nothing else (plus the test runner).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
from importlib.metadata import distribution
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
ADDON = ROOT / "addon_ml_analyzer"
LOCK = ADDON / "requirements.lock"
PIN = re.compile(r"^(?P<name>[A-Za-z0-9_.-]+)==(?P<version>\S+)")
# Analyzer tests that need neither Home Assistant nor the InfluxDB server (nor minutes of CPU).
CLEAN_VENV_TESTS = (
    "tests/analyzer/test_analyzer_config.py",
    "tests/analyzer/test_cli.py",
    "tests/analyzer/test_detectors_farm.py",
    "tests/analyzer/test_detectors_farm_probes.py",
    "tests/analyzer/test_flock_history.py",
    "tests/analyzer/test_loop.py",
    "tests/analyzer/test_scorecsv.py",
    "tests/analyzer/test_univariate_seasonal_baseline.py",
)
TEST_RUNNER = ("pytest", "pytest-asyncio")


def image_python() -> str:
    """The Python version of the Dockerfile's default base image, e.g. ``3.13``."""
    dockerfile = (ADDON / "Dockerfile").read_text(encoding="utf-8")
    match = re.search(r"^ARG BUILD_FROM=\S+/base-python:(\d+\.\d+)-alpine", dockerfile, re.M)
    assert match, "the Dockerfile's BUILD_FROM default is not a Home Assistant base-python image"
    return match.group(1)


def locked() -> dict[str, tuple[str, list[str]]]:
    """The lock's pins: canonical name -> (version, hashes)."""
    pins: dict[str, tuple[str, list[str]]] = {}
    name = ""
    for line in LOCK.read_text(encoding="utf-8").splitlines():
        if match := PIN.match(line):
            name = canonicalize_name(match.group("name"))
            pins[name] = (match.group("version"), [])
        elif hashed := re.search(r"--hash=sha256:([0-9a-f]{64})", line):
            pins[name][1].append(hashed.group(1))
    return pins


def pip_environment() -> dict[str, str]:
    """pip against PyPI alone: no local config, find-links or constraints of this machine."""
    environment = {key: value for key, value in os.environ.items() if key != "PIP_FIND_LINKS"}
    environment["PIP_CONFIG_FILE"] = os.devnull
    return environment


def pypi_reachable() -> bool:
    """Whether pypi.org answers on its HTTPS port (the network tests skip when it does not)."""
    try:
        with socket.create_connection(("pypi.org", 443), timeout=5):
            return True
    except OSError:
        return False


needs_pypi = pytest.mark.skipif(not pypi_reachable(), reason="PyPI (pypi.org:443) is unreachable")


def needs_image_python() -> str:
    """The image's Python version; skips a test that needs this interpreter to be that Python
    (the lock is resolved from, and installs into, a venv of the image's Python version)."""
    python_version = image_python()
    if f"{sys.version_info.major}.{sys.version_info.minor}" != python_version:
        pytest.skip(f"the lock is for Python {python_version}, this is {sys.version.split()[0]}")
    return python_version


def requirement_pins() -> dict[str, str]:
    """requirements.txt's own pins: canonical name -> version."""
    pins: dict[str, str] = {}
    for line in (ADDON / "requirements.txt").read_text(encoding="utf-8").splitlines():
        if match := PIN.match(line):
            pins[canonicalize_name(match.group("name"))] = match.group("version")
    return pins


def test_lock_pins_every_package_with_hashes_at_the_chosen_versions() -> None:
    """Each pin has hashes; requirements.txt's pins win, the rest are what this venv runs."""
    needs_image_python()
    pins = locked()
    chosen = requirement_pins()
    assert len(pins) >= 15
    for name, (version, hashes) in pins.items():
        assert hashes, f"{name} has no hash"
        expected = chosen.get(name, distribution(name).version)
        assert version == expected, f"{name}: locked {version}, want {expected}: scripts/lock_addon"


def test_lock_holds_the_requirements_and_all_their_dependencies() -> None:
    """requirements.txt's pins are in it, and so is every dependency of every locked package."""
    needs_image_python()
    pins = locked()
    for name, version in requirement_pins().items():
        assert pins[name][0] == version, name
    # Markers as on the image: musl Linux at the base image's Python, no extras.
    environment = {key: str(value) for key, value in default_environment().items()}
    environment |= {
        "sys_platform": "linux",
        "platform_system": "Linux",
        "python_version": image_python(),
        "extra": "",
    }
    missing = []
    for name in pins:
        for text in distribution(name).requires or []:
            requirement = Requirement(text)
            if requirement.marker and not requirement.marker.evaluate(environment):
                continue
            dependency = canonicalize_name(requirement.name)
            if dependency not in pins:
                missing.append(f"{name} needs {requirement}")
            else:
                assert requirement.specifier.contains(pins[dependency][0], prereleases=True)
    assert not missing, missing


def test_dockerfile_installs_the_lock_with_hashes_and_wheels_only() -> None:
    """The image installs exactly the lock: hashes required, no dependency resolved on the fly."""
    dockerfile = (ADDON / "Dockerfile").read_text(encoding="utf-8")
    assert "COPY requirements.lock" in dockerfile
    install = re.search(r"pip3 install ([^\n]*\\\n)*[^\n]*", dockerfile)
    assert install, "no pip3 install in the Dockerfile"
    for option in ("--require-hashes", "--no-deps", "--only-binary=:all:", "requirements.lock"):
        assert option in install.group(0), option


@needs_pypi
@pytest.mark.parametrize("platform", ["musllinux_1_2_x86_64", "musllinux_1_2_aarch64"])
def test_pypi_has_wheels_of_the_lock_for_the_image(platform: str, tmp_path: Path) -> None:
    """pip resolves the whole lock to binary wheels for the image's musl Python, hashes checked."""
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--only-binary=:all:",
            f"--platform={platform}",
            f"--python-version={image_python()}",
            "--implementation=cp",
            "--no-deps",
            "--require-hashes",
            "--requirement",
            str(LOCK),
            "--dest",
            str(tmp_path),
        ],
        env=pip_environment(),
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    wheels = sorted(path.name for path in tmp_path.glob("*.whl"))
    assert len(wheels) == len(locked()), wheels
    native = [name for name in wheels if not name.endswith("-none-any.whl")]
    assert native, "expected compiled wheels (numpy, pandas, aiohttp)"
    architecture = platform.split("_", 2)[2]
    for name in native:
        assert "musllinux" in name, name
        assert architecture in name, name


def clean_venv(python_version: str) -> Path:
    """A venv with the lock (and the test runner) only, made once per lock under the temp dir."""
    runner = [f"{name}=={distribution(name).version}" for name in TEST_RUNNER]
    key = hashlib.sha256(LOCK.read_bytes() + " ".join(runner).encode()).hexdigest()[:16]
    venv = Path(tempfile.gettempdir()) / f"rotem-addon-lock-{python_version}-{key}"
    if (venv / "ready").exists():
        return venv
    scratch = Path(tempfile.mkdtemp(prefix=f"{venv.name}.", dir=venv.parent))
    pip = [str(scratch / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    steps = (
        [sys.executable, "-m", "venv", str(scratch)],
        [*pip, "--require-hashes", "--no-deps", "--only-binary=:all:", "-r", str(LOCK)],
        [*pip, *runner],
    )
    try:
        for step in steps:
            run = subprocess.run(
                step,
                env=pip_environment(),
                capture_output=True,
                text=True,
                timeout=900,
                check=False,
            )
            assert run.returncode == 0, f"{step[2:5]}: {run.stderr[-3000:]}"
        (scratch / "ready").touch()
        scratch.rename(venv)  # atomic: a parallel run either sees a whole venv or none
    except OSError:
        if not (venv / "ready").exists():
            raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return venv


@needs_pypi
def test_analyzer_tests_pass_in_a_clean_venv_from_the_lock() -> None:
    """The analyzer's unit tests run against exactly what the image installs, nothing more."""
    venv = clean_venv(needs_image_python())
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("COV_CORE_", "COVERAGE_", "VIRTUAL_ENV", "PYTEST_"))
    }
    environment["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ADDON)])
    frozen = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "freeze"],
        capture_output=True,
        text=True,
        check=True,
        env=pip_environment(),
    ).stdout
    assert "homeassistant" not in frozen.lower()

    run = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "--noconftest",
            # The root logger at INFO, as HA's test plugin leaves it in the full venv: the loop
            # tests read the analyzer's INFO records.
            "--log-level=INFO",
            "-q",
            *CLEAN_VENV_TESTS,
        ],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert run.returncode == 0, (run.stdout + run.stderr)[-4000:]
    assert re.search(r"\b\d+ passed\b", run.stdout), run.stdout[-2000:]
    assert " skipped" not in run.stdout.splitlines()[-1], run.stdout[-2000:]
