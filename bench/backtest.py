"""Backtest the farm detectors on simulated scenarios with known faults (dev tooling).

`.venv/bin/python bench/backtest.py --scenario FILE [--sensitivity S] [--days N]` generates the
scenario's signals with the simulator's benchmark API (`simulator.series.generate`), runs the very
functions `FarmAnalyzer` uses over the whole run (causal, so this is what the live analyzer would
have said at each 5-minute tick), and prints per fault: detected or not, the delay after the true
onset, the lead over the controller's fixed alarm (|T - set| > 3 °C for 15 min) and the subsystem
it blamed; plus false alarms per house-week in the houses without a fault.

The lead is measured against the fixed alarm *the fault caused*: the first alarm episode of the run
that the same house without that fault (the simulator's counterfactual: same seed, weather and
flock) would not have had at all. A fixed alarm that a hot afternoon sets off anyway is
no deadline for a warning about a drifting probe; such alarms are still counted as "fired".

It lives beside the benchmarks, not in the add-on, because it needs the simulator.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
for _path in (str(ROOT / "addon_ml_analyzer"), str(ROOT)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

from ml_analyzer.detectors.alarms import SENSITIVITY, alarm_state  # noqa: E402
from ml_analyzer.detectors.arrays import FloatArray  # noqa: E402
from ml_analyzer.detectors.coverage import coverage_rows  # noqa: E402
from ml_analyzer.detectors.engine import farm_evidence  # noqa: E402
from ml_analyzer.detectors.grid import MIN_ROWS  # noqa: E402

if TYPE_CHECKING:
    from simulator.scenario import Scenario

EXPECTED_SUBSYSTEM = {
    "heater_failure": "heating",
    "fan_failure": "ventilation",
    "probe_stuck": "sensor",
    "probe_drift": "sensor",
    "probe_dropout": "sensor",
    "water_leak": "water",
    "water_blockage": "water",
    "feed_stop": "feed",
    "controller_offline": "controller_link",
}
COVERAGE_NAME = {"sensor": "probes"}
"""A subsystem under its name in the verdict's coverage (detectors/coverage.py)."""
SLOW_FAULTS = ("probe_drift", "heater_wear", "water_blockage", "fan_wear")
DEFAULT_DAYS = 12
DEFAULT_START = datetime(2026, 1, 5, tzinfo=UTC)


@dataclass(frozen=True)
class FaultOutcome:
    """How the detectors did on one true fault."""

    scenario: str
    kind: str
    house: str
    detected: bool
    subsystem: str | None
    delay_hours: float | None
    """Detection time minus the true onset (wear included); negative would be impossible."""
    lead_over_fixed_hours: float | None
    """Fixed alarm time minus detection time; None when the fixed alarm never fired."""
    fixed_alarm_fired: bool
    fixed_delay_hours: float | None
    fault_alarm_fired: bool = False
    """The fixed alarm fired because of the fault (it would not have without it)."""
    lead_over_any_fixed_hours: float | None = None
    """First fixed alarm of any cause minus detection time (the definition before the
    counterfactual: a hot afternoon's alarm counts too); None when none fired."""
    watched: bool = True
    """The house's verdict watched the fault's subsystem at some time after the onset (else
    it said "not watched" rather than "normal")."""


@dataclass(frozen=True)
class RunOutcome:
    """Everything measured on one scenario run."""

    faults: list[FaultOutcome]
    false_alarms: int
    clean_house_weeks: float
    fault_free: bool
    """True when the run has no house fault at all (the false-alarm figure counts only these)."""


def wide_frames(frame: pd.DataFrame) -> dict[int, dict[str, pd.DataFrame]]:
    """Long simulator frame -> {farm: {house id: wide frame indexed by timestamp}}."""
    farms: dict[int, dict[str, pd.DataFrame]] = {}
    for (farm, house), part in frame.groupby(["farm", "house"], observed=True):
        wide = part.pivot_table(index="timestamp", columns="role", values="value", observed=True)
        wide.columns = [str(column) for column in wide.columns]
        farms.setdefault(int(str(farm)), {})[str(house)] = wide
    return farms


Alarms = dict[str, tuple[pd.DatetimeIndex, FloatArray, list[tuple[str, str, FloatArray]]]]
Coverage = dict[str, dict[str, npt.NDArray[np.bool_]]]


