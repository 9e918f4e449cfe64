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
    """Temperature units a controller account can use, spelled as Home Assistant does."""

    CELSIUS = "°C"
    FAHRENHEIT = "°F"


@dataclass(frozen=True, slots=True)
class Units:
    """The account's unit settings (JsGlobals ``UserInfo.UnitConverterSettings``).

    Each field is the unit symbol as Home Assistant spells it (``°C``, ``kg``, ``Pa``,
    ``m³/h``, ``L``, ``m/s``...), or ``None`` when the account reports a unit code this library
    does not know (a missing unit is better than a wrong one). Pressure units without an HA
    equivalent (mmWC, cmWC) are converted to Pa by the parser, and then ``pressure`` reads ``Pa``;
    wind in ft/min is converted to ft/s the same way. The factors record that conversion so a
    caller parsing raw controller values itself can apply it too.
    """

    temperature: str | None = "°C"
    weight: str | None = "kg"
    pressure: str | None = "Pa"
    air_flow: str | None = "m³/h"
    volume: str | None = "L"
    wind_speed: str | None = "m/s"
    pressure_factor: float = 1.0
    """Multiply a raw controller pressure by this to express it in ``pressure``."""
    wind_speed_factor: float = 1.0
    """Multiply a raw controller wind speed by this to express it in ``wind_speed``."""


@dataclass(frozen=True, slots=True)
class Equipment:
    """A group of digital outputs: how many run now, of how many installed (if known)."""

    running: int | None
    installed: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Readings:
    """The readings the site snapshot and the house page both report, under the same names.

    :class:`House` and :class:`HouseDetails` extend it, so a reading both answers carry is one
    field, declared once; which wire key of each answer fills it is one line of the field table
    (``fields.py``). Keyword-only, so the models' own positional fields stay as they were.
    """

    controller_time: str | None = None
    house_mode: HouseMode | None = None
    vent_mode: VentilationMode | None = None
    alarm: bool | None = None
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
    feed_daily: float | None = None
    fcr: float | None = None
    average_weight: float | None = None
    bird_count: int | None = None
    livability: float | None = None
    wind_speed: float | None = None
    wind_direction: float | None = None


@dataclass(frozen=True, slots=True)
class House(Readings):
    """One house as reported by one ``GetSiteControllersInfo`` answer (comparison data)."""

    number: int
    name: str
    field_name: str
    controller_type: str | None
    controller_name: str | None
    connection_status: ConnectionStatus
    growth_day: int | None
    alarms_count: int | None = None
    water_per_hour: float | None = None
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


class TemperatureSensorLocation(IntEnum):
    """Where a temperature probe hangs (JsGlobals ``eTemperatureSensorsIcon``, ``Icon``).

    The probe number says nothing about its place; probe 9 of the captured farm is the outside
    probe. Knowing the location keeps an outside probe out of an inside average.
    """

    INSIDE = 1
    OUTSIDE = 2
    ATTIC = 3
    EMERGENCY = 4
    CIRCUIT_BREAKER = 5
    WIND_CHILL = 6
    TUNNEL = 7
    EGG_ROOM = 8


@dataclass(frozen=True, slots=True)
class Mortality:
    """Today's losses as counted on the controller (CommandID 0 ``General``).

    Controllers without the feature send ``null``: every field is then ``None``, not 0.
    """

    male_mortality: int | None = None
    female_mortality: int | None = None
    male_cull: int | None = None
    female_cull: int | None = None
    male_moved: int | None = None
    female_moved: int | None = None

    @property
    def total(self) -> int | None:
        """Dead and culled birds of both sexes, or None when the controller counts none."""
        counts = [
            value
            for value in (
                self.male_mortality,
                self.female_mortality,
                self.male_cull,
                self.female_cull,
            )
            if value is not None
        ]
        return sum(counts) if counts else None


@dataclass(frozen=True, slots=True)
class HouseDetails(Readings):
    """The live house page of one controller (``RNBL_GetCommandData`` CommandID 0).

    Richer than a :class:`House` from the site snapshot: two-decimal values, installed counts of
    the digital outputs, the last 24 hourly temperatures, the last 10 daily weights and today's
    mortality. Costs one request per house, so callers fetch it less often than the site.
    """

    house_number: int
    growth_day: int | None = None
    connection_status: ConnectionStatus | None = None
    feeding_active: bool | None = None
    temperature_offset: float | None = None
    probe_locations: Mapping[int, TemperatureSensorLocation] = field(default_factory=dict)
    """Location of each probe that reports one (``Icon``); probes without an icon are absent."""
    water_feed_ratio: float | None = None
    number_of_weights: int | None = None
    equipment: Mapping[str, Equipment] = field(default_factory=dict)
    """Every digital output group by its key (``Heaters``, ``Tunnel_Fans``, ``Light``...)."""
    analog_outputs: Mapping[str, float] = field(default_factory=dict)
    """Positions in % by key (``Air_Vent_1_Position``, ``Light1``...)."""
    silos: Mapping[int, float] = field(default_factory=dict)
    temperature_24h: tuple[float | None, ...] = ()
    """Hourly average temperatures of the last 24 h, in the order sent (likely newest first)."""
    target_temperature_24h: tuple[float | None, ...] = ()
    weight_10d: tuple[float | None, ...] = ()
    target_weight_10d: tuple[float | None, ...] = ()
    mortality: Mortality = field(default_factory=Mortality)
    raw: Mapping[str, str] = field(default_factory=dict)
    """Every row value as sent (``ParameterKeyName`` -> string), for diagnostics."""

    @property
    def heaters(self) -> Equipment | None:
        """Heaters: running of installed."""
        return self.equipment.get("Heaters")

    @property
    def tunnel_fans(self) -> Equipment | None:
        """Tunnel fans: running of installed."""
        return self.equipment.get("Tunnel_Fans")

    @property
    def exhaust_fans(self) -> Equipment | None:
        """Exhaust fans: running of installed."""
        return self.equipment.get("Exh_Fans")

    @property
    def stir_fans(self) -> Equipment | None:
        """Stir fans: running of installed."""
        return self.equipment.get("Stir_Fans")

    @property
    def online(self) -> bool:
        """True when the controller is connected and its values are current."""
        return self.connection_status is ConnectionStatus.CONNECTED


@dataclass(frozen=True, slots=True)
class ClientStats:
    """Counters of one client, for benchmarks and diagnostics (never reset by the client)."""

    requests: int = 0
    """HTTP requests sent, logins and retries included."""
    logins: int = 0
    bytes_received: int = 0
    """Response body bytes read."""
