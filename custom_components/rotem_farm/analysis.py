"""Analysis results of the ML analyzer add-on, published as entities on each house device.

The analyzer posts its findings through ``rotem_farm.report_analysis`` instead of writing states
itself, so the results get unique ids, a device, translations and survive restarts. This module
keeps the latest report per house (``AnalysisStore``) and the entities that show it. The entities
start unknown (no made-up "all clear" before the first analysis), restore the last report across
restarts and go unavailable when reports stop arriving, so a stopped analyzer is visible instead
of leaving a stale verdict on the dashboard.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Self

from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntity,
)
from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import PERCENTAGE, EntityCategory
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import EntityDescription
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.helpers.restore_state import ExtraStoredData, RestoredExtraData, RestoreEntity
from homeassistant.helpers.typing import StateType
from homeassistant.util import dt as dt_util

from .const import ANALYSIS_STALE_INTERVALS, MAX_ANALYSIS_INTERVAL_SECONDS, SUBSYSTEMS
from .entity import house_identifier, rotem_house_device_info

if TYPE_CHECKING:
    from .data import RotemFarmConfigEntry


@dataclass(frozen=True, slots=True)
class AnalysisReport:
    """One house's verdict from one analysis run, plus when it arrived and the run cadence."""

    anomaly: bool
    anomaly_score: float
    failure_risk: float
    subsystem: str
    explanation: str | None
    signal: str | None
    expected: float | None
    actual: float | None
    since: datetime | None
    time_to_failure_hours: float | None
    received: datetime
    interval: timedelta
    watched: tuple[str, ...] | None = None
    """The subsystems the analyzer's evidence sees (None: the analyzer did not say)."""
    not_watched: Mapping[str, str] | None = None
    """Every subsystem it cannot see, with the reason ("no water meter")."""

    @property
    def stale_at(self) -> datetime:
        """When the verdict stops being trusted because no newer report followed it."""
        return self.received + self.interval * ANALYSIS_STALE_INTERVALS

    def as_dict(self) -> dict[str, Any]:
        """Serialise for the restore cache (JSON-safe)."""
        return {
            "anomaly": self.anomaly,
            "anomaly_score": self.anomaly_score,
            "failure_risk": self.failure_risk,
            "subsystem": self.subsystem,
            "explanation": self.explanation,
            "signal": self.signal,
            "expected": self.expected,
            "actual": self.actual,
            "since": self.since.isoformat() if self.since else None,
            "time_to_failure_hours": self.time_to_failure_hours,
            "received": self.received.isoformat(),
            "interval": self.interval.total_seconds(),
            "watched": None if self.watched is None else list(self.watched),
            "not_watched": None if self.not_watched is None else dict(self.not_watched),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self | None:
        """Rebuild a restored report; a damaged or foreign cache entry gives None, not a guess."""
        try:
            received = dt_util.parse_datetime(data["received"])
            if received is None:
                return None
            since_text = data.get("since")
            since = dt_util.parse_datetime(since_text) if since_text else None
            subsystem = str(data["subsystem"])
            report = cls(
                anomaly=_strict_bool(data["anomaly"]),
                anomaly_score=_percent(data["anomaly_score"]),
                failure_risk=_percent(data["failure_risk"]),
                subsystem=subsystem,
                explanation=_optional_str(data.get("explanation")),
                signal=_optional_str(data.get("signal")),
                expected=_optional_float(data.get("expected")),
                actual=_optional_float(data.get("actual")),
                since=since,
                time_to_failure_hours=_optional_float(data.get("time_to_failure_hours")),
                received=received,
                interval=timedelta(seconds=_interval_seconds(data["interval"])),
                watched=_optional_names(data.get("watched")),
                not_watched=_optional_reasons(data.get("not_watched")),
            )
        except (KeyError, TypeError, ValueError, OverflowError):
            return None
        if subsystem not in SUBSYSTEMS or report.interval <= timedelta(0):
            return None
        if report.time_to_failure_hours is not None and report.time_to_failure_hours < 0:
            return None
        return report


def _optional_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _optional_names(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise TypeError("not a list")
    return tuple(str(name) for name in value)


def _optional_reasons(value: Any) -> dict[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise TypeError("not a mapping")
    return {str(name): str(reason) for name, reason in value.items()}


def _strict_bool(value: Any) -> bool:
    """A stored verdict is a JSON boolean; ``"garbled"`` must not read as True."""
    if not isinstance(value, bool):
        raise TypeError("not a boolean")
    return value


def _finite(value: Any) -> float:
    """A stored number as the service accepted it: finite (NaN and inf never come back)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise TypeError("not a number")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError("not a finite number")
    return number


def _percent(value: Any) -> float:
    """A stored score or risk within the service's 0-100 range."""
    number = _finite(value)
    if not 0 <= number <= 100:
        raise ValueError("not a percentage")
    return number


def _interval_seconds(value: Any) -> float:
    """A stored interval within the service's bounds (a day at most: no calendar overflow)."""
    number = _finite(value)
    if not 1 <= number <= MAX_ANALYSIS_INTERVAL_SECONDS:
        raise ValueError("interval out of range")
    return number


def _optional_float(value: Any) -> float | None:
    return None if value is None else _finite(value)


class AnalysisStore:
    """Latest report per house of one farm, shared by that house's analysis entities.

    One store per config entry (``entry.runtime_data.analysis``); the service writes into it and
    the entities listen, so a report for several houses lands in one step.
    """

    def __init__(self, hass: HomeAssistant, entry: RotemFarmConfigEntry) -> None:
        """Start empty: nothing is known until a report arrives or an entity restores one."""
        self.hass = hass
        self.entry = entry
        self._reports: dict[int, AnalysisReport] = {}
        self._listeners: dict[int, list[Callable[[], None]]] = {}

    def latest(self, house_number: int) -> AnalysisReport | None:
        """The newest report of a house, or None when no analysis has reached it yet."""
        return self._reports.get(house_number)

    @callback
    def async_apply(self, reports: Mapping[int, AnalysisReport]) -> None:
        """Take a service call's reports (already validated as a whole) and tell the entities."""
        self._reports.update(reports)
        for house_number in reports:
            self._notify(house_number)

    @callback
    def async_restore(self, house_number: int, report: AnalysisReport) -> None:
        """Offer a report from the restore cache; an older one never replaces a newer one."""
        current = self._reports.get(house_number)
        if current is not None and current.received >= report.received:
            return
        self._reports[house_number] = report
        self._notify(house_number)

    @callback
    def async_add_listener(
        self, house_number: int, update_callback: Callable[[], None]
    ) -> CALLBACK_TYPE:
        """Call ``update_callback`` whenever the house's report changes; returns the remover."""
        listeners = self._listeners.setdefault(house_number, [])
        listeners.append(update_callback)

        @callback
        def remove_listener() -> None:
            listeners.remove(update_callback)

        return remove_listener

    def _notify(self, house_number: int) -> None:
        for update_callback in list(self._listeners.get(house_number, ())):
            update_callback()


def _house_device(entry: RotemFarmConfigEntry, house_number: int) -> DeviceInfo:
    """Describe the house device exactly as the farm's own entities do.

    The entity id is derived from the device name at registration, and the analysis entities
    may be registered first, so they must carry the full description, not a bare link.
    """
    data = entry.runtime_data
    if data.manual is not None:
        return data.manual.house_device_info(house_number)
    if data.coordinator is not None and (
        house := data.coordinator.data.site.houses.get(house_number)
    ):
        return rotem_house_device_info(entry, house_number, house)
    return DeviceInfo(identifiers={house_identifier(data.farm_id, house_number)})


class AnalysisEntity(RestoreEntity):
    """Shared behaviour: unique id and device per §3, restore, staleness."""

    _attr_has_entity_name = True
    _attr_should_poll = False
    # The timestamp of the last report stays true when reports stop; everything else goes stale.
    _goes_stale = True

    def __init__(
        self,
        entry: RotemFarmConfigEntry,
        house_number: int,
        description: EntityDescription,
    ) -> None:
        """Attach to the house device of ``entry`` with the description's key as role."""
        self.entity_description = description
        farm_id = entry.runtime_data.farm_id
        self._store: AnalysisStore = entry.runtime_data.analysis
        self._house_number = house_number
        self._attr_unique_id = f"{farm_id}_{house_number}_{description.key}"
        self._attr_device_info = _house_device(entry, house_number)
        self._cancel_stale_check: CALLBACK_TYPE | None = None

    @property
    def report(self) -> AnalysisReport | None:
        """The house's current report, shared with its sibling entities."""
        return self._store.latest(self._house_number)

    @property
    def available(self) -> bool:
        """Unknown (no report) is available; a report older than its stale limit is not."""
        report = self.report
        if report is None or not self._goes_stale:
            return True
        return dt_util.utcnow() < report.stale_at

    @property
    def extra_restore_state_data(self) -> ExtraStoredData | None:
        """Keep the whole report so every field comes back after a restart."""
        report = self.report
        return RestoredExtraData(report.as_dict()) if report else None

    async def async_added_to_hass(self) -> None:
        """Restore the last report, then follow the store and watch for staleness."""
        await super().async_added_to_hass()
        extra = await self.async_get_last_extra_data()
        if extra is not None and (restored := AnalysisReport.from_dict(extra.as_dict())):
            self._store.async_restore(self._house_number, restored)
        self.async_on_remove(
            self._store.async_add_listener(self._house_number, self._handle_report)
        )
        self.async_on_remove(self._stop_stale_check)
        self._schedule_stale_check()

    @callback
    def _handle_report(self) -> None:
        self._schedule_stale_check()
        self.async_write_ha_state()

    @callback
    def _schedule_stale_check(self) -> None:
        """Wake up when the report expires, so 'unavailable' shows without any other event."""
        self._stop_stale_check()
        report = self.report
        if report is None or not self._goes_stale or report.stale_at <= dt_util.utcnow():
            return
        self._cancel_stale_check = async_track_point_in_utc_time(
            self.hass, self._handle_stale, report.stale_at
        )

    @callback
    def _handle_stale(self, _now: datetime) -> None:
        self._cancel_stale_check = None
        self.async_write_ha_state()

    @callback
    def _stop_stale_check(self) -> None:
        if self._cancel_stale_check is not None:
            self._cancel_stale_check()
            self._cancel_stale_check = None


@dataclass(frozen=True, kw_only=True)
class AnalysisSensorEntityDescription(SensorEntityDescription):
    """How one analysis sensor reads its value and attributes from a report."""

    value_fn: Callable[[AnalysisReport], StateType | datetime]
    attributes_fn: Callable[[AnalysisReport], dict[str, Any]] | None = None
    goes_stale: bool = True


SENSOR_DESCRIPTIONS: tuple[AnalysisSensorEntityDescription, ...] = (
    AnalysisSensorEntityDescription(
        key="anomaly_score",
        translation_key="anomaly_score",
        native_unit_of_measurement=PERCENTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=0,
        value_fn=lambda report: report.anomaly_score,
    ),
    AnalysisSensorEntityDescription(
        key="failure_risk",
        translation_key="failure_risk",
        native_unit_of_measurement=PERCENTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=0,
        value_fn=lambda report: report.failure_risk,
        attributes_fn=lambda report: {
            "time_to_failure_hours": report.time_to_failure_hours,
            "explanation": report.explanation,
        },
    ),
    AnalysisSensorEntityDescription(
        key="failure_subsystem",
        translation_key="failure_subsystem",
        device_class=SensorDeviceClass.ENUM,
        options=list(SUBSYSTEMS),
        value_fn=lambda report: report.subsystem,
    ),
    AnalysisSensorEntityDescription(
        key="last_analysis",
        translation_key="last_analysis",
        device_class=SensorDeviceClass.TIMESTAMP,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda report: report.received,
        goes_stale=False,
    ),
)


class AnalysisSensor(AnalysisEntity, SensorEntity):
    """A numeric, enum or timestamp view of the house's latest report."""

    entity_description: AnalysisSensorEntityDescription

    def __init__(
        self,
        entry: RotemFarmConfigEntry,
        house_number: int,
        description: AnalysisSensorEntityDescription,
    ) -> None:
        """Bind the description; whether it goes stale is part of the description."""
        super().__init__(entry, house_number, description)
        self._goes_stale = description.goes_stale

    @property
    def native_value(self) -> StateType | datetime:
        """None (unknown) until the first report."""
        report = self.report
        return None if report is None else self.entity_description.value_fn(report)

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """Context for the value (explanation, time to failure) when the sensor has one."""
        report = self.report
        if report is None or self.entity_description.attributes_fn is None:
            return None
        return self.entity_description.attributes_fn(report)


ANOMALY_DESCRIPTION = EntityDescription(key="anomaly", translation_key="anomaly")


class AnomalyBinarySensor(AnalysisEntity, BinarySensorEntity):
    """On when the analyzer finds the house behaving abnormally; says why in its attributes."""

    _attr_device_class = BinarySensorDeviceClass.PROBLEM

    @property
    def is_on(self) -> bool | None:
        """None (unknown) until the first report."""
        report = self.report
        return None if report is None else report.anomaly

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """The evidence: which signal, what was expected, what was measured, since when."""
        report = self.report
        if report is None:
            return None
        coverage: dict[str, Any] = {}
        if report.watched is not None:
            coverage["watched"] = list(report.watched)
        if report.not_watched is not None:
            coverage["not_watched"] = dict(report.not_watched)
        return {
            **coverage,
            "explanation": report.explanation,
            "signal": report.signal,
            "expected": report.expected,
            "actual": report.actual,
            "since": report.since.isoformat() if report.since else None,
        }


def analysis_sensors(entry: RotemFarmConfigEntry, house_number: int) -> list[SensorEntity]:
    """The analysis sensors of one house, for the sensor platform (Rotem and manual farms)."""
    return [AnalysisSensor(entry, house_number, description) for description in SENSOR_DESCRIPTIONS]


def analysis_binary_sensors(
    entry: RotemFarmConfigEntry, house_number: int
) -> list[BinarySensorEntity]:
    """The anomaly binary sensor of one house, for the binary sensor platform."""
    return [AnomalyBinarySensor(entry, house_number, ANOMALY_DESCRIPTION)]
