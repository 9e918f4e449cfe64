"""Find every Rotem house in Home Assistant and the role of each of its entities.

The integration names things by contract (docs/CONTRACTS.md §3): a house device has the
identifier `(rotem_farm, "<farm_id>_<house_number>")` and each entity's unique id is that
identifier plus `_<key>`. The key is the signal's role, so the analyzer needs no user mapping.
Discovery runs every tick (three cheap websocket calls), which is how a house added to a farm is
analyzed without restarting the service. Units come from the current states, because HA's
influxdb integration files each point under the state's `unit_of_measurement`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ml_analyzer.ha import HomeAssistantAnswerError, HomeAssistantCommandError
from ml_analyzer.readers import EntityRef

DOMAIN = "rotem_farm"

# Roles the analyzer reads. Its own outputs, the date sensors (placement, harvest) and the
# text-valued sensors are not analysis inputs, except the house mode: an enum whose states the
# readers turn into an occupancy flag (1 birds, 0 empty; `readers.TEXT_STATES`).
INPUT_ROLES: frozenset[str] = frozenset(
    {
        "temperature",
        "set_temperature",
        "outside_temperature",
        "tunnel_temperature",
        "humidity",
        "static_pressure",
        "target_pressure",
        "co2",
        "ammonia",
        "vent_level",
        "vent_level_percent",
        "air_flow",
        "water_daily",
        "feed_daily",
        "bird_count",
        "livability",
        "growth_day",
        "house_mode",
        "heaters_running",
        "tunnel_fans_running",
        "exhaust_fans_running",
        "alarm",
        "connection",
    }
)
_PROBE_ROLE = re.compile(r"^probe_temperature_\d+$")


def is_input_role(key: str) -> bool:
    """Whether an entity key is a signal the detectors consume."""
    return key in INPUT_ROLES or bool(_PROBE_ROLE.match(key))


class CommandClient(Protocol):
    """The part of the HA client discovery needs (a websocket command)."""

    async def command(self, command_type: str, **payload: Any) -> Any:
        """Send one websocket command and return its result."""


@dataclass(frozen=True)
class House:
    """One poultry house: its HA device and its input signals by role."""

    key: str  # "<farm_id>_<house_number>", the device identifier
    farm_id: str
    house_number: int
    device_id: str
    name: str
    signals: Mapping[str, EntityRef] = field(default_factory=dict)
    loaded: bool = True
    """Whether the integration has loaded the house's farm: only then does
    `rotem_farm.report_analysis` accept the house (it refuses the whole call otherwise)."""


@dataclass(frozen=True)
class Inventory:
    """All houses found, by house key."""

    houses: Mapping[str, House] = field(default_factory=dict)

    def farms(self) -> dict[str, list[House]]:
        """Houses grouped by farm id, in house-number order (the detectors work per farm)."""
        farms: dict[str, list[House]] = {}
        for house in sorted(self.houses.values(), key=lambda h: (h.farm_id, h.house_number)):
            farms.setdefault(house.farm_id, []).append(house)
        return farms

    def entities(self) -> list[EntityRef]:
        """Every input entity of every house."""
        return [entity for house in self.houses.values() for entity in house.signals.values()]


def _house_identifier(device: Mapping[str, Any]) -> tuple[str, str, int] | None:
    """(identifier, farm_id, house_number) of a rotem_farm house device, else None."""
    identifiers = device.get("identifiers")
    if not isinstance(identifiers, list | tuple):
        return None
    for identifier in identifiers:
        if not isinstance(identifier, list | tuple) or len(identifier) != 2:
            continue
        if identifier[0] != DOMAIN or not isinstance(identifier[1], str):
            continue
        farm_id, separator, number = identifier[1].rpartition("_")
        if separator and farm_id and number.isdigit() and number.isascii():
            return identifier[1], farm_id, int(number)
    return None


def _objects(what: str, answer: Any) -> list[Mapping[str, Any]]:
    """HA's answer to a list command, checked: a list of JSON objects (`None` is empty).

    Anything else (a proxy's page decoded as a string, items that are not objects) is HA not
    answering as its API says: a typed error, retried like an outage, never a TypeError.
    """
    if answer is None:
        return []
    if not isinstance(answer, list) or not all(isinstance(item, Mapping) for item in answer):
        raise HomeAssistantAnswerError(f"HA sent an unexpected {what} (not a list of objects)")
    return answer


def _text(value: Any) -> str:
    """A string field of a registry item, or "" when absent or of another type."""
    return value if isinstance(value, str) else ""


def build_inventory(
    devices: Sequence[Mapping[str, Any]],
    entities: Sequence[Mapping[str, Any]],
    states: Sequence[Mapping[str, Any]],
    loaded_entries: frozenset[str] | None = None,
) -> Inventory:
    """Combine registry lists and states into houses with role-keyed signals (pure function).

    The lists are checked (`HomeAssistantAnswerError` unless lists of objects); a field of the
    wrong type inside an item makes that item not a house or not a signal, never an exception.
    `loaded_entries` are the ids of the integration's loaded config entries (None: unknown, all
    are taken as loaded).
    """
    devices = _objects("device registry", devices)
    entities = _objects("entity registry", entities)
    states = _objects("state list", states)
    units: dict[str, str | None] = {}
    for state in states:
        entity_id = _text(state.get("entity_id"))
        attributes = state.get("attributes")
        unit = attributes.get("unit_of_measurement") if isinstance(attributes, Mapping) else None
        if entity_id:
            units[entity_id] = unit if isinstance(unit, str) else None
    houses: dict[str, tuple[str, str, int, str]] = {}
    loaded: set[str] = set()
    for device in devices:
        found = _house_identifier(device)
        device_id = _text(device.get("id"))
        if found is None or not device_id:
            continue
        identifier, farm_id, number = found
        name = _text(device.get("name_by_user")) or _text(device.get("name")) or identifier
        houses[device_id] = (identifier, farm_id, number, name)
        entries = device.get("config_entries")
        if loaded_entries is None or (
            isinstance(entries, list) and any(entry in loaded_entries for entry in entries)
        ):
            loaded.add(device_id)
    signals: dict[str, dict[str, EntityRef]] = {device_id: {} for device_id in houses}
    for entity in entities:
        device_id = _text(entity.get("device_id"))
        if entity.get("platform") != DOMAIN or device_id not in houses:
            continue
        if entity.get("disabled_by"):
            continue
        identifier = houses[device_id][0]
        unique_id = _text(entity.get("unique_id"))
        entity_id = _text(entity.get("entity_id"))
        if not unique_id.startswith(identifier + "_") or "." not in entity_id:
            continue
        role = unique_id[len(identifier) + 1 :]
        if is_input_role(role):
            signals[device_id][role] = EntityRef(
                entity_id=entity_id, unit=units.get(entity_id), role=role
            )
    return Inventory(
        houses={
            identifier: House(
                key=identifier,
                farm_id=farm_id,
                house_number=number,
                device_id=device_id,
                name=name,
                signals=signals[device_id],
                loaded=device_id in loaded,
            )
            for device_id, (identifier, farm_id, number, name) in houses.items()
        }
    )


def loaded_entry_ids(entries: Any) -> frozenset[str]:
    """The ids of the loaded entries in HA's `config_entries/get` answer."""
    return frozenset(
        entry["entry_id"]
        for entry in _objects("config entry list", entries)
        if entry.get("state") == "loaded" and isinstance(entry.get("entry_id"), str)
    )


async def discover(client: CommandClient) -> Inventory:
    """Ask HA for its devices, entities, states and loaded farms and return the Rotem houses.

    A HA that refuses `config_entries/get` (not an admin token) leaves every house publishable,
    as before: the service call then decides.
    """
    devices = await client.command("config/device_registry/list")
    entities = await client.command("config/entity_registry/list")
    states = await client.command("get_states")
    try:
        loaded = loaded_entry_ids(await client.command("config_entries/get", domain=DOMAIN))
    except HomeAssistantCommandError:
        loaded = None
    return build_inventory(devices, entities, states, loaded)
