"""The value traps of DATA-MODEL.md §6, one table per helper, and the envelope and login rules."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from custom_components.rotem_farm.rotemnet import (
    ConnectionStatus,
    RotemApiError,
    RotemAuthError,
    RotemNoFarmError,
    RotemParseError,
    RotemSessionExpiredError,
    Units,
)
from custom_components.rotem_farm.rotemnet.parsing import (
    decode_json,
    needs_registration,
    parse_bool,
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
    parse_switch,
    parse_text,
    parse_units,
)
from tests.rotemnet.fakecloud import (
    CONNECTION_TOKEN,
    GATEWAY,
    USER_TOKEN,
    capture_response,
    envelope,
    login_payload,
)

BASE = "https://rotemnetweb.com/"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("30.0", 30.0),
        ("-1", -1.0),
        (" 64 ", 64.0),
        (27.65, 27.65),
        (20, 20.0),
        ("12,5", 12.5),  # decimal comma
        ("115,532", 115.532),  # not a large-integer field: read as a decimal comma
        ("", None),
        (None, None),
        ("- - -", None),
        ("N/A", None),
        ("LangKey_NA", None),
        ("LangKey_Off", None),
        ("-9999", None),
        (-9999.0, None),
        ("-8888", None),
        (True, None),
        ("abc", None),
        ("1e5", None),
        ("nan", None),
        (float("nan"), None),
        (float("inf"), None),
        ("9" * 400, None),  # overflows to infinity
        (10**400, None),
        ([1], None),
        ({"a": 1}, None),
    ],
)
def test_parse_number(value: object, expected: float | None) -> None:
    """Only clean finite numbers survive; every placeholder is None."""
    assert parse_number(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("115,532", 115532.0),
        ("1,234,567.5", 1234567.5),
        ("2024", 2024.0),
        ("12,5", 12.5),
        ("1,23,4", None),
    ],
)
def test_parse_number_thousands(value: str, expected: float | None) -> None:
    """Large-integer fields strip thousands separators, and only well-formed ones."""
    assert parse_number(value, thousands=True) == expected


@pytest.mark.parametrize(
    ("value", "expected"), [("21", 21), ("21.0", 21), (21.0, 21), ("21.5", None), ("", None)]
)
def test_parse_int(value: object, expected: int | None) -> None:
    """A count with a fraction is not a count."""
    assert parse_int(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("True", True),
        ("False", False),
        ("LangKey_On", True),
        ("LangKey_Off", False),
        (True, True),
        ("", None),
        ("1", None),
        (None, None),
    ],
)
def test_parse_bool(value: object, expected: bool | None) -> None:
    """Booleans arrive as strings or LangKey tokens."""
    assert parse_bool(value) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("LangKey_Off", 0),
        ("2", 2),
        ("LangKey_On", None),
        ("", None),
        ("-1", None),
        ("1.5", None),
    ],
)
def test_parse_running(value: object, expected: int | None) -> None:
    """Off means none running; 'on' without a count is unknown, not a made-up number."""
    assert parse_running(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("LangKey_Off", False), ("LangKey_On", True), ("1", True), ("0", False), ("", None)],
)
def test_parse_switch(value: object, expected: bool | None) -> None:
    """An on/off output may report a count."""
    assert parse_switch(value) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("01:59", 119.0),
        ("1:05", 65.0),
        ("00:00", 0.0),
        ("25:30", 1530.0),
        ("01:59:30", 119.0),
        ("1:75", None),
        ("abc", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_duration_minutes(value: object, expected: float | None) -> None:
    """Heater run times 'H:MM' become minutes."""
    assert parse_duration_minutes(value) == expected


def test_parse_series() -> None:
    """';'-separated series keep their order and their gaps."""
    assert parse_series("29.5;29.2;;- - -;30") == (29.5, 29.2, None, None, 30.0)
    assert parse_series("") == ()
    assert parse_series(None) == ()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("LangKey_ParametersOnly_3||$LangKey_Off||/||- - -", None),
        ("LangKey_ParametersOnly_3||$LangKey_On||/||12.5", 12.5),
        ("8", 8.0),
        ("", None),
    ],
)
def test_parse_composite_number(value: str, expected: float | None) -> None:
    """The ammonia composite yields a number only when the sensor reports one."""
    assert parse_composite_number(value) == expected


def test_parse_text() -> None:
    """Display strings drop every 'no value' spelling."""
    assert parse_text(" 12:18 ") == "12:18"
    assert parse_text(5) == "5"
    assert parse_text(float("nan")) is None
    assert parse_text("- - -") is None
    assert parse_text(["x"]) is None


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        (
            {
                "TemperatureUnit": 1,
                "WeightUnit": 1,
                "PressureUnit": 1,
                "CapacityUnit": 1,
                "VolumeFluidUnit": 1,
                "SpeedUnit": 1,
            },
            Units("°F", "lb", "inH₂O", "ft³/min", "gal", "mph"),
        ),
        (
            {"TemperatureUnit": 0, "PressureUnit": 4, "SpeedUnit": 4},
            Units(
                "°C",
                None,
                "Pa",
                None,
                None,
                "ft/s",
                pressure_factor=9.80665,
                wind_speed_factor=1 / 60,
            ),
        ),
        ({"PressureUnit": 3}, Units(None, None, "Pa", None, None, None, pressure_factor=98.0665)),
        ({"PressureUnit": 7, "TemperatureUnit": 9}, Units(None, None, None, None, None, None)),
        (None, Units(None, None, None, None, None, None)),
    ],
)
def test_parse_units(settings: object, expected: Units) -> None:
    """Units are read, never assumed; mmWC/cmWC become Pa, unknown codes None."""
    assert parse_units(settings) == expected


def _site_with(values: dict[str, str], *, house_number: int = 3) -> dict[str, Any]:
    """A minimal site answer with one house and the given comparison values."""
    field_name = f"House{house_number}"
    items = {
        key: {"CategoryName": key, field_name: value, f"{field_name}_Data": ""}
        for key, value in values.items()
    }
    house = {"HouseNumber": house_number, "HouseName": "Barn", "FieldName": field_name}
    return envelope({"FarmHouses": [house], "DicComparisonItems": items})


def test_site_pressure_converted_from_mmwc() -> None:
    """With a mmWC account, pressure is reported in Pa as Units says."""
    units = parse_units({"PressureUnit": 4})
    site = parse_site(_site_with({"Static_Pressure": "2.5", "Target_Pressure": "2,5"}), units=units)
    house = site.houses[3]
    assert house.static_pressure == pytest.approx(24.517, abs=1e-3)
    assert house.target_pressure == pytest.approx(24.517, abs=1e-3)


def test_site_non_contiguous_house_numbers_and_status() -> None:
    """House numbers with gaps; a disconnected house is not online; an unknown code UNKNOWN."""
    body = envelope(
        {
            "FarmHouses": [
                {"HouseNumber": 2, "FieldName": "House2", "ConnectionStatus": 2},
                {"HouseNumber": 7, "FieldName": "House7", "ConnectionStatus": 99},
                {"HouseNumber": 9, "ConnectionStatus": 0},
            ],
            "DicComparisonItems": {
                "Growth_Day": {"CategoryName": "Growth_Day", "House2": "-1", "House9": "40"}
            },
        }
    )
    site = parse_site(body)
    assert sorted(site.houses) == [2, 7, 9]
    assert site.houses[2].connection_status is ConnectionStatus.DISCONNECTED
    assert not site.houses[2].online
    assert site.houses[7].connection_status is ConnectionStatus.UNKNOWN
    assert site.houses[9].connection_status is ConnectionStatus.OFFLINE
    assert site.houses[9].name == "House 9"
    assert site.houses[2].growth_day == -1
    assert site.houses[9].growth_day == 40
    assert site.houses[7].growth_day is None
    assert site.last_update is None


def test_site_thousands_only_for_large_fields() -> None:
    """'2,024' L water is 2024; a bird count with separators too."""
    house = parse_site(
        _site_with(
            {
                "Water_Daily": "2,024",
                "Current_Birds_Count_In_House": "21,500",
                "Ammonia": "LangKey_ParametersOnly_3||$LangKey_On||/||12",
            }
        )
    ).houses[3]
    assert house.water_daily == 2024
    assert house.bird_count == 21500
    assert house.ammonia == 12


@pytest.mark.parametrize(
    "payload",
    [
        {"FarmHouses": "x"},
        {"FarmHouses": [1]},
        {"FarmHouses": [{"HouseName": "no number"}]},
        {"FarmHouses": [], "DicComparisonItems": []},
        {"FarmHouses": [{"HouseNumber": 1}], "DicComparisonItems": {"A": "x"}},
        {"DicComparisonItems": {}},
    ],
)
def test_site_wrong_shapes(payload: dict[str, object]) -> None:
    """A broken structure is a parse error, never a KeyError/TypeError."""
    with pytest.raises(RotemParseError):
        parse_site(envelope(payload))


def test_envelope_both_spellings() -> None:
    """'reponseObj' (sic) and 'responseObj' are both the payload."""
    assert parse_envelope(envelope({"a": 1})) == {"a": 1}
    body = envelope(None)
    del body["reponseObj"]
    body["responseObj"] = {"b": 2}
    assert parse_envelope(body) == {"b": 2}


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"isAuthorize": False}, RotemSessionExpiredError),
        ({"isInSession": False}, RotemSessionExpiredError),
        ({"isSucceed": False}, RotemApiError),
        ({"isSucceed": None}, RotemApiError),
    ],
)
def test_envelope_failures(overrides: dict[str, object], error: type[Exception]) -> None:
    """Session loss and logical failures are told apart."""
    with pytest.raises(error):
        parse_envelope(envelope({}, **overrides))


def test_envelope_message_is_shortened() -> None:
    """The service's message is quoted, but an endless one is capped."""
    body = envelope(
        None,
        isSucceed=False,
        ErrorObj={"ErrorCode": 7, "ErrorMessage": "Gateway busy"},
        exceptionMessage="x" * 1000,
    )
    with pytest.raises(RotemApiError) as caught:
        parse_envelope(body)
    message = str(caught.value)
    assert "Gateway busy" in message
    assert "code 7" in message
    assert len(message) < 300


