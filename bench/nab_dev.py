"""NAB dev split: our `score-csv` through the shared harness, swept and at our own threshold.

Runs `/work/shared/tools/run_nab.sh python -m ml_analyzer score-csv` (NAB rules, the best
threshold per profile swept over the whole split, as NAB reports), then scores the same
detections once more at the detector's own operating threshold (`UnivariateConfig.threshold`),
which is what the analyzer really uses. Per category, each normalised like the corpus (its own
null and perfect score), at both thresholds, with the rows flagged outside every window (false
alarms; suppression makes one row one alarm). Prints `name: value unit` lines.

    .venv/bin/python bench/nab_dev.py
"""

from __future__ import annotations

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

from ml_analyzer.detectors.univariate import UnivariateConfig  # noqa: E402

TOOLS = Path(os.environ.get("NAB_TOOLS", "/work/shared/tools"))
SPLIT = Path(os.environ.get("NAB_SPLIT", TOOLS.parent / "datasets" / "nab-dev"))
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


def main() -> int:
    """Run both scorings and print the figures."""
    python = sys.executable
    env = dict(os.environ, PYTHON=python, NAB_KEEP="1")
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT / "addon_ml_analyzer"), str(ROOT), env.get("PYTHONPATH", "")]
    )
    began = time.perf_counter()
    swept = subprocess.run(
        [str(TOOLS / "run_nab.sh"), python, "-m", "ml_analyzer", "score-csv"],
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
    threshold = UnivariateConfig().threshold
    try:
        subprocess.run(
            [
                python,
                str(TOOLS / "nab_score.py"),
                "--data",
                str(SPLIT / "data"),
                "--windows",
                str(SPLIT / "labels" / "windows.json"),
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
    windows = json.loads((SPLIT / "labels" / "windows.json").read_text())
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
