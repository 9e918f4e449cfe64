"""Property-based tests: whatever the service sends, the parsers give a model or a RotemError.

Three sources of bad input: arbitrary JSON, the real captures with values replaced by random
strings, numbers, nulls, lists and objects, and the captures' bytes cut off anywhere. A
``KeyError``, ``TypeError``, ``ValueError`` or ``AttributeError`` escaping fails the test,
because the integration maps only RotemError to "update failed".
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custom_components.rotem_farm.rotemnet import (
    FarmInfo,
    History,
    HouseDetails,
    RotemError,
    SiteSnapshot,
    Units,
)
from custom_components.rotem_farm.rotemnet.parsing import (
    LoginResult,
    decode_json,
    parse_composite_number,
    parse_duration_minutes,
    parse_envelope,
    parse_farm_info,
    parse_history,
    parse_house_details,
    parse_int,
    parse_login,
    parse_number,
    parse_running,
    parse_series,
    parse_site,
    parse_text,
    parse_units,
)
from tests.rotemnet.fakecloud import capture_response, envelope

type Parser = Callable[[object], object]

PARSERS: dict[str, Parser] = {
    "site": parse_site,
    "farm_info": parse_farm_info,
    "history": parse_history,
    "house_details": parse_house_details,
    "login": lambda data: parse_login(data, "https://rotemnetweb.com/"),
    "envelope": parse_envelope,
    "units": parse_units,
}
MODELS = (SiteSnapshot, FarmInfo, History, HouseDetails, LoginResult, Units)


@functools.cache
def frozen_capture(name: str) -> Any:
    """One decoded capture shared by all examples; mutations copy along their path."""
    return capture_response(name)


CAPTURE_PARSERS: dict[str, Parser] = {
    "GetSiteControllersInfo.json": parse_site,
    "JsGlobals_GetJsGlobals.json": parse_farm_info,
    "RNBL_GetCommandData-cmd0-general.json": parse_house_details,
    "RNBL_GetCommandData-cmd35-temperature-history.json": parse_history,
    "RNBL_GetCommandData-cmd40-water-history.json": parse_history,
    "RNBL_GetCommandData-cmd41-feed-history.json": parse_history,
    "RNBL_GetCommandData-cmd43-heater-history.json": parse_history,
    "GetFarmRegistration.json": lambda data: parse_farm_info(
        frozen_capture("JsGlobals_GetJsGlobals.json"), data
    ),
}

# Keys the parsers look for, so random objects reach past the first check now and then.
KNOWN_KEYS = [
    "reponseObj",
    "responseObj",
    "isSucceed",
    "isAuthorize",
    "isInSession",
    "ErrorObj",
    "FarmHouses",
    "DicComparisonItems",
    "HouseNumber",
    "FieldName",
    "House1",
    "CategoryName",
    "Temperature_Current",
    "dsData",
    "eRNBLResult",
    "Value",
    "Data",
    "MenuID",
    "General",
    "DigitalOut",
    "ParameterKeyName",
    "ParameterValue",
    "ParameterData",
    "GatewayInfo",
    "GatewayName",
    "UserInfo",
    "UnitConverterSettings",
    "PressureUnit",
    "FarmUser",
    "UserToken",
    "FarmConnectionInfo",
    "ConnectionToken",
    "WebServerUrl",
    "DicHousesToScan",
    "HistoryRecord_GrowthDay",
]
TRAPS = [
    "",
    "- - -",
    "N/A",
    "LangKey_Off",
    "LangKey_On",
    "LangKey_NA",
    "LangKey_ParametersOnly_3||$LangKey_Off||/||- - -",
    "-9999",
    "-8888",
    "115,532",
    "12,5",
    "1:75",
    "01:59",
    "True",
    "False",
    "1;2;;x",
    "nan",
    "1e309",
    "9" * 400,
    "http://[",
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(TRAPS),
)
keys = st.one_of(st.sampled_from(KNOWN_KEYS), st.text(max_size=8))
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=6)
    ),
    max_leaves=20,
)
small_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(keys, children, max_size=3)
    ),
    max_leaves=6,
)
envelopes = st.builds(
    lambda payload, flags: {**flags, "reponseObj": payload},
    json_values,
    st.fixed_dictionaries(
        {"isSucceed": st.just(True)},
        optional={"isAuthorize": st.booleans(), "isInSession": st.booleans()},
    ),
)


def parse_or_rotem_error(parser: Parser, data: object) -> object | None:
    """The parser's model, or None when it raised a RotemError (anything else propagates)."""
    try:
        result = parser(data)
    except RotemError:
        return None
    assert isinstance(result, MODELS) or parser is parse_envelope
    return result


@pytest.mark.parametrize("name", sorted(PARSERS))
@settings(max_examples=100, deadline=None)
@given(data=st.one_of(json_values, envelopes))
def test_arbitrary_json(name: str, data: object) -> None:
    """Arbitrary JSON never escapes as anything but a RotemError."""
    parse_or_rotem_error(PARSERS[name], data)


