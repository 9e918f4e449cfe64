"""Fix flows of Rotem Farm's repair issues (Home Assistant's repairs platform).

A manual farm's house follows entities the farmer linked in the options flow. When one of them
is deleted or renamed, the issue's fix flow asks which entity to follow instead (the new id of a
renamed entity is proposed); leaving the field empty removes the link. The options change and
the farm reloads, as after the options flow.
"""

from __future__ import annotations

from typing import Any

import voluptuous as vol
from homeassistant import config_entries
from homeassistant.components.repairs import RepairsFlow
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResult
from homeassistant.helpers.selector import EntitySelector

from .config_flow import link_selector_config
from .const import CONF_LINKS, DOMAIN

CONF_ENTITY_ID = "entity_id"


class LinkedEntityRepairFlow(RepairsFlow):
    """Pick the entity a house follows instead of one that was deleted or renamed."""

    def __init__(self, data: dict[str, str | int | float | None]) -> None:
        """Keep which farm, house and role the link is, and what it followed."""
        self._entry_id = str(data["entry_id"])
        self._house = str(data["house"])
        self._role = str(data["role"])
        self._old = str(data["entity_id"])
        renamed_to = data.get("renamed_to")
        self._suggested = str(renamed_to) if renamed_to else None

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> FlowResult:
        """Start at the only step."""
        return await self.async_step_relink()

    async def async_step_relink(self, user_input: dict[str, Any] | None = None) -> FlowResult:
        """Ask for the entity to follow; store it (or drop the link) and reload the farm."""
        entry = self.hass.config_entries.async_get_entry(self._entry_id)
        if entry is None or entry.domain != DOMAIN:
            return self.async_abort(reason="farm_removed")
        if user_input is not None:
            links = {
                house: dict(roles) for house, roles in entry.options.get(CONF_LINKS, {}).items()
            }
            house_links = links.setdefault(self._house, {})
            if new := user_input.get(CONF_ENTITY_ID):
                house_links[self._role] = new
            else:
                house_links.pop(self._role, None)
            if not house_links:
                del links[self._house]
            self.hass.config_entries.async_update_entry(
                entry, options={**entry.options, CONF_LINKS: links}
            )
            if hasattr(config_entries, "OptionsFlowWithReload"):
                # Newer releases install no update listener (the options flow reloads itself).
                self.hass.config_entries.async_schedule_reload(entry.entry_id)
            return self.async_create_entry(data={})
        return self.async_show_form(
            step_id="relink",
            data_schema=vol.Schema(
                {
                    vol.Optional(
                        CONF_ENTITY_ID, description={"suggested_value": self._suggested}
                    ): EntitySelector(link_selector_config(self._role)),
                }
            ),
            description_placeholders={
                "farm": entry.title,
                "house": self._house,
                "entity_id": self._old,
            },
        )


async def async_create_fix_flow(
    hass: HomeAssistant, issue_id: str, data: dict[str, str | int | float | None] | None
) -> RepairsFlow:
    """Every fixable issue of this integration is a missing linked entity."""
    assert data is not None  # created with data by issues.async_create_linked_entity_issue
    return LinkedEntityRepairFlow(data)
