"""Binary sensors of a Rotem farm: each house's controller alarm and its cloud connection."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddEntitiesCallback

from .analysis import analysis_binary_sensors
from .coordinator import RotemFarmCoordinator
from .data import RotemFarmConfigEntry, RotemFarmData
from .entity import RotemHouseCoordinatorEntity, async_add_houses_as_they_appear
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
    async_add_entities: AddEntitiesCallback,
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

    def entities_of_house(number: int) -> list[BinarySensorEntity]:
        return [
            *(
                RotemHouseBinarySensor(coordinator, data, number, description)
                for description in BINARY_SENSORS
            ),
            *analysis_binary_sensors(entry, number),
        ]

    async_add_houses_as_they_appear(entry, coordinator, async_add_entities, entities_of_house)


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
        super().__init__(coordinator, data, house_number, description.key)
        self.entity_description = description

    @property
    def available(self) -> bool:
        """Unavailable when the cloud fails or the house vanished; off line only if needed."""
        house = self._house
        if not super().available or house is None:
            return False
        return house.online or not self.entity_description.needs_online

    def _shown_state(self) -> tuple[object, ...]:
        """Availability and state: what a poll can change in this binary sensor."""
        return (self.available, self.is_on)

    @property
    def is_on(self) -> bool | None:
        """The house's current state (None when the controller does not report it)."""
        house = self._house
        return None if house is None else self.entity_description.value_fn(house)
