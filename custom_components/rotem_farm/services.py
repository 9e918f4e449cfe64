"""Services of Rotem Farm: flock start/end on manual farms, analysis reports from the analyzer.

Registered once in ``async_setup`` (not per entry), so automations and the analyzer see them
even while an entry is reloading; each call finds its farm through the device or entry it names
and fails with a translated message when that is not a loaded Rotem Farm house.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, Final

import voluptuous as vol
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant, ServiceCall, callback
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import device_registry as dr
from homeassistant.util import dt as dt_util

from .analysis import AnalysisReport
from .const import (
    DEFAULT_UPDATE_INTERVAL,
    DOMAIN,
    MAX_ANALYSIS_INTERVAL_SECONDS,
    SERVICE_END_FLOCK,
    SERVICE_REPORT_ANALYSIS,
    SERVICE_START_FLOCK,
    SUBSYSTEMS,
)

if TYPE_CHECKING:
    from .data import RotemFarmConfigEntry
    from .manual import ManualFarm

ATTR_DEVICE_ID: Final = "device_id"
ATTR_CONFIG_ENTRY_ID: Final = "config_entry_id"
ATTR_HOUSE: Final = "house"
ATTR_PLACEMENT_DATE: Final = "placement_date"
ATTR_BIRD_COUNT: Final = "bird_count"
ATTR_REPORTS: Final = "reports"
ATTR_INTERVAL: Final = "interval"


def _finite_float(value: Any) -> float:
    """A number the entities can show; NaN and infinities are schema errors, not states."""
    number = vol.Coerce(float)(value)
    if not math.isfinite(number):
        raise vol.Invalid("must be a finite number")
    return float(number)


_PERCENT = vol.All(_finite_float, vol.Range(min=0, max=100))

REPORT_SCHEMA: Final = vol.Schema(
    {
        vol.Required(ATTR_DEVICE_ID): cv.string,
        vol.Required("anomaly"): cv.boolean,
        vol.Required("anomaly_score"): _PERCENT,
        vol.Required("failure_risk"): _PERCENT,
        vol.Required("subsystem"): vol.In(SUBSYSTEMS),
        vol.Optional("explanation"): cv.string,
        vol.Optional("signal"): cv.string,
        vol.Optional("expected"): _finite_float,
        vol.Optional("actual"): _finite_float,
        vol.Optional("since"): cv.datetime,
        vol.Optional("time_to_failure_hours"): vol.All(_finite_float, vol.Range(min=0)),
        vol.Optional("watched"): [cv.string],
        vol.Optional("not_watched"): {cv.string: cv.string},
    }
)

REPORT_ANALYSIS_SCHEMA: Final = vol.Schema(
    {
        vol.Required(ATTR_REPORTS): vol.All(cv.ensure_list, vol.Length(min=1), [REPORT_SCHEMA]),
        vol.Optional(ATTR_INTERVAL, default=DEFAULT_UPDATE_INTERVAL.total_seconds()): vol.All(
            _finite_float, vol.Range(min=1, max=MAX_ANALYSIS_INTERVAL_SECONDS)
        ),
    }
)

_HOUSE_TARGET: Final = {
    vol.Exclusive(ATTR_DEVICE_ID, "house"): cv.string,
    vol.Exclusive(ATTR_CONFIG_ENTRY_ID, "house"): cv.string,
    vol.Optional(ATTR_HOUSE): vol.All(vol.Coerce(int), vol.Range(min=1)),
}


def _needs_house_with_entry(data: dict[str, Any]) -> dict[str, Any]:
    """Name a house either by its device, or by its farm's entry and its number."""
    if ATTR_DEVICE_ID in data:
        return data
    if ATTR_CONFIG_ENTRY_ID in data and ATTR_HOUSE in data:
        return data
    raise vol.Invalid("give device_id, or config_entry_id together with house")


START_FLOCK_SCHEMA: Final = vol.All(
    vol.Schema(
        {
            **_HOUSE_TARGET,
            vol.Optional(ATTR_PLACEMENT_DATE): cv.date,
            vol.Optional(ATTR_BIRD_COUNT): vol.All(vol.Coerce(int), vol.Range(min=0)),
        }
    ),
    _needs_house_with_entry,
)
END_FLOCK_SCHEMA: Final = vol.All(vol.Schema(_HOUSE_TARGET), _needs_house_with_entry)


def _loaded_entry(hass: HomeAssistant, entry_id: str) -> RotemFarmConfigEntry | None:
    entry = hass.config_entries.async_get_entry(entry_id)
    if entry is None or entry.domain != DOMAIN or entry.state is not ConfigEntryState.LOADED:
        return None
    return entry


