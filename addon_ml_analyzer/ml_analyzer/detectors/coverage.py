"""What a house's evidence can see: the subsystems it watches now, and why not the others.

A verdict of "normal" is honest only about what is watched: a manual farm that links a
temperature and a humidity sensor cannot see its heaters fail, and must say so rather than
report "all within normal range". A subsystem is watched at a row when some evidence stream
that points at it (its `subsystem_up` / `subsystem_down`; the climate streams, temperature
against set point, also watch the house climate) has a value there. Humidity alone watches
nothing: it moves with a leak or weak ventilation, but too little to vouch that they are fine
(the manual-farm benchmark missed every such fault with humidity only), so it can raise an
alarm but never makes a subsystem count as watched. Otherwise the reason is what is missing:
the signal is not reported at all, or there is no current value (an empty house, a new flock
settling, a gap), or the stream is still learning its normal (about two days).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

from ml_analyzer.detectors.evidence import Evidence, HouseEvidence

SUBSYSTEMS = ("climate", "heating", "ventilation", "water", "feed", "probes", "controller_link")
"""The subsystems a verdict covers, in the order they are listed."""
_NAMES = {"sensor": "probes"}
"""A stream's subsystem under its coverage name (the probes' subsystem is `sensor`)."""
_CLIMATE_STREAMS = ("climate", "climate_trend")
_SECONDARY_STREAMS = ("humidity",)
NO_SIGNAL = {
    "climate": "no set point",
    "heating": "no set point or heater signal",
    "ventilation": "no set point or static pressure",
    "water": "no water meter",
    "feed": "no feed meter",
    "probes": "fewer than 3 temperature probes",
    "controller_link": "no connection status",
}
"""Why a subsystem is not watched when no stream of the house points at it."""
NO_VALUE = "no current value (empty house, new flock or gap)"
LEARNING = "learning its normal (about 2 days of data)"


def covers(stream: Evidence) -> frozenset[str]:
    """The subsystems one stream watches."""
    if stream.name in _SECONDARY_STREAMS:
        return frozenset()
    found = {_NAMES.get(stream.subsystem_up, stream.subsystem_up)}
    found.add(_NAMES.get(stream.subsystem_down, stream.subsystem_down))
    if stream.name in _CLIMATE_STREAMS:
        found.add("climate")
    return frozenset(found & set(SUBSYSTEMS))


def coverage_rows(evidence: HouseEvidence) -> dict[str, npt.NDArray[np.bool_]]:
    """Per subsystem, the rows where the house's evidence watches it (the benchmarks' view)."""
    rows = len(evidence.index)
    watched: dict[str, npt.NDArray[np.bool_]] = {
        name: np.zeros(rows, dtype=bool) for name in SUBSYSTEMS
    }
    for stream in evidence.streams:
        finite = np.isfinite(stream.z.to_numpy(dtype=float))
        for name in covers(stream):
            watched[name] |= finite
    return watched


def coverage_at(evidence: HouseEvidence, at: int) -> tuple[tuple[str, ...], Mapping[str, str]]:
    """The subsystems watched at row `at`, and every other one with the reason it is not."""
    seen: set[str] = set()
    valued: set[str] = set()
    present: set[str] = set()
    for stream in evidence.streams:
        names = covers(stream)
        present |= names
        if np.isfinite(float(stream.z.iloc[at])):
            seen |= names
        elif np.isfinite(float(stream.actual.iloc[at])):
            valued |= names
    watched = tuple(name for name in SUBSYSTEMS if name in seen)
    reasons = {
        name: LEARNING if name in valued else NO_VALUE if name in present else NO_SIGNAL[name]
        for name in SUBSYSTEMS
        if name not in seen
    }
    return watched, reasons


def describe(watched: tuple[str, ...], not_watched: Mapping[str, str]) -> str:
    """The coverage in words, for the end of an explanation ("" when everything is watched)."""
    if not not_watched:
        return ""
    parts = [f"{name.replace('_', ' ')} ({reason})" for name, reason in not_watched.items()]
    return "Not watched: " + ", ".join(parts)
