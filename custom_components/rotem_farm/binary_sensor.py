"""Binary sensors of a Rotem farm: the farm's cloud connection, each house's alarm and link."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .analysis import analysis_binary_sensors
from .coordinator import RotemFarmCoordinator, RotemFarmSnapshot, ShownReader, ShownState
from .data import RotemFarmConfigEntry, RotemFarmData
from .entity import (
    FARM_MODEL,
    RotemFarmCoordinatorEntity,
    RotemHouseCoordinatorEntity,
    async_add_houses_as_they_appear,
    farm_device_info,
)
from .rotemnet import House

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class RotemBinarySensorDescription(BinarySensorEntityDescription):
    """A house binary sensor; ``needs_online`` False keeps it available for an off-line house."""

    value_fn: Callable[[House], bool | None]
    needs_online: bool = True


BINARY_SENSORS: tuple[RotemBinarySensorDescription, ...] = (
    RotemBinarySensorDescription(
        key="alarm",
        translation_key="alarm",
        device_class=BinarySensorDeviceClass.PROBLEM,
        value_fn=lambda house: house.alarm,
    ),
    RotemBinarySensorDescription(
        key="connection",
        translation_key="connection",
        device_class=BinarySensorDeviceClass.CONNECTIVITY,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda house: house.online,
        needs_online=False,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: RotemFarmConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Create each house's binary sensors, and add houses as they appear."""
    data = entry.runtime_data
    coordinator = data.coordinator
    if coordinator is None:
        if data.manual is not None:
            async_add_entities(
                entity
                for number in data.manual.house_numbers
                for entity in analysis_binary_sensors(entry, number)
            )
        return
    async_add_entities([RotemCloudConnectionBinarySensor(coordinator, data)])

    def entities_of_house(number: int) -> list[BinarySensorEntity]:
        return [
            *(
                RotemHouseBinarySensor(coordinator, data, number, description)
                for description in BINARY_SENSORS
            ),
            *analysis_binary_sensors(entry, number),
        ]

    async_add_houses_as_they_appear(entry, coordinator, async_add_entities, entities_of_house)


class RotemCloudConnectionBinarySensor(RotemFarmCoordinatorEntity, BinarySensorEntity):
    """Whether Home Assistant reaches the farm through RotemNetWeb (on the farm device).

    On after a poll that worked, off after one that failed (service down, refused, no farm
    selected). It stays available through an outage: it is the entity that reports it, while
    every other entity of the farm goes unavailable.
    """

    _attr_translation_key = "cloud_connection"
    _attr_device_class = BinarySensorDeviceClass.CONNECTIVITY
    _attr_entity_category = EntityCategory.DIAGNOSTIC

    def __init__(self, coordinator: RotemFarmCoordinator, data: RotemFarmData) -> None:
        """Bind the sensor to the farm device; any successful poll reads as connected."""
        super().__init__(
            coordinator,
            data,
            None,
            "cloud_connection",
            farm_device_info(
                coordinator.config_entry,
                name=coordinator.config_entry.title,
                model=FARM_MODEL,
                sw_version=coordinator.data.farm_info.gateway_version,
            ),
            read=_polled,
        )

    def _show(self, shown: ShownState) -> None:
        """Connected unless the last poll failed (shown None)."""
        self._attr_is_on = shown is not None


def _polled(house: House | None, snapshot: RotemFarmSnapshot) -> bool:
    """What the cloud connection shows after a poll that worked: connected."""
    return True


class RotemHouseBinarySensor(RotemHouseCoordinatorEntity, BinarySensorEntity):
    """A binary sensor of one house."""

    entity_description: RotemBinarySensorDescription

    def __init__(
        self,
        coordinator: RotemFarmCoordinator,
        data: RotemFarmData,
        house_number: int,
        description: RotemBinarySensorDescription,
    ) -> None:
        """Bind the description to the house."""
        self.entity_description = description
        super().__init__(
            coordinator, data, house_number, description.key, read=_reader(description)
        )

    def _show(self, shown: ShownState) -> None:
        """Set availability and state (None: the poll failed, keep the state)."""
        if shown is None:
            self._attr_available = False
            return
        self._attr_available, self._attr_is_on = cast(tuple[bool, bool | None], shown)


def _reader(description: RotemBinarySensorDescription) -> ShownReader:
    """What a house binary sensor shows: available, and on/off (None: not reported).

    Unavailable when the house vanished, or is off line unless the sensor says whether it is.
    """
    value_fn = description.value_fn
    needs_online = description.needs_online

    def read(house: House | None, snapshot: RotemFarmSnapshot) -> tuple[bool, bool | None]:
        if house is None or (needs_online and not house.online):
            return (False, None)
        return (True, value_fn(house))

    return read
