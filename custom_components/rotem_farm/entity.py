"""Base entity and device info shared by every platform of Rotem Farm.

Rotem and manual farms share the device layout (one farm device, one device per house linked
to it) and the unique-id scheme of docs/CONTRACTS.md §3, so the analyzer finds a signal's role
from its unique id whatever the farm's kind.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from typing import TYPE_CHECKING, Final, cast

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import Entity

from .const import DOMAIN, FARM_KIND_ROTEM
from .coordinator import RotemFarmCoordinator, ShownReader, ShownState
from .data import RotemFarmData

if TYPE_CHECKING:
    from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

    from .data import RotemFarmConfigEntry
    from .rotemnet import House

MANUFACTURER_ROTEM = "Munters (Rotem)"
FARM_MODEL = "RotemNetWeb farm"

# HA 2026.8 links a device to its parent by registry id (``via_device_id``) and deprecates the
# identifier link (``via_device``, removed in 2027.8); 2025.4 knows only the identifier link.
VIA_DEVICE_ID: Final = "via_device_id" in DeviceInfo.__annotations__


def _farm_id(entry_or_data: RotemFarmConfigEntry | RotemFarmData | ConfigEntry) -> str:
    """Return the farm id; an entry's unique id is the farm id for both kinds of farm."""
    if isinstance(entry_or_data, RotemFarmData):
        return entry_or_data.farm_id
    unique_id = entry_or_data.unique_id
    if unique_id is None:  # pragma: no cover - every entry we create has one
        raise ValueError("a Rotem Farm config entry without unique id")
    return unique_id


def entity_unique_id(farm_id: str, house_number: int | None, key: str) -> str:
    """Return ``<farm_id>_<house>_<key>`` for a house, ``<farm_id>_<key>`` for the farm."""
    if house_number is None:
        return f"{farm_id}_{key}"
    return f"{farm_id}_{house_number}_{key}"


def house_identifier(farm_id: str, house_number: int) -> tuple[str, str]:
    """Return the device registry identifier of a house."""
    return (DOMAIN, f"{farm_id}_{house_number}")


def find_device(
    hass: HomeAssistant, identifier: tuple[str, str], config_entry_id: str
) -> dr.DeviceEntry | None:
    """Return the entry's device with ``identifier``, in the running HA's device model.

    From HA 2026.8 identifiers are unique only within a config entry and the old lookup by
    identifiers alone is refused; before, only that lookup exists.
    """
    registry = dr.async_get(hass)
    by_identifier = getattr(registry, "async_get_device_by_identifier", None)
    if by_identifier is not None:
        device: dr.DeviceEntry | None = by_identifier(identifier, config_entry_id)
        return device
    return registry.async_get_device(identifiers={identifier})


def remove_house_devices(
    hass: HomeAssistant, entry: ConfigEntry, keep: Collection[int]
) -> list[int]:
    """Remove the entry's house devices whose number is not in ``keep``; return those numbers.

    From HA 2026.8 a device belongs to exactly one config entry (``config_entry_id``) and is
    removed outright; before, it could be shared, so only this entry lets go of it. Entities
    of a removed device go with it.
    """
    registry = dr.async_get(hass)
    removed: list[int] = []
    for device in dr.async_entries_for_config_entry(registry, entry.entry_id):
        number = house_number_of_device(entry, device)
        if number is None or number in keep:
            continue
        if hasattr(device, "config_entry_id"):
            registry.async_remove_device(device.id)
        else:
            registry.async_update_device(device.id, remove_config_entry_id=entry.entry_id)
        removed.append(number)
    return removed


def house_number_of_device(
    entry_or_data: RotemFarmConfigEntry | RotemFarmData | ConfigEntry, device: dr.DeviceEntry
) -> int | None:
    """The house number of one of the farm's house devices (None: not a house of this farm)."""
    farm_id = _farm_id(entry_or_data)
    for domain, identifier in device.identifiers:
        suffix = identifier.removeprefix(f"{farm_id}_")
        if domain == DOMAIN and suffix != identifier and suffix.isdigit():
            return int(suffix)
    return None


