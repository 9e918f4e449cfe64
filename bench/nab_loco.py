"""Leave-one-category-out (LOCO) scoring of the univariate detector on a NAB-layout split.

A score on the categories the detector was tuned on says little about a series it has never
seen. Here every choice made by looking at the data (the operating threshold and the alarm
suppression length) is made once per dev category *without* that category, by NAB's own rule
(the highest summed raw score over the remaining files; ties to the higher threshold), and the
held-out category is then scored at that choice. The mean over the categories that have anomaly
windows is the LOCO figure; a category without windows (artificialNoAnomaly) only reports its
false alarms. The same rule over the whole split gives the operating point the product uses.

Scores are computed in-process from the detector's unsuppressed scores (one pass over the data),
so every candidate operating point is an exact re-run of the suppression, not an approximation;
the NAB rules (probation, window credit, false-alarm penalty, normalisation) come from
`nab_score.py` of the shared tools, loaded from the directory given.
"""

from __future__ import annotations

import importlib.util
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import numpy as np
import numpy.typing as npt
import pandas as pd
from ml_analyzer.detectors.univariate import (
    UnivariateConfig,
    daily_period_rows,
    unsuppressed_scores,
)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# NAB's cost matrices (tp, fp, fn weights), as in nab_score.py.
PROFILES: dict[str, tuple[float, float, float]] = {
    "standard": (1.0, 0.11, 1.0),
    "reward_low_FP_rate": (1.0, 0.22, 1.0),
    "reward_low_FN_rate": (1.0, 0.11, 2.0),
}
THRESHOLDS: tuple[float, ...] = tuple(round(0.30 + 0.01 * i, 2) for i in range(66))
SUPPRESS_ROWS: tuple[int, ...] = (25, 50, 100)


NO_TOOLS = (
    "the NAB harness folder is not given: --tools DIR or NAB_TOOLS=DIR (the folder with "
    "run_nab.sh and nab_score.py of the NAB scorer; it is not part of the repository)"
)


def tools_from_environment() -> Path | None:
    """The NAB harness folder named by ``NAB_TOOLS``; the harness is not part of the repository,
    so there is no default path to guess."""
    named = os.environ.get("NAB_TOOLS")
    return Path(named) if named else None


