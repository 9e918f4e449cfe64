"""Benchmark API: the signals Home Assistant would record, without any server.

``generate`` evaluates the same model the server answers from, vectorised over time, and
returns a long-format frame (one row per timestamp, farm, house and role) plus the true
faults, so the analyzer's detectors can be scored against what really happened and against
when the controller's fixed alarm fired.

What the frame leaves out is as deliberate as what it holds: while a controller is off line
or the cloud is down, Home Assistant shows the house unavailable, so those rows are missing
(``connection`` reads 0 while the controller is off line; nothing at all during an outage).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from . import model
from .model import FarmModel, FloatArray, HouseModel
from .report import convert
from .scenario import HOUSE_FAULTS, Fault, Scenario

BASE_ROLES = (
    "temperature",
    "set_temperature",
    "outside_temperature",
    "humidity",
    "static_pressure",
    "target_pressure",
    "vent_level",
    "air_flow",
    "water_daily",
    "feed_daily",
    "heaters_running",
    "tunnel_fans_running",
    "growth_day",
    "bird_count",
    "connection",
)
"""Roles named as the entity keys of docs/CONTRACTS.md §3 (probes come on top)."""
EXTRA_ROLES = (
    "tunnel_temperature",
    "vent_level_percent",
    "exhaust_fans_running",
    "livability",
)


@dataclass(frozen=True, slots=True)
class FaultTruth:
    """What really happened: for scoring detectors.

    ``start`` is the true onset of the problem (the wear phase included), ``failure_at`` the
    moment the equipment actually failed, ``alarm_at`` the first time the controller's fixed
    alarm (|T - set| > 3 °C for 15 minutes) fired, or None if it never did before ``end``.
    """

    farm: int | None
    house: int | None
    kind: str
    start: datetime
    end: datetime | None
    failure_at: datetime
    alarm_at: datetime | None
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SeriesResult:
    """Long-format frame (``timestamp, farm, house, role, value``) and the fault truth."""

    frame: pd.DataFrame
    faults: list[FaultTruth]


def roles_of(scenario: Scenario, farm: int) -> tuple[str, ...]:
    """Every role the generator can produce for a farm (base, extras, probes)."""
    probes = scenario.options(farm).probes
    return BASE_ROLES + EXTRA_ROLES + tuple(f"probe_temperature_{n}" for n in range(1, probes + 1))


def _times(start: datetime, end: datetime, step: timedelta) -> FloatArray:
    seconds = step.total_seconds()
    if seconds <= 0:
        raise ValueError("step must be positive")
    first, last = model.epoch(start), model.epoch(end)
    return first + seconds * np.arange(int(np.ceil((last - first) / seconds)), dtype=np.float64)


def _nanoseconds(seconds: FloatArray) -> npt.NDArray[np.int64]:
    """Epoch nanoseconds of epoch seconds (rounded to the microsecond)."""
    return np.round(seconds * 1e6).astype(np.int64) * 1000


def _timestamps(nanoseconds: npt.NDArray[np.int64]) -> pd.DatetimeIndex:
    """UTC timestamps without a slow object conversion."""
    return pd.DatetimeIndex(nanoseconds.view("datetime64[ns]")).tz_localize("UTC")


def _unavailable(farm: FarmModel, t: FloatArray, faults: Sequence[Fault]) -> npt.NDArray[np.bool_]:
    """True where the whole cloud (or this farm's part of it) is down."""
    down = np.zeros(t.shape, dtype=bool)
    for fault in faults:
        if fault.kind == "cloud_outage" and fault.applies_to(farm.number):
            end = model.epoch(fault.end) if fault.end else np.inf
            down |= (t >= model.epoch(fault.start)) & (t < end)
    return down


def farm_signals(
    farm: FarmModel,
    t: FloatArray,
    faults: Sequence[Fault],
    roles: Iterable[str],
) -> Iterator[tuple[HouseModel, dict[str, FloatArray]]]:
    """The recorded signals of every house of a farm at ``t`` in farm units (NaN = not
    recorded). All houses go through the model together (see ``model.evaluate_houses``)."""
    wanted = list(roles)
    houses = list(farm.houses)
    totals = "water_daily" in wanted or "feed_daily" in wanted
    on_grid: dict[str, FloatArray] | None = None
    if totals:
        grid = model.integration_grid(farm, t)
        index = np.round((t - grid[0]) / model.STEP).astype(np.int64)
        if np.array_equal(grid[np.clip(index, 0, grid.size - 1)], t):
            # The usual 5-minute series: one pass serves the values and the totals.
            on_grid = model.evaluate_houses(farm, houses, grid, faults)
            batch = {role: values[:, index] for role, values in on_grid.items()}
        else:
            batch = model.evaluate_houses(farm, houses, t, faults)
    else:
        batch = model.evaluate_houses(farm, houses, t, faults)
    down = _unavailable(farm, t, faults)
    for row, house in enumerate(houses):
        signals = {role: values[row] for role, values in batch.items()}
        if totals:
            rates = None
            if on_grid is not None:
                rates = {name: on_grid[name][row] for name in ("water_rate", "feed_rate")}
            signals["water_daily"], signals["feed_daily"] = model.daily_totals(
                farm, house, t, faults, rates
            )
        yield house, _recorded(farm, house, t, faults, signals=signals, wanted=wanted, down=down)


def _recorded(
    farm: FarmModel,
    house: HouseModel,
    t: FloatArray,
    faults: Sequence[Fault],
    *,
    signals: dict[str, FloatArray],
    wanted: list[str],
    down: npt.NDArray[np.bool_],
) -> dict[str, FloatArray]:
    """What Home Assistant records: farm units, gaps while off line or while the cloud is down."""
    _, connection = model.reported_times(farm, house, t, faults)
    offline = connection != 1
    units = farm.options.units
    any_offline, any_down = bool(offline.any()), bool(down.any())
    result: dict[str, FloatArray] = {}
    for role in wanted:
        if role == "connection":
            values = np.where(offline, 0.0, 1.0)
        elif role in signals:
            values = signals[role]
            if units == "imperial":
                values = _convert_array(role, values, units)
            if any_offline:
                values = np.where(offline, np.nan, values)
        else:
            continue
        result[role] = np.where(down, np.nan, values) if any_down else values
    return result


def _convert_array(role: str, values: FloatArray, units: str) -> FloatArray:
    scale = convert(role, 1.0, units) - convert(role, 0.0, units)
    offset = convert(role, 0.0, units)
    return values * scale + offset


def iter_house_frames(
    scenario: Scenario,
    start: datetime,
    end: datetime,
    step: timedelta = timedelta(minutes=5),
    *,
    roles: Iterable[str] | None = None,
) -> Iterator[tuple[int, int, pd.DataFrame]]:
    """Wide frames, one per house: (farm, house, frame indexed by UTC timestamp with one
    column per role). Cheaper than pivoting the long frame when a detector wants houses."""
    t = _times(start, end, step)
    index = pd.DatetimeIndex(_timestamps(_nanoseconds(t)), name="timestamp")
    faults = scenario.faults(scenario.start or start)
    for farm in model.build_farms(scenario, scenario.start or start):
        wanted = list(roles) if roles is not None else list(roles_of(scenario, farm.number))
        for house, signals in farm_signals(farm, t, faults, wanted):
            yield farm.number, house.number, pd.DataFrame(signals, index=index)


def generate(
    scenario: Scenario,
    start: datetime,
    end: datetime,
    step: timedelta = timedelta(minutes=5),
    *,
    roles: Iterable[str] | None = None,
) -> SeriesResult:
    """Signals of every house of ``scenario`` from ``start`` to ``end`` every ``step``.

    Relative event times count from ``scenario.start`` if set, else from ``start``; the flock
    calendar is laid out from the same moment. ``roles`` limits the roles (default: all, see
    :func:`roles_of`); rows whose value is not recorded are left out.
    """
    t = _times(start, end, step)
    stamps = _nanoseconds(t)
    origin = scenario.start or start
    faults = scenario.faults(origin)
    farms = model.build_farms(scenario, origin)
    role_names: list[str] = []
    columns: dict[str, list[Any]] = {"time": [], "farm": [], "house": [], "role": [], "value": []}
    for farm in farms:
        wanted = list(roles) if roles is not None else list(roles_of(scenario, farm.number))
        for house, signals in farm_signals(farm, t, faults, wanted):
            for role, values in signals.items():
                keep = ~np.isnan(values)
                count = int(keep.sum())
                if count == 0:
                    continue
                if role not in role_names:
                    role_names.append(role)
                columns["time"].append(stamps[keep])
                columns["value"].append(values[keep])
                columns["farm"].append(np.full(count, farm.number, dtype=np.int16))
                columns["house"].append(np.full(count, house.number, dtype=np.int16))
                columns["role"].append(np.full(count, role_names.index(role), dtype=np.int16))
    frame = _assemble(columns, role_names)
    truths = [_truth(fault, farms, faults, end) for fault in faults]
    return SeriesResult(frame=frame, faults=truths)


def _assemble(columns: dict[str, list[Any]], role_names: list[str]) -> pd.DataFrame:
    if not columns["time"]:
        return pd.DataFrame(
            {
                "timestamp": pd.Series([], dtype="datetime64[ns, UTC]"),
                "farm": pd.Series([], dtype="int16"),
                "house": pd.Series([], dtype="int16"),
                "role": pd.Categorical([], categories=role_names),
                "value": pd.Series([], dtype="float64"),
            }
        )
    timestamps = _timestamps(np.concatenate(columns["time"]))
    codes = np.concatenate(columns["role"])
    return pd.DataFrame(
        {
            "timestamp": timestamps,
            "farm": np.concatenate(columns["farm"]),
            "house": np.concatenate(columns["house"]),
            "role": pd.Categorical.from_codes(codes, categories=pd.Index(role_names)),
            "value": np.concatenate(columns["value"]),
        }
    )


def _truth(fault: Fault, farms: list[FarmModel], faults: list[Fault], end: datetime) -> FaultTruth:
    alarm_at = None
    if fault.kind in HOUSE_FAULTS and fault.farm is not None and fault.house is not None:
        farm = farms[fault.farm - 1] if 1 <= fault.farm <= len(farms) else None
        house = farm.house(fault.house) if farm else None
        if farm is not None and house is not None and fault.onset < end:
            until = min(fault.end, end) if fault.end else end
            alarm_at = model.alarm_times(farm, house, fault.onset, until, faults)
    return FaultTruth(
        farm=fault.farm,
        house=fault.house,
        kind=fault.kind,
        start=fault.onset,
        end=fault.end,
        failure_at=fault.start,
        alarm_at=alarm_at,
        params=dict(fault.params),
    )
