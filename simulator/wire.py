"""RotemNetWeb answers, built from the real captures' structure and the model's values.

Templates in ``templates/`` are the captured answers with the huge lookup tables trimmed and
the values left as captured; every answer starts from a copy, so field names, nesting,
misspellings (``reponseObj``, ``Livablity_Percents``, ``WOD_Pressue``) and value types stay
exactly as the cloud sends them. Only the values the model knows are replaced.
"""

from __future__ import annotations

import copy
import json
import math
import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from . import model
from .model import FarmModel, HouseModel
from .report import HouseReport, convert, house_report, house_reports
from .scenario import Fault

TEMPLATES = Path(__file__).parent / "templates"
OFF = "LangKey_Off"
ABSENT_PROBE = "- - -"
IGNORED = "-9999"
MAX_HEATER_DEVICES = 16

JsonDict = dict[str, Any]


@cache
def _template(name: str) -> JsonDict:
    data: JsonDict = json.loads((TEMPLATES / f"{name}.json").read_text(encoding="utf-8"))
    return data


def template(name: str) -> JsonDict:
    """A fresh copy of a captured answer (callers may change it)."""
    return copy.deepcopy(_template(name))


def envelope(name: str, payload: Any, context_id: str | None) -> JsonDict:
    """The answer envelope as the capture of operation ``name`` has it, around ``payload``."""
    captured = _template(name)
    answer: JsonDict = {"reponseObj": payload}
    for key in ("ErrorObj", "exceptionMessage", "isInSession", "isAuthorize", "isSucceed"):
        answer[key] = copy.deepcopy(captured[key])
    answer["contextId"] = context_id if context_id is not None else captured["contextId"]
    return answer


def failure(message: str, context_id: str | None, *, authorized: bool = True) -> JsonDict:
    """A logical failure: HTTP 200, ``isSucceed: false`` and a message in ``ErrorObj``."""
    return {
        "reponseObj": None,
        "ErrorObj": {"ErrorCode": 1, "ErrorMessage": message},
        "exceptionMessage": message,
        "isInSession": authorized,
        "isAuthorize": authorized,
        "isSucceed": False,
        "contextId": context_id or "",
    }


def not_authorized(context_id: str | None, *, session_lost: bool) -> JsonDict:
    """Token rejected (``isAuthorize: false``) or server session lost (``isInSession: false``)."""
    return {
        "reponseObj": None,
        "ErrorObj": None,
        "exceptionMessage": None,
        "isInSession": not session_lost,
        "isAuthorize": session_lost,
        "isSucceed": False,
        "contextId": context_id or "",
    }


def number(value: float, decimals: int = 1, *, thousands: bool = False) -> str:
    """A value as the cloud writes it: '' when absent, fixed decimals, optional separators."""
    if math.isnan(value):
        return ""
    if decimals == 0:
        return f"{round(value):,d}" if thousands else str(round(value))
    return f"{value:,.{decimals}f}" if thousands else f"{value:.{decimals}f}"