def house_alarms(
    frames: dict[str, pd.DataFrame], sensitivity: str, coverage: Coverage | None = None
) -> Alarms:
    """Per house: grid, union alarm state, and (stream, subsystem, state) of every stream.

    With `coverage`, it also receives per house the rows each subsystem was watched."""
    level = SENSITIVITY[sensitivity]
    out: Alarms = {}
    for house, evidence in farm_evidence(frames).items():
        if coverage is not None:
            coverage[house] = coverage_rows(evidence)
        union: FloatArray = np.zeros(len(evidence.index))
        streams = []
        for stream in evidence.streams:
            state = alarm_state(stream.z, level, stream.slow)
            state[:MIN_ROWS] = 0.0
            z = np.nan_to_num(stream.z.to_numpy(dtype=float))
            subsystem = np.where(z >= 0, stream.subsystem_up, stream.subsystem_down).astype(str)
            union = np.fmax(union, state)
            streams.append((stream.name, _subsystem_at_onset(state, subsystem), state))
        out[house] = (evidence.index, union, streams)
    return out


def _subsystem_at_onset(state: FloatArray, subsystem: npt.NDArray[np.str_]) -> str:
    onsets = np.flatnonzero(np.diff(np.r_[0.0, state]) > 0)
    return str(subsystem[onsets[0]]) if len(onsets) else ""


def _onsets(state: FloatArray) -> npt.NDArray[np.intp]:
    return np.flatnonzero(np.diff(np.r_[0.0, state]) > 0)


def evaluate_run(
    name: str,
    result: Any,
    sensitivity: str,
    caused: Sequence[datetime | None] | None = None,
) -> RunOutcome:
    """Score one `SeriesResult` of the simulator.

    `caused` holds per fault of `result.faults` the fixed alarm that fault caused (see
    fault_caused_alarms); without it every fixed alarm is taken as caused by the fault.
    """
    fault_alarms = {
        id(fault): (caused[position] if caused is not None else fault.alarm_at)
        for position, fault in enumerate(result.faults)
    }
    faults = [f for f in result.faults if f.kind in EXPECTED_SUBSYSTEM]
    outcomes: list[FaultOutcome] = []
    false_alarms = 0
    clean_rows = 0
    for farm, frames in wide_frames(result.frame).items():
        watched: Coverage = {}
        alarms = house_alarms(frames, sensitivity, watched)
        for house, (index, union, streams) in alarms.items():
            own = [f for f in faults if f.farm == farm and str(f.house) == house]
            if not own:
                false_alarms += len(_onsets(union))
                clean_rows += max(len(index) - MIN_ROWS, 0)
                continue
            onset = pd.Timestamp(min(f.start for f in own))
            before = index < onset
            false_alarms += len(_onsets(np.where(before, union, 0.0)))
            for truth in own:
                alarm = fault_alarms[id(truth)]
                outcome = _outcome(name, house, truth, index, streams, fault_alarm=alarm)
                subsystem = EXPECTED_SUBSYSTEM[truth.kind]
                rows = watched[house][COVERAGE_NAME.get(subsystem, subsystem)]
                seen = bool(rows[np.asarray(index >= onset)].any())
                outcomes.append(replace(outcome, watched=seen))
    rows_per_week = 7 * 288
    return RunOutcome(outcomes, false_alarms, clean_rows / rows_per_week, not faults)


def _outcome(
    name: str,
    house: str,
    truth: Any,
    index: pd.DatetimeIndex,
    streams: list[tuple[str, str, FloatArray]],
    *,
    fault_alarm: datetime | None,
) -> FaultOutcome:
    start = pd.Timestamp(truth.start)
    first: tuple[pd.Timestamp, str] | None = None
    for _stream, subsystem, state in streams:
        hits = [i for i in _onsets(state) if index[i] >= start]
        ongoing = state[index >= start]
        if not hits and len(ongoing) and ongoing[0] >= 1.0:
            hits = [int(np.argmax(index >= start))]
        if hits and (first is None or index[hits[0]] < first[0]):
            first = (index[hits[0]], subsystem)
    kind = truth.kind
    if kind in {"heater_failure", "fan_failure"} and truth.params.get("wear_days"):
        kind = "heater_wear" if kind == "heater_failure" else "fan_wear"
    fired = truth.alarm_at is not None
    alarm = pd.Timestamp(fault_alarm) if fault_alarm is not None else None
    fixed_delay = (alarm - start).total_seconds() / 3600 if alarm is not None else None
    if first is None:
        return FaultOutcome(
            name, kind, house, False, None, None, None, fired, fixed_delay, alarm is not None
        )
    detected_at, subsystem = first
    delay = (detected_at - start).total_seconds() / 3600
    lead = (alarm - detected_at).total_seconds() / 3600 if alarm is not None else None
    any_lead = None
    if truth.alarm_at is not None:
        any_lead = (pd.Timestamp(truth.alarm_at) - detected_at).total_seconds() / 3600
    return FaultOutcome(
        name,
        kind,
        house,
        True,
        subsystem,
        delay,
        lead,
        fired,
        fixed_delay,
        alarm is not None,
        any_lead,
    )


