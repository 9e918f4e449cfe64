"""Pure functions that turn decoded RotemNetWeb answers into models.

They take what ``json.loads`` returned (so tests and the simulator can feed them captures) and
never do I/O. The service is loose with types: numbers come as strings, sometimes with thousands
separators, "not available" has half a dozen spellings, and sections appear or vanish with the
controller type. Every value therefore goes through one of the small ``parse_*`` value helpers,
which return ``None`` for anything that is not a clean value; only a wrong *structure* (an
envelope that is not an object, a house list that is not a list) raises, and then always
:class:`RotemParseError`, so no ``KeyError`` or ``TypeError`` ever reaches a caller.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum
from typing import Final
from urllib.parse import urljoin

from .exceptions import (
    RotemApiError,
    RotemAuthError,
    RotemNoFarmError,
    RotemParseError,
    RotemSessionExpiredError,
)
from .models import (
    ConnectionStatus,
    Equipment,
    FarmInfo,
    History,
    HistoryKind,
    HistoryRow,
    House,
    HouseDetails,
    HouseMode,
    Mortality,
    SiteSnapshot,
    TemperatureSensorLocation,
    Units,
    VentilationMode,
)

type JsonObject = Mapping[str, object]

IGNORED_VALUE: Final = -9999
"""JsGlobals ``C_IgnoredValue``: the controller has no value."""
NOT_APPLICABLE_VALUE: Final = -8888
"""JsGlobals ``C_NotApplicableValue``."""
RNBL_SUCCESS: Final = 20
"""``eRNBLResult`` API_SUCCESS of command data answers."""

_MISSING_TEXT: Final = frozenset({"", "- - -", "---", "N/A", "NA", "LangKey_NA", "null", "None"})
_OFF_TOKENS: Final = frozenset({"LangKey_Off", "False", "false", "OFF", "Off"})
_ON_TOKENS: Final = frozenset({"LangKey_On", "True", "true", "ON", "On"})
_PLAIN_NUMBER: Final = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
_THOUSANDS_NUMBER: Final = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?")
_DECIMAL_COMMA_NUMBER: Final = re.compile(r"[+-]?\d+,\d+")
_DURATION: Final = re.compile(r"(\d{1,4}):([0-5]\d)(?::[0-5]\d)?")
_MAX_MESSAGE_LENGTH: Final = 200
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

# History column prefixes; what remains is the key in HistoryRow.values.
_HISTORY_PREFIXES: Final = ("HistoryRecord_Heaters_HeaterDevice_", "QueueRecord_", "HistoryRecord_")
_HISTORY_SKIPPED_COLUMNS: Final = frozenset({"RowNum"})


# --------------------------------------------------------------------------------------------
# Value helpers
# --------------------------------------------------------------------------------------------


def parse_text(value: object) -> str | None:
    """A display string, or None for every "no value" spelling the service uses."""
    if isinstance(value, str):  # the common case first: this runs for every value
        text = value.strip()
        return None if text in _MISSING_TEXT else text
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            return None
        return str(value)
    return None


def parse_number(value: object, *, thousands: bool = False) -> float | None:
    """A finite number, or None.

    ``thousands`` is set only for fields known to hold large integers (air flow, water, feed,
    bird counts): there ``115,532`` means 115532. Elsewhere a single comma is a decimal comma
    (``12,5``), as some locales send. The sentinels -9999 and -8888 mean "no value".
    """
    number: float | None
    if isinstance(value, str):
        text = value.strip()
        if not text or text in _MISSING_TEXT:
            return None
        if _PLAIN_NUMBER.fullmatch(text):
            number = float(text)
        elif thousands and _THOUSANDS_NUMBER.fullmatch(text):
            number = float(text.replace(",", ""))
        elif _DECIMAL_COMMA_NUMBER.fullmatch(text):
            number = float(text.replace(",", "."))
        else:
            return None
    elif isinstance(value, int | float) and not isinstance(value, bool):
        try:
            number = float(value)
        except OverflowError:
            return None
    else:
        return None
    if not math.isfinite(number) or number in (IGNORED_VALUE, NOT_APPLICABLE_VALUE):
        return None
    return number


def parse_int(value: object, *, thousands: bool = False) -> int | None:
    """A whole number, or None (also for a fractional value where a count is expected)."""
    number = parse_number(value, thousands=thousands)
    if number is None or not number.is_integer():
        return None
    return int(number)


def parse_bool(value: object) -> bool | None:
    """``True``/``False`` strings, ``LangKey_On``/``LangKey_Off`` and real booleans."""
    if isinstance(value, bool):
        return value
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text in _ON_TOKENS:
        return True
    if text in _OFF_TOKENS:
        return False
    return None


def parse_running(value: object) -> int | None:
    """How many devices of a group run: a count, with ``LangKey_Off`` meaning 0.

    ``LangKey_On`` without a count stays None: "some" is not a number we may invent.
    """
    if isinstance(value, str) and value.strip() in _OFF_TOKENS:
        return 0
    count = parse_int(value)
    if count is None or count < 0:
        return None
    return count


def parse_switch(value: object) -> bool | None:
    """An on/off output that may also report a count (cooling pad ``LangKey_Off`` or ``1``)."""
    state = parse_bool(value)
    if state is not None:
        return state
    count = parse_running(value)
    return None if count is None else count > 0


def parse_duration_minutes(value: object) -> float | None:
    """An ``H:MM`` (or ``HH:MM:SS``) run time as minutes; other shapes give None."""
    text = parse_text(value)
    if text is None:
        return None
    match = _DURATION.fullmatch(text)
    if match is None:
        return None
    return float(int(match.group(1)) * 60 + int(match.group(2)))


def parse_series(value: object) -> tuple[float | None, ...]:
    """A ``;``-separated series (24 hourly temperatures, 10 daily weights)."""
    text = parse_text(value)
    if text is None:
        return ()
    return tuple(parse_number(part) for part in text.split(";"))


def parse_composite_number(value: object) -> float | None:
    """The number inside a composite LangKey string, if one is there.

    ``LangKey_ParametersOnly_3||$LangKey_Off||/||- - -`` is a template with arguments ("Off / - -
    -"): the ammonia sensor is off and has no reading, so the answer is None. A plain number is
    returned as is.
    """
    if not isinstance(value, str) or "||" not in value:
        return parse_number(value)
    for part in value.split("||")[1:]:
        number = parse_number(part.lstrip("$"))
        if number is not None:
            return number
    return None


def _scaled(value: float | None, factor: float) -> float | None:
    """Apply a unit conversion factor, keeping None as None and 1.0 exact."""
    if value is None or factor == 1.0:
        return value
    return round(value * factor, 3)


def _enum[E: IntEnum](enum: type[E], value: object) -> E | None:
    """An enum member from a code, or None for an unknown code."""
    code = parse_int(value)
    if code is None:
        return None
    try:
        return enum(code)
    except ValueError:
        return None


def _connection_status(value: object) -> ConnectionStatus:
    """Unknown or missing codes are UNKNOWN: the house is then treated as unavailable."""
    status = _enum(ConnectionStatus, value)
    return ConnectionStatus.UNKNOWN if status is None else status


def _short(text: str) -> str:
    """Cap a server-provided message so a whole HTML page never ends up in an exception."""
    text = " ".join(text.split())
    if len(text) > _MAX_MESSAGE_LENGTH:
        return text[: _MAX_MESSAGE_LENGTH - 1] + "…"
    return text


# --------------------------------------------------------------------------------------------
# Structure helpers
# --------------------------------------------------------------------------------------------


def _object(value: object, what: str) -> JsonObject:
    """``value`` as a JSON object, or RotemParseError naming what was expected."""
    if not isinstance(value, Mapping):
        raise RotemParseError(f"{what} is not a JSON object")
    return value


def _optional_object(value: object, what: str) -> JsonObject:
    """Like :func:`_object`, with a missing (null) value read as an empty object."""
    if value is None:
        return {}
    return _object(value, what)


def _list(value: object, what: str) -> list[object]:
    """``value`` as a JSON array (null reads as empty), or RotemParseError."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise RotemParseError(f"{what} is not a JSON array")
    return value


def _objects(value: object, what: str) -> list[JsonObject]:
    """A JSON array whose items must all be objects."""
    return [_object(item, f"an item of {what}") for item in _list(value, what)]


def _required_objects(container: JsonObject, key: str) -> list[JsonObject]:
    """Like :func:`_objects`, for a section without which the answer means nothing."""
    if not isinstance(container.get(key), list):
        raise RotemParseError(f"the answer has no {key} list")
    return _objects(container[key], key)


def _error_message(envelope: JsonObject) -> str:
    """The service's own words about a failure, shortened."""
    error = envelope.get("ErrorObj")
    parts: list[str] = []
    if isinstance(error, Mapping):
        message = error.get("ErrorMessage")
        if isinstance(message, str) and message.strip():
            parts.append(message)
        code = error.get("ErrorCode")
        if isinstance(code, int) and not isinstance(code, bool) and code:
            parts.append(f"code {code}")
    exception = envelope.get("exceptionMessage")
    if isinstance(exception, str) and exception.strip() and exception not in parts:
        parts.append(exception)
    return _short("; ".join(parts)) if parts else "no message"


def decode_json(raw: bytes) -> object:
    """Decode an answer body; a UTF-8 byte order mark (some answers start with one) is fine."""
    try:
        return json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as err:
        raise RotemParseError("the answer is not valid JSON") from err


# --------------------------------------------------------------------------------------------
# Envelope and login
# --------------------------------------------------------------------------------------------


def parse_envelope(data: object, *, check_session: bool = True) -> object:
    """Check the common envelope and return its payload (``reponseObj`` or ``responseObj``).

    The payload is whatever the operation returns (an object for the operations this library
    parses, a list for GetComparisonDisplayFields).

    ``isAuthorize``/``isInSession`` false raises :class:`RotemSessionExpiredError` (the client
    logs in again once); ``isSucceed`` false raises :class:`RotemApiError`. A login answer is
    checked with ``check_session=False``: before login there is no session to expire.
    """
    envelope = _object(data, "the answer")
    if check_session and (
        envelope.get("isAuthorize") is False or envelope.get("isInSession") is False
    ):
        raise RotemSessionExpiredError("the service ended the session")
    if envelope.get("isSucceed") is not True:
        raise RotemApiError(f"the service reported a failure: {_error_message(envelope)}")
    payload = envelope.get("reponseObj")
    return envelope.get("responseObj") if payload is None else payload


def _payload(data: object, *, check_session: bool = True) -> JsonObject:
    """The envelope's payload, which must be an object for the answers parsed here."""
    return _object(parse_envelope(data, check_session=check_session), "the answer's reponseObj")


@dataclass(frozen=True, slots=True)
class LoginResult:
    """Tokens and addresses from a Login answer. The tokens never leave the client."""

    user_token: str = field(repr=False)
    connection_token: str = field(repr=False)
    gateway_code: str
    web_server_url: str
    user_display_name: str | None = None


def _first_string(*candidates: object) -> str | None:
    """The first non-empty string among the candidates."""
    for candidate in candidates:
        if isinstance(candidate, str) and candidate.strip():
            return candidate.strip()
    return None


def _web_server_url(raw: str | None, base_url: str, fallback_path: str) -> str:
    """The absolute base of service calls, always with a trailing slash.

    The service sends a relative path such as ``/Host6_V1/``; it is joined to the login base.
    Without one, calls go to the login's own service root (``fallback_path``).
    """
    try:
        url = urljoin(base_url, raw or fallback_path)
    except ValueError as err:
        raise RotemParseError("the login answer carries an unusable WebServerUrl") from err
    if not url.startswith(("http://", "https://")):
        raise RotemParseError("the login answer carries an unusable WebServerUrl")
    return url if url.endswith("/") else url + "/"


def parse_login(data: object, base_url: str, *, fallback_path: str = "Latest/") -> LoginResult:
    """Read a Login answer.

    A refusal (``isSucceed`` false) is a :class:`RotemAuthError`; a success without the user
    or connection token, or without a gateway, is a :class:`RotemNoFarmError` (the account has
    no farm selected). ``LoginResultCode`` values of JsGlobals ``eCheckLoginResultCode`` are
    honoured when the answer carries one.
    """
    envelope = _object(data, "the login answer")
    try:
        payload = _payload(envelope, check_session=False)
    except RotemApiError as err:
        raise RotemAuthError(f"login refused: {_error_message(envelope)}") from err
    user = _optional_object(payload.get("FarmUser"), "FarmUser")
    connection = _optional_object(payload.get("FarmConnectionInfo"), "FarmConnectionInfo")
    result_code = parse_int(payload.get("LoginResultCode", payload.get("CheckLoginResultCode")))
    if result_code in (1, 3):
        raise RotemAuthError(f"login refused (result code {result_code})")
    if result_code == 2:
        raise RotemNoFarmError("login accepted but the gateway is not activated")
    user_token = _first_string(user.get("UserToken"))
    connection_token = _first_string(connection.get("ConnectionToken"))
    gateway_code = _first_string(connection.get("GatewayName"), user.get("GatewayName"))
    if user_token is None or connection_token is None or gateway_code is None:
        raise RotemNoFarmError("login accepted but the account has no farm selected")
    raw_url = _first_string(
        envelope.get("WebServerUrl"),
        payload.get("WebServerUrl"),
        user.get("WebServerUrl"),
        connection.get("WebServerUrl"),
    )
    return LoginResult(
        user_token=user_token,
        connection_token=connection_token,
        gateway_code=gateway_code,
        web_server_url=_web_server_url(raw_url, base_url, fallback_path),
        user_display_name=_first_string(user.get("DisplayName"), user.get("UserName")),
    )


# --------------------------------------------------------------------------------------------
# Units and farm info
# --------------------------------------------------------------------------------------------


def parse_units(settings: object) -> Units:
    """Units from ``UnitConverterSettings``; unknown codes give None, never a guessed unit."""
    values = _optional_object(settings, "UnitConverterSettings")

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
    payload = _payload(js_globals)
    gateway = _optional_object(payload.get("GatewayInfo"), "GatewayInfo")
    user = _optional_object(payload.get("UserInfo"), "UserInfo")
    alias = parse_text(gateway.get("GatewayAliasName"))
    if alias is None and registration is not None:
        farm = _optional_object(_payload(registration).get("FarmRegistration"), "FarmRegistration")
        alias = parse_text(farm.get("GatewayAliasName"))
    code = _first_string(gateway.get("GatewayName"), gateway_code)
    if code is None:
        raise RotemParseError("JsGlobals names no gateway")
    houses: dict[int, str] = {}
    for key, name in _optional_object(gateway.get("DicHousesToScan"), "DicHousesToScan").items():
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
        gateway = _optional_object(_payload(js_globals).get("GatewayInfo"), "GatewayInfo")
    except RotemParseError:
        return False
    return parse_text(gateway.get("GatewayAliasName")) is None


# --------------------------------------------------------------------------------------------
# Site (GetSiteControllersInfo)
# --------------------------------------------------------------------------------------------


def _equipment(value: object) -> Equipment | None:
    """A running count from the comparison (installed counts only come with CommandID 0)."""
    running = parse_running(value)
    return None if running is None else Equipment(running=running)


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


def _probes(values: Mapping[str, object], prefix: str) -> dict[int, float]:
    """Temperature probes ``<prefix><n>`` that report a value."""
    probes: dict[int, float] = {}
    for key, value in values.items():
        if not key.startswith(prefix):
            continue
        number = parse_int(key.removeprefix(prefix))
        temperature = parse_number(value)
        if number is not None and temperature is not None:
            probes[number] = temperature
    return probes


def _parse_house(
    house: JsonObject, items: list[tuple[str, JsonObject]], units: Units | None
) -> House:
    """One house from its FarmHouses entry and its comparison column."""
    number = parse_int(house.get("HouseNumber"))
    if number is None:
        raise RotemParseError("a house has no HouseNumber")
    field_name = parse_text(house.get("FieldName")) or f"House{number}"
    values = _comparison_values(items, field_name)
    controller = _optional_object(house.get("HouseControllerTypeInfo"), "HouseControllerTypeInfo")
    pressure_factor = units.pressure_factor if units else 1.0
    wind_factor = units.wind_speed_factor if units else 1.0

    def number_of(key: str, *, thousands: bool = False) -> float | None:
        return parse_number(values.get(key), thousands=thousands)

    def int_of(key: str, *, thousands: bool = False) -> int | None:
        return parse_int(values.get(key), thousands=thousands)

    status = values.get("HouseConnectionStatus", house.get("ConnectionStatus"))
    livability = values.get("Livablity_Percents", values.get("Livability_Percents"))
    return House(
        number=number,
        name=parse_text(house.get("HouseName")) or f"House {number}",
        field_name=field_name,
        controller_type=parse_text(controller.get("ControllerTypeStr")),
        controller_name=parse_text(controller.get("ControllerName")),
        connection_status=_connection_status(status),
        growth_day=int_of("Growth_Day"),
        controller_time=parse_text(values.get("Time")),
        house_mode=_enum(HouseMode, values.get("HouseMode", house.get("HouseMode"))),
        vent_mode=_enum(VentilationMode, values.get("Vent_Mode")),
        alarm=parse_bool(values.get("Alarm")),
        alarms_count=int_of("AlarmsCount"),
        average_temperature=number_of("Temperature_Current"),
        set_temperature=number_of("Set_Temperature"),
        outside_temperature=number_of("Outside_Temperature"),
        tunnel_temperature=number_of("Tunnel_Temperature"),
        wind_chill_temperature=number_of("Wind_Chill_Temperature"),
        attic_temperature=number_of("Attic_Temperature"),
        probe_temperatures=_probes(values, "Temperature_Sensor_"),
        humidity=number_of("Inside_Humidity"),
        outside_humidity=number_of("Outside_Humidity"),
        co2=number_of("CO2", thousands=True),
        ammonia=parse_composite_number(values.get("Ammonia")),
        static_pressure=_scaled(number_of("Static_Pressure"), pressure_factor),
        target_pressure=_scaled(number_of("Target_Pressure"), pressure_factor),
        vent_level=int_of("Vent_Level"),
        min_vent_level=int_of("Min_Vent_Level"),
        max_vent_level=int_of("Max_Vent_Level"),
        vent_level_percent=number_of("Vent_Level_Percents"),
        air_flow=number_of("Current_Level_CFM", thousands=True),
        water_daily=number_of("Water_Daily", thousands=True),
        water_per_hour=number_of("Water_Per_Hour", thousands=True),
        feed_daily=number_of("Feed_Daily", thousands=True),
        fcr=number_of("FCR_Current"),
        average_weight=number_of("Average_Weight"),
        bird_count=int_of("Current_Birds_Count_In_House", thousands=True),
        livability=parse_number(livability),
        wind_speed=_scaled(number_of("Wind_Speed"), wind_factor),
        wind_direction=number_of("Wind_Direction"),
        heaters=_equipment(values.get("Heaters")),
        tunnel_fans=_equipment(values.get("Tunnel_Fans")),
        exhaust_fans=_equipment(values.get("Exh_Fans")),
        stir_fans=_equipment(values.get("Stir_Fans")),
        cooling_pad=parse_switch(values.get("Cooling_Pad")),
        feeding=_equipment(values.get("Feeding")),
        raw=values,
    )


def _parse_datetime(value: object) -> datetime | None:
    """An ISO 8601 timestamp (the service sends 7 fractional digits), or None."""
    text = parse_text(value)
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def parse_site(data: object, *, units: Units | None = None) -> SiteSnapshot:
    """Every house of a GetSiteControllersInfo answer.

    Houses are keyed by their own number (numbers may have gaps). Values come from
    ``DicComparisonItems``; ``FarmHouses`` gives names, controller and connection data (its
    ``GrowthDay`` is ignored: it reads 0 while the controller counts 21). With ``units`` the
    pressure and wind values are converted as the units say (mmWC and cmWC to Pa).
    """
    payload = _payload(data)
    items = _comparison_items(
        _optional_object(payload.get("DicComparisonItems"), "DicComparisonItems")
    )
    houses: dict[int, House] = {}
    for entry in _required_objects(payload, "FarmHouses"):
        house = _parse_house(entry, items, units)
        houses.setdefault(house.number, house)
    return SiteSnapshot(houses=houses, last_update=_parse_datetime(payload.get("LastUpdateDT")))


# --------------------------------------------------------------------------------------------
# Command data (RNBL_GetCommandData)
# --------------------------------------------------------------------------------------------


def _command_payload(data: object, house_number: int | None) -> tuple[int, JsonObject, JsonObject]:
    """House number, payload and ``dsData`` of a command answer, ``eRNBLResult`` checked."""
    payload = _payload(data)
    answered = parse_int(payload.get("HouseNumber"))
    if house_number is not None and answered is not None and answered != house_number:
        raise RotemParseError(f"asked for house {house_number}, the answer is for {answered}")
    number = answered if answered is not None else house_number
    if number is None:
        raise RotemParseError("the command answer names no house")
    sections = _object(payload.get("dsData"), "dsData")
    results = _objects(sections.get("eRNBLResult"), "eRNBLResult")
    if results:
        code = parse_int(results[0].get("Value"))
        if code != RNBL_SUCCESS:
            raise RotemApiError(f"the controller command failed (RNBL result {code})")
    return number, payload, sections


def _rows(sections: JsonObject, name: str) -> dict[str, JsonObject]:
    """The rows of one ``dsData`` section by ``ParameterKeyName``."""
    rows: dict[str, JsonObject] = {}
    for row in _objects(sections.get(name), name):
        key = row.get("ParameterKeyName")
        if isinstance(key, str):
            rows.setdefault(key, row)
    return rows


def _kind_of(value: object) -> HistoryKind | None:
    """The history kind of a MenuID, if it is one."""
    return _enum(HistoryKind, value)


@functools.lru_cache(maxsize=512)
def _history_key(column: str) -> str:
    """``HistoryRecord_TotalDrink`` -> ``TotalDrink``; heater devices -> ``Heater_<n>``."""
    if column.startswith(_HISTORY_PREFIXES[0]):
        return "Heater_" + column.removeprefix(_HISTORY_PREFIXES[0])
    for prefix in _HISTORY_PREFIXES[1:]:
        if column.startswith(prefix):
            return column.removeprefix(prefix)
    return column


def _history_value(kind: HistoryKind, value: object) -> float | None:
    """One cell: heater run times are ``H:MM`` -> minutes, the rest numbers or strings."""
    if kind is HistoryKind.HEATERS and isinstance(value, str) and ":" in value:
        return parse_duration_minutes(value)
    return parse_number(value, thousands=True)


def parse_history(
    data: object, house_number: int | None = None, kind: HistoryKind | None = None
) -> History:
    """A history table (CommandID 35/40/41/43), one row per growth day, oldest first.

    The row of the highest growth day is the current, partial day and is marked so; day -1 is
    the pre-placement day and is kept as such. Rows without a growth day are dropped.
    """
    number, payload, sections = _command_payload(data, house_number)
    answered_kind = _kind_of(payload.get("MenuID"))
    if kind is not None and answered_kind is not None and answered_kind is not kind:
        raise RotemParseError(f"asked for history {kind.value}, got {answered_kind.value}")
    history_kind = kind if answered_kind is None else answered_kind
    if history_kind is None:
        raise RotemParseError("the history answer names no known command")
    parsed: list[tuple[int, dict[str, float | None]]] = []
    for row in _required_objects(sections, "Data"):
        day: int | None = None
        values: dict[str, float | None] = {}
        for column, value in row.items():
            if column in _HISTORY_SKIPPED_COLUMNS:
                continue
            key = _history_key(column)
            if key.endswith("GrowthDay"):
                day = parse_int(value)
            else:
                values[key] = _history_value(history_kind, value)
        if day is not None:
            parsed.append((day, values))
    parsed.sort(key=lambda item: item[0])
    last = len(parsed) - 1
    rows = tuple(
        HistoryRow(growth_day=day, values=values, partial=index == last)
        for index, (day, values) in enumerate(parsed)
    )
    return History(house_number=number, kind=history_kind, rows=rows)


def _value_reader(
    rows: Mapping[str, JsonObject],
) -> Callable[[str], object]:
    """Look up ``ParameterValue`` of a key (None when the row is absent)."""

    def value(key: str) -> object:
        row = rows.get(key)
        return None if row is None else row.get("ParameterValue")

    return value


def _digital_outputs(rows: Mapping[str, JsonObject]) -> dict[str, Equipment]:
    """DigitalOut: ``ParameterValue`` is the running count, ``ParameterData`` the installed one."""
    equipment: dict[str, Equipment] = {}
    for key, row in rows.items():
        running = parse_running(row.get("ParameterValue"))
        installed = parse_int(row.get("ParameterData"))
        if running is not None or installed is not None:
            equipment[key] = Equipment(running=running, installed=installed)
    return equipment


def _numbers(rows: Mapping[str, JsonObject], prefix: str = "") -> dict[str, float]:
    """Rows with a numeric value, by key (prefix stripped)."""
    numbers: dict[str, float] = {}
    for key, row in rows.items():
        number = parse_number(row.get("ParameterValue"))
        if number is not None and key.startswith(prefix):
            numbers[key.removeprefix(prefix)] = number
    return numbers


def _probe_locations(rows: Mapping[str, JsonObject]) -> dict[int, TemperatureSensorLocation]:
    """The location icon of each numbered probe, where the controller names one."""
    locations: dict[int, TemperatureSensorLocation] = {}
    for key, row in rows.items():
        if not key.startswith("Temperature_Sensor_"):
            continue
        number = parse_int(key.removeprefix("Temperature_Sensor_"))
        location = _enum(TemperatureSensorLocation, row.get("Icon"))
        if number is not None and location is not None:
            locations[number] = location
    return locations


def parse_house_details(
    data: object, house_number: int | None = None, *, units: Units | None = None
) -> HouseDetails:
    """The live house page (CommandID 0) of one house.

    Sections a controller does not have are simply empty; every value missing is None.
    """
    number, _, sections = _command_payload(data, house_number)
    general = _rows(sections, "General")
    sensors = _rows(sections, "TempSensor")
    consumption = _rows(sections, "Consumption")
    weight = _rows(sections, "AvgWeight")
    digital = _rows(sections, "DigitalOut")
    analog = _rows(sections, "AnalogOut")
    history_temp = _rows(sections, "HistoryTemp")
    history_weight = _rows(sections, "HistoryWeight")
    feed_inventory = _rows(sections, "FeedInv")
    every_row = {
        **general,
        **sensors,
        **consumption,
        **weight,
        **digital,
        **analog,
        **feed_inventory,
    }
    value = _value_reader(every_row)
    pressure_factor = units.pressure_factor if units else 1.0
    wind_factor = units.wind_speed_factor if units else 1.0
    silos = {
        silo: amount
        for key, amount in _numbers(feed_inventory, "Silo_").items()
        if (silo := parse_int(key)) is not None
    }
    return HouseDetails(
        house_number=number,
        growth_day=parse_int(value("Growth_Day")),
        controller_time=parse_text(value("Time")),
        connection_status=_enum(ConnectionStatus, value("House_Connection_Status")),
        house_mode=_enum(HouseMode, value("House_Mode")),
        vent_mode=_enum(VentilationMode, value("Vent_Mode")),
        alarm=parse_bool(value("Siren")),
        feeding_active=parse_bool(value("IsFeeding")),
        average_temperature=parse_number(value("Average_Temperature")),
        set_temperature=parse_number(value("Set_Temperature")),
        temperature_offset=parse_number(value("TemperatureOffset")),
        outside_temperature=parse_number(value("Outside_Temperature")),
        tunnel_temperature=parse_number(value("Tunnel_Temperature")),
        wind_chill_temperature=parse_number(value("Wind_Chill_Temperature")),
        attic_temperature=parse_number(value("Attic_Temperature")),
        probe_temperatures=_probes(
            {key: row.get("ParameterValue") for key, row in sensors.items()},
            "Temperature_Sensor_",
        ),
        probe_locations=_probe_locations(sensors),
        humidity=parse_number(value("Inside_Humidity")),
        outside_humidity=parse_number(value("Outside_Humidity")),
        co2=parse_number(value("CO2"), thousands=True),
        ammonia=parse_composite_number(value("Ammonia")),
        static_pressure=_scaled(parse_number(value("Static_Pressure")), pressure_factor),
        target_pressure=_scaled(parse_number(value("Target_Pressure")), pressure_factor),
        vent_level=parse_int(value("Vent_Level")),
        min_vent_level=parse_int(value("Min_Vent_Level")),
        max_vent_level=parse_int(value("Max_Vent_Level")),
        vent_level_percent=parse_number(value("CFM_Percentage")),
        air_flow=parse_number(value("Current_Level_CFM"), thousands=True),
        water_daily=parse_number(value("Daily_Water"), thousands=True),
        feed_daily=parse_number(value("Daily_Feed"), thousands=True),
        fcr=parse_number(value("Feed_Consumption_Rate")),
        water_feed_ratio=parse_number(value("Daily_WaterFeedRate")),
        average_weight=parse_number(value("Average_Weight")),
        number_of_weights=parse_int(value("Number_Of_Weights"), thousands=True),
        bird_count=parse_int(value("Current_Birds_Count_In_House"), thousands=True),
        livability=parse_number(value("Birds_Livability")),
        wind_speed=_scaled(parse_number(value("Wind_Speed")), wind_factor),
        wind_direction=parse_number(value("Wind_Direction")),
        equipment=_digital_outputs(digital),
        analog_outputs=_numbers(analog),
        silos=silos,
        temperature_24h=parse_series(
            history_temp.get("Last24HourTemperature_AVG", {}).get("ParameterValue")
        ),
        target_temperature_24h=parse_series(
            history_temp.get("Last24HourTemperature_TARGET", {}).get("ParameterValue")
        ),
        weight_10d=parse_series(
            history_weight.get("Last10DayAvgBirdWeight_AVG", {}).get("ParameterValue")
        ),
        target_weight_10d=parse_series(
            history_weight.get("Last10DayAvgBirdWeight_TARGET", {}).get("ParameterValue")
        ),
        mortality=Mortality(
            male_mortality=parse_int(value("TotalDailyMaleMortality"), thousands=True),
            female_mortality=parse_int(value("TotalDailyFemaleMortality"), thousands=True),
            male_cull=parse_int(value("TotalDailyMaleCult"), thousands=True),
            female_cull=parse_int(value("TotalDailyFemaleCult"), thousands=True),
            male_moved=parse_int(value("TotalDailyMaleMoved"), thousands=True),
            female_moved=parse_int(value("TotalDailyFemaleMoved"), thousands=True),
        ),
        raw={
            key: text
            for key, row in every_row.items()
            if isinstance(text := row.get("ParameterValue"), str)
        },
    )
