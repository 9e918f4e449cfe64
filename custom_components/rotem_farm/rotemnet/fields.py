"""The field table: which wire key fills which model field, and how its value is read.

The site snapshot (``GetSiteControllersInfo``, one comparison column per house) and the house
page (``RNBL_GetCommandData`` CommandID 0, rows by ``ParameterKeyName``) report mostly the same
readings under different keys. Each line of :data:`FIELDS` names the model field once, its key in
each answer (``None`` where that answer does not carry it) and its value kind; one loop,
:func:`read_fields`, reads either answer from it. Exposing a new cloud field is one line here
and one line in ``models.py`` (see ``docs/client.md``). Values that need more than one key or a
structure (probes, equipment, mortality, history series) stay as code in ``site.py`` and
``commands.py``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import Any, Final

from .models import ConnectionStatus, HouseMode, Units, VentilationMode
from .values import (
    enum_value,
    parse_big_int,
    parse_big_number,
    parse_bool,
    parse_composite_number,
    parse_equipment,
    parse_int,
    parse_number,
    parse_switch,
    parse_text,
)


class Answer(StrEnum):
    """The two answers the table maps."""

    SITE = "site"
    """``GetSiteControllersInfo``: ``DicComparisonItems`` by ``CategoryName``."""
    PAGE = "page"
    """CommandID 0: ``ParameterValue`` of the row by ``ParameterKeyName``."""


class Scale(StrEnum):
    """A unit conversion the account's :class:`Units` may ask for (mmWC to Pa, ft/min to ft/s)."""

    PRESSURE = "pressure"
    WIND_SPEED = "wind_speed"


@dataclass(frozen=True, slots=True)
class Kind:
    """How one wire value becomes a model value: a value helper, and the scale it may need."""

    name: str
    parse: Callable[[object], object]
    scale: Scale | None = None


TEXT: Final = Kind("text", parse_text)
NUMBER: Final = Kind("number", parse_number)
BIG_NUMBER: Final = Kind("number with thousands separators", parse_big_number)
"""Large integers (air flow, water, feed): ``115,532`` is 115532, not 115.532."""
PERCENT: Final = Kind("percent", parse_number)
"""A percentage as sent (0-100), read as a number."""
COUNT: Final = Kind("whole number", parse_int)
BIG_COUNT: Final = Kind("whole number with thousands separators", parse_big_int)
FLAG: Final = Kind("on/off", parse_bool)
SWITCH: Final = Kind("on/off or a running count", parse_switch)
RUNNING: Final = Kind("running count of an output group", parse_equipment)
LANGKEY_NUMBER: Final = Kind("number inside a LangKey template", parse_composite_number)
PRESSURE: Final = Kind("pressure", parse_number, Scale.PRESSURE)
WIND_SPEED: Final = Kind("wind speed", parse_number, Scale.WIND_SPEED)


def enum_kind(enum: type[IntEnum]) -> Kind:
    """A JsGlobals enum code; an unknown code is None."""
    return Kind(enum.__name__, functools.partial(enum_value, enum))


@dataclass(frozen=True, slots=True)
class Field:
    """One model field and where each answer carries it.

    ``site`` may list several keys: the first one the comparison carries is read (the service
    spells livability two ways).
    """

    model: str
    site: str | tuple[str, ...] | None
    page: str | None
    kind: Kind

    def key(self, answer: Answer) -> str | tuple[str, ...] | None:
        """This field's key in ``answer``, or None when that answer does not carry it."""
        return self.site if answer is Answer.SITE else self.page


