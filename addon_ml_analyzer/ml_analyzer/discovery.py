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

from ml_analyzer.readers import EntityRef

DOMAIN = "rotem_farm"

# Roles the analyzer reads. Its own outputs, the date sensors (placement, harvest) and the
# text-valued sensors are not analysis inputs.
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
    for identifier in device.get("identifiers") or ():
        if len(identifier) != 2 or identifier[0] != DOMAIN:
            continue
        farm_id, separator, number = str(identifier[1]).rpartition("_")
        if separator and farm_id and number.isdigit():
            return str(identifier[1]), farm_id, int(number)
    return None


def build_inventory(
    devices: Sequence[Mapping[str, Any]],
    entities: Sequence[Mapping[str, Any]],
    states: Sequence[Mapping[str, Any]],
) -> Inventory:
    """Combine registry lists and states into houses with role-keyed signals (pure function)."""
    units = {
        state["entity_id"]: (state.get("attributes") or {}).get("unit_of_measurement")
        for state in states
        if "entity_id" in state
    }
    houses: dict[str, tuple[str, str, int, str]] = {}
    for device in devices:
        found = _house_identifier(device)
        if found is None or not device.get("id"):
            continue
        identifier, farm_id, number = found
        name = device.get("name_by_user") or device.get("name") or identifier
        houses[device["id"]] = (identifier, farm_id, number, str(name))
    signals: dict[str, dict[str, EntityRef]] = {device_id: {} for device_id in houses}
    for entity in entities:
        device_id = entity.get("device_id")
        if entity.get("platform") != DOMAIN or device_id not in houses:
            continue
        if entity.get("disabled_by"):
            continue
        identifier = houses[device_id][0]
        unique_id = str(entity.get("unique_id") or "")
        if not unique_id.startswith(identifier + "_"):
            continue
        role = unique_id[len(identifier) + 1 :]
        if is_input_role(role):
            entity_id = str(entity["entity_id"])
            signals[device_id][role] = EntityRef(entity_id=entity_id, unit=units.get(entity_id))
    return Inventory(
        houses={
            identifier: House(
                key=identifier,
                farm_id=farm_id,
                house_number=number,
                device_id=device_id,
                name=name,
                signals=signals[device_id],
            )
            for device_id, (identifier, farm_id, number, name) in houses.items()
        }
    )


async def discover(client: CommandClient) -> Inventory:
    """Ask HA for its devices, entities and states and return the Rotem houses."""
    devices = await client.command("config/device_registry/list")
    entities = await client.command("config/entity_registry/list")
    states = await client.command("get_states")
    return build_inventory(devices or [], entities or [], states or [])
