"""Manual farms: set-up, editable flock entities, linked sources, restore and age over midnight."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from enum import Enum
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import (
    ATTR_ENTITY_ID,
    ATTR_UNIT_OF_MEASUREMENT,
    STATE_UNAVAILABLE,
    STATE_UNKNOWN,
    UnitOfTemperature,
)
from homeassistant.core import HomeAssistant, State
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)
from syrupy.assertion import SnapshotAssertion

from custom_components.rotem_farm.const import (
    CONF_CAPACITY,
    CONF_FARM_KIND,
    CONF_HOUSES,
    CONF_LINKS,
    CONF_TARGET_AGE,
    DOMAIN,
    FARM_KIND_MANUAL,
)
from custom_components.rotem_farm.manual import (
    HouseFlock,
    async_remove_manual_store,
    count_from_state,
    date_from_state,
)

FARM_ID = "manualhilltop01"
STORAGE_KEY = f"{DOMAIN}.manual_hilltop_entry"


def find_device(hass: HomeAssistant, identifier: str, entry_id: str) -> dr.DeviceEntry | None:
    """Look a device up by identifier on every supported HA (the lookup changed in 2026.8)."""
    registry = dr.async_get(hass)
    lookup = getattr(registry, "async_get_device_by_identifier", None)
    if lookup is not None:  # absent from the pinned HA, so mypy cannot see its return type
        device: dr.DeviceEntry | None = lookup((DOMAIN, identifier), entry_id)
        return device
    return registry.async_get_device(identifiers={(DOMAIN, identifier)})


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Load custom_components/rotem_farm in every test."""


def manual_entry(
    *,
    houses: int = 2,
    capacity: int | None = 20000,
    links: dict[str, dict[str, str]] | None = None,
    options: dict[str, Any] | None = None,
) -> MockConfigEntry:
    """A manual farm entry as the config flow creates it."""
    data: dict[str, Any] = {CONF_FARM_KIND: FARM_KIND_MANUAL, CONF_HOUSES: houses}
    if capacity is not None:
        data[CONF_CAPACITY] = capacity
    return MockConfigEntry(
        domain=DOMAIN,
        title="Hilltop",
        unique_id=FARM_ID,
        entry_id="hilltop_entry",
        data=data,
        options={CONF_LINKS: links or {}, **(options or {})},
    )


