"""Anomaly detectors and failure predictors of the analyzer (docs/CONTRACTS.md §5).

The farm detectors are a staged pipeline; each stage is one module with a small interface:

  grid        grid.py        every house of a farm on one 5-minute grid (`FarmGrid`)
  occupancy   occupancy.py   which rows hold a settled flock (the pack judges only those)
  baselines   baselines.py   each residual's own normal: hourly median / MAD ending a day ago
  evidence    evidence/      one module per family behind the `EvidenceFamily` protocol, run
                             in the order of the registry `evidence.FAMILIES` (pack signals:
                             `evidence.pack.SIGNALS`); `Evidence` is what they produce
  engine      engine.py      runs the families over a grid (`farm_evidence`, `grid_evidence`)
  alarms      alarms.py      each stream's hysteresis machine (`alarm_state`, `step_alarms`)
  decision    decision.py    what the entities show (`decide` -> `HouseResult`)
  analyzer    analyzer.py    `FarmAnalyzer`: the service's fit / update over a rolling buffer
                             (live.py: the raw buffer and grid it keeps between ticks)

A new evidence family is one module in evidence/ plus one line in `FAMILIES`; a new pack signal
is one module with a `Signal` plus one line in `SIGNALS`. No detector module does I/O (the
service persists the flock history: ml_analyzer/flock_file.py). The benchmarks
(bench/farm_scenarios.py, bench/backtest.py) measure the very functions the service runs.
`univariate` is the single-series detector behind `score-csv`.
"""

from __future__ import annotations

from ml_analyzer.detectors.analyzer import FarmAnalyzer, FarmHistory
from ml_analyzer.detectors.decision import HouseResult
from ml_analyzer.detectors.live import RawBuffer

__all__ = ["FarmAnalyzer", "FarmHistory", "HouseResult", "RawBuffer"]
