"""Publish house results through the integration's `rotem_farm.report_analysis` service.

We never write `/api/states` (entities without unique ids, lost on restart): the integration owns
the anomaly entities and we only report to it (docs/CONTRACTS.md §4). To keep HA's state machine
and recorder quiet, a house is reported when its result changed noticeably or when it was last
reported `publish_every` intervals ago; `interval` in the call tells the integration how long
our silence may last (it marks entities unavailable after three of them). All due houses go in
one call per tick: HA refusing it (400 while HA starts or the integration is not loaded, 500
when the integration fails) is an outage for the loop, which keeps the results and sends them
with the next tick's call, never one call per house. The loop only reports houses of farms the
integration has loaded (`discovery.House.loaded`), so one unloaded farm blocks no other.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

DOMAIN = "rotem_farm"
SERVICE = "report_analysis"
SUBSYSTEMS = ("none", "heating", "ventilation", "water", "feed", "sensor", "controller_link")
# Score changes smaller than this (percentage points) do not trigger a report on their own.
SCORE_CHANGE = 1.0


class ServiceClient(Protocol):
    """The part of the HA client the publisher needs."""

    async def call_service(self, domain: str, service: str, data: Mapping[str, Any]) -> Any:
        """Call one HA service over REST."""


class InvalidResultError(ValueError):
    """A detector result that cannot be reported honestly (non-finite score, bad subsystem)."""


def _percent(name: str, value: Any) -> float:
    number = float(value)
    if not math.isfinite(number):
        raise InvalidResultError(f"{name} is not a finite number")
    return round(min(100.0, max(0.0, number)), 1)


def _optional_number(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return round(number, 3) if math.isfinite(number) else None


def build_report(device_id: str, result: Any) -> dict[str, Any]:
    """A CONTRACTS §4 report item from a detector `HouseResult` (optional fields only if known)."""
    subsystem = str(result.subsystem)
    if subsystem not in SUBSYSTEMS:
        raise InvalidResultError(f"subsystem '{subsystem}' is not one of {', '.join(SUBSYSTEMS)}")
    report: dict[str, Any] = {
        "device_id": device_id,
        "anomaly": bool(result.anomaly),
        "anomaly_score": _percent("anomaly_score", result.anomaly_score),
        "failure_risk": _percent("failure_risk", result.failure_risk),
        "subsystem": subsystem,
        "explanation": str(result.explanation or ""),
    }
    if getattr(result, "signal", None):
        report["signal"] = str(result.signal)
    for name in ("expected", "actual", "time_to_failure_hours"):
        number = _optional_number(getattr(result, name, None))
        if number is not None:
            report[name] = number
    since = getattr(result, "since", None)
    if isinstance(since, datetime):
        report["since"] = since.isoformat()
    watched = getattr(result, "watched", None)
    if watched is not None:
        report["watched"] = [str(name) for name in watched]
    not_watched = getattr(result, "not_watched", None)
    if not_watched is not None:
        report["not_watched"] = {str(name): str(why) for name, why in not_watched.items()}
    return report


def changed(previous: Mapping[str, Any] | None, current: Mapping[str, Any]) -> bool:
    """Whether a report differs from the last one sent in a way a user would notice."""
    if previous is None:
        return True
    for key in ("anomaly", "subsystem", "signal", "since", "explanation"):
        if previous.get(key) != current.get(key):
            return True
    return any(
        abs(float(previous[key]) - float(current[key])) >= SCORE_CHANGE
        for key in ("anomaly_score", "failure_risk")
    )


@dataclass
class _Sent:
    report: dict[str, Any]
    tick: int


class Publisher:
    """Decides which reports to send and sends them in one service call."""

    def __init__(self, client: ServiceClient, interval_seconds: int, publish_every: int) -> None:
        self._client = client
        self._interval_seconds = interval_seconds
        self._publish_every = publish_every
        self._sent: dict[str, _Sent] = {}
        self.calls = 0

    @property
    def report_interval(self) -> int:
        """The `interval` we announce: the longest silence of a healthy analyzer."""
        return self._interval_seconds * self._publish_every

    def due(self, reports: Mapping[str, dict[str, Any]], tick: int) -> dict[str, dict[str, Any]]:
        """The reports (by device id) that changed or whose keep-alive is due at this tick."""
        selected = {}
        for device_id, report in reports.items():
            sent = self._sent.get(device_id)
            if (
                sent is None
                or changed(sent.report, report)
                or tick - sent.tick >= self._publish_every
            ):
                selected[device_id] = report
        return selected

    def sent_devices(self) -> set[str]:
        """The devices that have been sent a report (and not forgotten)."""
        return set(self._sent)

    def forget(self, device_ids: set[str]) -> None:
        """Drop memory of houses that no longer exist."""
        for device_id in set(self._sent) - device_ids:
            del self._sent[device_id]

    async def publish(self, reports: Mapping[str, dict[str, Any]], tick: int) -> int:
        """Send the due reports in one call; return how many were sent.

        Every error propagates (connection, auth, HA refusing the call): nothing is marked sent,
        so the loop's next call carries these reports again.
        """
        batch = self.due(reports, tick)
        if not batch:
            return 0
        await self._send(list(batch.values()))
        for device_id, report in batch.items():
            self._sent[device_id] = _Sent(report, tick)
        return len(batch)

    async def _send(self, reports: list[dict[str, Any]]) -> None:
        self.calls += 1
        await self._client.call_service(
            DOMAIN, SERVICE, {"reports": reports, "interval": self.report_interval}
        )