async def setup_entry(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Add and set up the entry, and wait until every entity is in place."""
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED


def entity_id(hass: HomeAssistant, platform: str, house: int, key: str) -> str:
    """The entity id behind a §3 unique id (names depend on translations, ids do not)."""
    found = er.async_get(hass).async_get_entity_id(platform, DOMAIN, f"{FARM_ID}_{house}_{key}")
    assert found is not None, f"no {platform} {key} for house {house}"
    return found


def state_of(hass: HomeAssistant, platform: str, house: int, key: str) -> State:
    """The current state of a house entity."""
    state = hass.states.get(entity_id(hass, platform, house, key))
    assert state is not None
    return state


async def set_placement(hass: HomeAssistant, house: int, value: str) -> None:
    """Edit the placement date like the UI does."""
    await hass.services.async_call(
        "date",
        "set_value",
        {ATTR_ENTITY_ID: entity_id(hass, "date", house, "placement_date_input"), "date": value},
        blocking=True,
    )


async def test_setup_creates_devices_and_entities(hass: HomeAssistant) -> None:
    """Every house gets its device, editable entities and flock sensors; no link, no probe."""
    await setup_entry(hass, manual_entry())

    farm = find_device(hass, FARM_ID, "hilltop_entry")
    assert farm is not None
    assert farm.name == "Hilltop"
    for house in (1, 2):
        device = find_device(hass, f"{FARM_ID}_{house}", "hilltop_entry")
        assert device is not None
        assert device.name == f"Hilltop House {house}"
        assert device.via_device_id == farm.id
        assert state_of(hass, "date", house, "placement_date_input").state == STATE_UNKNOWN
        assert state_of(hass, "number", house, "bird_count_input").state == STATE_UNKNOWN
        assert float(state_of(hass, "number", house, "capacity").state) == 20000
        assert state_of(hass, "button", house, "start_flock").state == STATE_UNKNOWN
        for key in ("growth_day", "placement_date", "expected_harvest", "bird_count"):
            assert state_of(hass, "sensor", house, key).state == STATE_UNKNOWN
    registry = er.async_get(hass)
    assert registry.async_get_entity_id("sensor", DOMAIN, f"{FARM_ID}_1_temperature") is None
    assert registry.async_get_entity_id("sensor", DOMAIN, f"{FARM_ID}_1_humidity") is None
    assert registry.async_get_entity_id("sensor", DOMAIN, f"{FARM_ID}_3_growth_day") is None


async def test_editing_placement_and_counts(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """The date and numbers are editable and the age sensors follow at once."""
    freezer.move_to("2026-11-23T10:00:00-08:00")
    await setup_entry(hass, manual_entry(options={CONF_TARGET_AGE: 40}))

    await set_placement(hass, 1, "2026-11-02")
    await hass.services.async_call(
        "number",
        "set_value",
        {ATTR_ENTITY_ID: entity_id(hass, "number", 1, "bird_count_input"), "value": 19850},
        blocking=True,
    )
    await hass.services.async_call(
        "number",
        "set_value",
        {ATTR_ENTITY_ID: entity_id(hass, "number", 1, "capacity"), "value": 21000},
        blocking=True,
    )

    assert state_of(hass, "date", 1, "placement_date_input").state == "2026-11-02"
    assert state_of(hass, "sensor", 1, "placement_date").state == "2026-11-02"
    assert state_of(hass, "sensor", 1, "growth_day").state == "21"
    assert state_of(hass, "sensor", 1, "expected_harvest").state == "2026-12-12"
    assert state_of(hass, "sensor", 1, "bird_count").state == "19850"
    assert float(state_of(hass, "number", 1, "bird_count_input").state) == 19850
    assert float(state_of(hass, "number", 1, "capacity").state) == 21000
    # The other house is untouched.
    assert state_of(hass, "sensor", 2, "growth_day").state == STATE_UNKNOWN


async def test_bird_count_box_refuses_negative(hass: HomeAssistant) -> None:
    """The number's bounds hold: a negative count is refused, nothing stored."""
    await setup_entry(hass, manual_entry())
    number = entity_id(hass, "number", 1, "bird_count_input")
    state = hass.states.get(number)
    assert state is not None
    assert state.attributes["mode"] == "box"
    with pytest.raises(ServiceValidationError, match="outside valid range"):
        await hass.services.async_call(
            "number", "set_value", {ATTR_ENTITY_ID: number, "value": -5}, blocking=True
        )
    assert state_of(hass, "sensor", 1, "bird_count").state == STATE_UNKNOWN


async def test_start_flock_button(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> None:
    """Placement becomes today (local), bird count the house's capacity."""
    # 05:30 UTC is still the 22nd in Home Assistant's zone (US/Pacific in tests).
    freezer.move_to("2026-11-23T05:30:00+00:00")
    await setup_entry(hass, manual_entry())

    await hass.services.async_call(
        "button",
        "press",
        {ATTR_ENTITY_ID: entity_id(hass, "button", 1, "start_flock")},
        blocking=True,
    )

    assert state_of(hass, "sensor", 1, "placement_date").state == "2026-11-22"
    assert state_of(hass, "sensor", 1, "growth_day").state == "0"
    assert state_of(hass, "sensor", 1, "bird_count").state == "20000"
    assert state_of(hass, "sensor", 1, "expected_harvest").state == "2027-01-03"


async def test_start_flock_without_capacity_leaves_count_unknown(hass: HomeAssistant) -> None:
    """No capacity: the old flock's count is not carried over as a made-up value."""
    await setup_entry(hass, manual_entry(capacity=None))
    await hass.services.async_call(
        "number",
        "set_value",
        {ATTR_ENTITY_ID: entity_id(hass, "number", 1, "bird_count_input"), "value": 500},
        blocking=True,
    )
    assert state_of(hass, "number", 1, "capacity").state == STATE_UNKNOWN

    await hass.services.async_call(
        "button",
        "press",
        {ATTR_ENTITY_ID: entity_id(hass, "button", 1, "start_flock")},
        blocking=True,
    )

    assert state_of(hass, "sensor", 1, "bird_count").state == STATE_UNKNOWN
    assert state_of(hass, "sensor", 1, "growth_day").state == "0"


async def test_linked_temperature_and_humidity_follow_their_source(hass: HomeAssistant) -> None:
    """A linked probe is mirrored; unavailable and unknown pass through, nothing is invented."""
    hass.states.async_set(
        "sensor.probe_1", "24.5", {ATTR_UNIT_OF_MEASUREMENT: UnitOfTemperature.CELSIUS}
    )
    hass.states.async_set("sensor.probe_1_rh", "61", {ATTR_UNIT_OF_MEASUREMENT: "%"})
    links = {"1": {"temperature": "sensor.probe_1", "humidity": "sensor.probe_1_rh"}}
    await setup_entry(hass, manual_entry(links=links))

    temperature = state_of(hass, "sensor", 1, "temperature")
    assert temperature.state == "24.5"
    assert temperature.attributes[ATTR_UNIT_OF_MEASUREMENT] == UnitOfTemperature.CELSIUS
    assert temperature.attributes["source"] == "sensor.probe_1"
    assert state_of(hass, "sensor", 1, "humidity").state == "61.0"
    registry = er.async_get(hass)
    assert registry.async_get_entity_id("sensor", DOMAIN, f"{FARM_ID}_2_temperature") is None

    hass.states.async_set(
        "sensor.probe_1", "25.0", {ATTR_UNIT_OF_MEASUREMENT: UnitOfTemperature.CELSIUS}
    )
    await hass.async_block_till_done()
    assert state_of(hass, "sensor", 1, "temperature").state == "25.0"

    hass.states.async_set("sensor.probe_1", STATE_UNAVAILABLE)
    await hass.async_block_till_done()
    assert state_of(hass, "sensor", 1, "temperature").state == STATE_UNAVAILABLE

    hass.states.async_set(
        "sensor.probe_1", STATE_UNKNOWN, {ATTR_UNIT_OF_MEASUREMENT: UnitOfTemperature.CELSIUS}
    )
    await hass.async_block_till_done()
    assert state_of(hass, "sensor", 1, "temperature").state == STATE_UNKNOWN

    # A sentinel that is not a number, and a number without a unit, give no value either.
    hass.states.async_set(
        "sensor.probe_1", "- - -", {ATTR_UNIT_OF_MEASUREMENT: UnitOfTemperature.CELSIUS}
    )
    await hass.async_block_till_done()
    assert state_of(hass, "sensor", 1, "temperature").state == STATE_UNKNOWN
    hass.states.async_set("sensor.probe_1", "23.0")
    await hass.async_block_till_done()
    assert state_of(hass, "sensor", 1, "temperature").state == STATE_UNKNOWN
    hass.states.async_set("sensor.probe_1", "nan", {ATTR_UNIT_OF_MEASUREMENT: "°C"})
    await hass.async_block_till_done()
    assert state_of(hass, "sensor", 1, "temperature").state == STATE_UNKNOWN

    hass.states.async_remove("sensor.probe_1_rh")
    await hass.async_block_till_done()
    assert state_of(hass, "sensor", 1, "humidity").state == STATE_UNAVAILABLE


async def test_linked_fahrenheit_probe_is_converted(hass: HomeAssistant) -> None:
    """A °F probe keeps its unit as native unit; Home Assistant shows the system's unit."""
    hass.states.async_set(
        "sensor.barn_probe", "77.0", {ATTR_UNIT_OF_MEASUREMENT: UnitOfTemperature.FAHRENHEIT}
    )
    await setup_entry(hass, manual_entry(links={"1": {"temperature": "sensor.barn_probe"}}))

    temperature = state_of(hass, "sensor", 1, "temperature")
    assert temperature.attributes[ATTR_UNIT_OF_MEASUREMENT] == UnitOfTemperature.CELSIUS
    assert float(temperature.state) == pytest.approx(25.0)


async def test_flock_follows_linked_helpers(hass: HomeAssistant) -> None:
    """Placement follows an input_datetime and bird count an input_number."""
    hass.states.async_set("input_datetime.house_1_placement", "2026-11-01")
    links = {
        "1": {
            "placement_date": "input_datetime.house_1_placement",
            "bird_count": "input_number.house_1_birds",
        }
    }
    await setup_entry(hass, manual_entry(links=links))
    # Applied at start-up from the helper's current state.
    assert state_of(hass, "sensor", 1, "placement_date").state == "2026-11-01"
    assert state_of(hass, "sensor", 1, "bird_count").state == STATE_UNKNOWN

    hass.states.async_set("input_number.house_1_birds", "18500.0")
    hass.states.async_set("input_datetime.house_1_placement", "2026-11-05 00:00:00")
    await hass.async_block_till_done()
    assert state_of(hass, "sensor", 1, "bird_count").state == "18500"
    assert state_of(hass, "sensor", 1, "placement_date").state == "2026-11-05"

    # A helper going away (or holding junk) says nothing new about the flock: values stay.
    hass.states.async_set("input_number.house_1_birds", STATE_UNAVAILABLE)
    hass.states.async_set("input_datetime.house_1_placement", "someday")
    await hass.async_block_till_done()
    hass.states.async_remove("input_datetime.house_1_placement")
    await hass.async_block_till_done()
    assert state_of(hass, "sensor", 1, "bird_count").state == "18500"
    assert state_of(hass, "sensor", 1, "placement_date").state == "2026-11-05"
    assert state_of(hass, "sensor", 2, "placement_date").state == STATE_UNKNOWN


def test_helper_state_parsing() -> None:
    """Dates in the farmer's zone; counts only when a finite, non-negative number."""
    assert str(date_from_state(State("input_datetime.a", "2026-11-01"))) == "2026-11-01"
    assert date_from_state(State("input_datetime.a", STATE_UNKNOWN)) is None
    assert date_from_state(State("input_datetime.a", "yesterday")) is None
    # 03:00 UTC on the 2nd is still the 1st in US/Pacific, the default test zone.
    timestamp = State("sensor.placed", "2026-11-02T03:00:00+00:00")
    assert str(date_from_state(timestamp)) == "2026-11-01"
    assert count_from_state(State("input_number.b", "120.0")) == 120
    assert count_from_state(State("input_number.b", "-1")) is None
    assert count_from_state(State("input_number.b", "inf")) is None
    assert count_from_state(State("input_number.b", "many")) is None
    assert count_from_state(State("input_number.b", STATE_UNAVAILABLE)) is None
    assert HouseFlock.from_dict({"bird_count": True, "placement_date": 5}, None) == HouseFlock()


async def test_flock_restored_across_restart(
    hass: HomeAssistant, hass_storage: dict[str, Any]
) -> None:
    """The Store brings back what the farmer entered; a damaged field comes back unknown."""
    hass_storage[STORAGE_KEY] = {
        "version": 1,
        "minor_version": 1,
        "key": STORAGE_KEY,
        "data": {
            "houses": {
                "1": {"placement_date": "2026-11-02", "bird_count": 19000, "capacity": 21000},
                "2": {"placement_date": None, "bird_count": "lots", "capacity": 20000},
            }
        },
    }
    await setup_entry(hass, manual_entry())

    assert state_of(hass, "sensor", 1, "placement_date").state == "2026-11-02"
    assert state_of(hass, "sensor", 1, "bird_count").state == "19000"
    assert float(state_of(hass, "number", 1, "capacity").state) == 21000
    assert state_of(hass, "sensor", 2, "bird_count").state == STATE_UNKNOWN


async def test_edits_saved_on_unload_and_reloaded(
    hass: HomeAssistant, hass_storage: dict[str, Any]
) -> None:
    """Unloading writes pending edits, so a reload (options change) keeps them."""
    entry = manual_entry()
    await setup_entry(hass, entry)
    await set_placement(hass, 2, "2026-10-30")

    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()

    stored = hass_storage[STORAGE_KEY]["data"]["houses"]["2"]
    assert stored["placement_date"] == "2026-10-30"
    assert state_of(hass, "sensor", 2, "placement_date").state == "2026-10-30"

    await async_remove_manual_store(hass, entry)
    await hass.async_block_till_done()
    assert STORAGE_KEY not in hass_storage


async def test_removal_right_after_an_edit_leaves_no_store(
    hass: HomeAssistant, hass_storage: dict[str, Any], freezer: FrozenDateTimeFactory
) -> None:
    """A manual farm removed within the save delay of an edit stays removed."""
    entry = manual_entry()
    await setup_entry(hass, entry)
    await set_placement(hass, 2, "2026-10-30")
    await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    assert STORAGE_KEY not in hass_storage
    freezer.tick(timedelta(seconds=30))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert STORAGE_KEY not in hass_storage


async def test_growth_day_turns_over_at_local_midnight(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """No event but the clock: the growth day and its state move on at local midnight."""
    await hass.config.async_set_time_zone("Asia/Jerusalem")
    # 23:59:50 in Jerusalem (UTC+2 in November) is 21:59:50 UTC.
    freezer.move_to("2026-11-23T21:59:50+00:00")
    await setup_entry(hass, manual_entry())
    await set_placement(hass, 1, "2026-11-23")
    assert state_of(hass, "sensor", 1, "growth_day").state == "0"

    freezer.move_to("2026-11-23T21:59:59+00:00")
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert state_of(hass, "sensor", 1, "growth_day").state == "0"

    freezer.move_to("2026-11-23T22:00:01+00:00")
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert state_of(hass, "sensor", 1, "growth_day").state == "1"

    # And again the next night: the timer re-arms itself.
    freezer.move_to("2026-11-24T22:00:01+00:00")
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert state_of(hass, "sensor", 1, "growth_day").state == "2"


async def test_age_follows_the_configured_time_zone(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """The same instant is a different calendar day in Auckland and Los Angeles."""
    await hass.config.async_set_time_zone("America/Los_Angeles")
    freezer.move_to("2026-11-23T20:00:00+00:00")  # 12:00 on the 23rd in Los Angeles
    await setup_entry(hass, manual_entry())
    await set_placement(hass, 1, "2026-11-20")
    assert state_of(hass, "sensor", 1, "growth_day").state == "3"

    # 09:00 on the 24th in Auckland: the sensor follows the new zone at once...
    await hass.config.async_update(time_zone="Pacific/Auckland")
    await hass.async_block_till_done()
    assert state_of(hass, "sensor", 1, "growth_day").state == "4"

    # ...and its next turn-over is Auckland's midnight (11:00 UTC), not Los Angeles'.
    freezer.move_to("2026-11-24T11:00:01+00:00")
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert state_of(hass, "sensor", 1, "growth_day").state == "5"


async def test_rotem_platform_modules_add_nothing_without_manual_farm(
    hass: HomeAssistant,
) -> None:
    """The date/number/button platforms are manual-only: a Rotem entry gets none of them."""
    from custom_components.rotem_farm import button, date, number

    class FakeData:
        manual = None

    class FakeEntry:
        runtime_data = FakeData()

    added: list[Any] = []
    for module in (button, date, number):
        await module.async_setup_entry(hass, FakeEntry(), added.extend)
    assert added == []


async def test_unchanged_values_write_nothing(hass: HomeAssistant) -> None:
    """Setting the value a house already has neither saves nor rewrites states."""
    entry = manual_entry()
    await setup_entry(hass, entry)
    await set_placement(hass, 1, "2026-11-02")
    sensor = entity_id(hass, "sensor", 1, "placement_date")
    before = hass.states.get(sensor)
    assert before is not None

    await set_placement(hass, 1, "2026-11-02")

    after = hass.states.get(sensor)
    assert after is not None
    assert after.last_reported == before.last_reported


def test_manual_parts_need_a_manual_farm() -> None:
    """Rotem entries get no manual sensors, and a manual entity cannot bind to them."""
    from custom_components.rotem_farm.manual import ManualHouseEntity, manual_house_sensors

    class FakeData:
        manual = None

    class FakeEntry:
        runtime_data = FakeData()

    assert manual_house_sensors(FakeEntry(), 1) == []  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="manual farm"):
        ManualHouseEntity(FakeEntry(), 1, "growth_day")  # type: ignore[arg-type]


def entity_snapshot(hass: HomeAssistant, entry_id: str) -> dict[str, Any]:
    """What the registry and state machine hold per entity, in fields stable across HA versions.

    ``snapshot_platform`` dumps whole registry entries, whose shape changes between releases;
    these fields are the ones this integration decides.
    """
    registry = er.async_get(hass)
    result: dict[str, Any] = {}
    for entity in sorted(
        er.async_entries_for_config_entry(registry, entry_id), key=lambda item: item.entity_id
    ):
        state = hass.states.get(entity.entity_id)
        assert state is not None
        result[entity.entity_id] = {
            "unique_id": entity.unique_id,
            "translation_key": entity.translation_key,
            "original_name": entity.original_name,
            "original_device_class": plain_value(entity.original_device_class),
            "entity_category": plain_value(entity.entity_category),
            "disabled_by": plain_value(entity.disabled_by),
            "state": state.state,
            "attributes": plain(state.attributes),
        }
    return result


def plain_value(value: Any) -> Any:
    """An enum's value, anything else as it is (newer HA uses enums in more places)."""
    return value.value if isinstance(value, Enum) else value


def plain(attributes: Mapping[str, Any]) -> dict[str, Any]:
    """Attributes with plain-string keys and values, as newer HA types them differently."""
    return {str(key): plain_value(value) for key, value in attributes.items()}


@pytest.mark.freeze_time("2026-11-23T10:00:00+00:00")
async def test_manual_farm_snapshot(hass: HomeAssistant, snapshot: SnapshotAssertion) -> None:
    """Every entity of a linked manual farm with a placed flock: names, classes, values."""
    hass.states.async_set(
        "sensor.probe_1", "24.5", {ATTR_UNIT_OF_MEASUREMENT: UnitOfTemperature.CELSIUS}
    )
    hass.states.async_set("sensor.probe_1_rh", "61", {ATTR_UNIT_OF_MEASUREMENT: "%"})
    entry = manual_entry(
        houses=1, links={"1": {"temperature": "sensor.probe_1", "humidity": "sensor.probe_1_rh"}}
    )
    await setup_entry(hass, entry)
    farm = entry.runtime_data.manual
    assert farm is not None
    farm.async_update_flock(1, placement_date=date(2026, 11, 2), bird_count=19850)
    await hass.async_block_till_done()

    assert entity_snapshot(hass, entry.entry_id) == snapshot


async def test_changes_are_written_back_to_linked_helpers(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """Button, entities and services keep the farmer's linked helpers in step with the flock."""
    from homeassistant.setup import async_setup_component

    freezer.move_to("2026-11-23T18:00:00+00:00")
    assert await async_setup_component(
        hass,
        "input_datetime",
        {"input_datetime": {"house_1_placement": {"has_date": True, "has_time": False}}},
    )
    assert await async_setup_component(
        hass,
        "input_number",
        {"input_number": {"house_1_birds": {"min": 0, "max": 30000, "step": 1, "mode": "box"}}},
    )
    await hass.async_block_till_done()
    links = {
        "1": {
            "placement_date": "input_datetime.house_1_placement",
            "bird_count": "input_number.house_1_birds",
        }
    }
    await setup_entry(hass, manual_entry(links=links))

    await hass.services.async_call(
        "button",
        "press",
        {ATTR_ENTITY_ID: entity_id(hass, "button", 1, "start_flock")},
        blocking=True,
    )
    await hass.async_block_till_done()

    placement_helper = hass.states.get("input_datetime.house_1_placement")
    birds_helper = hass.states.get("input_number.house_1_birds")
    assert placement_helper is not None
    assert birds_helper is not None
    assert placement_helper.state == "2026-11-23"
    assert float(birds_helper.state) == 20000
    assert state_of(hass, "sensor", 1, "bird_count").state == "20000"

    # A value the helper refuses (above its max) stays ours; the helper keeps its value.
    await hass.services.async_call(
        "number",
        "set_value",
        {ATTR_ENTITY_ID: entity_id(hass, "number", 1, "bird_count_input"), "value": 45000},
        blocking=True,
    )
    await hass.async_block_till_done()
    assert state_of(hass, "sensor", 1, "bird_count").state == "45000"
    birds_helper = hass.states.get("input_number.house_1_birds")
    assert birds_helper is not None
    assert float(birds_helper.state) == 20000
    assert "Linked helper input_number.house_1_birds not updated" in caplog.text

    # Ending the flock cannot clear a date helper; the count helper gets the empty house.
    await hass.services.async_call(
        DOMAIN,
        "end_flock",
        {"config_entry_id": "hilltop_entry", "house": 1},
        blocking=True,
    )
    await hass.async_block_till_done()
    birds_helper = hass.states.get("input_number.house_1_birds")
    assert birds_helper is not None
    assert float(birds_helper.state) == 0
    assert state_of(hass, "sensor", 1, "placement_date").state == STATE_UNKNOWN

    # The date helper still holds the ended flock's date: a restart must not bring it back...
    entry = hass.config_entries.async_get_entry("hilltop_entry")
    assert entry is not None
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert state_of(hass, "sensor", 1, "placement_date").state == STATE_UNKNOWN
    # ...while a new date the farmer sets on the helper is taken over.
    await hass.services.async_call(
        "input_datetime",
        "set_datetime",
        {ATTR_ENTITY_ID: "input_datetime.house_1_placement", "date": "2026-11-25"},
        blocking=True,
    )
    await hass.async_block_till_done()
    assert state_of(hass, "sensor", 1, "placement_date").state == "2026-11-25"
