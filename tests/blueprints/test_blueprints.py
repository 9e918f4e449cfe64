"""Each blueprint, loaded by HA's blueprint integration, driven through its trigger entity.

What a farmer relies on: the right message for the right house, no message when the condition
is not met (missing data, too short, cool-down), and the optional actions running.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.automation.helpers import async_get_blueprints
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (
    async_fire_time_changed,
    async_mock_service,
)

from .conftest import BLUEPRINT_FILES, FakeFarm, setup_blueprint_automation

NOTIFY = "notify.farm_phone"


async def _advance(hass: HomeAssistant, freezer: FrozenDateTimeFactory, minutes: float) -> None:
    """Move the clock on and let HA's timers (the triggers' `for`) fire."""
    freezer.tick(timedelta(minutes=minutes))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()


async def _set(hass: HomeAssistant, entity_id: str, state: str, **attributes: Any) -> None:
    """Write a state and let every listener (triggers, `for` trackers) see it before time moves."""
    hass.states.async_set(entity_id, state, attributes)
    await hass.async_block_till_done()


def _local(moment: datetime) -> str:
    return dt_util.as_local(moment).strftime("%Y-%m-%d %H:%M")


async def test_every_blueprint_loads_with_its_metadata(blueprint_hass: HomeAssistant) -> None:
    """HA's blueprint integration accepts each file; each declares source, version and filters."""
    blueprints = await async_get_blueprints(blueprint_hass).async_get_blueprints()
    loaded = {path.removeprefix("rotem_farm/"): bp for path, bp in blueprints.items()}
    assert set(loaded) >= set(BLUEPRINT_FILES)
    for name in BLUEPRINT_FILES:
        blueprint = loaded[name]
        assert not isinstance(blueprint, Exception), f"{name}: {blueprint}"
        metadata = blueprint.metadata
        assert metadata["domain"] == "automation"
        assert metadata["source_url"] == (
            "https://github.com/rotem-farm/ha-rotem-farm/blob/main/blueprints/automation/"
            f"rotem_farm/{name}"
        )
        assert metadata["homeassistant"]["min_version"] == "2025.4.0"
        entity_inputs = [
            spec["selector"]["entity"]
            for spec in metadata["input"].values()
            if "entity" in (spec.get("selector") or {})
        ]
        assert entity_inputs, f"{name} has no entity input"
        for selector in entity_inputs:
            for entity_filter in selector["filter"]:
                assert entity_filter["integration"] == "rotem_farm"
                assert set(entity_filter["domain"]) <= {"sensor", "binary_sensor"}


# ---- house_anomaly_notify -----------------------------------------------------------------------


@pytest.fixture
async def anomaly_entity(blueprint_hass: HomeAssistant, farm: FakeFarm) -> str:
    """House 2's anomaly sensor, normal, with an automation (60 min cool-down) watching it."""
    device = farm.device("G1_2", "House 2")
    entity_id = farm.entity(
        "binary_sensor", "G1_2_anomaly", "house_2_anomaly", device, device_class="problem"
    )
    await _set(blueprint_hass, entity_id, "off")
    await setup_blueprint_automation(
        blueprint_hass,
        "house_anomaly_notify.yaml",
        {"anomaly_sensors": [entity_id], "cooldown_minutes": 60, "notify_service": NOTIFY},
    )
    return entity_id


async def test_anomaly_notification_says_house_what_and_since(
    blueprint_hass: HomeAssistant, anomaly_entity: str
) -> None:
    """The message names the house, quotes the explanation and the analyzer's start time."""
    calls = async_mock_service(blueprint_hass, "notify", "farm_phone")
    since = datetime(2026, 11, 23, 2, 10, tzinfo=dt_util.UTC)
    await _set(
        blueprint_hass,
        anomaly_entity,
        "on",
        explanation="Temperature 2.8 °C below set point while 4 heaters run",
        since=since.isoformat(),
    )
    await blueprint_hass.async_block_till_done()

    assert len(calls) == 1
    assert calls[0].data["title"] == "Anomaly in House 2"
    assert calls[0].data["message"] == (
        f"Temperature 2.8 °C below set point while 4 heaters run (since {_local(since)})"
    )