def run_scenario(
    scenario: Scenario,
    start: datetime,
    days: float,
    sensitivity: str,
    roles: Iterable[str] | None = None,
) -> RunOutcome:
    """Generate one scenario with the simulator and evaluate the detectors on it (with only
    the signals `roles` when given, e.g. what a manual farm links)."""
    from simulator.series import generate

    origin = scenario.start or start
    end = origin + timedelta(days=days)
    result = generate(scenario, origin, end, roles=roles)
    caused = fault_caused_alarms(scenario, origin, end)
    return evaluate_run(scenario.name, result, sensitivity, caused)


def fault_caused_alarms(
    scenario: Scenario, origin: datetime, end: datetime
) -> list[datetime | None]:
    """Per fault of the scenario (in the order of `generate`'s truths), the fixed alarm it caused.

    The controller's condition (|average temperature - set point| > 3 °C for 15 minutes, on a
    1-minute grid, as `simulator.model.alarm_times` checks it) is evaluated for the house with
    all its faults and again without this one; the first alarm episode of the first that shares
    no minute with the second is the alarm the fault caused. None when there is none before
    `end` (or the fault is not a house fault).
    """
    from simulator import model
    from simulator.scenario import HOUSE_FAULTS

    faults = scenario.faults(origin)
    farms = model.build_farms(scenario, origin)
    caused: list[datetime | None] = []
    for fault in faults:
        farm = farms[fault.farm - 1] if fault.farm and 1 <= fault.farm <= len(farms) else None
        house = farm.house(fault.house) if farm is not None and fault.house else None
        if fault.kind not in HOUSE_FAULTS or farm is None or house is None or fault.onset >= end:
            caused.append(None)
            continue
        until = min(fault.end, end) if fault.end else end
        first = model.epoch(fault.onset) - model.ALARM_SECONDS
        minutes = model.floats(np.arange(first, model.epoch(until) + 60.0, 60.0))
        others = [other for other in faults if other is not fault]
        with_fault = _fixed_alarm_on(model.evaluate(farm, house, minutes, faults))
        without = _fixed_alarm_on(model.evaluate(farm, house, minutes, others))
        own = _own_episodes(with_fault, without) & (minutes >= model.epoch(fault.onset))
        hits = np.flatnonzero(own)
        caused.append(
            datetime.fromtimestamp(float(minutes[hits[0]]), tz=UTC) if len(hits) else None
        )
    return caused


def _own_episodes(
    with_fault: npt.NDArray[np.bool_], without: npt.NDArray[np.bool_]
) -> npt.NDArray[np.bool_]:
    """The alarm minutes of `with_fault` in episodes that share no minute with `without`.

    An episode that also happens without the fault (a hot afternoon) is the weather's, even if
    the fault moves its start by a minute; only an alarm that would not exist at all is the
    fault's.
    """
    starts = with_fault & ~np.r_[False, with_fault[:-1]]
    episode = np.cumsum(starts)
    shared = np.unique(episode[with_fault & without])
    own: npt.NDArray[np.bool_] = with_fault & ~np.isin(episode, shared)
    return own


