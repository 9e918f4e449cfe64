"""NAB dev split: our `score-csv` through the shared harness, swept and at our own threshold.

Runs `/work/shared/tools/run_nab.sh python -m ml_analyzer score-csv` (NAB rules, the best
threshold per profile swept over the whole split, as NAB reports), then scores the same
detections once more at the detector's own operating threshold (`UnivariateConfig.threshold`),
which is what the analyzer really uses. Prints `name: value unit` lines.

    .venv/bin/python bench/nab_dev.py
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "addon_ml_analyzer"))

from ml_analyzer.detectors.univariate import UnivariateConfig  # noqa: E402

TOOLS = Path(os.environ.get("NAB_TOOLS", "/work/shared/tools"))
SPLIT = Path(os.environ.get("NAB_SPLIT", TOOLS.parent / "datasets" / "nab-dev"))
PROFILES = ("standard", "reward_low_FP_rate", "reward_low_FN_rate")


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
    match = re.search(r"scratch dir (\S+)", swept.stderr)
    if match is None:
        print("run_nab.sh did not report its scratch directory", file=sys.stderr)
        return 1
    scratch = Path(match.group(1))
    try:
        threshold = UnivariateConfig().threshold
        fixed = subprocess.run(
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
            ],
            capture_output=True,
            text=True,
            check=True,
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    for profile in PROFILES:
        value = re.search(rf"^{profile}=([-\d.]+)$", swept.stdout, re.MULTILINE)
        print(f"nab_dev.{profile}.swept: {value.group(1) if value else 'n/a'} points")
    for profile in PROFILES:
        line = re.search(rf"^{profile}\s+score=\s*([-\d.]+)", fixed.stdout, re.MULTILINE)
        print(
            f"nab_dev.{profile}.own_threshold_{threshold:g}: "
            f"{line.group(1) if line else 'n/a'} points"
        )
    print(f"nab_dev.runtime_incl_scoring: {elapsed:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
