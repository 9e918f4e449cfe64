"""Typed, immutable models returned by the RotemNetWeb client.

Values are ``None`` when the controller does not report them (empty string, ``- - -``,
``LangKey_NA``, ``-9999``); never 0. Units are data: they come from the account's unit settings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum, StrEnum


class ConnectionStatus(IntEnum):
    """House controller connection status (JsGlobals ``eConnectionStatus``)."""

    OFFLINE = 0
    CONNECTED = 1
    DISCONNECTED = 2
    UNKNOWN = 3


class VentilationMode(IntEnum):
    """Ventilation mode (JsGlobals ``eVentilationMode``)."""

    MINIMUM = 1
    TUNNEL = 2
    NATURAL = 4


class HouseMode(IntEnum):
    """House mode (JsGlobals ``eHouseMode``)."""

    FULL_HOUSE = 0
    FIRST_BROOD = 1
    SECOND_BROOD = 2
    THIRD_BROOD = 3
    EMPTY_HOUSE = 4
    FULL_ROOM = 5
    EMPTY_ROOM = 6
    CATCHING = 7


class HistoryKind(IntEnum):
    """History commands (``RNBL_GetCommandData`` CommandID)."""

    TEMPERATURE = 35
    WATER = 40
    FEED = 41
    HEATERS = 43


class TemperatureUnit(StrEnum):
    CELSIUS = "°C"
    FAHRENHEIT = "°F"


@dataclass(frozen=True, slots=True)
class Units:
    """The account's unit settings (JsGlobals ``UserInfo.UnitConverterSettings``).

    Each field is the unit symbol as Home Assistant spells it (``°C``, ``kg``, ``Pa``,
    ``m³/h``, ``L``, ``m/s``...). Pressure units without an HA equivalent (mmWC, cmWC) are
    converted to Pa by the parser, and then ``pressure`` reads ``Pa``.
    """

    temperature: str = "°C"
    weight: str = "kg"
    pressure: str = "Pa"
    air_flow: str = "m³/h"
    volume: str = "L"
    wind_speed: str = "m/s"


@dataclass(frozen=True, slots=True)
class Equipment:
    """A group of digital outputs: how many run now, of how many installed (if known)."""

    running: int | None
    installed: int | None = None


@dataclass(frozen=True, slots=True)
class House:
    """One house as reported by one ``GetSiteControllersInfo`` answer (comparison data)."""

    number: int
    name: str
    field_name: str
    controller_type: str | None
    controller_name: str | None
    connection_status: ConnectionStatus
    growth_day: int | None
    controller_time: str | None = None
    house_mode: HouseMode | None = None
    vent_mode: VentilationMode | None = None
    alarm: bool | None = None
    alarms_count: int | None = None
    average_temperature: float | None = None
    set_temperature: float | None = None
    outside_temperature: float | None = None
    tunnel_temperature: float | None = None
    wind_chill_temperature: float | None = None
    attic_temperature: float | None = None
    probe_temperatures: Mapping[int, float] = field(default_factory=dict)
    humidity: float | None = None
    outside_humidity: float | None = None
    co2: float | None = None
    ammonia: float | None = None
    static_pressure: float | None = None
    target_pressure: float | None = None
    vent_level: int | None = None
    min_vent_level: int | None = None
    max_vent_level: int | None = None
    vent_level_percent: float | None = None
    air_flow: float | None = None
    water_daily: float | None = None
    water_per_hour: float | None = None
    feed_daily: float | None = None
    fcr: float | None = None
    average_weight: float | None = None
    bird_count: int | None = None
    livability: float | None = None
    wind_speed: float | None = None
    wind_direction: float | None = None
    heaters: Equipment | None = None
    tunnel_fans: Equipment | None = None
    exhaust_fans: Equipment | None = None
    stir_fans: Equipment | None = None
    cooling_pad: bool | None = None
    feeding: Equipment | None = None
    raw: Mapping[str, str] = field(default_factory=dict)
    """Every comparison value of this house as sent (``CategoryName`` -> string)."""

    @property
    def online(self) -> bool:
        """True when the controller is connected and its values are current."""
        return self.connection_status is ConnectionStatus.CONNECTED


@dataclass(frozen=True, slots=True)
class SiteSnapshot:
    """One ``GetSiteControllersInfo`` answer: every house of the farm."""

    houses: Mapping[int, House]
    last_update: datetime | None = None


@dataclass(frozen=True, slots=True)
class LoginInfo:
    """What a successful login yields (tokens stay inside the client, never here)."""

    gateway_code: str
    web_server_url: str
    user_display_name: str | None = None


@dataclass(frozen=True, slots=True)
class FarmInfo:
    """Farm-level facts from JsGlobals and GetFarmRegistration (called at setup, then daily)."""

    gateway_code: str
    alias: str | None
    gateway_version: str | None
    rnbl_version: str | None
    units: Units
    houses_to_scan: Mapping[int, str] = field(default_factory=dict)
    region: str | None = None


@dataclass(frozen=True, slots=True)
class HistoryRow:
    """One growth day of a history command. ``values`` holds the numeric columns by key
    (``TotalDrink``, ``FeederTotal``, ``AverageValue``, ``Heater_1`` minutes...)."""

    growth_day: int
    values: Mapping[str, float | None]
    partial: bool = False
    """True for the last row: the current growth day, still running."""


@dataclass(frozen=True, slots=True)
class History:
    """A history table of one house (CommandID 35/40/41/43)."""

    house_number: int
    kind: HistoryKind
    rows: tuple[HistoryRow, ...]

    @property
    def completed(self) -> tuple[HistoryRow, ...]:
        """Rows of finished days (the current, partial day left out)."""
        return tuple(row for row in self.rows if not row.partial)
