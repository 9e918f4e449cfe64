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

import argparse
import json
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "addon_ml_analyzer"))
sys.path.insert(0, str(ROOT))

from ml_analyzer.detectors.univariate import (  # noqa: E402
    UnivariateConfig,
    daily_period_rows,
    score_series,
    unsuppressed_scores,
)

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


def _lengthened(
    source: Path, windows: list[list[str]], factor: int
) -> tuple[pd.DataFrame, int, int]:
    """The file with copies of its first anomaly-free stretch in front, `factor` times as long.

    The stretch is the rows before the first window (the whole file without windows), cut to
    whole days where it holds one, so the daily phase runs on across each seam; the prefix gets
    earlier timestamps at the median spacing, so the labelled windows keep their rows. Returns
    the frame, the number of prepended rows and the length of the repeated stretch (a seam,
    where one copy meets the next, every that many rows back from the original start).
    """
    frame = pd.read_csv(source)
    stamps = pd.to_datetime(frame["timestamp"])
    clean = int((stamps < pd.Timestamp(windows[0][0])).sum()) if windows else len(frame)
    period = daily_period_rows(frame["timestamp"])
    if period > 1 and clean >= period:
        clean -= clean % period
    extra = (factor - 1) * len(frame)
    if extra <= 0 or clean < 2:
        return frame, 0, clean
    stretch = frame["value"].to_numpy()[:clean]
    copies = np.tile(stretch, -(-extra // clean))[-extra:]
    step = stamps.diff().median()
    prefix = pd.date_range(end=stamps.iloc[0] - step, periods=extra, freq=step)
    out = pd.DataFrame(
        {
            "timestamp": list(prefix.strftime("%Y-%m-%d %H:%M:%S"))
            + list(frame["timestamp"].astype(str)),
            "value": np.concatenate([copies, frame["value"].to_numpy()]),
        }
    )
    return out, extra, clean


def nab_length(split: Path, tools: Path, factors: tuple[int, ...] = (1, 2, 4)) -> None:
    """False alarms and NAB score of the dev files made longer with their own clean data.

    The dev files are at most 4,731 rows; NAB series the detector never saw reach 22,695. Each
    file gets copies of its own first anomaly-free stretch in front (`_lengthened`), so the
    labelled anomalies are the same and only the clean history grows; scored at the detector's
    own operating point by NAB's rules (probation, window credit, false-alarm penalty; standard
    profile). A detector whose alarm rate is fixed per row pays ~`factor` times the false alarms.
    """
    sys.path.insert(0, str(ROOT / "bench"))
    from bench import nab_loco

    nab = nab_loco.load_nab_score(tools)
    all_windows = json.loads((split / "labels" / "windows.json").read_text())
    weights = nab_loco.PROFILES["standard"]
    for factor in factors:
        raw_total, windows_total, false_total, prefix_false, rows_total = 0.0, 0, 0, 0, 0
        seam_false = 0
        per_category: dict[str, list[float]] = {}
        for source in sorted((split / "data").rglob("*.csv")):
            path = source.relative_to(split / "data").as_posix()
            frame, extra, clean = _lengthened(source, all_windows[path], factor)
            stamps = pd.to_datetime(frame["timestamp"]).to_numpy()
            bounds = nab.window_indices(stamps, all_windows[path], path)
            window, credit = nab.row_credit(len(stamps), bounds)
            truth = nab_loco.Truth(
                path=path,
                category=path.split("/")[0],
                values=pd.to_numeric(frame["value"], errors="coerce").to_numpy(dtype=float),
                period=daily_period_rows(frame["timestamp"]),
                credit=np.asarray(credit, dtype=float),
                window=np.asarray(window, dtype=np.int64),
                probation=int(nab.probation_rows(len(stamps))),
                windows=len(bounds),
            )
            raw = unsuppressed_scores(truth.values, truth.period, CONFIG)
            alarms = nab_loco.alarm_rows(raw, CONFIG.threshold, CONFIG.suppress_rows)
            scored = alarms[alarms >= truth.probation]
            false = int((truth.window[scored] < 0).sum())
            file_raw = nab_loco.file_raw(truth, alarms, weights)
            raw_total += file_raw
            windows_total += truth.windows
            false_total += false
            in_prefix = alarms[(alarms >= truth.probation) & (alarms < extra)]
            prefix_false += len(in_prefix)
            # within a day (or 100 rows) after a seam: the copies' joins, not the series
            after_seam = (in_prefix - extra) % clean < max(truth.period, 100)
            seam_false += int(after_seam.sum()) if clean > max(truth.period, 100) else 0
            rows_total += len(frame)
            entry = per_category.setdefault(truth.category, [0.0, 0, 0])
            entry[0] += file_raw
            entry[1] += truth.windows
            entry[2] += false
        name = f"sanity.nab_length.{factor}x"
        print(f"{name}.rows: {rows_total} rows")
        print(f"{name}.false_alarms: {false_total} rows")
        print(f"{name}.false_alarms_in_prepended_rows: {prefix_false} rows")
        print(f"{name}.false_alarms_within_a_day_after_a_seam: {seam_false} rows")
        score = nab_loco.normalised(raw_total, windows_total, weights)
        print(f"{name}.standard: {score:.2f} points")
        for category, (category_raw, count, category_false) in sorted(per_category.items()):
            if count:
                category_score = nab_loco.normalised(category_raw, int(count), weights)
                print(f"{name}.{category}.standard: {category_score:.2f} points")
            print(f"{name}.{category}.false_alarms: {int(category_false)} rows")


def main(argv: list[str] | None = None) -> int:
    """Print every figure (or only some, see --only)."""
    from bench import nab_loco

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--tools",
        type=Path,
        default=nab_loco.tools_from_environment(),
        help="the NAB harness folder (for the length test); default $NAB_TOOLS",
    )
    parser.add_argument("--split", type=Path, default=None, help="default: ../datasets/nab-dev")
    parser.add_argument(
        "--only", choices=("synthetic", "simulator", "length"), default=None, help="one part"
    )
    args = parser.parse_args(argv)
    if args.only in (None, "length") and args.tools is None:
        parser.error(nab_loco.NO_TOOLS)
    if args.only in (None, "synthetic"):
        synthetic()
    if args.only in (None, "simulator"):
        simulator()
    if args.only in (None, "length"):
        split = args.split or args.tools.parent / "datasets" / "nab-dev"
        if not (split / "labels" / "windows.json").exists():
            parser.error(f"{split} is not a NAB split (see --tools / --split)")
        nab_length(split, args.tools)
    return 0


if __name__ == "__main__":
    sys.exit(main())