@pytest.mark.parametrize("data", [[], "ok", None, 3])
def test_envelope_not_an_object(data: object) -> None:
    """A JSON array or string at the top is a parse error."""
    with pytest.raises(RotemParseError):
        parse_envelope(data)


def test_decode_json_tolerates_a_bom() -> None:
    """Some answers start with a UTF-8 byte order mark."""
    assert decode_json(b'\xef\xbb\xbf{"a": 1}') == {"a": 1}
    with pytest.raises(RotemParseError):
        decode_json(b'{"a": ')
    with pytest.raises(RotemParseError):
        decode_json(b"\xff\xfe")


@pytest.mark.parametrize(
    ("where", "raw", "expected"),
    [
        ("payload", "/Host6_V1/", "https://rotemnetweb.com/Host6_V1/"),
        ("payload", "Host3_V1", "https://rotemnetweb.com/Host3_V1/"),
        ("envelope", "/Host2_V1", "https://rotemnetweb.com/Host2_V1/"),
        ("user", "https://rotemnetweb.asia/Host1_V1/", "https://rotemnetweb.asia/Host1_V1/"),
        ("connection", "/Host9_V1/", "https://rotemnetweb.com/Host9_V1/"),
        (None, None, "https://rotemnetweb.com/Latest/"),
    ],
)
def test_login_web_server_url(where: str | None, raw: str | None, expected: str) -> None:
    """WebServerUrl is found at any of its four places, joined to the base, slash-terminated."""
    payload = login_payload()
    del payload["WebServerUrl"]
    body = envelope(payload)
    if where == "payload":
        payload["WebServerUrl"] = raw
    elif where == "envelope":
        body["WebServerUrl"] = raw
    elif where == "user":
        payload["FarmUser"] = {"UserToken": USER_TOKEN, "WebServerUrl": raw}
    elif where == "connection":
        payload["FarmConnectionInfo"] = {
            "ConnectionToken": CONNECTION_TOKEN,
            "GatewayName": GATEWAY,
            "WebServerUrl": raw,
        }
    result = parse_login(body, BASE)
    assert result.web_server_url == expected
    assert result.gateway_code == GATEWAY
    assert result.user_token == USER_TOKEN
    assert result.connection_token == CONNECTION_TOKEN


