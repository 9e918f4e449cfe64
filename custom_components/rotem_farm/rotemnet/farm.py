"""Farm facts and the account's units (JsGlobals, GetFarmRegistration).

Fetched at setup and then daily; the units decide how the site and house-page parsers scale
pressure and wind values.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from .envelope import first_string, optional_object, payload_object
from .exceptions import RotemParseError
from .models import FarmInfo, Units
from .values import parse_int, parse_text

_MMWC_TO_PA: Final = 9.80665
_CMWC_TO_PA: Final = 98.0665
_FT_PER_MIN_TO_FT_PER_S: Final = 1 / 60

# Unit codes of UnitConverterSettings (JsGlobals enums), mapped to Home Assistant's spelling
# and the factor that brings a raw value into that unit.
_TEMPERATURE_UNITS: Final[Mapping[int, str]] = {0: "°C", 1: "°F"}
_WEIGHT_UNITS: Final[Mapping[int, str]] = {0: "kg", 1: "lb"}
_PRESSURE_UNITS: Final[Mapping[int, tuple[str, float]]] = {
    0: ("mbar", 1.0),
    1: ("inH₂O", 1.0),
    2: ("Pa", 1.0),
    3: ("Pa", _CMWC_TO_PA),
    4: ("Pa", _MMWC_TO_PA),
    5: ("bar", 1.0),
    6: ("psi", 1.0),
}
_CAPACITY_UNITS: Final[Mapping[int, str]] = {0: "m³/h", 1: "ft³/min"}
_VOLUME_UNITS: Final[Mapping[int, str]] = {0: "L", 1: "gal"}
_SPEED_UNITS: Final[Mapping[int, tuple[str, float]]] = {
    0: ("km/h", 1.0),
    1: ("mph", 1.0),
    2: ("m/s", 1.0),
    3: ("ft/s", 1.0),
    4: ("ft/s", _FT_PER_MIN_TO_FT_PER_S),
}


def parse_units(settings: object) -> Units:
    """Units from ``UnitConverterSettings``; unknown codes give None, never a guessed unit."""
    values = optional_object(settings, "UnitConverterSettings")

    def code(key: str) -> int | None:
        return parse_int(values.get(key))

    def lookup(table: Mapping[int, str], key: str) -> str | None:
        unit_code = code(key)
        return None if unit_code is None else table.get(unit_code)

    pressure_code = code("PressureUnit")
    pressure = _PRESSURE_UNITS.get(pressure_code) if pressure_code is not None else None
    speed_code = code("SpeedUnit")
    speed = _SPEED_UNITS.get(speed_code) if speed_code is not None else None
    return Units(
        temperature=lookup(_TEMPERATURE_UNITS, "TemperatureUnit"),
        weight=lookup(_WEIGHT_UNITS, "WeightUnit"),
        pressure=pressure[0] if pressure else None,
        air_flow=lookup(_CAPACITY_UNITS, "CapacityUnit"),
        volume=lookup(_VOLUME_UNITS, "VolumeFluidUnit"),
        wind_speed=speed[0] if speed else None,
        pressure_factor=pressure[1] if pressure else 1.0,
        wind_speed_factor=speed[1] if speed else 1.0,
    )


def parse_farm_info(
    js_globals: object,
    registration: object | None = None,
    *,
    gateway_code: str | None = None,
) -> FarmInfo:
    """Farm facts from a JsGlobals answer, with the alias from GetFarmRegistration if needed.

    ``gateway_code`` (from the login) is used when JsGlobals does not name the gateway.
    """
    payload = payload_object(js_globals)
    gateway = optional_object(payload.get("GatewayInfo"), "GatewayInfo")
    user = optional_object(payload.get("UserInfo"), "UserInfo")
    alias = parse_text(gateway.get("GatewayAliasName"))
    if alias is None and registration is not None:
        farm = optional_object(
            payload_object(registration).get("FarmRegistration"), "FarmRegistration"
        )
        alias = parse_text(farm.get("GatewayAliasName"))
    code = first_string(gateway.get("GatewayName"), gateway_code)
    if code is None:
        raise RotemParseError("JsGlobals names no gateway")
    houses: dict[int, str] = {}
    for key, name in optional_object(gateway.get("DicHousesToScan"), "DicHousesToScan").items():
        number = parse_int(key)
        label = parse_text(name)
        if number is not None and label is not None:
            houses[number] = label
    return FarmInfo(
        gateway_code=code,
        alias=alias,
        gateway_version=parse_text(gateway.get("GatewayVersion")),
        rnbl_version=parse_text(gateway.get("RNBLVersion")),
        units=parse_units(user.get("UnitConverterSettings")),
        houses_to_scan=houses,
        region=parse_text(gateway.get("RegionCode")) or parse_text(payload.get("RegionCode")),
    )


def needs_registration(js_globals: object) -> bool:
    """True when JsGlobals lacks the farm alias, so GetFarmRegistration is worth a request."""
    try:
        gateway = optional_object(payload_object(js_globals).get("GatewayInfo"), "GatewayInfo")
    except RotemParseError:
        return False
    return parse_text(gateway.get("GatewayAliasName")) is None
