"""Button platform: start a new flock in a manual farm's house with one press."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.components.button import ButtonEntity

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
    """Add a start-flock button per house of a manual farm."""
    manual = entry.runtime_data.manual
    if manual is None:
        return
    async_add_entities(StartFlockButton(entry, number) for number in manual.house_numbers)


class StartFlockButton(ManualHouseEntity, ButtonEntity):
    """Placement today, bird count = the house's capacity (unknown when no capacity is set)."""

    _attr_translation_key = "start_flock"

    def __init__(self, entry: RotemFarmConfigEntry, house_number: int) -> None:
        """Bind to the house."""
        super().__init__(entry, house_number, "start_flock")

    async def async_press(self) -> None:
        """Start the flock; the button's own state is its last press time, kept by HA."""
        self.manual.async_start_flock(self._house_number)