def test_login_result_hides_tokens_in_repr() -> None:
    """A logged LoginResult does not leak tokens."""
    result = parse_login(envelope(login_payload()), BASE)
    assert USER_TOKEN not in repr(result)
    assert CONNECTION_TOKEN not in repr(result)


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        (login_payload(FarmConnectionInfo={"GatewayName": GATEWAY}), RotemNoFarmError),
        (login_payload(FarmUser={}), RotemNoFarmError),
        (login_payload(FarmConnectionInfo=None), RotemNoFarmError),
        (login_payload(LoginResultCode=1), RotemAuthError),
        (login_payload(LoginResultCode=3), RotemAuthError),
        (login_payload(LoginResultCode=2), RotemNoFarmError),
        (login_payload(FarmUser="x"), RotemParseError),
        (login_payload(WebServerUrl="http://[broken"), RotemParseError),
        (login_payload(WebServerUrl="ftp://host/"), RotemParseError),
    ],
)
def test_login_failures(payload: dict[str, object], error: type[Exception]) -> None:
    """No farm, refused codes and broken shapes each have their error."""
    with pytest.raises(error):
        parse_login(envelope(payload), BASE)


def test_login_refused() -> None:
    """isSucceed false on Login is bad credentials (RotemAuthError, not a session expiry)."""
    body = envelope(
        None,
        isSucceed=False,
        isAuthorize=False,
        ErrorObj={"ErrorCode": 1, "ErrorMessage": "Login failed"},
    )
    with pytest.raises(RotemAuthError, match="Login failed") as caught:
        parse_login(body, BASE)
    assert not isinstance(caught.value, RotemSessionExpiredError)


