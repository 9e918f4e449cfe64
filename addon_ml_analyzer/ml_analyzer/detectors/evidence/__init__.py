"""Stage 3, the evidence: one module per family, each behind the `EvidenceFamily` protocol.

  pack     (pack.py)      each house's derived signals against its sibling houses; the signals
                          are climate.py (climate, humidity, pressure), heating.py (heat_effort,
                          heat_load) and intake.py (water, feed), registered in pack.SIGNALS
  probes   (probes.py)    each temperature probe against the house's other probes
  links    (links.py)     the controller's connection
  flocks   (flocks.py)    heater slope against the same growth days of earlier flocks: a
                          stateful family the analyzer attaches (it reads the raw buffer and
                          remembers past flocks), not part of the grid families below

FAMILIES is the registry the engine runs, in the order of their streams.
"""

from __future__ import annotations

from collections.abc import Sequence

from ml_analyzer.detectors.evidence.base import (
    Evidence,
    EvidenceFamily,
    EvidenceSpec,
    HouseEvidence,
    Signal,
    Window,
)
from ml_analyzer.detectors.evidence.links import LINKS
from ml_analyzer.detectors.evidence.pack import PACK
from ml_analyzer.detectors.evidence.probes import PROBES

FAMILIES: Sequence[EvidenceFamily] = (PACK, PROBES, LINKS)

__all__ = [
    "FAMILIES",
    "Evidence",
    "EvidenceFamily",
    "EvidenceSpec",
    "HouseEvidence",
    "Signal",
    "Window",
]
