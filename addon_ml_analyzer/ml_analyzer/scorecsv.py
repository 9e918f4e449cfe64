"""`score-csv`: score every `timestamp,value` CSV under a folder with the univariate detector.

Each file is one stream, scored on its own and causally (row t sees rows 0..t), so the output is
what the detector would have said live. The output mirrors the input tree: one
`timestamp,anomaly_score` CSV per input CSV, one row per input row. This is the interface the
NAB harness (`run_nab.sh` of the shared tools) expects.

Every input file is read and checked before anything is written, so a bad file (no such folder,
an empty file, a missing column, a timestamp that does not parse) stops the run with one
`ScoreCsvError` naming the file and the problem, and leaves no half-written output behind. A
value cell that is empty or not a number is a missing value (the detector carries the last
value forward), not an error: gaps are normal in real series.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ml_analyzer.detectors.univariate import UnivariateConfig, daily_period_rows, score_series

COLUMNS = ("timestamp", "value")


class ScoreCsvError(ValueError):
    """An input that `score-csv` cannot score; the message names the file and the problem."""


def read_series(path: Path) -> pd.DataFrame:
    """The `timestamp,value` frame of one CSV, checked; `ScoreCsvError` when it is unusable."""
    try:
        frame = pd.read_csv(path)
    except FileNotFoundError:
        raise ScoreCsvError(f"{path}: no such file") from None
    except pd.errors.EmptyDataError:
        raise ScoreCsvError(f"{path}: the file is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as err:
        raise ScoreCsvError(f"{path}: not a readable CSV ({err})") from None
    missing = [name for name in COLUMNS if name not in frame.columns]
    if missing:
        found = ", ".join(map(str, frame.columns)) or "none"
        raise ScoreCsvError(f"{path}: missing column {', '.join(missing)} (columns: {found})")
    if frame.empty:
        raise ScoreCsvError(f"{path}: no data rows")
    # ISO 8601 is parsed vectorised; anything else pandas can read is tried one cell at a time.
    stamps = pd.to_datetime(frame["timestamp"], errors="coerce", utc=True, format="ISO8601")
    if stamps.isna().any():
        stamps = pd.to_datetime(frame["timestamp"], errors="coerce", utc=True, format="mixed")
    bad = np.flatnonzero(stamps.isna().to_numpy())
    if bad.size:
        row = int(bad[0])
        raise ScoreCsvError(
            f"{path}: unparsable timestamp {frame['timestamp'].iloc[row]!r} on line {row + 2}"
        )
    return frame


def score_frame(frame: pd.DataFrame, config: UnivariateConfig | None = None) -> pd.DataFrame:
    """Scores of one `timestamp,value` frame, row for row."""
    values = pd.to_numeric(frame["value"], errors="coerce").to_numpy(dtype=float)
    period = daily_period_rows(frame["timestamp"])
    scores = score_series(values, period, config)
    return pd.DataFrame({"timestamp": frame["timestamp"], "anomaly_score": np.round(scores, 6)})


def run(in_dir: Path, out_dir: Path, config: UnivariateConfig | None = None) -> None:
    """Score every CSV under `in_dir` (sub-folders too) into the same relative path in `out_dir`.

    Raises `ScoreCsvError` before writing anything when `in_dir` or any of its CSVs is unusable.
    """
    in_dir = Path(in_dir)
    if not in_dir.exists():
        raise ScoreCsvError(f"{in_dir}: no such directory")
    if not in_dir.is_dir():
        raise ScoreCsvError(f"{in_dir}: not a directory")
    sources = sorted(in_dir.rglob("*.csv"))
    if not sources:
        raise ScoreCsvError(f"{in_dir}: no .csv files in it")
    frames = [(source, read_series(source)) for source in sources]
    for source, frame in frames:
        target = Path(out_dir) / source.relative_to(in_dir)
        target.parent.mkdir(parents=True, exist_ok=True)
        score_frame(frame, config).to_csv(target, index=False)