def _fixed_alarm_on(signals: dict[str, FloatArray]) -> npt.NDArray[np.bool_]:
    """True at each minute where the deviation has held for the last 15 minutes."""
    from simulator import model

    outside = np.abs(signals["temperature"] - signals["set_temperature"]) > model.ALARM_DEVIATION
    window = int(model.ALARM_SECONDS // 60) + 1
    held = np.convolve(outside.astype(np.int64), np.ones(window, dtype=np.int64))[: len(outside)]
    on: npt.NDArray[np.bool_] = held >= window
    return on


def summarise(outcomes: Sequence[RunOutcome], coverage: bool = False) -> list[str]:
    """Figures as `name: value unit` lines, per fault type and overall; with `coverage`, also
    per fault type detected / missed / not watched and the false all-clears (missed faults in a
    subsystem the verdict watched: it called the house normal)."""
    lines: list[str] = []
    faults = [f for run in outcomes for f in run.faults]
    kinds = sorted({f.kind for f in faults})
    for kind in kinds:
        group = [f for f in faults if f.kind == kind]
        if coverage:
            hit = sum(f.detected for f in group)
            missed = sum(not f.detected and f.watched for f in group)
            unseen = sum(not f.detected and not f.watched for f in group)
            lines.append(f"{kind}.detected_missed_not_watched: {hit} / {missed} / {unseen} runs")
        found = [f for f in group if f.detected]
        delays = [f.delay_hours for f in found if f.delay_hours is not None]
        leads = [f.lead_over_fixed_hours for f in found if f.lead_over_fixed_hours is not None]
        right = [f for f in found if f.subsystem == EXPECTED_SUBSYSTEM.get(_base(kind))]
        fixed = [f for f in group if f.fixed_alarm_fired]
        caused = [f for f in group if f.fault_alarm_fired]
        early = [
            f for f in found if f.lead_over_fixed_hours is None or f.lead_over_fixed_hours >= 24
        ]
        early_any = [
            f
            for f in found
            if f.lead_over_any_fixed_hours is None or f.lead_over_any_fixed_hours >= 24
        ]
        lines.append(f"{kind}.runs: {len(group)} runs")
        lines.append(f"{kind}.detected: {100 * len(found) / len(group):.0f} %")
        lines.append(f"{kind}.subsystem_correct: {100 * len(right) / max(len(found), 1):.0f} %")
        if delays:
            lines.append(f"{kind}.delay_after_onset_median: {np.median(delays):.1f} h")
            lines.append(f"{kind}.delay_after_onset_worst: {max(delays):.1f} h")
        lines.append(f"{kind}.fixed_alarm_fired: {100 * len(fixed) / len(group):.0f} %")
        lines.append(f"{kind}.fixed_alarm_caused_by_fault: {100 * len(caused) / len(group):.0f} %")
        if leads:
            lines.append(f"{kind}.lead_over_fixed_alarm_median: {np.median(leads):.1f} h")
            lines.append(f"{kind}.lead_over_fixed_alarm_worst: {min(leads):.1f} h")
        if kind in SLOW_FAULTS:
            lines.append(
                f"{kind}.warned_24h_before_fixed_alarm: {100 * len(early) / len(group):.0f} %"
            )
            share = 100 * len(early_any) / len(group)
            lines.append(f"{kind}.warned_24h_before_any_fixed_alarm: {share:.0f} %")
    if faults and coverage:
        false_clear = sum(not f.detected and f.watched for f in faults)
        lines.append(f"all.false_all_clear: {false_clear} runs")
        unseen_all = sum(not f.detected and not f.watched for f in faults)
        lines.append(f"all.not_watched: {unseen_all} runs")
    if faults:
        found_all = sum(f.detected for f in faults)
        lines.append(f"all.detected: {100 * found_all / len(faults):.1f} %")
        fixed_all = sum(f.fixed_alarm_fired for f in faults)
        lines.append(f"all.fixed_alarm_fired: {100 * fixed_all / len(faults):.1f} %")
    for label, runs in (
        ("fault_free_runs", [run for run in outcomes if run.fault_free]),
        ("fault_runs", [run for run in outcomes if not run.fault_free]),
    ):
        weeks = sum(run.clean_house_weeks for run in runs)
        alarms = sum(run.false_alarms for run in runs)
        if weeks > 0:
            lines.append(f"{label}.false_alarms_per_house_week: {alarms / weeks:.2f} alarms")
            lines.append(f"{label}.house_weeks: {weeks:.1f} weeks")
    return lines


def _base(kind: str) -> str:
    return {"heater_wear": "heater_failure", "fan_wear": "fan_failure"}.get(kind, kind)


def main(argv: list[str] | None = None) -> int:
    """CLI entry: `bench/backtest.py --scenario FILE [--sensitivity S] [--days N] [--start ISO]`."""
    parser = argparse.ArgumentParser(prog="bench/backtest.py", description=__doc__)
    parser.add_argument("--scenario", required=True, type=Path, help="scenario file (YAML/JSON)")
    parser.add_argument("--sensitivity", default="medium", choices=sorted(SENSITIVITY))
    parser.add_argument("--days", type=float, default=DEFAULT_DAYS, help="length of the run")
    parser.add_argument(
        "--start",
        default=None,
        help="ISO start when the scenario has none (default 2026-01-05T00:00Z)",
    )
    args = parser.parse_args(argv)
    try:
        from simulator.scenario import ScenarioError, load
    except ImportError:
        print(
            "backtest needs the simulator package (run from the repository root)", file=sys.stderr
        )
        return 2
    try:
        scenario = load(args.scenario)
    except (OSError, ScenarioError, ValueError) as err:
        print(f"cannot read scenario {args.scenario}: {err}", file=sys.stderr)
        return 2
    start = datetime.fromisoformat(args.start) if args.start else DEFAULT_START
    if start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    try:
        outcome = run_scenario(scenario, start, args.days, args.sensitivity)
    except (ScenarioError, ValueError) as err:
        print(f"cannot run scenario {args.scenario}: {err}", file=sys.stderr)
        return 2
    for fault in outcome.faults:
        print(
            f"fault {fault.kind} house {fault.house}: "
            + (
                f"detected after {fault.delay_hours:.1f} h as {fault.subsystem}"
                if fault.detected and fault.delay_hours is not None
                else "not detected"
            )
            + (
                f", the fixed alarm it caused after {fault.fixed_delay_hours:.1f} h"
                if fault.fixed_delay_hours is not None
                else (
                    ", fixed alarm fired but not because of the fault"
                    if fault.fixed_alarm_fired
                    else ", fixed alarm never fired"
                )
            )
        )
    for line in summarise([outcome]):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
