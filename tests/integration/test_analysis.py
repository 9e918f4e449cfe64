"""Analysis entities: unknown at first, filled by report_analysis, stale, restored."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from enum import Enum
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN, EntityCategory
from homeassistant.core import HomeAssistant, State
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
    mock_restore_cache_with_extra_data,
)
from syrupy.assertion import SnapshotAssertion

from custom_components.rotem_farm.analysis import AnalysisReport, AnalysisStore
from custom_components.rotem_farm.const import (
    CONF_CAPACITY,
    CONF_FARM_KIND,
    CONF_HOUSES,
    DOMAIN,
    FARM_KIND_MANUAL,
    SERVICE_REPORT_ANALYSIS,
    SUBSYSTEMS,
)

FARM_ID = "manualhilltop01"
NOW = "2026-11-23T12:00:00+00:00"
KEYS = (
    ("binary_sensor", "anomaly"),
    ("sensor", "anomaly_score"),
    ("sensor", "failure_risk"),
    ("sensor", "failure_subsystem"),
    ("sensor", "last_analysis"),
)
STALE_KEYS = KEYS[:4]

HEATING_REPORT: dict[str, Any] = {
    "anomaly": True,
    "anomaly_score": 87.5,
    "failure_risk": 60,
    "subsystem": "heating",
    "explanation": "Temperature 2.8 °C below set point while 4 heaters run, since 02:10",
    "signal": "temperature",
    "expected": 27.7,
    "actual": 24.9,
    "since": "2026-11-23T02:10:00+00:00",
    "time_to_failure_hours": 30,
}


def find_device(hass: HomeAssistant, identifier: str, entry_id: str) -> dr.DeviceEntry | None:
    """Look a device up by identifier on every supported HA (the lookup changed in 2026.8)."""
    registry = dr.async_get(hass)
    lookup = getattr(registry, "async_get_device_by_identifier", None)
    if lookup is not None:  # absent from the pinned HA, so mypy cannot see its return type
        device: dr.DeviceEntry | None = lookup((DOMAIN, identifier), entry_id)
        return device
    return registry.async_get_device(identifiers={(DOMAIN, identifier)})


def plain(attributes: Mapping[str, Any]) -> dict[str, Any]:
    """Attributes with plain-string keys and enum values, as newer HA types them differently."""
    return {
        str(key): value.value if isinstance(value, Enum) else value
        for key, value in attributes.items()
    }


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Load custom_components/rotem_farm in every test."""


def manual_entry() -> MockConfigEntry:
    """A two-house manual farm: the analysis entities are the same on Rotem farms."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="Hilltop",
        unique_id=FARM_ID,
        entry_id="hilltop_entry",
        data={CONF_FARM_KIND: FARM_KIND_MANUAL, CONF_HOUSES: 2, CONF_CAPACITY: 20000},
    )


def preregister(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Fix the entity ids before set-up, so the restore cache can name them."""
    registry = er.async_get(hass)
    for house in (1, 2):
        for platform, key in KEYS:
            registry.async_get_or_create(
                platform,
                DOMAIN,
                f"{FARM_ID}_{house}_{key}",
                suggested_object_id=f"hilltop_house_{house}_{key}",
                config_entry=entry,
            )