def test_farm_info_needs_a_gateway() -> None:
    """Without a gateway name anywhere the farm cannot be identified."""
    js_globals = capture_response("JsGlobals_GetJsGlobals.json")
    del js_globals["reponseObj"]["GatewayInfo"]["GatewayName"]
    with pytest.raises(RotemParseError):
        parse_farm_info(js_globals)
    assert parse_farm_info(js_globals, gateway_code=GATEWAY).gateway_code == GATEWAY


def test_needs_registration() -> None:
    """The extra request is made only when JsGlobals lacks an alias."""
    js_globals = capture_response("JsGlobals_GetJsGlobals.json")
    assert not needs_registration(js_globals)
    js_globals["reponseObj"]["GatewayInfo"]["GatewayAliasName"] = None
    assert needs_registration(js_globals)
    assert not needs_registration({"isSucceed": True, "reponseObj": []})


def test_command_result_not_success() -> None:
    """eRNBLResult other than 20 (e.g. 5 access denied) is an API error."""
    body = copy.deepcopy(capture_response("RNBL_GetCommandData-cmd0-general.json"))
    body["reponseObj"]["dsData"]["eRNBLResult"] = [{"Value": 5}]
    with pytest.raises(RotemApiError, match="5"):
        parse_house_details(body)


def test_command_without_house_number() -> None:
    """The house number comes from the answer, or from the request when the answer omits it."""
    body = copy.deepcopy(capture_response("RNBL_GetCommandData-cmd35-temperature-history.json"))
    del body["reponseObj"]["HouseNumber"]
    assert parse_history(body, 4).house_number == 4
    with pytest.raises(RotemParseError):
        parse_history(body)
    del body["reponseObj"]["MenuID"]
    with pytest.raises(RotemParseError):
        parse_history(body, 4)


def test_history_empty_and_rowless_days() -> None:
    """An empty table has no rows; rows without a growth day are dropped."""
    body = copy.deepcopy(capture_response("RNBL_GetCommandData-cmd41-feed-history.json"))
    body["reponseObj"]["dsData"]["Data"] = []
    assert parse_history(body).rows == ()
    body["reponseObj"]["dsData"]["Data"] = [
        {"HistoryRecord_GrowthDay": "3", "HistoryRecord_FeederTotal": "1,250"},
        {"HistoryRecord_FeederTotal": 5.0},
        {"HistoryRecord_GrowthDay": 2.0, "HistoryRecord_FeederTotal": "LangKey_NA"},
    ]
    history = parse_history(body)
    assert [row.growth_day for row in history.rows] == [2, 3]
    assert history.rows[0].values == {"FeederTotal": None}
    assert history.rows[1].values == {"FeederTotal": 1250.0}
    assert history.rows[1].partial


def test_house_details_mortality_counts() -> None:
    """When the controller counts losses, they are summed; moved birds are not losses."""
    body = copy.deepcopy(capture_response("RNBL_GetCommandData-cmd0-general.json"))
    for row in body["reponseObj"]["dsData"]["General"]:
        if row["ParameterKeyName"] == "TotalDailyMaleMortality":
            row["ParameterValue"] = "3"
        if row["ParameterKeyName"] == "TotalDailyFemaleCult":
            row["ParameterValue"] = "2"
        if row["ParameterKeyName"] == "TotalDailyMaleMoved":
            row["ParameterValue"] = "40"
    mortality = parse_house_details(body).mortality
    assert mortality.male_mortality == 3
    assert mortality.female_cull == 2
    assert mortality.total == 5


def test_site_bad_last_update_is_none() -> None:
    """A LastUpdateDT that is not ISO 8601 is unknown, not an error."""
    body = _site_with({})
    body["reponseObj"]["LastUpdateDT"] = "yesterday"
    assert parse_site(body).last_update is None


def test_command_result_section_must_be_a_list() -> None:
    """eRNBLResult of the wrong type is a parse error."""
    body = copy.deepcopy(capture_response("RNBL_GetCommandData-cmd0-general.json"))
    body["reponseObj"]["dsData"]["eRNBLResult"] = {"Value": 20}
    with pytest.raises(RotemParseError):
        parse_house_details(body)