@functools.cache
def capture_paths(name: str) -> tuple[tuple[str | int, ...], ...]:
    """Every path (keys/indices) inside a capture's response, computed once."""
    paths: list[tuple[str | int, ...]] = []

    def walk(node: object, path: tuple[str | int, ...]) -> None:
        paths.append(path)
        if isinstance(node, dict):
            for key, child in node.items():
                walk(child, (*path, key))
        elif isinstance(node, list):
            for index, child in enumerate(node):
                walk(child, (*path, index))

    walk(frozen_capture(name), ())
    return tuple(paths)


def replaced(node: Any, path: tuple[str | int, ...], value: object) -> Any:
    """``node`` with the value at ``path`` replaced, copying only the containers on the way."""
    if not path:
        return value
    head, *rest = path
    copy = dict(node) if isinstance(node, dict) else list(node)
    copy[head] = replaced(node[head], tuple(rest), value)  # type: ignore[index]
    return copy


@pytest.mark.parametrize("name", sorted(CAPTURE_PARSERS))
@settings(
    max_examples=75,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_mutated_captures(name: str, data: st.DataObject) -> None:
    """Real answers with a few values replaced: a model or a RotemError, nothing else."""
    paths = capture_paths(name)
    document = frozen_capture(name)
    mutations = data.draw(
        st.lists(
            st.tuples(st.integers(min_value=0, max_value=len(paths) - 1), small_values),
            min_size=1,
            max_size=6,
        )
    )
    for index, value in mutations:
        path = paths[index]
        try:
            document = replaced(document, path, value)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed this path
    parse_or_rotem_error(CAPTURE_PARSERS[name], document)


@functools.cache
def capture_bytes(name: str) -> bytes:
    """A capture's response as the service would send it, BOM included."""
    return b"\xef\xbb\xbf" + json.dumps(frozen_capture(name)).encode()


@pytest.mark.parametrize("name", sorted(CAPTURE_PARSERS))
@settings(max_examples=60, deadline=None)
@given(cut=st.floats(min_value=0, max_value=1, exclude_max=True), flip=st.integers(0, 255))
def test_truncated_payloads(name: str, cut: float, flip: int) -> None:
    """A body cut off anywhere (and one byte changed) is a RotemError, never a crash."""
    raw = capture_bytes(name)
    end = int(len(raw) * cut)
    damaged = raw[:end] + bytes([flip]) * (end % 2)
    try:
        decoded = decode_json(damaged)
    except RotemError:
        return
    parse_or_rotem_error(CAPTURE_PARSERS[name], decoded)


def test_captures_parse_before_mutation() -> None:
    """The property tests start from answers that do parse (so mutations test something)."""
    for name, parser in CAPTURE_PARSERS.items():
        assert parse_or_rotem_error(parser, frozen_capture(name)) is not None, name


# ---------------------------------------------------------------------------------------------
# Value helpers
# ---------------------------------------------------------------------------------------------

any_value = st.one_of(json_values, st.text())


@settings(max_examples=250, deadline=None)
@given(value=any_value)
def test_value_helpers_never_raise(value: object) -> None:
    """Every value helper takes anything; numbers out are finite and never a sentinel."""
    for thousands in (False, True):
        number = parse_number(value, thousands=thousands)
        assert number is None or (math.isfinite(number) and number not in (-9999, -8888))
        count = parse_int(value, thousands=thousands)
        assert count is None or isinstance(count, int)
    running = parse_running(value)
    assert running is None or running >= 0
    minutes = parse_duration_minutes(value)
    assert minutes is None or minutes >= 0
    assert all(x is None or math.isfinite(x) for x in parse_series(value))
    composite = parse_composite_number(value)
    assert composite is None or math.isfinite(composite)
    text = parse_text(value)
    assert text is None or text == text.strip()


@given(number=st.integers(min_value=0, max_value=10**12))
def test_thousands_round_trip(number: int) -> None:
    """'115,532' style strings of large-integer fields read back as the integer."""
    assert parse_number(f"{number:,}", thousands=True) == number
    assert parse_int(f"{number:,}", thousands=True) == number


@given(hours=st.integers(min_value=0, max_value=9999), minutes=st.integers(0, 59))
def test_duration_round_trip(hours: int, minutes: int) -> None:
    """'H:MM' run times are hours * 60 + minutes."""
    assert parse_duration_minutes(f"{hours}:{minutes:02d}") == hours * 60 + minutes


@given(
    values=st.lists(
        st.floats(min_value=-1000, max_value=1000, allow_nan=False).map(lambda x: round(x, 2)),
        min_size=1,
        max_size=30,
    )
)
def test_series_round_trip(values: list[float]) -> None:
    """A ';' series keeps every value and its order."""
    text = ";".join(repr(value) for value in values)
    expected = tuple(None if value in (-9999, -8888) else value for value in values)
    assert parse_series(text) == expected


@given(payload=json_values)
def test_envelope_returns_payload_unchanged(payload: object) -> None:
    """A successful envelope hands back exactly its payload."""
    body = envelope(payload)
    result = parse_envelope(body)
    assert result == payload or (payload is None and result is None) or _has_nan(payload)


def _has_nan(value: object) -> bool:
    """NaN never equals itself, so payloads holding one compare unequal."""
    if isinstance(value, float):
        return math.isnan(value)
    if isinstance(value, dict):
        return any(_has_nan(item) for item in value.values())
    if isinstance(value, list):
        return any(_has_nan(item) for item in value)
    return False
