"""Rotem Farm: poultry houses of Rotem/Munters controllers (RotemNetWeb) or kept by hand.

Setup only wires things together: runtime data, platforms, services. Entity logic lives in the
platform modules, fetching in the coordinator, manual farms in manual.py.
"""

from __future__ import annotations

from typing import Any

from homeassistant import config_entries
from homeassistant.const import CONF_PASSWORD, CONF_USERNAME, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryNotReady
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.aiohttp_client import async_create_clientsession
from homeassistant.helpers.storage import Store
from homeassistant.helpers.typing import ConfigType

from .analysis import AnalysisStore
from .const import (
    CONF_BASE_URL,
    CONF_FARM_KIND,
    DEFAULT_BASE_URL,
    DOMAIN,
    FARM_KIND_MANUAL,
    LEGACY_CONF_UPDATE_INTERVAL,
    LOGGER,
)
from .coordinator import STORAGE_VERSION, RotemFarmCoordinator
from .data import CONF_API_STYLE, DEFAULT_API_STYLE, RotemFarmConfigEntry, RotemFarmData
from .entity import FARM_MODEL, farm_device_info, house_number_of_device, remove_house_devices
from .issues import async_delete_issues, async_update_no_farm_issue
from .manual import ManualFarm, async_remove_manual_store
from .rotemnet import RotemClient
from .services import async_setup_services

ROTEM_PLATFORMS: list[Platform] = [Platform.BINARY_SENSOR, Platform.SENSOR]
MANUAL_PLATFORMS: list[Platform] = [
    Platform.BINARY_SENSOR,
    Platform.BUTTON,
    Platform.DATE,
    Platform.NUMBER,
    Platform.SENSOR,
]

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


def _platforms(entry: RotemFarmConfigEntry) -> list[Platform]:
    if entry.data[CONF_FARM_KIND] == FARM_KIND_MANUAL:
        return MANUAL_PLATFORMS
    return ROTEM_PLATFORMS


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the services once, whatever entries exist (quality rule action-setup)."""
    async_setup_services(hass)
    return True


async def async_migrate_entry(hass: HomeAssistant, entry: RotemFarmConfigEntry) -> bool:
    """Bring an entry stored by an older release up to the current version.

    1.1 -> 1.2: the polling interval option is gone (the interval is fixed); an entry that still
    holds it loses it. An entry from a newer release (major version above 1) is refused, as
    Home Assistant expects, rather than read wrongly.
    """
    if entry.version > 1:
        return False
    if entry.minor_version < 2:
        options = {
            key: value for key, value in entry.options.items() if key != LEGACY_CONF_UPDATE_INTERVAL
        }
        hass.config_entries.async_update_entry(entry, options=options, minor_version=2)
        LOGGER.debug("Migrated %s to version 1.2 (polling interval option removed)", entry.title)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: RotemFarmConfigEntry) -> bool:
    """Build the farm's runtime data and forward its platforms.

    A Rotem farm gets its own aiohttp session (own cookie jar: two accounts never share a
    session cookie) and must answer a first poll, or setup is retried later.
    """
    farm_id = entry.unique_id or entry.entry_id
    analysis = AnalysisStore(hass, entry)
    if entry.data[CONF_FARM_KIND] == FARM_KIND_MANUAL:
        manual = ManualFarm(hass, entry)
        entry.runtime_data = RotemFarmData(
            farm_id=farm_id,
            kind=FARM_KIND_MANUAL,
            coordinator=None,
            manual=manual,
            analysis=analysis,
        )
        await manual.async_setup()
        # Reconfiguring to fewer houses drops the houses above the new count.
        remove_house_devices(hass, entry, keep=manual.house_numbers)
    else:
        client = RotemClient(
            async_create_clientsession(hass),
            entry.data[CONF_USERNAME],
            entry.data[CONF_PASSWORD],
            base_url=entry.data.get(CONF_BASE_URL, DEFAULT_BASE_URL),
            api_style=entry.data.get(CONF_API_STYLE, DEFAULT_API_STYLE),
        )
        coordinator = RotemFarmCoordinator(hass, entry, client)
        try:
            await coordinator.async_config_entry_first_refresh()
        except ConfigEntryNotReady:
            # A failed farm-facts request never reaches the coordinator's own issue update.
            async_update_no_farm_issue(hass, entry, coordinator.last_exception)
            raise
        # The farm device first: every house device points to it (via_device).
        farm_device = dr.async_get(hass).async_get_or_create(
            config_entry_id=entry.entry_id,
            **farm_device_info(
                entry,
                name=entry.title,
                model=FARM_MODEL,
                sw_version=coordinator.data.farm_info.gateway_version,
            ),
        )
        entry.runtime_data = RotemFarmData(
            farm_id=farm_id,
            kind=entry.data[CONF_FARM_KIND],
            coordinator=coordinator,
            manual=None,
            analysis=analysis,
            farm_device_id=farm_device.id,
        )
    await hass.config_entries.async_forward_entry_setups(entry, _platforms(entry))
    if not hasattr(config_entries, "OptionsFlowWithReload"):
        # Before HA 2025.8 the options flow cannot reload by itself.
        entry.async_on_unload(entry.add_update_listener(_async_reload_on_update))
    return True


async def _async_reload_on_update(hass: HomeAssistant, entry: RotemFarmConfigEntry) -> None:
    """Apply new options (history, details, target age, links) by reloading the entry."""
    hass.config_entries.async_schedule_reload(entry.entry_id)


async def async_unload_entry(hass: HomeAssistant, entry: RotemFarmConfigEntry) -> bool:
    """Unload the platforms; the coordinator and session go with the entry."""
    return await hass.config_entries.async_unload_platforms(entry, _platforms(entry))


async def async_remove_entry(hass: HomeAssistant, entry: RotemFarmConfigEntry) -> None:
    """Delete the stored flock dates, daily totals and manual flocks of a removed farm."""
    async_delete_issues(hass, entry)
    if entry.data[CONF_FARM_KIND] == FARM_KIND_MANUAL:
        await async_remove_manual_store(hass, entry)
        return
    await Store[dict[str, Any]](hass, STORAGE_VERSION, f"{DOMAIN}.{entry.entry_id}").async_remove()


async def async_remove_config_entry_device(
    hass: HomeAssistant, entry: RotemFarmConfigEntry, device: dr.DeviceEntry
) -> bool:
    """Let the user delete a house device the cloud no longer reports, never a current one.

    A missing house waits a day before it is removed by itself; the user who knows it is gone
    need not wait.
    """
    coordinator = entry.runtime_data.coordinator
    if coordinator is None:
        return False
    farm_id = entry.runtime_data.farm_id
    current = {f"{farm_id}_{number}" for number in coordinator.data.site.houses}
    removable = not any(
        domain == DOMAIN and (identifier == farm_id or identifier in current)
        for domain, identifier in device.identifiers
    )
    if removable and (number := house_number_of_device(entry, device)) is not None:
        coordinator.async_forget_house(number)
    return removable
