"""A Home Assistant test instance shaped like the rotem_farm integration (CONTRACTS.md §3, §4).

The analyzer only sees the integration through HA's registries, states and the
`rotem_farm.report_analysis` service, so these helpers create exactly that: house devices with
the contract identifiers, entities whose unique ids end in the role key, states with units, and
a `report_analysis` stand-in that validates device ids the way the contract says (a device that
is not a rotem_farm house refuses the whole call) and records what it accepted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

DOMAIN = "rotem_farm"
UNITS = {
    "temperature": "°C",
    "set_temperature": "°C",
    "outside_temperature": "°C",
    "humidity": "%",
    "heaters_running": None,
    "water_daily": "L",
    "anomaly_score": "%",
}


@dataclass
class FakeFarm:
    """The registry objects of one farm, and the reports the service accepted."""

    hass: HomeAssistant
    entry: MockConfigEntry
    farm_id: str
    house_devices: dict[int, str] = field(default_factory=dict)
    reports: list[dict[str, Any]] = field(default_factory=list)

    def add_house(self, number: int, roles: dict[str, str | None] | None = None) -> str:
        """Create a house device with its entities and current states; returns its device id."""
        devices = dr.async_get(self.hass)
        entities = er.async_get(self.hass)
        identifier = f"{self.farm_id}_{number}"
        device = devices.async_get_or_create(
            config_entry_id=self.entry.entry_id,
            identifiers={(DOMAIN, identifier)},
            name=f"House {number}",
            via_device=(DOMAIN, self.farm_id),
        )
        for role, unit in (roles or UNITS).items():
            platform = "binary_sensor" if role in ("alarm", "connection", "anomaly") else "sensor"
            entry = entities.async_get_or_create(
                platform,
                DOMAIN,
                f"{identifier}_{role}",
                suggested_object_id=f"{self.farm_id.lower()}_house_{number}_{role}",
                config_entry=self.entry,
                device_id=device.id,
            )
            attributes = {"unit_of_measurement": unit} if unit else {}
            self.hass.states.async_set(entry.entity_id, "21.5", attributes)
        self.house_devices[number] = device.id
        return device.id


async def setup_fake_farm(
    hass: HomeAssistant, farm_id: str = "GW1", *, service: bool = True
) -> FakeFarm:
    """A config entry, the farm device and (unless `service` is False: HA still starting) the
    report_analysis stand-in (`register_report_analysis`)."""
    entry = MockConfigEntry(domain=DOMAIN, title=f"Farm {farm_id}", unique_id=farm_id)
    entry.add_to_hass(hass)
    # The analyzer only reports houses of loaded farms (config_entries/get), as the real
    # service only accepts those.
    entry.mock_state(hass, ConfigEntryState.LOADED)
    dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id, identifiers={(DOMAIN, farm_id)}, name=f"Farm {farm_id}"
    )
    farm = FakeFarm(hass=hass, entry=entry, farm_id=farm_id)
    if service:
        register_report_analysis(farm)
    return farm


def register_report_analysis(farm: FakeFarm) -> None:
    """The service stand-in: refuses a call naming any device that is not a house."""
    hass = farm.hass

    async def report_analysis(call: ServiceCall) -> None:
        devices = dr.async_get(hass)
        for report in call.data["reports"]:
            device = devices.async_get(report["device_id"])
            if device is None or not any(
                domain == DOMAIN and "_" in identifier for domain, identifier in device.identifiers
            ):
                raise ServiceValidationError(f"{report['device_id']} is not a rotem_farm house")
        farm.reports.append(dict(call.data))

    if not hass.services.has_service(DOMAIN, "report_analysis"):
        hass.services.async_register(DOMAIN, "report_analysis", report_analysis)
