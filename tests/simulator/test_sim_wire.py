"""Wire answers keep the real captures' shape: same keys, same categories, same value types."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from simulator import wire
from simulator.scenario import FarmOptions, FaultEvent, Scenario, resolve
from simulator.server import Simulation
from tests.simulator.simhelpers import START, capture


def _row_types(row: dict[str, Any]) -> dict[str, type]:
    return {key: type(value) for key, value in row.items()}


def test_site_answer_has_the_capture_shape(simulation: Simulation) -> None:
    real = capture("GetSiteControllersInfo")
    farm = simulation.farms[0]
    answer = wire.site_controllers_info(farm, START, [], "ctx-1")
    assert list(answer) == list(real)
    assert answer["contextId"] == "ctx-1"
    payload, real_payload = answer["reponseObj"], real["reponseObj"]
    assert list(payload) == list(real_payload)
    assert set(payload["DicComparisonItems"]) == set(real_payload["DicComparisonItems"])
    house = payload["FarmHouses"][0]
    real_house = real_payload["FarmHouses"][0]
    assert list(house) == list(real_house)
    assert list(house["Data"]) == list(real_house["Data"])
    assert [h["HouseNumber"] for h in payload["FarmHouses"]] == [1, 2, 3]
    for name, item in payload["DicComparisonItems"].items():
        real_item = real_payload["DicComparisonItems"][name]
        assert {k for k in item if not k.startswith("House")} == {
            k for k in real_item if not k.startswith("House")
        }
        assert all(isinstance(item[f"House{n}"], str) for n in (1, 2, 3))


def test_site_values_are_strings_in_the_cloud_formats(simulation: Simulation) -> None:
    items = wire.site_controllers_info(simulation.farms[0], START, [], None)["reponseObj"][
        "DicComparisonItems"
    ]
    air_flow = items["Current_Level_CFM"]["House1"]
    assert "," in air_flow, "large air flows carry a thousands separator"
    assert float(items["Temperature_Current"]["House1"]) > 15.0
    assert items["Temperature_Current"]["House1"].count(".") == 1
    assert items["HouseConnectionStatus"]["House1"] == "1"
    assert items["Alarm"]["House1"] == "False"
    assert items["Attic_Temperature"]["House1"] == "-9999"
    assert items["Temperature_Sensor_10"]["House1"] == ""
    assert items["Heaters"]["House1"] == "LangKey_Off" or items["Heaters"]["House1"].isdigit()
    hours, minutes = items["Time"]["House1"].split(":")
    assert (int(hours), int(minutes)) == (START.hour, START.minute)


def test_probe_dropout_shows_the_sentinel(simulation: Simulation) -> None:
    dash = resolve(
        FaultEvent.from_dict(
            {"kind": "probe_dropout", "farm": 1, "house": 2, "at": 0, "params": {"probe": 3}}
        ),
        START,
    )
    ignored = resolve(
        FaultEvent.from_dict(
            {
                "kind": "probe_dropout",
                "farm": 1,
                "house": 3,
                "at": 0,
                "params": {"probe": 1, "sentinel": "-9999"},
            }
        ),
        START,
    )
    when = START + timedelta(minutes=10)
    items = wire.site_controllers_info(simulation.farms[0], when, [dash, ignored], None)[
        "reponseObj"
    ]["DicComparisonItems"]
    assert items["Temperature_Sensor_3"]["House2"] == "- - -"
    assert items["Temperature_Sensor_1"]["House3"] == "-9999"
    assert items["Temperature_Sensor_3"]["House1"] not in {"- - -", "-9999", ""}


def test_offline_controller_reports_status_2_and_frozen_values(simulation: Simulation) -> None:
    offline = resolve(
        FaultEvent.from_dict(
            {"kind": "controller_offline", "farm": 1, "house": 1, "at": "1h", "duration": "3h"}
        ),
        START,
    )
    farm = simulation.farms[0]
    frozen_at = wire.site_controllers_info(farm, START + timedelta(hours=1), [offline], None)
    later = wire.site_controllers_info(farm, START + timedelta(hours=2), [offline], None)
    items = later["reponseObj"]["DicComparisonItems"]
    assert later["reponseObj"]["FarmHouses"][0]["ConnectionStatus"] == 2
    assert items["HouseConnectionStatus"]["House1"] == "2"
    frozen_items = frozen_at["reponseObj"]["DicComparisonItems"]
    for name in ("Temperature_Current", "Time", "Water_Daily", "Temperature_Sensor_1"):
        assert items[name]["House1"] == frozen_items[name]["House1"]
    assert items["Time"]["House2"] != frozen_items["Time"]["House2"]


def test_command_0_keeps_the_capture_sections(simulation: Simulation) -> None:
    real = capture("RNBL_GetCommandData-cmd0-general")
    farm = simulation.farms[0]
    answer = wire.command_general(farm, farm.houses[1], START, [], "ctx")
    assert list(answer) == list(real)
    data, real_data = answer["reponseObj"]["dsData"], real["reponseObj"]["dsData"]
    assert list(data) == list(real_data)
    assert answer["reponseObj"]["HouseNumber"] == 2
    general = {row["ParameterKeyName"]: row["ParameterValue"] for row in data["General"]}
    assert [r["ParameterKeyName"] for r in data["General"]] == [
        r["ParameterKeyName"] for r in real_data["General"]
    ]
    assert general["Average_Temperature"].count(".") == 1
    assert len(general["Average_Temperature"].split(".")[1]) == 2
    assert "," not in general["Current_Level_CFM"]
    outputs = {r["ParameterKeyName"]: r for r in data["DigitalOut"]}
    assert outputs["Heaters"]["ParameterData"] == str(farm.houses[1].heaters)
    series = {r["ParameterKeyName"]: r["ParameterValue"] for r in data["HistoryTemp"]}
    assert len(series["Last24HourTemperature_AVG"].split(";")) == 24
    probes = [r for r in data["TempSensor"] if r["ParameterKeyName"].startswith("Temperature_")]
    assert [r["Icon"] for r in probes] == ["1"] * 8 + [""]
    for row, real_row in zip(data["TempSensor"], real_data["TempSensor"], strict=True):
        assert list(row) == list(real_row)


def test_command_0_counts_todays_dead_birds_and_the_water_feed_ratio(
    simulation: Simulation,
) -> None:
    """Mortality is yesterday's bird count minus today's (the farmer's daily entry), split
    over both sexes; water per feed is the day's litres per kilogram. Nothing before day 1."""
    farm = simulation.farms[0]
    house = farm.houses[0]
    when = START + timedelta(days=10, hours=4)

    def general(at: Any) -> dict[str, Any]:
        answer = wire.command_general(farm, house, at, [], "ctx")
        data = answer["reponseObj"]["dsData"]
        return {
            row["ParameterKeyName"]: row["ParameterValue"]
            for row in (*data["General"], *data["Consumption"])
        }

    today, yesterday = general(when), general(when - timedelta(days=1))
    dead = int(today["TotalDailyMaleMortality"]) + int(today["TotalDailyFemaleMortality"])
    birds = int(yesterday["Current_Birds_Count_In_House"]) - int(
        today["Current_Birds_Count_In_House"]
    )
    assert dead == birds > 0
    assert abs(int(today["TotalDailyMaleMortality"]) - dead / 2) <= 0.5
    assert today["TotalDailyMaleCult"] == "0"
    ratio = float(today["Daily_WaterFeedRate"])
    assert ratio == pytest.approx(float(today["Daily_Water"]) / float(today["Daily_Feed"]), 0.02)
    assert 1.2 < ratio < 3.0
    # Placement day or empty house: nothing counted, the rows stay null as in the capture.
    before = next(
        page
        for days in range(80)
        if (page := general(START - timedelta(days=days)))["Growth_Day"] in ("", "0")
    )
    assert before["TotalDailyMaleMortality"] is None


@pytest.mark.parametrize(
    ("command", "name"),
    [
        (35, "RNBL_GetCommandData-cmd35-temperature-history"),
        (40, "RNBL_GetCommandData-cmd40-water-history"),
        (41, "RNBL_GetCommandData-cmd41-feed-history"),
        (43, "RNBL_GetCommandData-cmd43-heater-history"),
    ],
)
def test_history_rows_have_the_capture_keys_and_types(
    simulation: Simulation, command: int, name: str
) -> None:
    real = capture(name)
    farm = simulation.farms[0]
    answer = wire.history(farm, farm.houses[0], command, when=START, faults=[], context_id="c")
    data, real_data = answer["reponseObj"]["dsData"], real["reponseObj"]["dsData"]
    assert list(data) == list(real_data)
    assert answer["reponseObj"]["MenuID"] == command
    rows, real_rows = data["Data"], real_data["Data"]
    assert rows[0][next(iter(rows[0]))] == -1.0, "the first row is the pre-heat day -1"
    assert [row["RowNum"] for row in rows] == list(range(len(rows)))
    for row in rows:
        assert _row_types(row) == _row_types(real_rows[-1])


def test_heater_history_is_hours_and_minutes(simulation: Simulation) -> None:
    farm = simulation.farms[0]
    rows = wire.history(farm, farm.houses[0], 43, when=START, faults=[], context_id=None)[
        "reponseObj"
    ]["dsData"]["Data"]
    for row in rows:
        for key, value in row.items():
            if key.startswith("HistoryRecord_Heaters_HeaterDevice_"):
                hours, minutes = value.split(":")
                assert 0 <= int(hours) <= 24
                assert 0 <= int(minutes) < 60
    assert rows[-1]["HistoryRecord_Heaters_HeaterDevice_16"] == "00:00"


def test_bootstrap_answers_carry_the_farm(simulation: Simulation) -> None:
    farm = simulation.farms[1]
    js = wire.js_globals(farm, "token", None)
    real_js = capture("JsGlobals_GetJsGlobals")
    assert list(js["reponseObj"]) == list(real_js["reponseObj"])
    gateway = js["reponseObj"]["GatewayInfo"]
    assert gateway["GatewayName"] == farm.gateway
    assert gateway["DicHousesToScan"] == {"1": "House 1", "2": "House 2", "3": "House 3"}
    assert "<REDACTED" not in str(js)
    assert js["reponseObj"]["LanguageDisplayValues"]["LangKey_Off"]
    registration = wire.farm_registration(farm, None)["reponseObj"]["FarmRegistration"]
    assert registration["GatewayCode"] == farm.gateway
    assert registration["GatewayAliasName"] == farm.alias
    fields = wire.comparison_display_fields(None)["reponseObj"]
    assert fields == capture("GetComparisonDisplayFields")["reponseObj"]
    menu = wire.house_data(farm.houses[2], None)["reponseObj"]
    assert menu["HouseControllerTypeInfo"]["ControllerID"] == 3


def test_imperial_farm_reports_fahrenheit_and_imperial_units() -> None:
    scenario = Scenario(farms=2, houses=1, seed=3, farm_options={2: FarmOptions(units="imperial")})
    simulation = Simulation(scenario, start=START)
    metric, imperial = simulation.farms
    m = wire.site_controllers_info(metric, START, [], None)["reponseObj"]["DicComparisonItems"]
    i = wire.site_controllers_info(imperial, START, [], None)["reponseObj"]["DicComparisonItems"]
    assert float(i["Set_Temperature"]["House1"]) > 60.0 > float(m["Set_Temperature"]["House1"])
    js = wire.js_globals(imperial, "t", None)["reponseObj"]["UserInfo"]
    assert js["UnitConverterSettings"]["TemperatureUnit"] == 1
    assert js["UnitConverterSettings"]["VolumeFluidUnit"] == 1
    assert js["DicUintsSigns"]["UT_Temperature"] == "F°"