async def test_anomaly_without_since_uses_when_the_sensor_turned_on(
    blueprint_hass: HomeAssistant, anomaly_entity: str
) -> None:
    """No `since` attribute: the time the verdict changed is the honest "since"."""
    calls = async_mock_service(blueprint_hass, "notify", "farm_phone")
    await _set(blueprint_hass, anomaly_entity, "on", explanation=None, since=None)
    await blueprint_hass.async_block_till_done()

    assert len(calls) == 1
    changed = blueprint_hass.states.get(anomaly_entity).last_changed  # type: ignore[union-attr]
    assert calls[0].data["message"] == (
        f"The analyzer gave no explanation. (since {_local(changed)})"
    )


async def test_anomaly_cooldown_is_per_house(
    blueprint_hass: HomeAssistant,
    farm: FakeFarm,
    anomaly_entity: str,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A verdict that flaps within the cool-down is told once; after a calm period, again."""
    calls = async_mock_service(blueprint_hass, "notify", "farm_phone")
    await _set(blueprint_hass, anomaly_entity, "on", explanation="Water drop")
    await blueprint_hass.async_block_till_done()
    assert len(calls) == 1

    freezer.tick(timedelta(minutes=10))
    await _set(blueprint_hass, anomaly_entity, "off")
    freezer.tick(timedelta(minutes=20))
    await _set(blueprint_hass, anomaly_entity, "on", explanation="Water drop")
    await blueprint_hass.async_block_till_done()
    assert len(calls) == 1, "notified again within the cool-down"

    freezer.tick(timedelta(minutes=5))
    await _set(blueprint_hass, anomaly_entity, "off")
    freezer.tick(timedelta(minutes=61))
    await _set(blueprint_hass, anomaly_entity, "on", explanation="Feed flat")
    await blueprint_hass.async_block_till_done()
    assert len(calls) == 2
    assert calls[1].data["message"].startswith("Feed flat")


async def test_anomaly_in_another_house_is_not_held_by_the_cooldown(
    blueprint_hass: HomeAssistant, farm: FakeFarm, freezer: FrozenDateTimeFactory
) -> None:
    """Two houses that had been normal for hours, going abnormal minutes apart: two messages."""
    entities = []
    for house in (1, 2):
        device = farm.device(f"G1_{house}", f"House {house}")
        entity_id = farm.entity(
            "binary_sensor", f"G1_{house}_anomaly", f"house_{house}_anomaly", device, "problem"
        )
        await _set(blueprint_hass, entity_id, "off")
        entities.append(entity_id)
    await setup_blueprint_automation(
        blueprint_hass,
        "house_anomaly_notify.yaml",
        {"anomaly_sensors": entities, "cooldown_minutes": 60, "notify_service": NOTIFY},
    )
    calls = async_mock_service(blueprint_hass, "notify", "farm_phone")
    freezer.tick(timedelta(hours=2))
    await _set(blueprint_hass, entities[0], "on", explanation="Heater")
    freezer.tick(timedelta(minutes=3))
    await _set(blueprint_hass, entities[1], "on", explanation="Fan")
    await blueprint_hass.async_block_till_done()

    assert [call.data["title"] for call in calls] == ["Anomaly in House 1", "Anomaly in House 2"]


async def test_anomaly_default_action_creates_a_persistent_notification(
    blueprint_hass: HomeAssistant, farm: FakeFarm
) -> None:
    """Without a notify service chosen, the message lands in HA's notifications."""
    device = farm.device("G1_3", "House 3")
    entity_id = farm.entity("binary_sensor", "G1_3_anomaly", "house_3_anomaly", device, "problem")
    await _set(blueprint_hass, entity_id, "unknown")
    await setup_blueprint_automation(
        blueprint_hass, "house_anomaly_notify.yaml", {"anomaly_sensors": [entity_id]}
    )
    calls = async_mock_service(blueprint_hass, "persistent_notification", "create")
    await _set(blueprint_hass, entity_id, "on", explanation="Probe 2 stuck")
    await blueprint_hass.async_block_till_done()

    assert len(calls) == 1
    assert calls[0].data["title"] == "Anomaly in House 3"


# ---- failure_warning ----------------------------------------------------------------------------


@pytest.fixture
async def risk_entity(blueprint_hass: HomeAssistant, farm: FakeFarm) -> str:
    """House 4's failure-risk sensor at 40 %."""
    device = farm.device("G1_4", "House 4")
    entity_id = farm.entity("sensor", "G1_4_failure_risk", "house_4_failure_risk", device)
    await _set(blueprint_hass, entity_id, "40", unit_of_measurement="%")
    return entity_id


async def test_failure_warning_above_threshold_notifies_and_runs_the_extra_action(
    blueprint_hass: HomeAssistant, risk_entity: str
) -> None:
    """Crossing the threshold tells risk, house, explanation and time left, then runs the action."""
    await setup_blueprint_automation(
        blueprint_hass,
        "failure_warning.yaml",
        {
            "risk_sensors": [risk_entity],
            "threshold": 70,
            "notify_service": NOTIFY,
            "extra_actions": [
                {"action": "switch.turn_on", "target": {"entity_id": "switch.backup_heater"}}
            ],
        },
    )
    calls = async_mock_service(blueprint_hass, "notify", "farm_phone")
    switch_calls = async_mock_service(blueprint_hass, "switch", "turn_on")

    await _set(blueprint_hass, risk_entity, "65", explanation="Heater run time rising")
    await blueprint_hass.async_block_till_done()
    assert calls == [], "warned below the threshold"

    await _set(
        blueprint_hass,
        risk_entity,
        "82.4",
        explanation="Heater run time rising for 3 days",
        time_to_failure_hours=30.2,
    )
    await blueprint_hass.async_block_till_done()
    assert len(calls) == 1
    assert calls[0].data["title"] == "Failure risk 82 % in House 4"
    assert calls[0].data["message"] == (
        "Heater run time rising for 3 days Estimated time left: 30 h."
    )
    assert len(switch_calls) == 1
    assert switch_calls[0].data["entity_id"] == ["switch.backup_heater"]

    await _set(blueprint_hass, risk_entity, "90", explanation="Heater")
    await blueprint_hass.async_block_till_done()
    assert len(calls) == 1, "warned again while the risk stayed above the threshold"

    await _set(blueprint_hass, risk_entity, "30")
    await _set(blueprint_hass, risk_entity, "75")
    await blueprint_hass.async_block_till_done()
    assert len(calls) == 2


async def test_failure_warning_waits_for_the_duration(
    blueprint_hass: HomeAssistant, risk_entity: str, freezer: FrozenDateTimeFactory
) -> None:
    """With "for at least", a short spike is ignored and a lasting risk is told once."""
    await setup_blueprint_automation(
        blueprint_hass,
        "failure_warning.yaml",
        {
            "risk_sensors": [risk_entity],
            "threshold": 70,
            "for_minutes": 30,
            "notify_service": NOTIFY,
        },
    )
    calls: list[ServiceCall] = async_mock_service(blueprint_hass, "notify", "farm_phone")

    await _set(blueprint_hass, risk_entity, "80")
    await _advance(blueprint_hass, freezer, 20)
    await _set(blueprint_hass, risk_entity, "50")
    await _advance(blueprint_hass, freezer, 20)
    assert calls == []

    await _set(blueprint_hass, risk_entity, "80")
    await _advance(blueprint_hass, freezer, 29)
    assert calls == []
    await _advance(blueprint_hass, freezer, 2)
    assert len(calls) == 1
    assert calls[0].data["message"] == "The analyzer expects a failure."


# ---- temperature_out_of_band --------------------------------------------------------------------


@pytest.fixture
async def house_temperatures(blueprint_hass: HomeAssistant, farm: FakeFarm) -> tuple[str, str]:
    """House 5's temperature and set point, both 27.7 °C, with the automation (±3 °C, 15 min)."""
    device = farm.device("G1_5", "House 5")
    temperature = farm.entity(
        "sensor", "G1_5_temperature", "house_5_temperature", device, "temperature"
    )
    set_point = farm.entity(
        "sensor", "G1_5_set_temperature", "house_5_set_temperature", device, "temperature"
    )
    for entity_id in (temperature, set_point):
        await _set(blueprint_hass, entity_id, "27.7", unit_of_measurement="°C")
    await setup_blueprint_automation(
        blueprint_hass,
        "temperature_out_of_band.yaml",
        {
            "temperature_sensor": temperature,
            "set_point_sensor": set_point,
            "band": 3,
            "for_minutes": 15,
            "notify_service": NOTIFY,
        },
    )
    return temperature, set_point


async def test_temperature_out_of_band_for_the_duration_notifies(
    blueprint_hass: HomeAssistant,
    house_temperatures: tuple[str, str],
    freezer: FrozenDateTimeFactory,
) -> None:
    """3.5 °C below set point for 15 minutes: one message with both values."""
    temperature, _ = house_temperatures
    calls = async_mock_service(blueprint_hass, "notify", "farm_phone")
    await _set(blueprint_hass, temperature, "24.2", unit_of_measurement="°C")
    await _advance(blueprint_hass, freezer, 14)
    assert calls == []
    await _advance(blueprint_hass, freezer, 2)

    assert len(calls) == 1
    assert calls[0].data["title"] == "House 5: temperature out of band"
    assert calls[0].data["message"] == (
        "House 5 is at 24.2 °C, set point 27.7 °C (below by more than 3 °C for 15 min)."
    )


async def test_temperature_back_in_band_before_the_duration_is_silent(
    blueprint_hass: HomeAssistant,
    house_temperatures: tuple[str, str],
    freezer: FrozenDateTimeFactory,
) -> None:
    """A short excursion (the band is left for 10 minutes) is what the delay is for."""
    temperature, set_point = house_temperatures
    calls = async_mock_service(blueprint_hass, "notify", "farm_phone")
    await _set(blueprint_hass, temperature, "31.0", unit_of_measurement="°C")
    await _advance(blueprint_hass, freezer, 10)
    await _set(blueprint_hass, set_point, "29.0", unit_of_measurement="°C")
    await _advance(blueprint_hass, freezer, 30)
    assert calls == []


async def test_temperature_missing_reading_is_not_out_of_band(
    blueprint_hass: HomeAssistant,
    house_temperatures: tuple[str, str],
    freezer: FrozenDateTimeFactory,
) -> None:
    """An unavailable sensor is no temperature: no alarm made up from it."""
    temperature, set_point = house_temperatures
    calls = async_mock_service(blueprint_hass, "notify", "farm_phone")
    await _set(blueprint_hass, temperature, "unavailable")
    await _set(blueprint_hass, set_point, "unknown")
    await _advance(blueprint_hass, freezer, 60)
    assert calls == []


# ---- offline ------------------------------------------------------------------------------------


@pytest.fixture
async def connection_entities(blueprint_hass: HomeAssistant, farm: FakeFarm) -> tuple[str, str]:
    """The farm's cloud connection and house 6's controller connection, both on."""
    farm_device = farm.device("G1", "Test farm")
    house_device = farm.device("G1_6", "House 6")
    farm_connection = farm.entity(
        "binary_sensor", "G1_cloud_connection", "farm_cloud_connection", farm_device, "connectivity"
    )
    house_connection = farm.entity(
        "binary_sensor", "G1_6_connection", "house_6_connection", house_device, "connectivity"
    )
    for entity_id in (farm_connection, house_connection):
        await _set(blueprint_hass, entity_id, "on")
    return farm_connection, house_connection


async def test_offline_for_the_duration_notifies_and_recovery_follows(
    blueprint_hass: HomeAssistant,
    connection_entities: tuple[str, str],
    freezer: FrozenDateTimeFactory,
) -> None:
    """Off for 10 minutes: "offline"; back on: "back online" with the outage length."""
    _, house_connection = connection_entities
    await setup_blueprint_automation(
        blueprint_hass,
        "offline.yaml",
        {
            "connection_sensors": list(connection_entities),
            "offline_minutes": 10,
            "notify_service": NOTIFY,
        },
    )
    calls = async_mock_service(blueprint_hass, "notify", "farm_phone")
    await _set(blueprint_hass, house_connection, "off")
    went_off = dt_util.utcnow()
    await _advance(blueprint_hass, freezer, 9)
    assert calls == []
    await _advance(blueprint_hass, freezer, 2)
    assert [call.data["title"] for call in calls] == ["House 6 is offline"]
    assert calls[0].data["message"] == f"No connection to House 6 since {_local(went_off)}."

    await _advance(blueprint_hass, freezer, 14)
    await _set(blueprint_hass, house_connection, "on")
    await blueprint_hass.async_block_till_done()
    assert calls[1].data["title"] == "House 6 is back online"
    assert calls[1].data["message"] == "House 6 is connected again after 25 min."


async def test_offline_short_blip_gives_no_message_at_all(
    blueprint_hass: HomeAssistant,
    connection_entities: tuple[str, str],
    freezer: FrozenDateTimeFactory,
) -> None:
    """Off for 3 minutes: neither "offline" nor "back online"."""
    farm_connection, _ = connection_entities
    await setup_blueprint_automation(
        blueprint_hass,
        "offline.yaml",
        {
            "connection_sensors": list(connection_entities),
            "offline_minutes": 10,
            "notify_service": NOTIFY,
        },
    )
    calls = async_mock_service(blueprint_hass, "notify", "farm_phone")
    await _set(blueprint_hass, farm_connection, "off")
    await _advance(blueprint_hass, freezer, 3)
    await _set(blueprint_hass, farm_connection, "on")
    await _advance(blueprint_hass, freezer, 30)
    assert calls == []


async def test_offline_farm_cloud_connection_names_the_farm(
    blueprint_hass: HomeAssistant,
    connection_entities: tuple[str, str],
    freezer: FrozenDateTimeFactory,
) -> None:
    """RotemNetWeb unreachable: the farm's cloud connection is off, the farm is named."""
    farm_connection, _ = connection_entities
    await setup_blueprint_automation(
        blueprint_hass,
        "offline.yaml",
        {
            "connection_sensors": list(connection_entities),
            "offline_minutes": 10,
            "include_unavailable": False,
            "notify_service": NOTIFY,
        },
    )
    calls = async_mock_service(blueprint_hass, "notify", "farm_phone")
    await _set(blueprint_hass, farm_connection, "off")
    await _advance(blueprint_hass, freezer, 11)
    await _set(blueprint_hass, farm_connection, "on")
    await blueprint_hass.async_block_till_done()
    assert [call.data["title"] for call in calls] == [
        "Test farm is offline",
        "Test farm is back online",
    ]


@pytest.mark.parametrize(
    ("include_unavailable", "expected_titles"),
    [
        (True, ["House 6 is offline", "House 6 is back online"]),
        (False, []),
    ],
)
async def test_offline_unavailable_counts_only_when_chosen(
    blueprint_hass: HomeAssistant,
    connection_entities: tuple[str, str],
    freezer: FrozenDateTimeFactory,
    include_unavailable: bool,
    expected_titles: list[str],
) -> None:
    """No data from the cloud (a house sensor unavailable) is an outage only if the user says so.

    The farm's cloud connection reports the same outage as off, whatever is chosen here.
    """
    _, house_connection = connection_entities
    await setup_blueprint_automation(
        blueprint_hass,
        "offline.yaml",
        {
            "connection_sensors": list(connection_entities),
            "offline_minutes": 10,
            "include_unavailable": include_unavailable,
            "notify_service": NOTIFY,
        },
    )
    calls = async_mock_service(blueprint_hass, "notify", "farm_phone")
    await _set(blueprint_hass, house_connection, "unavailable")
    await _advance(blueprint_hass, freezer, 12)
    await _set(blueprint_hass, house_connection, "on")
    await blueprint_hass.async_block_till_done()
    assert [call.data["title"] for call in calls] == expected_titles