def registered_house_numbers(hass: HomeAssistant, entry: ConfigEntry) -> set[int]:
    """The houses of the entry that have a device (what the last run of HA knew)."""
    registry = dr.async_get(hass)
    return {
        number
        for device in dr.async_entries_for_config_entry(registry, entry.entry_id)
        if (number := house_number_of_device(entry, device)) is not None
    }


def farm_device_info(
    entry_or_data: RotemFarmConfigEntry | RotemFarmData | ConfigEntry,
    name: str | None = None,
    model: str | None = None,
    sw_version: str | None = None,
) -> DeviceInfo:
    """Return the farm device: the gateway of a Rotem farm, the farm itself when manual."""
    info = DeviceInfo(identifiers={(DOMAIN, _farm_id(entry_or_data))})
    if name is not None:
        info["name"] = name
    if model is not None:
        info["model"] = model
    if sw_version is not None:
        info["sw_version"] = sw_version
    if _is_rotem(entry_or_data):
        info["manufacturer"] = MANUFACTURER_ROTEM
    return info


def house_device_info(
    entry_or_data: RotemFarmConfigEntry | RotemFarmData | ConfigEntry,
    house_number: int,
    name: str,
    model: str | None = None,
    sw_version: str | None = None,
) -> DeviceInfo:
    """Return a house device, linked to its farm device so the farm groups its houses.

    The link is the farm device's registry id where the running HA takes one (2026.8 on; the
    identifier link warns there and stops working in 2027.8), else the farm's identifier.
    """
    farm_id = _farm_id(entry_or_data)
    farm_device_id = _farm_device_id(entry_or_data)
    # Built as a plain mapping: each HA release's DeviceInfo declares only one of the two keys.
    link: dict[str, object]
    if VIA_DEVICE_ID and farm_device_id is not None:
        link = {"via_device_id": farm_device_id}
    else:
        link = {"via_device": (DOMAIN, farm_id)}
    info = cast(
        DeviceInfo,
        {"identifiers": {house_identifier(farm_id, house_number)}, "name": name, **link},
    )
    if model is not None:
        info["model"] = model
    if sw_version is not None:
        info["sw_version"] = sw_version
    if _is_rotem(entry_or_data):
        info["manufacturer"] = MANUFACTURER_ROTEM
    return info


def _farm_device_id(
    entry_or_data: RotemFarmConfigEntry | RotemFarmData | ConfigEntry,
) -> str | None:
    """Return the farm device's registry id, None while the entry has no runtime data yet."""
    data = (
        entry_or_data
        if isinstance(entry_or_data, RotemFarmData)
        else getattr(entry_or_data, "runtime_data", None)
    )
    return data.farm_device_id if isinstance(data, RotemFarmData) else None


def _is_rotem(entry_or_data: RotemFarmConfigEntry | RotemFarmData | ConfigEntry) -> bool:
    if isinstance(entry_or_data, RotemFarmData):
        return entry_or_data.kind == FARM_KIND_ROTEM
    return bool(entry_or_data.data.get("farm_kind") == FARM_KIND_ROTEM)


class RotemFarmEntity(Entity):
    """An entity of a farm or of one of its houses, named by translation key.

    ``house_number`` None means a farm entity. Subclasses set their entity description (or
    translation key) themselves; this class only fixes the unique id and the device.
    """

    _attr_has_entity_name = True

    def __init__(
        self,
        data: RotemFarmData,
        house_number: int | None,
        key: str,
        device_info: DeviceInfo,
    ) -> None:
        """Bind the entity to its farm, house and key."""
        self.farm_id = data.farm_id
        self.house_number = house_number
        self.key = key
        self._attr_unique_id = entity_unique_id(data.farm_id, house_number, key)
        self._attr_device_info = device_info