# fmt: off
FIELDS: Final[tuple[Field, ...]] = (
    # model field, site key (comparison CategoryName), house-page key (ParameterKeyName), kind
    Field("growth_day", "Growth_Day", "Growth_Day", COUNT),
    Field("controller_time", "Time", "Time", TEXT),
    Field("connection_status", "HouseConnectionStatus", "House_Connection_Status",
          enum_kind(ConnectionStatus)),
    Field("house_mode", "HouseMode", "House_Mode", enum_kind(HouseMode)),
    Field("vent_mode", "Vent_Mode", "Vent_Mode", enum_kind(VentilationMode)),
    Field("alarm", "Alarm", "Siren", FLAG),
    Field("alarms_count", "AlarmsCount", None, COUNT),
    Field("feeding_active", None, "IsFeeding", FLAG),
    Field("average_temperature", "Temperature_Current", "Average_Temperature", NUMBER),
    Field("set_temperature", "Set_Temperature", "Set_Temperature", NUMBER),
    Field("temperature_offset", None, "TemperatureOffset", NUMBER),
    Field("outside_temperature", "Outside_Temperature", "Outside_Temperature", NUMBER),
    Field("tunnel_temperature", "Tunnel_Temperature", "Tunnel_Temperature", NUMBER),
    Field("wind_chill_temperature", "Wind_Chill_Temperature", "Wind_Chill_Temperature", NUMBER),
    Field("attic_temperature", "Attic_Temperature", "Attic_Temperature", NUMBER),
    Field("humidity", "Inside_Humidity", "Inside_Humidity", NUMBER),
    Field("outside_humidity", "Outside_Humidity", "Outside_Humidity", NUMBER),
    Field("co2", "CO2", "CO2", BIG_NUMBER),
    Field("ammonia", "Ammonia", "Ammonia", LANGKEY_NUMBER),
    Field("static_pressure", "Static_Pressure", "Static_Pressure", PRESSURE),
    Field("target_pressure", "Target_Pressure", "Target_Pressure", PRESSURE),
    Field("vent_level", "Vent_Level", "Vent_Level", COUNT),
    Field("min_vent_level", "Min_Vent_Level", "Min_Vent_Level", COUNT),
    Field("max_vent_level", "Max_Vent_Level", "Max_Vent_Level", COUNT),
    Field("vent_level_percent", "Vent_Level_Percents", "CFM_Percentage", PERCENT),
    Field("air_flow", "Current_Level_CFM", "Current_Level_CFM", BIG_NUMBER),
    Field("water_daily", "Water_Daily", "Daily_Water", BIG_NUMBER),
    Field("water_per_hour", "Water_Per_Hour", None, BIG_NUMBER),
    Field("feed_daily", "Feed_Daily", "Daily_Feed", BIG_NUMBER),
    Field("fcr", "FCR_Current", "Feed_Consumption_Rate", NUMBER),
    Field("water_feed_ratio", None, "Daily_WaterFeedRate", NUMBER),
    Field("average_weight", "Average_Weight", "Average_Weight", NUMBER),
    Field("number_of_weights", None, "Number_Of_Weights", BIG_COUNT),
    Field("bird_count", "Current_Birds_Count_In_House", "Current_Birds_Count_In_House",
          BIG_COUNT),
    Field("livability", ("Livablity_Percents", "Livability_Percents"), "Birds_Livability",
          PERCENT),
    Field("wind_speed", "Wind_Speed", "Wind_Speed", WIND_SPEED),
    Field("wind_direction", "Wind_Direction", "Wind_Direction", NUMBER),
    Field("heaters", "Heaters", None, RUNNING),
    Field("tunnel_fans", "Tunnel_Fans", None, RUNNING),
    Field("exhaust_fans", "Exh_Fans", None, RUNNING),
    Field("stir_fans", "Stir_Fans", None, RUNNING),
    Field("cooling_pad", "Cooling_Pad", None, SWITCH),
    Field("feeding", "Feeding", None, RUNNING),
)
# fmt: on

type Parse = Callable[[object], object]


@dataclass(frozen=True, slots=True)
class Readers:
    """The table compiled for one answer and one set of units: parses with their scale applied.

    Fields with one key and fields with alternative keys are apart, so the common case is a plain
    dictionary lookup per field (the site answer reads every field of every house).
    """

    single: tuple[tuple[str, str, Parse], ...]
    """(model field, key, parse)."""
    alternatives: tuple[tuple[str, tuple[str, ...], Parse], ...]
    """(model field, keys in order of preference, parse)."""


def _scaled_parse(parse: Parse, factor: float) -> Parse:
    """``parse`` followed by a unit conversion, rounded to 3 decimals (None stays None).

    Only built for a factor other than 1.0, so values in a unit that needs no conversion stay
    exactly as sent.
    """

    def parse_scaled(value: object) -> object:
        number = parse(value)
        return round(number * factor, 3) if isinstance(number, float) else number

    return parse_scaled


def _factor(scale: Scale | None, units: Units | None) -> float:
    """The conversion factor of ``scale`` under ``units`` (1.0 without units)."""
    if scale is None or units is None:
        return 1.0
    return units.pressure_factor if scale is Scale.PRESSURE else units.wind_speed_factor


@functools.lru_cache(maxsize=64)
def readers(answer: Answer, units: Units | None) -> Readers:
    """The table compiled for ``answer`` under ``units`` (cached: built once per farm's units)."""
    single: list[tuple[str, str, Parse]] = []
    alternatives: list[tuple[str, tuple[str, ...], Parse]] = []
    for field in FIELDS:
        key = field.key(answer)
        if key is None:
            continue
        factor = _factor(field.kind.scale, units)
        parse = field.kind.parse if factor == 1.0 else _scaled_parse(field.kind.parse, factor)
        if isinstance(key, str):
            single.append((field.model, key, parse))
        else:
            alternatives.append((field.model, key, parse))
    return Readers(single=tuple(single), alternatives=tuple(alternatives))


def _first_present(values: Mapping[str, object], keys: tuple[str, ...]) -> object:
    """The value of the first of ``keys`` the answer carries (None when it carries none)."""
    for key in keys:
        if key in values:
            return values[key]
    return None


def read_fields(values: Mapping[str, object], compiled: Readers) -> dict[str, Any]:
    """Every table field of one answer read from ``values`` (wire key -> value), by model field.

    The result is keyword arguments for the model; ``Any`` because each value's type is the one
    its kind produces, which the table test checks against the model's annotation.
    """
    get = values.get
    result: dict[str, Any] = {model: parse(get(key)) for model, key, parse in compiled.single}
    for model, keys, parse in compiled.alternatives:
        result[model] = parse(_first_present(values, keys))
    return result
