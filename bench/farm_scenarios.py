"""Farm-scenario benchmark of the analyzer's failure detectors.

Generates 44 simulated runs (every fault type in different houses, seasons and flock ages, plus
fault-free runs), scores the detectors with `bench/backtest.py` at a sensitivity level and
prints one figure per line (`name: value unit`): per fault type the detection rate, the delay
after the true onset, the lead over the controller's fixed alarm (|T - set| > 3 °C for 15 min)
and for slow faults the share warned at least 24 h before it; false alarms per house-week on the
fault-free runs.

    .venv/bin/python bench/farm_scenarios.py [--sensitivity medium] [--write bench/scenarios]
        [--seed-offset N] [--bird-count reported|unreported] [--signals all|manual]
        [--houses N]

`--write` stores the scenario files (for `bench/backtest.py --scenario FILE`).
`--seed-offset N` adds N to every scenario's seed: the same faults in other flocks, weather and
houses, a hold-out check that the figures are not a property of the 44 stored runs.
`--bird-count unreported` runs every scenario with controllers that report 0 birds (the count
never entered, as on the real captured farm): occupancy and intake must then come from growth
day and water alone. `--signals manual` gives the detectors only what a manual farm links
(temperature, humidity, bird count and the growth day from the placement date) and lists per
fault type detected / missed / not watched, and the false all-clears: missed faults in a
subsystem the verdict claimed to watch (target 0; a fault nothing can see must be reported as
"not watched", never as "normal"). `--houses 1` runs every scenario on a one-house farm:
no pack, the house's own past is the only reference.
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "addon_ml_analyzer")]

from bench.backtest import RunOutcome, run_scenario, summarise  # noqa: E402
from simulator.scenario import Scenario  # noqa: E402

DAYS = 12
HOUSES = 4
FAILURE_DAY = "8d"
SEASONS = {
    "winter": "2026-01-05T00:00:00+00:00",
    "spring": "2026-04-06T00:00:00+00:00",
    "summer": "2026-07-06T00:00:00+00:00",
    "autumn": "2026-10-12T00:00:00+00:00",
}

# (kind, params, duration, seasons): heating faults need weather in which heaters run,
# fan faults weather in which ventilation works hard.
FAULTS: list[tuple[str, dict[str, Any], str | None, tuple[str, ...]]] = [
    ("heater_failure", {"wear_days": 3}, None, ("winter", "autumn", "spring", "winter")),
    ("heater_failure", {}, None, ("winter", "autumn", "winter")),
    ("fan_failure", {"wear_days": 3}, None, ("summer", "spring", "summer", "autumn")),
    ("fan_failure", {}, None, ("summer", "summer")),
    ("probe_stuck", {"probe": 2}, None, ("winter", "summer", "autumn")),
    (
        "probe_drift",
        {"probe": 3, "rate_per_day": 1.5},
        None,
        ("winter", "spring", "summer", "autumn"),
    ),
    ("probe_dropout", {"probe": 1}, None, ("spring", "summer", "winter")),
    ("water_leak", {"extra": 0.5}, None, ("winter", "summer", "autumn")),
    ("water_blockage", {"severity": 0.8}, None, ("spring", "summer", "autumn", "winter")),
    ("feed_stop", {}, "12h", ("winter", "spring", "summer")),
    ("controller_offline", {}, "2h", ("autumn", "summer", "winter")),
]
SIGNALS = {"all": None, "manual": ("temperature", "humidity", "bird_count", "growth_day")}
"""The roles the detectors get per `--signals` (None: everything the simulator records)."""
FAULT_FREE = ("winter", "spring", "summer", "autumn", "winter", "spring", "summer", "autumn")


def scenario_documents(
    seed_offset: int = 0, bird_count: str = "reported", houses: int = HOUSES
) -> list[dict[str, Any]]:
    """The benchmark's scenarios as scenario-file documents (simulator schema), on farms of
    `houses` houses (the fault moves through the houses; with one house it is always house 1)."""
    documents: list[dict[str, Any]] = []
    options = [{"farm": 1, "bird_count": bird_count}] if bird_count != "reported" else []
    number = 0
    for kind, params, duration, seasons in FAULTS:
        for season in seasons:
            number += 1
            house = 1 + number % houses
            event: dict[str, Any] = {
                "kind": kind,
                "farm": 1,
                "house": house,
                "at": FAILURE_DAY,
                "params": params,
            }
            if duration:
                event["duration"] = duration
            wear = "_wear" if params.get("wear_days") else ""
            documents.append(
                {
                    "name": f"{number:02d}_{kind}{wear}_{season}_h{house}",
                    "description": f"{kind}{wear} in house {house}, {season}",
                    "farms": 1,
                    "houses": houses,
                    "seed": 100 + number + seed_offset,
                    "start": SEASONS[season],
                    "events": [event],
                    **({"farm_options": options} if options else {}),
                }
            )
    for season in FAULT_FREE:
        number += 1
        documents.append(
            {
                "name": f"{number:02d}_faultfree_{season}",
                "description": f"no fault, {season}",
                "farms": 1,
                "houses": houses,
                "seed": 100 + number + seed_offset,
                "start": SEASONS[season],
                "events": [],
                **({"farm_options": options} if options else {}),
            }
        )
    return documents


def _run(document: dict[str, Any], sensitivity: str, signals: str = "all") -> RunOutcome:
    scenario = Scenario.from_dict(document)
    start = datetime.fromisoformat(document["start"]).astimezone(UTC)
    return run_scenario(scenario, start, DAYS, sensitivity, SIGNALS[signals])


def main(argv: list[str] | None = None) -> int:
    """Run every scenario and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sensitivity", default="medium", choices=("low", "medium", "high"))
    parser.add_argument("--write", type=Path, help="write the scenario files to this folder")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed-offset", type=int, default=0, help="added to every seed")
    parser.add_argument(
        "--bird-count",
        default="reported",
        choices=("reported", "unreported"),
        help="unreported: every controller reports 0 birds (as on the real captured farm)",
    )
    parser.add_argument(
        "--houses",
        type=int,
        default=HOUSES,
        help="houses per farm (1: a farm without a pack, judged against its own past)",
    )
    parser.add_argument(
        "--signals",
        default="all",
        choices=sorted(SIGNALS),
        help="manual: only what a manual farm links (temperature, humidity, birds, growth day)",
    )
    args = parser.parse_args(argv)
    if args.houses < 1:
        parser.error(f"--houses must be 1 or more, not {args.houses}")
    documents = scenario_documents(args.seed_offset, args.bird_count, args.houses)
    if args.write:
        args.write.mkdir(parents=True, exist_ok=True)
        for document in documents:
            text = yaml.safe_dump(document, sort_keys=False)
            (args.write / f"{document['name']}.yaml").write_text(text, encoding="utf-8")
    began = time.perf_counter()
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        runs = len(documents)
        outcomes = list(pool.map(_run, documents, [args.sensitivity] * runs, [args.signals] * runs))
    print(f"sensitivity: {args.sensitivity}")
    print(f"scenario_runs: {len(documents)} runs")
    print(f"seed_offset: {args.seed_offset}")
    print(f"bird_count: {args.bird_count}")
    if args.houses != HOUSES:
        print(f"houses: {args.houses}")
    if args.signals != "all":
        print(f"signals: {args.signals}")
    for line in summarise(outcomes, coverage=args.signals != "all"):
        print(line)
    print(f"elapsed: {time.perf_counter() - began:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
