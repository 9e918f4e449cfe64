"""`score-csv`: score every `timestamp,value` CSV under a folder with the univariate detector.

Each file is one stream, scored on its own and causally (row t sees rows 0..t), so the output is
what the detector would have said live. The output mirrors the input tree: one
`timestamp,anomaly_score` CSV per input CSV, one row per input row. This is the interface the
NAB harness (`/work/shared/tools/run_nab.sh`) expects.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ml_analyzer.detectors.univariate import UnivariateConfig, daily_period_rows, score_series


def score_frame(frame: pd.DataFrame, config: UnivariateConfig | None = None) -> pd.DataFrame:
    """Scores of one `timestamp,value` frame, row for row."""
    values = pd.to_numeric(frame["value"], errors="coerce").to_numpy(dtype=float)
    period = daily_period_rows(frame["timestamp"])
    scores = score_series(values, period, config)
    return pd.DataFrame({"timestamp": frame["timestamp"], "anomaly_score": np.round(scores, 6)})


def run(in_dir: Path, out_dir: Path, config: UnivariateConfig | None = None) -> None:
    """Score every CSV under `in_dir` (sub-folders too) into the same relative path in `out_dir`."""
    for source in sorted(Path(in_dir).rglob("*.csv")):
        target = Path(out_dir) / source.relative_to(in_dir)
        target.parent.mkdir(parents=True, exist_ok=True)
        score_frame(pd.read_csv(source), config).to_csv(target, index=False)
