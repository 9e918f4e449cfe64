"""Diagnostics of a Rotem farm: what the entry, the cloud and the client saw, secrets removed.

A farmer attaches this to an issue; nothing in it may let anyone sign in or find the farm, so
credentials, tokens, the account and the address fields are redacted, whatever their nesting.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import CONF_PASSWORD, CONF_USERNAME
from homeassistant.core import HomeAssistant

from .data import RotemFarmConfigEntry

TO_REDACT = {
    CONF_PASSWORD,
    CONF_USERNAME,
    "gateway_code",
    "unique_id",
    "alias",
    "title",
    "email",
    "phone",
    "address",
    "token",
    "user_token",
    "connection_token",
    "cookie",
    "user_display_name",
    "web_server_url",
}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: RotemFarmConfigEntry
) -> dict[str, Any]:
    """Return the entry, the latest poll, the farm facts and the client's counters."""
    data = entry.runtime_data
    result: dict[str, Any] = {
        "entry": {
            "title": entry.title,
            "unique_id": entry.unique_id,
            "data": dict(entry.data),
            "options": dict(entry.options),
        },
        "kind": data.kind,
    }
    coordinator = data.coordinator
    if coordinator is not None:
        snapshot = coordinator.data
        result["farm_info"] = asdict(snapshot.farm_info)
        result["houses"] = {
            str(number): {
                key: value
                for key, value in asdict(house).items()
                if key not in {"raw", "name", "field_name"}
            }
            for number, house in snapshot.site.houses.items()
        }
        last_update = snapshot.site.last_update
        result["last_update"] = last_update.isoformat() if last_update else None
        result["placement_dates"] = {
            str(number): placement.isoformat()
            for number, placement in snapshot.placement_dates.items()
        }
        result["farm_water_daily"] = snapshot.farm_water_daily
        result["farm_feed_daily"] = snapshot.farm_feed_daily
        result["history_tables"] = sorted(
            f"{number}:{kind.name}" for number, kind in snapshot.history
        )
        result["detail_pages"] = None if snapshot.details is None else sorted(snapshot.details)
        result["client_stats"] = asdict(coordinator.client.stats)
        result["last_update_success"] = coordinator.last_update_success
    if data.manual is not None:
        result["houses"] = {
            str(number): data.manual.flock(number).as_dict() for number in data.manual.house_numbers
        }
    return async_redact_data(result, TO_REDACT)