def _config_entry_ids(device: Any) -> set[str]:
    """The entries a device belongs to, on every supported HA.

    From HA 2026.8 a device belongs to exactly one entry (``config_entry_id``) and reading the
    old ``config_entries`` set is reported as deprecated; before, only the set exists.
    """
    if isinstance(entry_id := getattr(device, "config_entry_id", None), str):
        return {entry_id}
    return set(device.config_entries)


def _house_of_device(
    hass: HomeAssistant, device_id: str
) -> tuple[RotemFarmConfigEntry, int] | None:
    """The loaded entry and house number behind a house device id (None if it is not one)."""
    device = dr.async_get(hass).async_get(device_id)
    if device is None:
        return None
    for entry_id in _config_entry_ids(device):
        if (entry := _loaded_entry(hass, entry_id)) is None:
            continue
        for domain, identifier in device.identifiers:
            farm_id, separator, house = identifier.rpartition("_")
            if (
                domain == DOMAIN
                and separator
                and farm_id == entry.runtime_data.farm_id
                and house.isdigit()
            ):
                return entry, int(house)
    return None


def _unknown_device(device_id: str) -> ServiceValidationError:
    return ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key="unknown_house_device",
        translation_placeholders={"device_id": device_id},
    )


def _manual_house(hass: HomeAssistant, data: dict[str, Any]) -> tuple[ManualFarm, int]:
    """The manual farm and house a flock service names, or a translated error."""
    if ATTR_DEVICE_ID in data:
        if (found := _house_of_device(hass, data[ATTR_DEVICE_ID])) is None:
            raise _unknown_device(data[ATTR_DEVICE_ID])
        entry, house_number = found
    else:
        if (loaded := _loaded_entry(hass, data[ATTR_CONFIG_ENTRY_ID])) is None:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="unknown_config_entry",
                translation_placeholders={"config_entry_id": data[ATTR_CONFIG_ENTRY_ID]},
            )
        entry, house_number = loaded, data[ATTR_HOUSE]
    manual = entry.runtime_data.manual
    if manual is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="not_manual_farm",
            translation_placeholders={"farm": entry.title},
        )
    if house_number not in manual.house_numbers:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="unknown_house",
            translation_placeholders={"farm": entry.title, "house": str(house_number)},
        )
    return manual, house_number


@callback
def _async_start_flock(call: ServiceCall) -> None:
    manual, house_number = _manual_house(call.hass, call.data)
    placement: date | None = call.data.get(ATTR_PLACEMENT_DATE)
    manual.async_start_flock(house_number, placement, call.data.get(ATTR_BIRD_COUNT))


@callback
def _async_end_flock(call: ServiceCall) -> None:
    manual, house_number = _manual_house(call.hass, call.data)
    manual.async_end_flock(house_number)


@callback
def _async_report_analysis(call: ServiceCall) -> None:
    """Validate every report's device first, then apply all: a bad call changes nothing."""
    received = dt_util.utcnow()
    interval = timedelta(seconds=call.data[ATTR_INTERVAL])
    by_entry: dict[str, tuple[RotemFarmConfigEntry, dict[int, AnalysisReport]]] = {}
    for item in call.data[ATTR_REPORTS]:
        if (found := _house_of_device(call.hass, item[ATTR_DEVICE_ID])) is None:
            raise _unknown_device(item[ATTR_DEVICE_ID])
        entry, house_number = found
        since = item.get("since")
        report = AnalysisReport(
            anomaly=item["anomaly"],
            anomaly_score=item["anomaly_score"],
            failure_risk=item["failure_risk"],
            subsystem=item["subsystem"],
            explanation=item.get("explanation"),
            signal=item.get("signal"),
            expected=item.get("expected"),
            actual=item.get("actual"),
            since=dt_util.as_utc(since) if since else None,
            time_to_failure_hours=item.get("time_to_failure_hours"),
            received=received,
            interval=interval,
            watched=tuple(item["watched"]) if "watched" in item else None,
            not_watched=item.get("not_watched"),
        )
        by_entry.setdefault(entry.entry_id, (entry, {}))[1][house_number] = report
    for entry, reports in by_entry.values():
        entry.runtime_data.analysis.async_apply(reports)


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the integration's services (once, from async_setup)."""
    hass.services.async_register(
        DOMAIN, SERVICE_START_FLOCK, _async_start_flock, schema=START_FLOCK_SCHEMA
    )
    hass.services.async_register(
        DOMAIN, SERVICE_END_FLOCK, _async_end_flock, schema=END_FLOCK_SCHEMA
    )
    hass.services.async_register(
        DOMAIN, SERVICE_REPORT_ANALYSIS, _async_report_analysis, schema=REPORT_ANALYSIS_SCHEMA
    )
