"""The site snapshot (``GetSiteControllersInfo``): every house of the farm in one answer.

``FarmHouses`` names the houses and their controllers; ``DicComparisonItems`` holds one row per
reading with a column per house (``House1``, ``House2``...). The readings come from the field
table; what stays here is the house's identity, the FarmHouses fallbacks and the probes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from .envelope import JsonObject, optional_object, payload_object, required_objects
from .exceptions import RotemParseError
from .fields import Answer, Readers, read_fields, readers
from .models import ConnectionStatus, House, SiteSnapshot, Units
from .values import parse_datetime, parse_int, parse_number, parse_text

PROBE_PREFIX: Final = "Temperature_Sensor_"
"""Key prefix of the numbered temperature probes, in both answers."""

_ENTRY_FALLBACKS: Final[Mapping[str, str]] = {
    "HouseConnectionStatus": "ConnectionStatus",
    "HouseMode": "HouseMode",
}
"""Comparison keys a FarmHouses entry stands in for when the comparison lacks them."""


def _comparison_items(items: JsonObject) -> list[tuple[str, JsonObject]]:
    """The comparison rows as (category, row), checked once for all houses."""
    rows: list[tuple[str, JsonObject]] = []
    for key, item in items.items():
        if not isinstance(item, Mapping):
            raise RotemParseError(f"DicComparisonItems[{key!r}] is not a JSON object")
        category = item.get("CategoryName")
        rows.append((category if isinstance(category, str) and category else key, item))
    return rows


def _comparison_values(rows: list[tuple[str, JsonObject]], field_name: str) -> dict[str, str]:
    """Every comparison value of one house (``CategoryName`` -> string as sent)."""
    values: dict[str, str] = {}
    for category, row in rows:
        value = row.get(field_name)
        if isinstance(value, str):
            values[category] = value
    return values


def probes(values: Mapping[str, object]) -> dict[int, float]:
    """Temperature probes ``Temperature_Sensor_<n>`` that report a value."""
    found: dict[int, float] = {}
    for key, value in values.items():
        if not key.startswith(PROBE_PREFIX):
            continue
        number = parse_int(key.removeprefix(PROBE_PREFIX))
        temperature = parse_number(value)
        if number is not None and temperature is not None:
            found[number] = temperature
    return found


def _with_entry_fallbacks(values: dict[str, str], house: JsonObject) -> Mapping[str, object]:
    """The comparison values, with the FarmHouses entry filling the keys the comparison lacks."""
    fallbacks = {
        key: house[entry_key]
        for key, entry_key in _ENTRY_FALLBACKS.items()
        if key not in values and entry_key in house
    }
    return {**values, **fallbacks} if fallbacks else values


def _parse_house(
    house: JsonObject, items: list[tuple[str, JsonObject]], compiled: Readers
) -> House:
    """One house from its FarmHouses entry and its comparison column."""
    number = parse_int(house.get("HouseNumber"))
    if number is None:
        raise RotemParseError("a house has no HouseNumber")
    field_name = parse_text(house.get("FieldName")) or f"House{number}"
    values = _comparison_values(items, field_name)
    controller = optional_object(house.get("HouseControllerTypeInfo"), "HouseControllerTypeInfo")
    readings = read_fields(_with_entry_fallbacks(values, house), compiled)
    if readings["connection_status"] is None:  # a House always has one: unknown is UNKNOWN
        readings["connection_status"] = ConnectionStatus.UNKNOWN
    return House(
        number=number,
        name=parse_text(house.get("HouseName")) or f"House {number}",
        field_name=field_name,
        controller_type=parse_text(controller.get("ControllerTypeStr")),
        controller_name=parse_text(controller.get("ControllerName")),
        probe_temperatures=probes(values),
        raw=values,
        **readings,
    )


def parse_site(data: object, *, units: Units | None = None) -> SiteSnapshot:
    """Every house of a GetSiteControllersInfo answer.

    Houses are keyed by their own number (numbers may have gaps). Values come from
    ``DicComparisonItems``; ``FarmHouses`` gives names, controller and connection data (its
    ``GrowthDay`` is ignored: it reads 0 while the controller counts 21). With ``units`` the
    pressure and wind values are converted as the units say (mmWC and cmWC to Pa).
    """
    payload = payload_object(data)
    items = _comparison_items(
        optional_object(payload.get("DicComparisonItems"), "DicComparisonItems")
    )
    compiled = readers(Answer.SITE, units)
    houses: dict[int, House] = {}
    for entry in required_objects(payload, "FarmHouses"):
        house = _parse_house(entry, items, compiled)
        houses.setdefault(house.number, house)
    return SiteSnapshot(houses=houses, last_update=parse_datetime(payload.get("LastUpdateDT")))
