"""Where every test finds the real RotemNetWeb captures: the copy inside the repository.

The captures (redacted already) live in ``tests/fixtures/rotem-captures`` so that a clone of the
public repository runs its own tests; nothing under ``tests/`` reads a folder outside the
repository. ``tests/packaging/test_clone.py`` checks that on a fresh clone.
"""

from __future__ import annotations

from pathlib import Path

CAPTURES = Path(__file__).resolve().parent / "fixtures" / "rotem-captures"