def load_nab_score(tools: Path) -> ModuleType:
    """The shared NAB scorer as a module (it is a script, not an installed package)."""
    spec = importlib.util.spec_from_file_location("nab_score", tools / "nab_score.py")
    if spec is None or spec.loader is None:
        raise FileNotFoundError(tools / "nab_score.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass(frozen=True)
class Truth:
    """One labelled file: its category, per-row credit and window ids, probation rows."""

    path: str
    category: str
    values: FloatArray
    period: int
    credit: FloatArray
    window: IntArray
    probation: int
    windows: int


def load_split(split: Path, tools: Path) -> list[Truth]:
    """Every data file of the split with what NAB needs to score it."""
    nab = load_nab_score(tools)
    all_windows = json.loads((split / "labels" / "windows.json").read_text())
    truths = []
    for source in sorted((split / "data").rglob("*.csv")):
        path = source.relative_to(split / "data").as_posix()
        frame = pd.read_csv(source)
        stamps = pd.to_datetime(frame["timestamp"]).to_numpy()
        bounds = nab.window_indices(stamps, all_windows[path], path)
        window, credit = nab.row_credit(len(stamps), bounds)
        truths.append(
            Truth(
                path=path,
                category=path.split("/")[0],
                values=pd.to_numeric(frame["value"], errors="coerce").to_numpy(dtype=float),
                period=daily_period_rows(frame["timestamp"]),
                credit=np.asarray(credit, dtype=float),
                window=np.asarray(window, dtype=np.int64),
                probation=int(nab.probation_rows(len(stamps))),
                windows=len(bounds),
            )
        )
    return truths


def raw_scores(truths: Iterable[Truth], config: UnivariateConfig) -> dict[str, FloatArray]:
    """Unsuppressed detector scores of every file."""
    return {t.path: unsuppressed_scores(t.values, t.period, config) for t in truths}


def alarm_rows(raw: FloatArray, threshold: float, rows: int) -> IntArray:
    """Rows that raise an alarm: at or above `threshold` and not within `rows` of the last one.

    The same rule as `univariate.suppress`, jumping from alarm to alarm.
    """
    above = np.flatnonzero(raw >= threshold)
    out = []
    at = 0
    while at < len(above):
        row = int(above[at])
        out.append(row)
        at = int(np.searchsorted(above, row + rows + 1))
    return np.asarray(out, dtype=np.int64)


def file_raw(truth: Truth, alarms: IntArray, weights: tuple[float, float, float]) -> float:
    """NAB raw score of one file for the given alarm rows (after its probation)."""
    tp_weight, fp_weight, fn_weight = weights
    alarms = alarms[alarms >= truth.probation]
    inside = truth.window[alarms]
    score = fp_weight * float(truth.credit[alarms[inside < 0]].sum())
    scorable = np.unique(truth.window[truth.probation :])
    for window in scorable[scorable >= 0]:
        hits = alarms[inside == window]
        score += tp_weight * float(truth.credit[hits].max()) if hits.size else -fn_weight
    return score


def raw_table(
    truths: Sequence[Truth],
    raw: dict[str, FloatArray],
    thresholds: Sequence[float] = THRESHOLDS,
    suppress_rows: Sequence[int] = SUPPRESS_ROWS,
) -> tuple[list[tuple[float, int]], dict[str, FloatArray], dict[str, IntArray]]:
    """Raw NAB score of every file at every operating point, per profile, and alarm counts.

    Returns the operating points, {profile: array[point, file]} and {"alarms": array[point, file]}
    of alarms outside every window (false alarms, after probation).
    """
    points = [(t, s) for s in suppress_rows for t in thresholds]
    table: dict[str, FloatArray] = {name: np.zeros((len(points), len(truths))) for name in PROFILES}
    false = np.zeros((len(points), len(truths)), dtype=np.int64)
    for j, truth in enumerate(truths):
        for i, (threshold, rows) in enumerate(points):
            alarms = alarm_rows(raw[truth.path], threshold, rows)
            for name, weights in PROFILES.items():
                table[name][i, j] = file_raw(truth, alarms, weights)
            scored = alarms[alarms >= truth.probation]
            false[i, j] = int((truth.window[scored] < 0).sum())
    return points, table, {"false_alarms": false}


def best_point(points: Sequence[tuple[float, int]], totals: FloatArray) -> int:
    """Index of the best operating point: highest total, ties to the higher threshold, then to
    the longer suppression (fewer alarms)."""
    order = sorted(range(len(points)), key=lambda i: (-totals[i], -points[i][0], -points[i][1]))
    return order[0]


def normalised(raw: float, windows: int, weights: tuple[float, float, float]) -> float:
    """NAB's 0..100 normalisation of a raw score over `windows` windows (null = all missed)."""
    tp_weight, _, fn_weight = weights
    null, perfect = -fn_weight * windows, tp_weight * windows
    return 100.0 * (raw - null) / (perfect - null)


@dataclass(frozen=True)
class Loco:
    """Figures of one profile: whole-split choice and score, and the held-out category scores."""

    point: tuple[float, int]
    dev: float
    held_out: dict[str, float | None]
    held_out_point: dict[str, tuple[float, int]]
    held_out_false_alarms: dict[str, int]

    @property
    def mean(self) -> float:
        """Mean held-out score over the categories with windows."""
        scores = [s for s in self.held_out.values() if s is not None]
        return float(np.mean(scores))


def loco(
    truths: Sequence[Truth],
    points: Sequence[tuple[float, int]],
    table: dict[str, FloatArray],
    false: IntArray,
    profile: str,
) -> Loco:
    """Leave-one-category-out scores of one profile."""
    weights = PROFILES[profile]
    raw = table[profile]
    categories = sorted({t.category for t in truths})
    in_category = {c: np.array([t.category == c for t in truths]) for c in categories}
    windows = {c: sum(t.windows for t in truths if t.category == c) for c in categories}
    chosen = best_point(points, raw.sum(axis=1))
    dev = normalised(float(raw[chosen].sum()), sum(windows.values()), weights)
    held_out: dict[str, float | None] = {}
    held_point: dict[str, tuple[float, int]] = {}
    held_false: dict[str, int] = {}
    for category in categories:
        mask = in_category[category]
        fold = best_point(points, raw[:, ~mask].sum(axis=1))
        held_point[category] = points[fold]
        held_false[category] = int(false[fold, mask].sum())
        held_out[category] = (
            normalised(float(raw[fold, mask].sum()), windows[category], weights)
            if windows[category]
            else None
        )
    return Loco(points[chosen], dev, held_out, held_point, held_false)


@dataclass(frozen=True)
class Candidate:
    """One detector setting with the raw NAB score of every file at every operating point."""

    name: str
    table: dict[str, FloatArray]
    false_alarms: IntArray


def nested_loco(
    truths: Sequence[Truth],
    points: Sequence[tuple[float, int]],
    candidates: Sequence[Candidate],
    profile: str,
) -> tuple[Loco, dict[str, str], str]:
    """LOCO where the detector setting is chosen per fold too, among `candidates`.

    For each held-out category the (setting, operating point) with the best summed raw score
    over the other categories is used; ties go to the earlier candidate (list the simplest
    first), then to the higher threshold. Returns the figures, the setting chosen per held-out
    category and the setting chosen on the whole split.
    """
    stacked = np.concatenate([c.table[profile] for c in candidates], axis=0)
    false = np.concatenate([c.false_alarms for c in candidates], axis=0)
    all_points = [p for _ in candidates for p in points]
    names = [c.name for c in candidates for _ in points]
    # best_point breaks ties by threshold; an epsilon per candidate keeps the earlier one first.
    bias = np.repeat(np.arange(len(candidates)) * 1e-9, len(points))
    weights = PROFILES[profile]
    categories = sorted({t.category for t in truths})
    windows = {c: sum(t.windows for t in truths if t.category == c) for c in categories}
    chosen = best_point(all_points, stacked.sum(axis=1) - bias)
    dev = normalised(float(stacked[chosen].sum()), sum(windows.values()), weights)
    held_out: dict[str, float | None] = {}
    held_point: dict[str, tuple[float, int]] = {}
    held_false: dict[str, int] = {}
    held_name: dict[str, str] = {}
    for category in categories:
        mask = np.array([t.category == category for t in truths])
        fold = best_point(all_points, stacked[:, ~mask].sum(axis=1) - bias)
        held_point[category] = all_points[fold]
        held_name[category] = names[fold]
        held_false[category] = int(false[fold, mask].sum())
        held_out[category] = (
            normalised(float(stacked[fold, mask].sum()), windows[category], weights)
            if windows[category]
            else None
        )
    return Loco(all_points[chosen], dev, held_out, held_point, held_false), held_name, names[chosen]