class RotemFarmCoordinatorEntity(RotemFarmEntity):
    """An entity of a Rotem farm fed by the farm's coordinator.

    A poll refreshes every entity of the farm, but most values (set points, bird counts,
    growth day, alarms) do not move between two polls. So the entity does not listen to every
    poll: it gives the coordinator a reader of what it shows (availability, value, unit) and
    the coordinator calls :meth:`_handle_shown` only when that changed. The
    state is kept in ``_attr_*`` attributes, which Home Assistant's cached properties serve
    without calling back into this integration on each write. Unchanged states keep their
    ``last_reported`` time (no ``state_reported`` event either); ``last_changed`` and
    ``last_updated`` are as before.
    """

    _attr_should_poll = False

    def __init__(
        self,
        coordinator: RotemFarmCoordinator,
        data: RotemFarmData,
        house_number: int | None,
        key: str,
        device_info: DeviceInfo,
        *,
        read: ShownReader,
    ) -> None:
        """Bind the entity to the coordinator, its farm, house and key, and what it shows.

        ``read`` gives what the entity shows from a snapshot (availability, value, unit): it
        runs for every entity after every poll, so platforms build it once per entity with
        everything it needs bound in. The state attributes are set here already, because
        registration reads the unit of measurement.
        """
        super().__init__(data, house_number, key, device_info)
        self.coordinator = coordinator
        self._read_shown = read
        self._show(coordinator.shown_state(house_number, read))

    def _show(self, shown: ShownState) -> None:
        """Set the ``_attr_*`` state from what the reader gave (None: the poll failed).

        Every platform's shown state has its own shape, so each one implements this.
        """
        raise NotImplementedError

    async def async_added_to_hass(self) -> None:
        """Watch the coordinator; the first state write follows (Home Assistant writes it)."""
        await super().async_added_to_hass()
        coordinator = self.coordinator
        self._show(coordinator.shown_state(self.house_number, self._read_shown))
        self.async_on_remove(
            coordinator.async_watch(self.house_number, self._read_shown, self._handle_shown)
        )

    @callback
    def _handle_shown(self, shown: ShownState) -> None:
        """Write the state a poll changed."""
        self._show(shown)
        self.async_write_ha_state()

    async def async_update(self) -> None:
        """Poll again now (``homeassistant.update_entity``); ignored while disabled."""
        if self.enabled:
            await self.coordinator.async_request_refresh()


def house_name(entry: RotemFarmConfigEntry | ConfigEntry, house: House) -> str:
    """Name a house device after its farm too, so two farms' "House 1" stay apart."""
    return f"{entry.title} {house.name}"


def rotem_house_device_info(
    entry: RotemFarmConfigEntry | ConfigEntry, house_number: int, house: House
) -> DeviceInfo:
    """The device of a Rotem house as the controller reports it (name, controller model)."""
    return house_device_info(
        entry, house_number, house_name(entry, house), model=house.controller_type
    )


class RotemHouseCoordinatorEntity(RotemFarmCoordinatorEntity):
    """An entity of one house of a Rotem farm, on that house's device."""

    def __init__(
        self,
        coordinator: RotemFarmCoordinator,
        data: RotemFarmData,
        house_number: int,
        key: str,
        *,
        read: ShownReader,
    ) -> None:
        """Bind the entity to the house; the device comes from the house's current report."""
        house = coordinator.data.site.houses[house_number]
        device_info = rotem_house_device_info(coordinator.config_entry, house_number, house)
        super().__init__(coordinator, data, house_number, key, device_info, read=read)


def async_add_houses_as_they_appear(
    entry: RotemFarmConfigEntry,
    coordinator: RotemFarmCoordinator,
    async_add_entities: AddConfigEntryEntitiesCallback,
    entities_of_house: Callable[[int], Iterable[Entity]],
) -> None:
    """Add a platform's entities for every house now and for houses that appear later.

    A house missing from the cloud's answer keeps its entities (unavailable) while the
    coordinator keeps its device; once the device is removed the house is forgotten, so it
    gets its entities again if it comes back.
    """
    added: set[int] = set()

    @callback
    def add_new_houses() -> None:
        current = set(coordinator.data.site.houses)
        added.intersection_update(coordinator.kept_houses)
        entities = [
            entity for number in sorted(current - added) for entity in entities_of_house(number)
        ]
        added.update(current)
        if entities:
            async_add_entities(entities)

    add_new_houses()
    entry.async_on_unload(coordinator.async_add_listener(add_new_houses))