async def setup_entry(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Add and set up the entry."""
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED


def state_of(hass: HomeAssistant, platform: str, house: int, key: str) -> State:
    """The state behind a §3 unique id."""
    found = er.async_get(hass).async_get_entity_id(platform, DOMAIN, f"{FARM_ID}_{house}_{key}")
    assert found is not None, f"no {platform} {key} for house {house}"
    state = hass.states.get(found)
    assert state is not None
    return state


def house_device_id(hass: HomeAssistant, house: int) -> str:
    """The HA device id the analyzer sends for a house."""
    device = find_device(hass, f"{FARM_ID}_{house}", "hilltop_entry")
    assert device is not None
    return device.id


async def report(hass: HomeAssistant, reports: list[dict[str, Any]], interval: int = 300) -> None:
    """Call the service the way the analyzer does."""
    await hass.services.async_call(
        DOMAIN,
        SERVICE_REPORT_ANALYSIS,
        {"reports": reports, "interval": interval},
        blocking=True,
    )


async def test_entities_start_unknown_on_every_house(hass: HomeAssistant) -> None:
    """Before any analysis nothing is claimed: unknown, available, no attributes."""
    await setup_entry(hass, manual_entry())
    for house in (1, 2):
        for platform, key in KEYS:
            state = state_of(hass, platform, house, key)
            assert state.state == STATE_UNKNOWN
            assert "explanation" not in state.attributes
    subsystem = state_of(hass, "sensor", 1, "failure_subsystem")
    assert subsystem.attributes["options"] == list(SUBSYSTEMS)
    assert subsystem.attributes["device_class"] == "enum"
    assert state_of(hass, "binary_sensor", 1, "anomaly").attributes["device_class"] == "problem"
    score = state_of(hass, "sensor", 1, "anomaly_score")
    assert score.attributes["unit_of_measurement"] == "%"
    assert score.attributes["state_class"] == "measurement"
    registry = er.async_get(hass)
    last = registry.async_get(state_of(hass, "sensor", 1, "last_analysis").entity_id)
    assert last is not None
    assert last.entity_category == EntityCategory.DIAGNOSTIC


async def test_report_fills_the_house_entities(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, snapshot: SnapshotAssertion
) -> None:
    """A report lands on its house only, with its evidence as attributes."""
    freezer.move_to(NOW)
    await setup_entry(hass, manual_entry())

    await report(hass, [{"device_id": house_device_id(hass, 1), **HEATING_REPORT}])

    states = {
        key: {"state": state.state, "attributes": plain(state.attributes)}
        for platform, key in KEYS
        if (state := state_of(hass, platform, 1, key))
    }
    assert states == snapshot
    anomaly = state_of(hass, "binary_sensor", 1, "anomaly")
    assert anomaly.state == "on"
    assert anomaly.attributes["signal"] == "temperature"
    assert anomaly.attributes["expected"] == 27.7
    assert anomaly.attributes["actual"] == 24.9
    assert anomaly.attributes["since"] == "2026-11-23T02:10:00+00:00"
    assert state_of(hass, "sensor", 1, "anomaly_score").state == "87.5"
    risk = state_of(hass, "sensor", 1, "failure_risk")
    assert risk.state == "60.0"
    assert risk.attributes["time_to_failure_hours"] == 30
    assert state_of(hass, "sensor", 1, "failure_subsystem").state == "heating"
    assert state_of(hass, "sensor", 1, "last_analysis").state == NOW
    for platform, key in KEYS:
        assert state_of(hass, platform, 2, key).state == STATE_UNKNOWN


async def test_minimal_report_leaves_optional_fields_unknown(hass: HomeAssistant) -> None:
    """Optional evidence the analyzer did not send is None, not a placeholder."""
    await setup_entry(hass, manual_entry())
    await report(
        hass,
        [
            {
                "device_id": house_device_id(hass, 2),
                "anomaly": False,
                "anomaly_score": 3,
                "failure_risk": 1,
                "subsystem": "none",
            }
        ],
    )
    anomaly = state_of(hass, "binary_sensor", 2, "anomaly")
    assert anomaly.state == "off"
    assert anomaly.attributes["explanation"] is None
    assert anomaly.attributes["expected"] is None
    assert anomaly.attributes["since"] is None
    assert state_of(hass, "sensor", 2, "failure_risk").attributes["time_to_failure_hours"] is None
    assert state_of(hass, "sensor", 2, "failure_subsystem").state == "none"


async def test_entities_go_unavailable_after_three_intervals(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """A silent analyzer shows as unavailable; the time of its last report stays visible."""
    freezer.move_to(NOW)
    await setup_entry(hass, manual_entry())
    device_id = house_device_id(hass, 1)
    await report(hass, [{"device_id": device_id, **HEATING_REPORT}], interval=300)

    freezer.tick(timedelta(seconds=899))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    for platform, key in STALE_KEYS:
        assert state_of(hass, platform, 1, key).state != STATE_UNAVAILABLE

    freezer.tick(timedelta(seconds=2))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    for platform, key in STALE_KEYS:
        assert state_of(hass, platform, 1, key).state == STATE_UNAVAILABLE
    assert state_of(hass, "sensor", 1, "last_analysis").state == NOW
    # Houses that never had a report stay unknown, not unavailable.
    assert state_of(hass, "sensor", 2, "anomaly_score").state == STATE_UNKNOWN

    await report(hass, [{"device_id": device_id, **HEATING_REPORT, "anomaly": False}])
    assert state_of(hass, "binary_sensor", 1, "anomaly").state == "off"
    assert state_of(hass, "sensor", 1, "anomaly_score").state == "87.5"


async def test_a_new_report_pushes_the_stale_limit(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """Regular reports keep the entities available, whatever the time since the first one."""
    freezer.move_to(NOW)
    await setup_entry(hass, manual_entry())
    device_id = house_device_id(hass, 1)
    for _ in range(4):
        await report(hass, [{"device_id": device_id, **HEATING_REPORT}], interval=60)
        freezer.tick(timedelta(seconds=150))
        async_fire_time_changed(hass)
        await hass.async_block_till_done()
        assert state_of(hass, "sensor", 1, "anomaly_score").state == "87.5"
    freezer.tick(timedelta(seconds=31))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert state_of(hass, "sensor", 1, "anomaly_score").state == STATE_UNAVAILABLE


async def test_report_survives_a_restart_of_the_entry(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """Unload writes the restore cache; the next set-up shows the same verdict."""
    freezer.move_to(NOW)
    entry = manual_entry()
    await setup_entry(hass, entry)
    await report(hass, [{"device_id": house_device_id(hass, 1), **HEATING_REPORT}])

    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    freezer.tick(timedelta(seconds=60))
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    assert state_of(hass, "binary_sensor", 1, "anomaly").state == "on"
    assert state_of(hass, "sensor", 1, "failure_subsystem").state == "heating"
    assert (
        state_of(hass, "sensor", 1, "failure_risk").attributes["explanation"]
        == (HEATING_REPORT["explanation"])
    )
    assert state_of(hass, "sensor", 1, "last_analysis").state == NOW
    # The stale limit still counts from the original report.
    freezer.tick(timedelta(seconds=841))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert state_of(hass, "sensor", 1, "anomaly_score").state == STATE_UNAVAILABLE


def stored_report(received: str, **changes: Any) -> dict[str, Any]:
    """What the restore cache holds for a house."""
    return {
        **HEATING_REPORT,
        "failure_risk": 60.0,
        "anomaly_score": 87.5,
        "time_to_failure_hours": 30.0,
        "received": received,
        "interval": 300.0,
        **changes,
    }


async def test_restore_from_cache(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> None:
    """HA start: a fresh report comes back, an old one comes back unavailable, junk unknown."""
    freezer.move_to(NOW)
    entry = manual_entry()
    entry.add_to_hass(hass)
    preregister(hass, entry)
    fresh = stored_report("2026-11-23T11:58:00+00:00")
    old = stored_report("2026-11-22T11:58:00+00:00", anomaly=False)
    cache: list[tuple[State, dict[str, Any]]] = [
        (State(f"{platform}.hilltop_house_1_{key}", "restored"), fresh) for platform, key in KEYS
    ]
    cache.append((State("sensor.hilltop_house_2_anomaly_score", "5"), old))
    cache.append((State("binary_sensor.hilltop_house_2_anomaly", "on"), {"anomaly": "garbled"}))
    mock_restore_cache_with_extra_data(hass, cache)

    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    assert hass.states.get("binary_sensor.hilltop_house_1_anomaly").state == "on"  # type: ignore[union-attr]
    assert hass.states.get("sensor.hilltop_house_1_anomaly_score").state == "87.5"  # type: ignore[union-attr]
    assert hass.states.get("sensor.hilltop_house_1_last_analysis").state == (  # type: ignore[union-attr]
        "2026-11-23T11:58:00+00:00"
    )
    # House 2: the old report is offered by one entity and shared with its siblings, which
    # all show it as stale; the garbled cache entry adds nothing.
    for platform, key in STALE_KEYS:
        assert state_of(hass, platform, 2, key).state == STATE_UNAVAILABLE
    assert state_of(hass, "sensor", 2, "last_analysis").state == "2026-11-22T11:58:00+00:00"

    freezer.move_to("2026-11-23T12:13:01+00:00")
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert state_of(hass, "binary_sensor", 1, "anomaly").state == STATE_UNAVAILABLE


def test_report_round_trip_and_damaged_cache() -> None:
    """Only a complete, valid cache entry becomes a report."""
    received = dt_util.parse_datetime("2026-11-23T11:58:00+00:00")
    assert received is not None
    report_obj = AnalysisReport.from_dict(stored_report("2026-11-23T11:58:00+00:00"))
    assert report_obj is not None
    assert report_obj.received == received
    assert report_obj.stale_at == received + timedelta(seconds=900)
    assert AnalysisReport.from_dict(report_obj.as_dict()) == report_obj
    for damage in (
        {"subsystem": "plumbing"},
        {"interval": 0},
        {"received": "not a time"},
        {"expected": "nan"},
        {"anomaly_score": None},
        {"received": None},
        # Numbers the service would refuse must not come back through the cache either.
        {"anomaly_score": float("nan")},
        {"anomaly_score": "nan"},
        {"failure_risk": float("inf")},
        {"failure_risk": 150},
        {"anomaly_score": True},
        {"interval": 1e308},
        {"interval": float("inf")},
        {"interval": 86401},
        {"time_to_failure_hours": -1},
        {"anomaly": "false"},
    ):
        damaged = {**stored_report(received.isoformat()), **damage}
        assert AnalysisReport.from_dict(damaged) is None
    assert AnalysisReport.from_dict({}) is None
    partial = AnalysisReport.from_dict(
        {**stored_report(received.isoformat()), "expected": None, "since": None}
    )
    assert partial is not None
    assert partial.expected is None
    assert partial.since is None


async def test_store_keeps_the_newest_report(hass: HomeAssistant) -> None:
    """A restored report never replaces a newer one, and listeners hear only real changes."""
    store = AnalysisStore(hass, manual_entry())
    newer = AnalysisReport.from_dict(stored_report("2026-11-23T11:58:00+00:00"))
    older = AnalysisReport.from_dict(stored_report("2026-11-23T10:00:00+00:00"))
    assert newer is not None
    assert older is not None
    calls: list[int] = []
    remove = store.async_add_listener(1, lambda: calls.append(1))

    store.async_apply({1: newer})
    store.async_restore(1, older)
    assert store.latest(1) is newer
    assert calls == [1]

    remove()
    store.async_apply({1: older})
    assert calls == [1]
    assert store.latest(2) is None


@pytest.mark.usefixtures("mock_client")
async def test_rotem_farm_houses_get_analysis_entities(
    hass: HomeAssistant, rotem_entry: MockConfigEntry
) -> None:
    """On a Rotem farm the analysis entities join the controller's house device."""
    rotem_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(rotem_entry.entry_id)
    await hass.async_block_till_done()
    farm_id = rotem_entry.unique_id
    registry = er.async_get(hass)
    anomaly = registry.async_get_entity_id("binary_sensor", DOMAIN, f"{farm_id}_1_anomaly")
    temperature = registry.async_get_entity_id("sensor", DOMAIN, f"{farm_id}_1_temperature")
    assert anomaly is not None
    assert temperature is not None
    anomaly_entry = registry.async_get(anomaly)
    temperature_entry = registry.async_get(temperature)
    assert anomaly_entry is not None
    assert temperature_entry is not None
    assert anomaly_entry.device_id == temperature_entry.device_id
    device = dr.async_get(hass).async_get(anomaly_entry.device_id)  # type: ignore[arg-type]
    assert device is not None
    assert device.name is not None
    assert device.name.startswith("Green Valley")
    # Named after the house device like every other entity of the house.
    assert anomaly.startswith(
        temperature.removesuffix("temperature").replace("sensor.", "binary_sensor.")
    )

    await report(hass, [{"device_id": device.id, **HEATING_REPORT}])
    state = hass.states.get(anomaly)
    assert state is not None
    assert state.state == "on"


async def test_the_coverage_of_a_verdict_reaches_the_anomaly_entity(hass: HomeAssistant) -> None:
    """What the analysis watches, and why not the rest, is shown beside the verdict and kept
    across a restart (restore cache round trip)."""
    await setup_entry(hass, manual_entry())
    coverage = {
        "watched": ["climate", "heating", "ventilation"],
        "not_watched": {"water": "no water meter", "feed": "no feed meter"},
    }
    await report(hass, [{"device_id": house_device_id(hass, 1), **HEATING_REPORT, **coverage}])

    anomaly = state_of(hass, "binary_sensor", 1, "anomaly")
    assert anomaly.attributes["watched"] == ["climate", "heating", "ventilation"]
    assert anomaly.attributes["not_watched"] == {"water": "no water meter", "feed": "no feed meter"}
    restored = AnalysisReport.from_dict({**stored_report("2026-11-23T11:58:00+00:00"), **coverage})
    assert restored is not None
    assert restored.watched == ("climate", "heating", "ventilation")
    assert AnalysisReport.from_dict(restored.as_dict()) == restored
    for damage in ({"watched": "climate"}, {"not_watched": ["water"]}):
        damaged = {**stored_report("2026-11-23T11:58:00+00:00"), **damage}
        assert AnalysisReport.from_dict(damaged) is None
