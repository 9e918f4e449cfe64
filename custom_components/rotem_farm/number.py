"""Number platform: bird count and capacity of a manual farm's houses, typed in a box."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from homeassistant.components.number import (
    NumberEntity,
    NumberEntityDescription,
    NumberMode,
)
from homeassistant.const import EntityCategory

from .manual import HouseFlock, ManualFarm, ManualHouseEntity

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

    from .data import RotemFarmConfigEntry

PARALLEL_UPDATES = 0

# Far above any real house (15,000 to 40,000 birds) but bounded, so a typo like an extra zero
# still fits while a pasted phone number does not.
MAX_BIRDS = 1_000_000


@dataclass(frozen=True, kw_only=True)
class FlockNumberEntityDescription(NumberEntityDescription):
    """Which flock field a number shows and edits."""

    value_fn: Callable[[HouseFlock], int | None]
    set_fn: Callable[[ManualFarm, int, int], None]


NUMBERS: tuple[FlockNumberEntityDescription, ...] = (
    FlockNumberEntityDescription(
        key="bird_count_input",
        translation_key="bird_count_input",
        native_min_value=0,
        native_max_value=MAX_BIRDS,
        native_step=1,
        mode=NumberMode.BOX,
        value_fn=lambda flock: flock.bird_count,
        set_fn=lambda farm, house, value: farm.async_update_flock(house, bird_count=value),
    ),
    FlockNumberEntityDescription(
        key="capacity",
        translation_key="capacity",
        native_min_value=0,
        native_max_value=MAX_BIRDS,
        native_step=1,
        mode=NumberMode.BOX,
        entity_category=EntityCategory.CONFIG,
        value_fn=lambda flock: flock.capacity,
        set_fn=lambda farm, house, value: farm.async_update_flock(house, capacity=value),
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: RotemFarmConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add bird count and capacity per house of a manual farm."""
    manual = entry.runtime_data.manual
    if manual is None:
        return
    async_add_entities(
        FlockNumber(entry, number, description)
        for number in manual.house_numbers
        for description in NUMBERS
    )


class FlockNumber(ManualHouseEntity, NumberEntity):
    """A count the farmer keeps: unknown until entered."""

    entity_description: FlockNumberEntityDescription

    def __init__(
        self,
        entry: RotemFarmConfigEntry,
        house_number: int,
        description: FlockNumberEntityDescription,
    ) -> None:
        """Bind the description to the house."""
        super().__init__(entry, house_number, description.key)
        self.entity_description = description

    @property
    def native_value(self) -> int | None:
        """The stored count."""
        return self.entity_description.value_fn(self.flock)

    async def async_set_native_value(self, value: float) -> None:
        """Store a whole number of birds."""
        self.entity_description.set_fn(self.manual, self._house_number, round(value))
