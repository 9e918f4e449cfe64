"""One simulated day of bench/soak.py: faults of the cloud against a real HA and the analyzer.

The short version of the soak (issue 15 §6): the whole schedule of one day at 720x. It asserts
outcomes only, never timings: no secret in any log, no entity lost, no unexpected error record,
HA and the analyzer still running.
"""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from devtools import REPO_ROOT

pytestmark = pytest.mark.e2e


def load_soak() -> ModuleType:
    """bench/ is scripts, not a package: load soak.py from its file."""
    spec = importlib.util.spec_from_file_location("soak", REPO_ROOT / "bench" / "soak.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # Its dataclasses look their module up in sys.modules while they are made.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_one_simulated_day_of_faults(tmp_path: Path) -> None:
    """Secrets 0, entities lost 0, no unexpected error, both processes alive."""
    soak = load_soak()
    figures = asyncio.run(
        soak.soak(tmp_path, days=1, day_seconds=120, poll_seconds=5, analyzer_interval=60)
    )
    report = "\n".join(figures.report())
    assert figures.polls > 0, report
    assert sum(figures.secrets_found.values()) == 0, report
    assert figures.entities_before > 0, report
    assert figures.entities_lost == 0, report
    assert figures.errors["unexpected ha"] == 0, report
    assert figures.errors["unexpected analyzer"] == 0, report
    assert figures.ha_alive, report
    assert figures.analyzer_alive, report
