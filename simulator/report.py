"""What the cloud reports about a house at one moment, in the farm's units.

The wire layer formats these numbers as RotemNetWeb strings; ``/_sim/truth`` returns them
as plain numbers. Both come from here so the truth is exactly what the client should parse.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import numpy as np

from . import model
from .model import FarmModel, FloatArray, HouseModel
from .scenario import Fault

_TEMPERATURE_ROLES = frozenset(
    {
        "temperature",
        "set_temperature",
        "outside_temperature",
        "tunnel_temperature",
        "wind_chill_temperature",
        "true_temperature",
    }
)
_CFM_PER_M3H = 0.588578
_GALLONS_PER_LITRE = 0.264172
_POUNDS_PER_KG = 2.204623


def convert(role: str, value: float, units: str) -> float:
    """A metric model value in the farm's units (imperial: °F, lb, CFM, gal)."""
    if units != "imperial" or math.isnan(value):
        return value
    if role in _TEMPERATURE_ROLES or role.startswith("probe_temperature_"):
        return value * 9.0 / 5.0 + 32.0
    if role == "air_flow":
        return value * _CFM_PER_M3H
    if role in {"water_daily", "water_rate"}:
        return value * _GALLONS_PER_LITRE
    if role in {"feed_daily", "feed_rate", "average_weight"}:
        return value * _POUNDS_PER_KG
    return value


@dataclass(frozen=True, slots=True)
class HouseReport:
    """One house as the cloud shows it (farm units; NaN = the controller reports nothing)."""

    farm: int
    house: int
    shown_at: datetime
    """The moment whose values are shown (earlier than now while the controller is off line)."""
    connection: int
    alarm: bool
    controller_time: str
    values: dict[str, float] = field(default_factory=dict)
    last_24h_average: tuple[float, ...] = ()
    """Hourly average temperatures, newest first (CommandID 0 ``HistoryTemp``)."""
    last_24h_target: tuple[float, ...] = ()


def house_report(
    farm: FarmModel, house: HouseModel, when: datetime, faults: Sequence[Fault]
) -> HouseReport:
    """Evaluate one house for an answer of the cloud at ``when``."""
    return house_reports(farm, [house], when, faults)[0]


def house_reports(
    farm: FarmModel, houses: Sequence[HouseModel], when: datetime, faults: Sequence[Fault]
) -> list[HouseReport]:
    """Evaluate houses of one farm for an answer of the cloud at ``when``.

    One model pass covers, for every house showing the same moment, that moment, the last 24
    hours (hourly), the alarm window and today's integration grid: small passes cost mostly
    numpy call overhead, so batching them keeps a 50-farm benchmark fast.
    """
    now = np.array([model.epoch(when)])
    groups: dict[float, list[tuple[int, HouseModel, int]]] = {}
    for position, house in enumerate(houses):
        shown, status = model.reported_times(farm, house, now, faults)
        groups.setdefault(float(shown[0]), []).append((position, house, int(status[0])))
    reports: list[HouseReport | None] = [None] * len(houses)
    for shown_seconds, members in groups.items():
        group = [house for _, house, _ in members]
        for (position, _, link), report in zip(
            members, _reports_at(farm, group, shown_seconds, faults), strict=True
        ):
            reports[position] = replace(report, connection=link)
    return [report for report in reports if report is not None]


def _reports_at(
    farm: FarmModel, houses: list[HouseModel], shown_seconds: float, faults: Sequence[Fault]
) -> list[HouseReport]:
    shown = np.array([shown_seconds])
    shown_at = datetime.fromtimestamp(shown_seconds, UTC)
    hours = shown_seconds - 3600.0 * np.arange(24, dtype=np.float64)
    alarm_window = shown_seconds - 60.0 * np.arange(int(model.ALARM_SECONDS // 60) + 1)
    grid = model.integration_grid(farm, shown)
    times = np.concatenate([shown, hours, alarm_window, grid])
    batch = model.evaluate_houses(farm, houses, times, faults)
    edges = (0, *np.cumsum([1, hours.size, alarm_window.size]).tolist(), times.size)
    units = farm.options.units
    local = shown_at + timedelta(hours=farm.options.utc_offset_hours)
    reports = []
    for row, house in enumerate(houses):

        def part(role: str, index: int, row: int = row) -> FloatArray:
            return batch[role][row, edges[index] : edges[index + 1]]

        on_grid = {role: part(role, 3) for role in ("water_rate", "feed_rate")}
        water, feed = model.daily_totals(farm, house, shown, faults, on_grid)
        values = {
            role: convert(role, float(series[row, 0]), units) for role, series in batch.items()
        }
        values["water_daily"] = convert("water_daily", float(water[0]), units)
        values["feed_daily"] = convert("feed_daily", float(feed[0]), units)
        deviation = np.abs(part("temperature", 2) - part("set_temperature", 2))
        reports.append(
            HouseReport(
                farm=farm.number,
                house=house.number,
                shown_at=shown_at,
                connection=1,
                alarm=bool(np.all(deviation > model.ALARM_DEVIATION)),
                controller_time=f"{local.hour:02d}:{local.minute:02d}",
                values=values,
                last_24h_average=tuple(
                    convert("temperature", float(v), units) for v in part("temperature", 1)
                ),
                last_24h_target=tuple(
                    convert("set_temperature", float(v), units) for v in part("set_temperature", 1)
                ),
            )
        )
    return reports


def truth(report: HouseReport) -> dict[str, object]:
    """JSON-ready truth of a house (NaN becomes null)."""
    values = {
        key: (None if math.isnan(value) else round(value, 3))
        for key, value in sorted(report.values.items())
    }
    return {
        "house": report.house,
        "connection": report.connection,
        "alarm": report.alarm,
        "shown_at": report.shown_at.isoformat(),
        "controller_time": report.controller_time,
        "values": values,
    }
