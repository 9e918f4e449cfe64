"""Golden tests: each real capture parses into the values a farmer sees on the controller."""

from __future__ import annotations

import pytest

from custom_components.rotem_farm.rotemnet import (
    ConnectionStatus,
    Equipment,
    HistoryKind,
    HouseMode,
    RotemParseError,
    TemperatureSensorLocation,
    Units,
    VentilationMode,
)
from custom_components.rotem_farm.rotemnet.parsing import (
    parse_envelope,
    parse_farm_info,
    parse_history,
    parse_house_details,
    parse_site,
)
from tests.captures import CAPTURES
from tests.rotemnet.fakecloud import capture_response

ALL_CAPTURES = sorted(path.name for path in CAPTURES.glob("*.json"))


def test_every_capture_is_present() -> None:
    """The repository's copy of the captures (tests/fixtures) holds all ten files."""
    assert len(ALL_CAPTURES) == 10


@pytest.mark.parametrize("name", ALL_CAPTURES)
def test_every_capture_has_a_good_envelope(name: str) -> None:
    """The common envelope check accepts every real answer and returns its payload."""
    payload = parse_envelope(capture_response(name))
    expected = list if name == "GetComparisonDisplayFields.json" else dict
    assert isinstance(payload, expected)
    assert payload


def test_site_houses() -> None:
    """GetSiteControllersInfo: six houses with the comparison values of house 1."""
    site = parse_site(capture_response("GetSiteControllersInfo.json"))
    assert sorted(site.houses) == [1, 2, 3, 4, 5, 6]
    house = site.houses[1]
    assert house.name == "House 1"
    assert house.field_name == "House1"
    assert house.controller_type == "PLATINUM_PLUS_BROILER_PRECISION"
    assert house.controller_name == "cControl_PlatinumPro"
    assert house.connection_status is ConnectionStatus.CONNECTED
    assert house.online
    assert house.average_temperature == 30.0
    assert house.humidity == 64
    assert house.static_pressure == 25
    assert house.target_pressure == 25
    assert house.air_flow == 115532  # sent as "115,532"
    assert house.set_temperature == 27.7
    assert house.outside_temperature == 26.7
    assert house.tunnel_temperature == 29.8
    assert house.vent_level == 17
    assert house.min_vent_level == 6
    assert house.max_vent_level == 25
    assert house.vent_level_percent == 17
    assert house.water_daily == 979
    assert house.feed_daily == 36
    assert house.livability == 100
    assert house.bird_count == 0
    assert house.controller_time == "12:18"
    assert house.house_mode is HouseMode.FULL_HOUSE
    assert house.vent_mode is VentilationMode.MINIMUM
    assert house.alarm is False
    assert house.raw["Current_Level_CFM"] == "115,532"


def test_site_growth_day_comes_from_the_comparison() -> None:
    """FarmHouses says GrowthDay 0; the real age (21) is in DicComparisonItems."""
    site = parse_site(capture_response("GetSiteControllersInfo.json"))
    assert {house.growth_day for house in site.houses.values()} == {21}


def test_site_missing_values_are_none_not_zero() -> None:
    """'' (no CO2 probe), -9999 (attic), LangKey_NA (FCR) and 'Off / - - -' (NH3) are None."""
    house = parse_site(capture_response("GetSiteControllersInfo.json")).houses[1]
    assert house.co2 is None
    assert house.attic_temperature is None
    assert house.fcr is None
    assert house.ammonia is None
    assert house.alarms_count is None
    assert house.outside_humidity is None
    assert house.water_per_hour is None


def test_site_equipment_and_probes() -> None:
    """LangKey_Off is 0 running; probes 1..9 report, 10..36 are empty and absent."""
    house = parse_site(capture_response("GetSiteControllersInfo.json")).houses[1]
    assert house.heaters == Equipment(running=0)
    assert house.tunnel_fans == Equipment(running=2)
    assert house.exhaust_fans == Equipment(running=1)
    assert house.stir_fans == Equipment(running=0)
    assert house.feeding == Equipment(running=2)
    assert house.cooling_pad is False
    assert sorted(house.probe_temperatures) == list(range(1, 10))
    assert house.probe_temperatures[1] == 30.8
    assert house.probe_temperatures[9] == 26.7


def test_site_last_update() -> None:
    """LastUpdateDT with seven fractional digits parses."""
    site = parse_site(capture_response("GetSiteControllersInfo.json"))
    assert site.last_update is not None
    assert site.last_update.isoformat().startswith("2026-04-24T10:33:19")


def test_farm_info_from_js_globals() -> None:
    """JsGlobals: gateway facts, houses to scan and the account's metric units."""
    info = parse_farm_info(capture_response("JsGlobals_GetJsGlobals.json"))
    assert info.gateway_code == "<REDACTED_GATEWAY_NAME>"
    assert info.alias == "<REDACTED_FARM_NAME>"
    assert info.gateway_version == "4.6.0.37"
    assert info.rnbl_version == "4.6.0.37"
    assert info.region == "USA"
    assert info.houses_to_scan == {n: f"House {n}" for n in range(1, 7)}
    assert info.units == Units(
        temperature="°C",
        weight="kg",
        pressure="Pa",
        air_flow="m³/h",
        volume="L",
        wind_speed="m/s",
    )


def test_farm_info_alias_from_registration() -> None:
    """Without an alias in JsGlobals, GetFarmRegistration supplies it."""
    js_globals = capture_response("JsGlobals_GetJsGlobals.json")
    js_globals["reponseObj"]["GatewayInfo"]["GatewayAliasName"] = ""
    registration = capture_response("GetFarmRegistration.json")
    registration["reponseObj"]["FarmRegistration"]["GatewayAliasName"] = "North farm"
    assert parse_farm_info(js_globals).alias is None
    assert parse_farm_info(js_globals, registration).alias == "North farm"


