"""Sanity check of the single-series detector on series the NAB dev split does not contain.

Made here, nothing downloaded, and NOT used to choose anything (the detector's settings are
chosen by leave-one-category-out on the NAB dev split, `bench/nab_dev.py`): synthetic series
with an injected level shift, spike, drift or noise burst, clean ones of several shapes and
lengths (false alarms per 10,000 rows should not grow with length or shape), and the
simulator's own house series (heater failure in the temperature, water leak in the daily water
counter, a fault-free house). Every series is 5-minute rows with a daily period, scored at the
detector's own operating threshold. Prints `name: value unit` lines.

    .venv/bin/python bench/univariate_sanity.py
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "addon_ml_analyzer"))
sys.path.insert(0, str(ROOT))

from ml_analyzer.detectors.univariate import UnivariateConfig, score_series  # noqa: E402

FloatArray = npt.NDArray[np.float64]
DAY = 288  # 5-minute rows
SEEDS = range(5)
CONFIG = UnivariateConfig()


def _rhythm(rows: int, rng: np.random.Generator) -> FloatArray:
    """A daily rhythm plus Gaussian noise (unit spread)."""
    phase = rng.uniform(0, 2 * np.pi)
    values: FloatArray = 20.0 + 4.0 * np.sin(2 * np.pi * np.arange(rows) / DAY + phase)
    return values + rng.normal(0.0, 1.0, rows)


def _counts(rows: int, rng: np.random.Generator) -> FloatArray:
    """Event counts with a daily rate and heavy-tailed bursts (a social-media-like series)."""
    rate = 8.0 * (1.3 + np.sin(2 * np.pi * np.arange(rows) / DAY))
    bursts = rng.random(rows) < 0.003
    rate = rate * np.where(bursts, rng.lognormal(1.0, 0.7, rows), 1.0)
    counts: FloatArray = rng.poisson(rate).astype(float)
    return counts


def _walk(rows: int, rng: np.random.Generator) -> FloatArray:
    """A slowly wandering level (an AR(1) close to a random walk) plus noise."""
    level = np.zeros(rows)
    for i in range(1, rows):
        level[i] = 0.999 * level[i - 1] + rng.normal(0.0, 0.1)
    return 50.0 + level + rng.normal(0.0, 0.5, rows)


SHAPES: dict[str, Callable[[int, np.random.Generator], FloatArray]] = {
    "rhythm": _rhythm,
    "counts": _counts,
    "walk": _walk,
}


def _inject(kind: str, values: FloatArray, at: int) -> FloatArray:
    """The same fault in units of the series' own robust spread before it."""
    out = values.copy()
    before = values[:at]
    sigma = 1.4826 * float(np.median(np.abs(before - np.median(before)))) or 1.0
    if kind == "level_shift":
        out[at:] += 5.0 * sigma
    elif kind == "spike":
        out[at] += 10.0 * sigma
    elif kind == "drift":
        out[at:] += np.minimum(np.arange(len(out) - at) / DAY, 1.0) * 8.0 * sigma
    elif kind == "noise_burst":
        out[at : at + 24] += np.random.default_rng(at).normal(0.0, 6.0 * sigma, 24)
    return out


def _alarms(values: FloatArray) -> npt.NDArray[np.intp]:
    scores = score_series(values, DAY, CONFIG)
    return np.flatnonzero(scores >= CONFIG.threshold)


def synthetic() -> None:
    """Injected faults (detected within a day, delay) and clean series (false alarms)."""
    warm_up = 3 * DAY  # nothing is judged while the detector is still learning the series
    for shape, make in SHAPES.items():
        for rows in (14 * DAY, 56 * DAY):
            false = 0
            for seed in SEEDS:
                alarms = _alarms(make(rows, np.random.default_rng(seed)))
                false += int((alarms >= warm_up).sum())
            per_10k = false / (len(SEEDS) * (rows - warm_up)) * 10_000
            print(f"sanity.clean.{shape}.{rows // DAY}d.false_alarms: {per_10k:.2f} per 10k rows")
        for kind in ("level_shift", "spike", "drift", "noise_burst"):
            found, delays, false = 0, [], 0
            for seed in SEEDS:
                rng = np.random.default_rng(100 + seed)
                at = 10 * DAY + int(rng.integers(0, DAY))
                alarms = _alarms(_inject(kind, make(14 * DAY, rng), at))
                hit = alarms[(alarms >= at) & (alarms < at + DAY)]
                false += int(((alarms >= warm_up) & (alarms < at)).sum())
                if hit.size:
                    found += 1
                    delays.append(int(hit[0] - at))
            name = f"sanity.{shape}.{kind}"
            print(f"{name}.detected_within_a_day: {found}/{len(SEEDS)} series")
            if delays:
                print(f"{name}.median_delay: {float(np.median(delays)) * 5:.0f} min")
            print(f"{name}.false_alarms_before: {false} rows")


def simulator() -> None:
    """The simulator's own house series: a fault in the faulty house, none in a healthy one."""
    from simulator.scenario import load
    from simulator.series import iter_house_frames

    cases = (
        ("heater_failure", "05_heater_failure_winter_h2.yaml", "temperature"),
        ("water_leak", "24_water_leak_winter_h1.yaml", "water_daily"),
        ("fault_free", "37_faultfree_winter.yaml", "temperature"),
        ("fault_free", "37_faultfree_winter.yaml", "water_daily"),
    )
    for label, file, role in cases:
        scenario = load(ROOT / "bench" / "scenarios" / file)
        start = scenario.start
        assert start is not None
        days = 14
        faults = scenario.faults(start)
        for farm, house, frame in iter_house_frames(
            scenario, start, start + timedelta(days=days), roles=[role]
        ):
            if farm != 1 or role not in frame:
                continue
            values = frame[role].to_numpy(dtype=float)
            alarms = _alarms(values)
            mine = [f for f in faults if f.house == house]
            name = f"sanity.simulator.{label}.{role}.house{house}"
            if not mine:
                judged = alarms[alarms >= 3 * DAY]
                per_week = len(judged) / ((len(values) - 3 * DAY) / (7 * DAY))
                print(f"{name}.false_alarms: {per_week:.2f} per week")
                continue
            onset = int(frame.index.searchsorted(mine[0].start))
            hit = alarms[alarms >= onset]
            delay = f"{(hit[0] - onset) * 5 / 60:.1f} h" if hit.size else "none"
            print(f"{name}.first_alarm_after_onset: {delay}")
            early = int(((alarms >= 3 * DAY) & (alarms < onset)).sum())
            print(f"{name}.false_alarms_before_onset: {early} rows")


def main() -> int:
    """Print every figure."""
    synthetic()
    simulator()
    return 0


if __name__ == "__main__":
    sys.exit(main())