def compact(value: float) -> str:
    """History strings: at most one decimal and no trailing zero (``"2024"``, ``"998.4"``)."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def running(count: float) -> str:
    """A digital-output group: the running count, or ``LangKey_Off`` when none runs."""
    if math.isnan(count) or count <= 0:
        return OFF
    return str(round(count))


def _probe_text(report: HouseReport, index: int, decimals: int, faults: Sequence[Fault]) -> str:
    value = report.values.get(f"probe_temperature_{index}", math.nan)
    if not math.isnan(value):
        return number(value, decimals)
    for fault in faults:
        if (
            fault.kind == "probe_dropout"
            and int(fault.param("probe", 1)) == index
            and fault.active(report.shown_at)
        ):
            return str(fault.params.get("sentinel", ABSENT_PROBE))
    return ABSENT_PROBE


def comparison_values(report: HouseReport, probes: int, faults: Sequence[Fault]) -> dict[str, str]:
    """``DicComparisonItems`` values of one house, by category."""
    v = report.values
    empty = math.isnan(v["growth_day"])
    values = {
        "AlarmsCount": "1" if report.alarm else "",
        "HouseConnectionStatus": str(report.connection),
        "Alarm": "True" if report.alarm else "False",
        "Time": report.controller_time,
        "Growth_Day": "" if empty else str(int(v["growth_day"])),
        "Temperature_Current": number(v["temperature"]),
        "Static_Pressure": number(v["static_pressure"], 0),
        "Inside_Humidity": number(v["humidity"], 0),
        "Humidity_Current": number(v["humidity"], 0),
        "Tunnel_Temperature": number(v["tunnel_temperature"]),
        "Wind_Chill_Temperature": number(v["wind_chill_temperature"]),
        "Outside_Temperature": number(v["outside_temperature"]),
        "Vent_Mode": str(int(v["vent_mode"])),
        "HouseMode": str(int(v["house_mode"])),
        "Vent_Level": number(v["vent_level"], 0),
        "Min_Vent_Level": number(v["min_vent_level"], 0),
        "Current_Level_CFM": number(v["air_flow"], 0, thousands=True),
        "Vent_Level_Percents": number(v["vent_level_percent"], 0),
        "Set_Temperature": number(v["set_temperature"]),
        "Target_Pressure": number(v["target_pressure"], 0),
        "Feed_Daily": number(v["feed_daily"], 0),
        "Feed_Consumption": number(v["feed_daily"], 0),
        "Water_Daily": number(v["water_daily"], 0),
        "Average_Weight": "0.000" if empty else number(v["average_weight"], 3),
        "Current_Birds_Count_In_House": number(v["bird_count"], 0),
        "Livablity_Percents": "" if empty else compact_percent(v["livability"]),
        "Heaters": running(v["heaters_running"]),
        "Tunnel_Fans": running(v["tunnel_fans_running"]),
        "Exh_Fans": running(v["exhaust_fans_running"]),
        "Cooling_Pad": "LangKey_On" if v["cooling_pad"] > 0 else OFF,
        "Air_Vent_1_Position": number(min(100.0, v["vent_level_percent"] * 2.2), 0),
        "Tunnel_Curtain_1_Position": number(
            100.0 * v["tunnel_fans_running"] / 12.0 if v["vent_mode"] == 2 else 0.0, 0
        ),
    }
    for index in range(1, probes + 1):
        values[f"Temperature_Sensor_{index}"] = _probe_text(report, index, 1, faults)
    values[f"Temperature_Sensor_{probes + 1}"] = number(v["outside_temperature"])
    return values


def compact_percent(value: float) -> str:
    """Livability as the comparison writes it (``100``, ``98.42``)."""
    if math.isnan(value):
        return ""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return text or "0"


def site_controllers_info(
    farm: FarmModel,
    when: datetime,
    faults: Sequence[Fault],
    context_id: str | None,
    *,
    missing: Collection[int] = (),
) -> JsonDict:
    """``GetSiteControllersInfo``: every house of the farm in one answer.

    Houses in ``missing`` are left out of both lists, as in a partial answer of the cloud.
    """
    captured = _template("GetSiteControllersInfo")["reponseObj"]
    house_template = captured["FarmHouses"][0]
    houses = []
    per_house: dict[int, dict[str, str]] = {}
    shown = tuple(house for house in farm.houses if house.number not in missing)
    reports = house_reports(farm, shown, when, faults)
    for house, report in zip(shown, reports, strict=True):
        mine = _house_faults(farm, house, faults)
        # Shallow copies: the all-zero ``Data`` blocks are the same for every house and the
        # answer is serialised before anyone could change them.
        entry = dict(house_template)
        entry["HouseControllerTypeInfo"] = dict(house_template["HouseControllerTypeInfo"])
        entry["HouseNumber"] = house.number
        entry["HouseName"] = f"House {house.number}"
        entry["FieldName"] = f"House{house.number}"
        entry["ConnectionStatus"] = report.connection
        entry["HouseMode"] = int(report.values["house_mode"])
        entry["HouseControllerTypeInfo"]["ControllerID"] = house.number
        houses.append(entry)
        per_house[house.number] = comparison_values(report, len(house.probe_offsets), mine)
    items: dict[str, JsonDict] = {}
    for category in captured["DicComparisonItems"]:
        name = category["CategoryName"]
        if name is None:
            items[category["Key"]] = {
                f"House{house.number}": category["Default"] for house in shown
            }
            continue
        item: JsonDict = {
            "CategoryName": name,
            "CaptionLanguageKey": category["CaptionLanguageKey"],
        }
        for house in shown:
            item[f"House{house.number}"] = per_house[house.number].get(name, category["Default"])
            item[f"House{house.number}_Data"] = ""
        items[name] = item
    payload = {
        "FarmHouses": houses,
        "HousesAlarms": [],
        "LastUpdateDT": _dotnet_time(when),
        "DicDashboardItems": {},
        "DicComparisonItems": items,
        "IsDataChanged": True,
        "IsAlarmsDataChanged": False,
        "IsFirstDataLoad": False,
    }
    return envelope("GetSiteControllersInfo", payload, context_id)


def _dotnet_time(when: datetime) -> str:
    """ISO time with the 7-digit fraction .NET writes."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0+00:00"


