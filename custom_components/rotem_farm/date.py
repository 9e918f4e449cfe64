"""Date platform: the editable placement date of a manual farm's houses.

Rotem farms have none: their controller's growth day rules the age.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from homeassistant.components.date import DateEntity

from .manual import ManualHouseEntity

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

    from .data import RotemFarmConfigEntry

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: RotemFarmConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add one placement date per house of a manual farm."""
    manual = entry.runtime_data.manual
    if manual is None:
        return
    async_add_entities(PlacementDate(entry, number) for number in manual.house_numbers)


class PlacementDate(ManualHouseEntity, DateEntity):
    """The day the current flock was placed; clearing is done by the end_flock service."""

    _attr_translation_key = "placement_date_input"

    def __init__(self, entry: RotemFarmConfigEntry, house_number: int) -> None:
        """Bind to the house."""
        super().__init__(entry, house_number, "placement_date_input")

    @property
    def native_value(self) -> date | None:
        """Unknown while no flock is placed."""
        return self.flock.placement_date

    async def async_set_value(self, value: date) -> None:
        """Store the farmer's date; age sensors follow at once."""
        self.manual.async_update_flock(self._house_number, placement_date=value)