def test_house_details() -> None:
    """CommandID 0: two-decimal values, installed counts, 24-h series, mortality."""
    details = parse_house_details(capture_response("RNBL_GetCommandData-cmd0-general.json"), 1)
    assert details.house_number == 1
    assert details.growth_day == 21
    assert details.average_temperature == 29.71
    assert details.set_temperature == 27.65
    assert details.target_pressure == 24.9
    assert details.static_pressure == 24
    assert details.air_flow == 115532
    assert details.humidity == 64
    assert details.water_daily == 989
    assert details.feed_daily == 37
    assert details.water_feed_ratio is None  # "N/A"
    assert details.fcr is None  # LangKey_NA
    assert details.attic_temperature is None  # "- - -"
    assert details.tunnel_temperature == 29.73
    assert details.connection_status is ConnectionStatus.CONNECTED
    assert details.online
    assert details.alarm is False
    assert details.heaters == Equipment(running=0, installed=8)
    assert details.tunnel_fans == Equipment(running=2, installed=12)
    assert details.exhaust_fans == Equipment(running=1, installed=4)
    assert details.stir_fans == Equipment(running=0, installed=2)
    assert details.equipment["Cooling_Pad"] == Equipment(running=0, installed=1)
    assert details.analog_outputs["Air_Vent_1_Position"] == 38
    assert len(details.temperature_24h) == 24
    assert details.temperature_24h[0] == 29.5
    assert details.target_temperature_24h[-1] == 27.9
    assert details.weight_10d == (0.0,) * 10
    assert details.mortality.male_mortality is None
    assert details.mortality.total is None
    assert details.probe_temperatures[1] == 29.17
    assert details.probe_locations[1] is TemperatureSensorLocation.INSIDE
    assert 9 not in details.probe_locations  # the outside probe sends an empty icon


def test_house_details_for_another_house_is_refused() -> None:
    """An answer about house 1 is not taken for house 2."""
    with pytest.raises(RotemParseError):
        parse_house_details(capture_response("RNBL_GetCommandData-cmd0-general.json"), 2)


def test_temperature_history() -> None:
    """CommandID 35: day -1 (pre-heat) to day 21, the last row partial."""
    history = parse_history(
        capture_response("RNBL_GetCommandData-cmd35-temperature-history.json"), 1
    )
    assert history.kind is HistoryKind.TEMPERATURE
    assert history.house_number == 1
    assert len(history.rows) == 23
    first, last = history.rows[0], history.rows[-1]
    assert first.growth_day == -1
    assert first.values["AverageValue"] == 32.26
    assert not first.partial
    assert last.growth_day == 21
    assert last.partial
    assert last.values == {"MinimumValue": 27.4, "AverageValue": 29.83, "MaximumValue": 30.08}
    assert len(history.completed) == 22
    assert history.completed[-1].growth_day == 20
    assert history.completed[-1].values["AverageValue"] == 27.8


def test_water_history_mixes_strings_and_floats() -> None:
    """CommandID 40: totals are strings, changes floats, -9999 means no value."""
    history = parse_history(capture_response("RNBL_GetCommandData-cmd40-water-history.json"))
    assert history.kind is HistoryKind.WATER
    day_20 = history.completed[-1]
    assert day_20.growth_day == 20
    assert day_20.values["TotalDrink"] == 2024
    assert day_20.values["ChangeTotal"] == 6
    assert day_20.values["DailyWater_1"] == 1041.3
    assert day_20.values["ChangeWater_3"] is None
    assert history.rows[-1].values["TotalDrink"] == 998.4
    assert history.rows[-1].partial
    assert history.rows[1].values["TotalDrink"] == 7.5  # day 0


def test_feed_history() -> None:
    """CommandID 41: feeder totals are floats."""
    history = parse_history(capture_response("RNBL_GetCommandData-cmd41-feed-history.json"))
    assert history.kind is HistoryKind.FEED
    assert history.completed[-1].values["FeederTotal"] == 70
    assert history.rows[-1].values["FeederTotal"] == 37
    assert history.rows[0].values["ChangeTotal"] is None


def test_heater_history_durations_in_minutes() -> None:
    """CommandID 43: 'HH:MM' run times become minutes per heater."""
    history = parse_history(capture_response("RNBL_GetCommandData-cmd43-heater-history.json"))
    assert history.kind is HistoryKind.HEATERS
    day_20 = history.completed[-1]
    assert day_20.values["Heater_1"] == 119  # 01:59
    assert day_20.values["Heater_8"] == 69  # 01:09
    assert history.rows[-1].values["Heater_1"] == 75  # 01:15, today so far
    assert history.rows[0].values["Heater_3"] == 223  # 03:43 on the pre-heat day
    assert len(day_20.values) == 16


def test_history_of_another_kind_is_refused() -> None:
    """Asking for water but getting temperature is a parse error, not a silent mix-up."""
    with pytest.raises(RotemParseError):
        parse_history(
            capture_response("RNBL_GetCommandData-cmd35-temperature-history.json"),
            1,
            HistoryKind.WATER,
        )


@pytest.mark.parametrize(
    ("parser", "name"),
    [
        (parse_site, "GetHouseData.json"),
        (parse_house_details, "GetFarmRegistration.json"),
        (parse_history, "GetComparisonDisplayFields.json"),
        (parse_history, "RNBL_GetCommandData-cmd0-general.json"),
    ],
)
def test_wrong_answer_for_a_parser(parser: object, name: str) -> None:
    """Feeding an answer of another operation is a parse error."""
    assert callable(parser)
    with pytest.raises(RotemParseError):
        parser(capture_response(name))