def _house_faults(farm: FarmModel, house: HouseModel, faults: Sequence[Fault]) -> list[Fault]:
    """The house faults of this house (the model itself knows when each one acts)."""
    return [f for f in faults if f.house is not None and f.applies_to(farm.number, house.number)]


def _units_signs(units: str) -> dict[str, str]:
    if units == "imperial":
        return {"temperature": "F°", "weight": "LB", "capacity": "CFM"}
    return {"temperature": "C°", "weight": "KG", "capacity": "M3/H"}


def command_general(
    farm: FarmModel,
    house: HouseModel,
    when: datetime,
    faults: Sequence[Fault],
    context_id: str | None,
) -> JsonDict:
    """``RNBL_GetCommandData`` CommandID 0: the live screen of one house."""
    mine = _house_faults(farm, house, faults)
    report = house_report(farm, house, when, mine)
    v = report.values
    empty = math.isnan(v["growth_day"])
    answer = template("cmd0")
    payload = answer["reponseObj"]
    payload["HouseNumber"] = house.number
    payload["RequestID"] = str(uuid.uuid4())
    data = payload["dsData"]
    signs = _units_signs(farm.options.units)
    general = {
        "Growth_Day": "" if empty else str(int(v["growth_day"])),
        "Time": report.controller_time,
        "House_Mode": str(int(v["house_mode"])),
        "Siren": "True" if report.alarm else "False",
        "Vent_Mode": str(int(v["vent_mode"])),
        "Vent_Level": number(v["vent_level"], 0),
        "Min_Vent_Level": number(v["min_vent_level"], 0),
        "Set_Temperature": number(v["set_temperature"], 2),
        "Target_Pressure": number(v["target_pressure"], 1),
        "Feed_Consumption": number(v["feed_daily"], 0),
        "Current_Level_CFM": number(v["air_flow"], 0),
        "CFM_Percentage": number(v["vent_level_percent"], 0),
        "Current_Birds_Count_In_House": number(v["bird_count"], 0),
        "Birds_Livability": "" if empty else compact_percent(v["livability"]),
        "House_Connection_Status": str(report.connection),
        "Average_Temperature": number(v["temperature"], 2),
        "Outside_Temperature": number(v["outside_temperature"], 2),
        "Inside_Humidity": number(v["humidity"], 0),
        "Humidity_1": number(v["humidity"], 0),
        "Static_Pressure": number(v["static_pressure"], 0),
    }
    _fill_rows(data["General"], general | _mortality_rows(farm, house, when, mine, v))
    view = data["General_View"][0]
    for key, value in general.items():
        if key in view:
            view[key] = value
    view.update(
        {
            "Set_Temperature": number(v["set_temperature"]),
            "Average_Temperature": number(v["temperature"]),
            "Outside_Temperature": number(v["outside_temperature"]),
            "Current_Level_CFM": number(v["air_flow"], 0, thousands=True),
            "Birds_Livability": "" if empty else number(v["livability"], 2),
            "Set_Temperature_Sign": signs["temperature"],
            "Average_Temperature_Sign": signs["temperature"],
            "Outside_Temperature_Sign": signs["temperature"],
            "Feed_Consumption_Sign": signs["weight"],
            "Current_Level_CFM_Sign": signs["capacity"],
        }
    )
    probes = len(house.probe_offsets)
    data["TempSensor"] = _temp_sensor_rows(data["TempSensor"], report, probes, mine, 2)
    data["TempSensor_View"] = _temp_sensor_rows(data["TempSensor_View"], report, probes, mine, 1)
    consumption = {
        "Daily_Water": number(v["water_daily"], 0),
        "Daily_Feed": number(v["feed_daily"], 0),
        # Litres per kilogram of the day so far; the controller shows N/A before any feed.
        "Daily_WaterFeedRate": number(v["water_daily"] / v["feed_daily"], 2)
        if v["feed_daily"] >= 1.0
        else "N/A",
    }
    _fill_rows(data["Consumption"], consumption)
    data["Consumption_View"][0].update(consumption)
    data["Consumption_View"][0]["Daily_Feed_Sign"] = signs["weight"]
    outputs = {
        "Heaters": (running(v["heaters_running"]), str(house.heaters)),
        "Tunnel_Fans": (running(v["tunnel_fans_running"]), str(house.tunnel_fans)),
        "Exh_Fans": (running(v["exhaust_fans_running"]), str(house.exhaust_fans)),
        "Cooling_Pad": ("1" if v["cooling_pad"] > 0 else OFF, "1"),
    }
    for row in data["DigitalOut"]:
        if row["ParameterKeyName"] in outputs:
            row["ParameterValue"], row["ParameterData"] = outputs[row["ParameterKeyName"]]
    weight = "0" if empty else number(v["average_weight"], 3)
    _fill_rows(data["AvgWeight"], {"Average_Weight": weight})
    data["AvgWeight_View"][0].update(
        {"Average_Weight": "0.000" if empty else weight, "Average_Weight_Sign": signs["weight"]}
    )
    series = {
        "Last24HourTemperature_AVG": ";".join(number(x) for x in report.last_24h_average),
        "Last24HourTemperature_TARGET": ";".join(number(x) for x in report.last_24h_target),
    }
    _fill_rows(data["HistoryTemp"], series)
    _fill_rows(data["HistoryTemp_View"], series)
    return envelope("cmd0", payload, context_id)


