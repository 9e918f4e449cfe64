"""The service's copy of the flock history on disk (`<state_dir>/flock_history.json`).

The detectors keep the flock summaries in memory (detectors/evidence/flocks.py, no I/O); the
service gives its analyzers a `SavedFlockStore`, which loads the file once and saves it whenever
the detectors filed new days. A file that is missing or cannot be read starts an empty store
with one log line; a failed save is logged once and retried on the next completed day: the
analysis never stops for it. Writes are atomic (a temporary file renamed over the old one).
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ml_analyzer.detectors.evidence.flock_days import DaySummary
from ml_analyzer.detectors.evidence.flocks import MAX_FLOCKS, Flock, FlockStore

_LOGGER = logging.getLogger(__name__)

FILE_NAME = "flock_history.json"
FORMAT_VERSION = 1


class SavedFlockStore(FlockStore):
    """A FlockStore loaded from and saved to `path` (None: in memory only)."""

    def __init__(self, path: Path | None = None, max_flocks: int = MAX_FLOCKS) -> None:
        super().__init__(max_flocks)
        self.path = path
        self._lock = threading.Lock()
        self._save_failed = False
        if path is not None:
            self._load(path)

    def changed(self) -> None:
        """New days were filed: save them."""
        self.save()

    def _load(self, path: Path) -> None:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            _LOGGER.info("No flock history at %s yet; starting empty", path)
            return
        except OSError as err:
            _LOGGER.warning("Flock history %s unreadable (%s); starting empty", path, err.strerror)
            return
        try:
            self.houses = _decode(json.loads(text))
        except (ValueError, TypeError, KeyError) as err:
            self.houses = {}
            _LOGGER.warning("Flock history %s is corrupt (%s); starting empty", path, err)

    def save(self) -> None:
        """Write the store atomically (a temporary file renamed over the old one)."""
        if self.path is None:
            return
        with self._lock:
            data = json.dumps(_encode(self.houses), separators=(",", ":"))
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                handle, temporary = tempfile.mkstemp(
                    dir=self.path.parent, prefix=".flock_history.", suffix=".tmp"
                )
                try:
                    with os.fdopen(handle, "w", encoding="utf-8") as file:
                        file.write(data)
                    os.replace(temporary, self.path)
                except BaseException:
                    Path(temporary).unlink(missing_ok=True)
                    raise
            except OSError as err:
                if not self._save_failed:
                    _LOGGER.warning("Cannot save flock history to %s: %s", self.path, err.strerror)
                self._save_failed = True
                return
            self._save_failed = False


def _encode(houses: dict[str, list[Flock]]) -> dict[str, Any]:
    return {
        "version": FORMAT_VERSION,
        "houses": {
            house: [[asdict(day) for day in flock.days.values()] for flock in flocks]
            for house, flocks in houses.items()
        },
    }


def _decode(data: Any) -> dict[str, list[Flock]]:
    """The stored houses; raises ValueError / TypeError / KeyError on anything malformed."""
    if not isinstance(data, dict) or data.get("version") != FORMAT_VERSION:
        raise ValueError("unknown format")
    houses: dict[str, list[Flock]] = {}
    for house, flocks in data["houses"].items():
        decoded = []
        for days in flocks:
            flock = Flock()
            for raw in days:
                day = DaySummary(
                    growth_day=int(raw["growth_day"]),
                    start=float(raw["start"]),
                    end=float(raw["end"]),
                    heater_hours=float(raw["heater_hours"]),
                    degree_days=float(raw["degree_days"]),
                    held=bool(raw["held"]),
                    slope=None if raw.get("slope") is None else float(raw["slope"]),
                )
                flock.days[day.growth_day] = day
            if flock.days:
                decoded.append(flock)
        houses[str(house)] = decoded
    return houses
