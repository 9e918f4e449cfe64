"""Value helpers: one loose wire value in, one clean Python value or ``None`` out.

The service is loose with types: numbers come as strings, sometimes with thousands separators,
"not available" has half a dozen spellings. Every value of every answer goes through one of these
helpers, and they never raise: anything that is not a clean value is ``None`` (missing is unknown,
never 0). They are the value kinds the field table (:mod:`.fields`) refers to.
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from enum import IntEnum
from typing import Final

from .models import Equipment

IGNORED_VALUE: Final = -9999
"""JsGlobals ``C_IgnoredValue``: the controller has no value."""
NOT_APPLICABLE_VALUE: Final = -8888
"""JsGlobals ``C_NotApplicableValue``."""

_MISSING_TEXT: Final = frozenset({"", "- - -", "---", "N/A", "NA", "LangKey_NA", "null", "None"})
_OFF_TOKENS: Final = frozenset({"LangKey_Off", "False", "false", "OFF", "Off"})
_ON_TOKENS: Final = frozenset({"LangKey_On", "True", "true", "ON", "On"})
_PLAIN_NUMBER: Final = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
_THOUSANDS_NUMBER: Final = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?")
_DECIMAL_COMMA_NUMBER: Final = re.compile(r"[+-]?\d+,\d+")
_DURATION: Final = re.compile(r"(\d{1,4}):([0-5]\d)(?::[0-5]\d)?")


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


def parse_big_number(value: object) -> float | None:
    """:func:`parse_number` for a field of large integers, where ``115,532`` means 115532."""
    return parse_number(value, thousands=True)


def parse_int(value: object, *, thousands: bool = False) -> int | None:
    """A whole number, or None (also for a fractional value where a count is expected)."""
    number = parse_number(value, thousands=thousands)
    if number is None or not number.is_integer():
        return None
    return int(number)


def parse_big_int(value: object) -> int | None:
    """:func:`parse_int` for a count that may carry thousands separators (birds, losses)."""
    return parse_int(value, thousands=True)


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


def parse_equipment(value: object) -> Equipment | None:
    """A running count from the comparison (installed counts only come with CommandID 0)."""
    running = parse_running(value)
    return None if running is None else Equipment(running=running)


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


def parse_datetime(value: object) -> datetime | None:
    """An ISO 8601 timestamp (the service sends 7 fractional digits), or None."""
    text = parse_text(value)
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def enum_value[E: IntEnum](enum: type[E], value: object) -> E | None:
    """An enum member from a code, or None for an unknown code."""
    code = parse_int(value)
    if code is None:
        return None
    try:
        return enum(code)
    except ValueError:
        return None