def _mortality_rows(
    farm: FarmModel,
    house: HouseModel,
    when: datetime,
    faults: Sequence[Fault],
    values: Mapping[str, float],
) -> dict[str, str]:
    """Today's dead birds as the farmer entered them: the model counts birds once a day, so
    today's losses are yesterday's count minus today's, split between the sexes of a mixed
    flock. No culls or moves. Empty outside a flock's first day onwards."""
    day = values["growth_day"]
    if math.isnan(day) or day < 1:
        return {}
    yesterday = house_report(farm, house, when - timedelta(days=1), faults).values["bird_count"]
    dead = max(0, int(yesterday - values["bird_count"]))
    return {
        "TotalDailyMaleMortality": str(dead // 2),
        "TotalDailyFemaleMortality": str(dead - dead // 2),
        "TotalDailyMaleCult": "0",
        "TotalDailyFemaleCult": "0",
        "TotalDailyMaleMoved": "0",
        "TotalDailyFemaleMoved": "0",
    }


def _fill_rows(rows: list[JsonDict], values: Mapping[str, str]) -> None:
    for row in rows:
        if row["ParameterKeyName"] in values:
            row["ParameterValue"] = values[row["ParameterKeyName"]]


def _temp_sensor_rows(
    rows: list[JsonDict],
    report: HouseReport,
    probes: int,
    faults: Sequence[Fault],
    decimals: int,
) -> list[JsonDict]:
    """TempSensor rows: tunnel, wind chill, attic, inside probes, the outside probe, extras."""
    by_key = {row["ParameterKeyName"]: row for row in rows}
    inside_template = by_key["Temperature_Sensor_1"]
    outside_template = by_key["Temperature_Sensor_9"]
    v = report.values
    result = []
    for key, value in (
        ("Tunnel_Temperature", number(v["tunnel_temperature"], decimals)),
        ("Wind_Chill_Temperature", number(v["wind_chill_temperature"], decimals)),
        ("Attic_Temperature", ABSENT_PROBE),
    ):
        row = copy.deepcopy(by_key[key])
        row["ParameterValue"] = value
        result.append(row)
    for index in range(1, probes + 2):
        row = copy.deepcopy(inside_template if index <= probes else outside_template)
        row["ParameterKeyName"] = f"Temperature_Sensor_{index}"
        row["ParameterDisplayName"] = f"Temp. {index}"
        row["ParameterValue"] = (
            _probe_text(report, index, decimals, faults)
            if index <= probes
            else number(v["outside_temperature"], decimals)
        )
        result.append(row)
    result.extend(copy.deepcopy(by_key[key]) for key in ("Ammonia", "Wind_Speed", "Wind_Direction"))
    return result


def _change(today: float, yesterday: float | None) -> float:
    """Rotem's 'Change (%)': day over day, -9999 when there is nothing to compare with."""
    if yesterday is None or yesterday <= 0 or math.isnan(today):
        return -9999.0
    return float(round(100.0 * (today - yesterday) / yesterday))


@dataclass(frozen=True, slots=True)
class _HistoryContext:
    """What every history row of one answer needs besides its own day."""

    farm: FarmModel
    house: HouseModel
    units: str
    water_yesterday_same_time: float
    feed_yesterday_same_time: float

    def birds_on(self, record: model.DayRecord) -> float:
        """Birds in the house on that day (0 before placement)."""
        noon = (record.local_day + 0.5) * model.DAY - self.farm.offset_seconds
        cal = model.calendar(self.farm, self.house, np.array([noon]))
        if np.isnan(cal.growth_day[0]) or cal.growth_day[0] < 0:
            return 0.0
        return float(model.bird_count(self.house, cal)[0])

    def compared_with(
        self, record: model.DayRecord, previous: model.DayRecord | None, role: str
    ) -> float | None:
        """What Rotem compares a day with: yesterday's total, or for today (partial)
        yesterday's total at the same time of day."""
        if previous is None:
            return None
        if record.partial:
            value = (
                self.water_yesterday_same_time
                if role == "water_daily"
                else self.feed_yesterday_same_time
            )
        else:
            value = previous.water if role == "water_daily" else previous.feed
        return convert(role, value, self.units)


def history(
    farm: FarmModel,
    house: HouseModel,
    command: int,
    *,
    when: datetime,
    faults: Sequence[Fault],
    context_id: str | None,
) -> JsonDict:
    """History tables (CommandID 35, 40, 41, 43) by growth day, last row partial."""
    mine = _house_faults(farm, house, faults)
    shown, _ = model.reported_times(farm, house, np.array([model.epoch(when)]), mine)
    shown_at = datetime.fromtimestamp(float(shown[0]), UTC)
    records = model.day_records(farm, house, shown_at, mine)
    yesterday_now = np.array([model.epoch(shown_at) - model.DAY])
    water_then, feed_then = model.daily_totals(farm, house, yesterday_now, mine)
    context = _HistoryContext(
        farm, house, farm.options.units, float(water_then[0]), float(feed_then[0])
    )
    rows = []
    previous: model.DayRecord | None = None
    for index, record in enumerate(records):
        if command == 35:
            row = _temperature_row(record, context.units)
        elif command == 40:
            row = _water_row(record, previous, context)
        elif command == 41:
            row = _feed_row(record, previous, context)
        else:
            row = _heater_row(record)
        row["RowNum"] = index
        rows.append(row)
        previous = record
    answer = template(f"cmd{command}")
    payload = answer["reponseObj"]
    payload["HouseNumber"] = house.number
    payload["RequestID"] = str(uuid.uuid4())
    payload["dsData"]["Data"] = rows
    return envelope(f"cmd{command}", payload, context_id)


def _temperature_row(record: model.DayRecord, units: str) -> JsonDict:
    def temp(value: float) -> float:
        return round(convert("temperature", value, units), 2)

    return {
        "QueueRecord_GrowthDay": float(record.growth_day or 0),
        "QueueRecord_MinimumValue": temp(record.temperature_min),
        "QueueRecord_AverageValue": temp(record.temperature_avg),
        "QueueRecord_MaximumValue": temp(record.temperature_max),
    }


_METER_SHARES = (0.52, 0.48)


def _water_row(
    record: model.DayRecord, previous: model.DayRecord | None, context: _HistoryContext
) -> JsonDict:
    total = convert("water_daily", record.water, context.units)
    before = context.compared_with(record, previous, "water_daily")
    birds = context.birds_on(record)
    row: JsonDict = {
        "HistoryRecord_GrowthDay": float(record.growth_day or 0),
        "HistoryRecord_TotalDrink": compact(total),
        "HistoryRecord_ChangeTotal": _change(total, before),
        "HistoryRecord_WaterPerBird": compact(total / birds) if birds else "0",
    }
    for meter in range(1, 5):
        if meter <= len(_METER_SHARES):
            share = _METER_SHARES[meter - 1]
            row[f"HistoryRecord_DailyWater_{meter}"] = compact(total * share)
            row[f"HistoryRecord_ChangeWater_{meter}"] = _change(
                total * share, None if before is None else before * share
            )
        else:
            row[f"HistoryRecord_DailyWater_{meter}"] = "0"
            row[f"HistoryRecord_ChangeWater_{meter}"] = -9999.0
    row.update(
        {
            "HistoryRecord_TotalWater": compact(total),
            "HistoryRecord_Cooling": "0",
            "HistoryRecord_Fogger": "0",
            "Flushing": "0",
        }
    )
    return row


def _feed_row(
    record: model.DayRecord, previous: model.DayRecord | None, context: _HistoryContext
) -> JsonDict:
    total = float(round(convert("feed_daily", record.feed, context.units)))
    before = context.compared_with(record, previous, "feed_daily")
    birds = context.birds_on(record)
    first = float(round(total * 0.5))
    feeders = [first, total - first, 0.0, 0.0]
    row: JsonDict = {
        "HistoryRecord_GrowthDay": float(record.growth_day or 0),
        "HistoryRecord_FeederTotal": total,
        "HistoryRecord_ChangeTotal": _change(total, before),
        "HistoryRecord_FeedPerBird": round(total / birds, 3) if birds else 0.0,
    }
    for feeder in range(1, 5):
        row[f"HistoryRecord_Feeder_{feeder}"] = feeders[feeder - 1]
        row[f"HistoryRecord_ChangeFeeder_{feeder}"] = (
            _change(feeders[feeder - 1], None if before is None else before / 2)
            if feeder <= 2
            else -9999.0
        )
    return row


def _heater_row(record: model.DayRecord) -> JsonDict:
    row: JsonDict = {"HistoryRecord_Heaters_GrowthDay": float(record.growth_day or 0)}
    for device in range(1, MAX_HEATER_DEVICES + 1):
        minutes = record.heater_minutes[device - 1] if device <= len(record.heater_minutes) else 0
        row[f"HistoryRecord_Heaters_HeaterDevice_{device}"] = (
            f"{minutes // 60:02d}:{minutes % 60:02d}"
        )
    return row


def _replace_placeholders(value: Any, names: Mapping[str, str]) -> Any:
    """Swap the captures' redaction placeholders for this farm's made-up facts."""
    if isinstance(value, dict):
        return {key: _replace_placeholders(item, names) for key, item in value.items()}
    if isinstance(value, list):
        return [_replace_placeholders(item, names) for item in value]
    if isinstance(value, str) and value.startswith("<REDACTED_"):
        return names.get(value[len("<REDACTED_") : -1], "")
    return value


def _farm_names(farm: FarmModel, user_token: str) -> dict[str, str]:
    return {
        "GATEWAY_CODE": farm.gateway,
        "GATEWAY_NAME": farm.gateway,
        "FARM_NAME": farm.alias,
        "ACCOUNT_NAME": f"farm{farm.number}",
        "DISPLAY_NAME": f"Farmer {farm.number}",
        "OWNER_NAME": f"Farmer {farm.number}",
        "EMAIL": f"farm{farm.number}@example.invalid",
        "USER_TOKEN": user_token,
        "URL": farm.host_path,
        "COUNTRY_ID": "Other",
    }


def js_globals(farm: FarmModel, user_token: str, context_id: str | None) -> JsonDict:
    """``JsGlobals_GetJsGlobals``: units, enums, gateway info (trimmed language table)."""
    payload = _replace_placeholders(
        template("JsGlobals_GetJsGlobals")["reponseObj"], _farm_names(farm, user_token)
    )
    gateway = payload["GatewayInfo"]
    gateway["DicHousesToScan"] = {str(h.number): f"House {h.number}" for h in farm.houses}
    gateway["LstAccounts"][0]["LstGateways"][0]["HousesCount"] = len(farm.houses)
    gateway["WebServerUrl"] = farm.host_path
    user = payload["UserInfo"]
    if farm.options.units == "imperial":
        user["UnitConverterSettings"].update(
            {
                "TemperatureUnit": 1,
                "WeightUnit": 1,
                "CapacityUnit": 1,
                "VolumeFluidUnit": 1,
                "LengthUnit": 1,
                "SpeedUnit": 1,
                "RainUnit": 1,
                "UnitsStr": (
                    "Fahrenheit.1.Lb.1.PASCAL.2.CFM.1.NON_METRIC.1.Gallon.1.MILE_H.1.INCH.1"
                ),
            }
        )
        user["DicUintsSigns"].update(
            {
                "UT_Temperature": "F°",
                "UT_Weight": "LB",
                "UT_Capacity": "CFM",
                "UT_WindSpeed": "Mile/H",
            }
        )
    # The capture's own context id for this operation is empty.
    return envelope("JsGlobals_GetJsGlobals", payload, "" if context_id is None else context_id)


def farm_registration(farm: FarmModel, context_id: str | None) -> JsonDict:
    """``GetFarmRegistration``: alias and address (made up) plus trimmed lookup tables."""
    payload = _replace_placeholders(
        template("GetFarmRegistration")["reponseObj"], _farm_names(farm, "")
    )
    return envelope("GetFarmRegistration", payload, context_id)


def comparison_display_fields(context_id: str | None) -> JsonDict:
    """``GetComparisonDisplayFields``: the captured field map, unchanged."""
    return envelope(
        "GetComparisonDisplayFields",
        template("GetComparisonDisplayFields")["reponseObj"],
        context_id,
    )


def house_data(house: HouseModel, context_id: str | None) -> JsonDict:
    """``GetHouseData``: the captured controller menu tree of a Platinum Pro."""
    payload = template("GetHouseData")["reponseObj"]
    payload["HouseControllerTypeInfo"]["ControllerID"] = house.number
    return envelope("GetHouseData", payload, context_id)


def login_answer(
    farm: FarmModel, user_token: str, connection_token: str, when: datetime
) -> JsonDict:
    """A successful login. No Login capture exists: the shape follows what the known clients
    read (``FarmUser.UserToken``, ``FarmConnectionInfo.ConnectionToken/GatewayName``,
    ``WebServerUrl``) in the same envelope as every other answer."""
    payload = {
        "LoginResultCode": 0,
        "FarmUser": {
            "ID": 10000 + farm.number,
            "UserName": f"farm{farm.number}",
            "DisplayName": f"Farmer {farm.number}",
            "UserToken": user_token,
            "RefreshToken": uuid.uuid4().hex,
            "IsFarmAdmin": True,
            "IsActive": True,
            "LastLoginDT": _dotnet_time(when),
            "Language": "ENGLISH",
            "WebServerUrl": farm.host_path,
        },
        "FarmConnectionInfo": {
            "ConnectionToken": connection_token,
            "GatewayName": farm.gateway,
            "GatewayAliasName": farm.alias,
            "WebServerUrl": farm.host_path,
            "IsConnected": True,
        },
        "WebServerUrl": farm.host_path,
    }
    return {
        "reponseObj": payload,
        "ErrorObj": {"ErrorCode": 0, "ErrorMessage": ""},
        "exceptionMessage": None,
        "isInSession": True,
        "isAuthorize": True,
        "isSucceed": True,
        "contextId": "",
    }


def login_refused(context_id: str | None) -> JsonDict:
    """Wrong user name or password: HTTP 200, ``isSucceed: false``, code LoginFailed (1)."""
    answer = failure("Login failed: wrong user name or password", context_id)
    answer["reponseObj"] = {"LoginResultCode": 1}
    return answer
