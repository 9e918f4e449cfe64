"""NAB dev split: our `score-csv` through the shared harness, swept and at our own threshold,
and the leave-one-category-out (LOCO) figure that says how it may do on series it never saw.

Runs `<tools>/run_nab.sh python -m ml_analyzer score-csv` (NAB rules, the best
threshold per profile swept over the whole split, as NAB reports), then scores the same
detections once more at the detector's own operating threshold (`UnivariateConfig.threshold`),
which is what the analyzer really uses. Per category, each normalised like the corpus (its own
null and perfect score), at both thresholds, with the rows flagged outside every window (false
alarms; suppression makes one row one alarm). Prints `name: value unit` lines.

    .venv/bin/python bench/nab_dev.py
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "addon_ml_analyzer"))
sys.path.insert(0, str(ROOT))

from ml_analyzer.detectors.univariate import UnivariateConfig  # noqa: E402

from bench import nab_loco  # noqa: E402

SHIPPED = UnivariateConfig()
# The shipped setting and, for each mechanism or constant that was chosen by looking at the dev
# split, the setting without it (or at its earlier value): the nested LOCO chooses among these
# per fold, so its figure counts those choices as made without the held-out category too.
CANDIDATES: dict[str, UnivariateConfig] = {
    "shipped": SHIPPED,
    "no_recurring_damping": dataclasses.replace(SHIPPED, recurring_damping=1.0),
    "recurring_tolerance_0": dataclasses.replace(SHIPPED, recurring_tolerance=0.0),
    "no_shape_novelty": dataclasses.replace(SHIPPED, novelty_rows=0),
    "calibration_rows_2000": dataclasses.replace(SHIPPED, calibration_rows=2000),
}
PROFILES = ("standard", "reward_low_FP_rate", "reward_low_FN_rate")
# NAB's cost matrices (as in nab_score.py): the category scores are normalised with them.
WEIGHTS = {
    "standard": (1.0, 1.0),
    "reward_low_FP_rate": (1.0, 1.0),
    "reward_low_FN_rate": (1.0, 2.0),
}


def _categories(result: dict[str, Any], windows: dict[str, list[Any]]) -> dict[str, Any]:
    """Score and false-alarm rows of every category, normalised like the corpus."""
    table: dict[str, Any] = {}
    for profile in PROFILES:
        tp_weight, fn_weight = WEIGHTS[profile]
        raw: dict[str, float] = defaultdict(float)
        count: dict[str, int] = defaultdict(int)
        false_alarms: dict[str, int] = defaultdict(int)
        for path, figures in result["profiles"][profile]["per_file"].items():
            category = path.split("/")[0]
            raw[category] += figures["raw"]
            count[category] += len(windows[path])
            false_alarms[category] += figures["fp"]
        for category, category_raw in raw.items():
            null, perfect = -fn_weight * count[category], tp_weight * count[category]
            score = 100 * (category_raw - null) / (perfect - null) if count[category] else None
            table.setdefault(category, {})[profile] = score
            table[category]["false_alarms"] = false_alarms[category]
    return table


def _print_categories(label: str, table: dict[str, Any]) -> None:
    for category, figures in sorted(table.items()):
        for profile in PROFILES:
            score = figures[profile]
            if score is not None:
                print(f"nab_dev.{category}.{profile}.{label}: {score:.2f} points")
        print(f"nab_dev.{category}.false_alarms.{label}: {figures['false_alarms']} rows")


def _print_loco(label: str, profile: str, result: nab_loco.Loco) -> None:
    prefix = f"nab_loco.{profile}.{label}"
    for category, score in result.held_out.items():
        threshold, rows = result.held_out_point[category]
        if score is not None:
            print(f"{prefix}.{category}: {score:.2f} points")
        print(f"{prefix}.{category}.threshold: {threshold:g}")
        print(f"{prefix}.{category}.suppress_rows: {rows} rows")
        print(f"{prefix}.{category}.false_alarms: {result.held_out_false_alarms[category]} rows")
    print(f"{prefix}.mean: {result.mean:.2f} points")
    print(f"{prefix}.dev_at_whole_split_choice: {result.dev:.2f} points")
    print(f"{prefix}.whole_split_threshold: {result.point[0]:g}")
    print(f"{prefix}.whole_split_suppress_rows: {result.point[1]} rows")


def leave_one_category_out(split: Path, tools: Path) -> None:
    """Print the LOCO figures: threshold only (shipped setting), and nested over CANDIDATES."""
    truths = nab_loco.load_split(split, tools)
    candidates = []
    points: list[tuple[float, int]] = []
    for name, config in CANDIDATES.items():
        raw = nab_loco.raw_scores(truths, config)
        points, table, extra = nab_loco.raw_table(truths, raw)
        candidates.append(nab_loco.Candidate(name, table, extra["false_alarms"]))
    for profile in nab_loco.PROFILES:
        shipped = candidates[0]
        plain = nab_loco.loco(truths, points, shipped.table, shipped.false_alarms, profile)
        _print_loco("threshold_only", profile, plain)
        nested, chosen, whole = nab_loco.nested_loco(truths, points, candidates, profile)
        _print_loco("nested", profile, nested)
        for category, name in chosen.items():
            print(f"nab_loco.{profile}.nested.{category}.setting: {name}")
        print(f"nab_loco.{profile}.nested.whole_split_setting: {whole}")


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--tools",
        type=Path,
        default=nab_loco.tools_from_environment(),
        help="the NAB harness folder (run_nab.sh, nab_score.py); default $NAB_TOOLS",
    )
    split = os.environ.get("NAB_SPLIT")
    parser.add_argument(
        "--split",
        type=Path,
        default=Path(split) if split else None,
        help="default: datasets/nab-dev beside the tools directory",
    )
    args = parser.parse_args(argv)
    if args.tools is None:
        parser.error(nab_loco.NO_TOOLS)
    if args.split is None:
        args.split = args.tools.parent / "datasets" / "nab-dev"
    for path in (args.tools / "run_nab.sh", args.split / "labels" / "windows.json"):
        if not path.exists():
            parser.error(f"{path} does not exist (see --tools / --split)")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run both scorings and the LOCO figures and print them."""
    args = _arguments(argv)
    tools: Path = args.tools
    split: Path = args.split
    python = sys.executable
    env = dict(os.environ, PYTHON=python, NAB_KEEP="1", NAB_SPLIT=str(split))
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT / "addon_ml_analyzer"), str(ROOT), env.get("PYTHONPATH", "")]
    )
    began = time.perf_counter()
    swept = subprocess.run(
        [str(tools / "run_nab.sh"), python, "-m", "ml_analyzer", "score-csv"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    elapsed = time.perf_counter() - began
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    match = re.search(r"scratch dir (\S+)", swept.stderr)
    if match is None:
        print("run_nab.sh did not report its scratch directory", file=sys.stderr)
        return 1
    scratch = Path(match.group(1))
    threshold = SHIPPED.threshold
    try:
        subprocess.run(
            [
                python,
                str(tools / "nab_score.py"),
                "--data",
                str(split / "data"),
                "--windows",
                str(split / "labels" / "windows.json"),
                "--detections",
                str(scratch / "detections"),
                "--threshold",
                str(threshold),
                "--json",
                str(scratch / "own.json"),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        swept_result = json.loads((scratch / "scores.json").read_text())
        own_result = json.loads((scratch / "own.json").read_text())
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    windows = json.loads((split / "labels" / "windows.json").read_text())
    own = f"own_threshold_{threshold:g}"
    for label, result in (("swept", swept_result), (own, own_result)):
        for profile in PROFILES:
            figures = result["profiles"][profile]
            print(f"nab_dev.{profile}.{label}: {figures['score']:.2f} points")
            if label == "swept":
                print(f"nab_dev.{profile}.swept_threshold: {figures['threshold']:.4f}")
    for label, result in (("swept", swept_result), (own, own_result)):
        _print_categories(label, _categories(result, windows))
    print(f"nab_dev.runtime_incl_scoring: {elapsed:.0f} s")
    print(f"nab_dev.cpu_incl_scoring: {children.ru_utime + children.ru_stime:.1f} s")
    began = time.perf_counter()
    leave_one_category_out(split, tools)
    print(f"nab_loco.runtime: {time.perf_counter() - began:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
