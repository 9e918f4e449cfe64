"""Shared constants and helpers of the simulator tests (importable from the test modules)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from tests.captures import CAPTURES

START = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)
"""A cold November evening: heaters matter, faults show quickly."""


def capture(name: str) -> dict[str, Any]:
    """The ``response`` of a real capture file."""
    data: dict[str, Any] = json.loads((CAPTURES / f"{name}.json").read_text(encoding="utf-8"))
    response: dict[str, Any] = data["response"]
    return response
