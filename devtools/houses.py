"""A running Home Assistant's rotem_farm houses, read back through its registries and states.

The demo's summary, the dashboard generator, the history backfill and the e2e tests all ask
"what does HA show for house N"; they find a house's entities by the unique-id format
(docs/CONTRACTS.md §3), never by entity ids or names a user may change.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from devtools.home_assistant import HomeAssistantProcess

DOMAIN = "rotem_farm"


def is_house_device(device: Mapping[str, Any]) -> bool:
    """A house is a rotem_farm device linked to its farm device (`via_device`)."""
    ours = any(domain == DOMAIN for domain, _identifier in device.get("identifiers", []))
    return ours and device.get("via_device_id") is not None


def collect_houses(
    states: Sequence[Mapping[str, Any]],
    devices: Sequence[Mapping[str, Any]],
    entities: Sequence[Mapping[str, Any]],
) -> dict[str, dict[str, Any]]:
    """Per house device id: `{key: state}` of its entities, plus `_name`, `_farm`, `_identifier`.

    The key is the unique id after the device identifier (`<farm_id>_<house>_<key>`,
    docs/CONTRACTS.md §3), so nothing depends on entity ids or names a user may change.
    """
    by_entity_id = {state["entity_id"]: state for state in states}
    names = {device["id"]: device_name(device) for device in devices}
    houses: dict[str, dict[str, Any]] = {}
    identifiers: dict[str, str] = {}
    for device in devices:
        if not is_house_device(device):
            continue
        identifier = next(i for d, i in device["identifiers"] if d == DOMAIN)
        identifiers[device["id"]] = identifier
        houses[device["id"]] = {
            "_name": device_name(device),
            "_farm": names.get(device["via_device_id"], ""),
            "_identifier": identifier,
        }
    for entry in entities:
        device_id = entry.get("device_id") or ""
        identifier = identifiers.get(device_id)
        unique_id = entry.get("unique_id") or ""
        if entry.get("platform") != DOMAIN or identifier is None:
            continue
        state = by_entity_id.get(entry["entity_id"])
        if unique_id.startswith(f"{identifier}_") and state is not None:
            houses[device_id][unique_id[len(identifier) + 1 :]] = state
    return houses


async def house_states(ha: HomeAssistantProcess) -> dict[str, dict[str, Any]]:
    """Per house device id: `{key: state}` of its entities (see `collect_houses`)."""
    async with ha.websocket() as ws:
        states = await ws.command("get_states")
        devices = await ws.command("config/device_registry/list")
        entities = await ws.command("config/entity_registry/list")
    return collect_houses(states, devices, entities)


async def house_devices(ha: HomeAssistantProcess) -> list[dict[str, Any]]:
    """The rotem_farm house devices."""
    return [d for d in await ha.device_registry() if is_house_device(d)]


async def farm_entities(ha: HomeAssistantProcess) -> list[dict[str, Any]]:
    """Entity registry entries of the integration."""
    return [e for e in await ha.entity_registry() if e.get("platform") == DOMAIN]


def device_name(device: Mapping[str, Any]) -> str:
    """The name a user sees: their own if they renamed the device."""
    return str(device.get("name_by_user") or device.get("name") or "")


def natural_key(text: str) -> list[Any]:
    """Sort "House 10" after "House 9"."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


def slug(text: str) -> str:
    """HA-like object id: lower case, non-alphanumerics collapsed to one underscore."""
    out: list[str] = []
    for char in text.lower():
        out.append(char if char.isascii() and char.isalnum() else "_")
    return "_".join(part for part in "".join(out).split("_") if part)


def unit(state: Mapping[str, Any]) -> str:
    """The state's unit of measurement, or nothing."""
    return str(state.get("attributes", {}).get("unit_of_measurement") or "")


def shown_value(state: Mapping[str, Any]) -> str:
    """A state with its unit when it is a number ("27.4°C"), else as is ("unknown")."""
    text = str(state["state"])
    return f"{text}{unit(state)}" if is_number(text) else text


def is_number(value: Any) -> bool:
    """Whether an HA state string is a number (not unknown/unavailable)."""
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True
