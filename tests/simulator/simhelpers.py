"""Shared constants and helpers of the simulator tests (importable from the test modules)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

CAPTURES = Path(__file__).resolve().parents[2].parent / "shared" / "rotem-captures"
START = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)
"""A cold November evening: heaters matter, faults show quickly."""


def capture(name: str) -> dict[str, Any]:
    """The ``response`` of a real capture file."""
    if not CAPTURES.exists():
        pytest.skip("the captures in ../shared/rotem-captures are not on this machine")
    data: dict[str, Any] = json.loads((CAPTURES / f"{name}.json").read_text(encoding="utf-8"))
    response: dict[str, Any] = data["response"]
    return response
