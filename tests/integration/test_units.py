"""Units as a farm sets them: a US farm (°F, inches of water) on a metric Home Assistant.

Inches of water is a pressure unit only on Home Assistant releases after 2025.4; there the
integration shows Pa instead, so no release warns at start-up. Every numeric sensor carries a
display precision, so a converted °F reading shows one decimal, not thirteen.
"""

from __future__ import annotations

from dataclasses import replace
from unittest.mock import MagicMock, patch

import pytest
from homeassistant.components.sensor import SensorDeviceClass
from homeassistant.const import ATTR_UNIT_OF_MEASUREMENT, UnitOfTemperature
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.rotem_farm import sensor
from custom_components.rotem_farm.const import CONF_FETCH_DETAILS, CONF_FETCH_HISTORY
from custom_components.rotem_farm.rotemnet import (
    FarmInfo,
    History,
    HistoryKind,
    HistoryRow,
    HouseDetails,
    SiteSnapshot,
)

from .conftest import setup_entry, with_house
from .test_manual import manual_entry

STATIC_PRESSURE_1 = "sensor.green_valley_house_1_static_pressure"
TEMPERATURE_1 = "sensor.green_valley_house_1_temperature"
NOT_NUMERIC = {SensorDeviceClass.DATE, SensorDeviceClass.TIMESTAMP, SensorDeviceClass.ENUM}


@pytest.fixture
def us_farm(mock_client: MagicMock, farm_info: FarmInfo, site: SiteSnapshot) -> SiteSnapshot:
    """The captured farm with US units: 86 °F inside, 0.1 inH₂O static pressure in house 1."""
    units = replace(farm_info.units, temperature="°F", pressure="inH₂O")
    mock_client.get_farm_info.return_value = replace(farm_info, units=units)
    house = replace(
        site.houses[1], average_temperature=86.0, static_pressure=0.1, target_pressure=0.12
    )
    us_site = with_house(site, house)
    mock_client.get_site.return_value = us_site
    return us_site


def _native(hass: HomeAssistant, entity_id: str) -> tuple[str | None, float]:
    """The unit and value the integration gives, before Home Assistant's own conversion.

    A release that knows inH₂O converts it on a metric system (to kPa): the state shows that,
    not what the integration chose.
    """
    entity = hass.data["entity_components"]["sensor"].get_entity(entity_id)
    assert entity is not None, entity_id
    return entity.native_unit_of_measurement, float(entity.native_value)


def _display_precision(hass: HomeAssistant, entity_id: str) -> int | None:
    entry = er.async_get(hass).async_get(entity_id)
    assert entry is not None, entity_id
    precision: int | None = dict(entry.options.get("sensor") or {}).get(
        "suggested_display_precision"
    )
    return precision


@pytest.mark.usefixtures("us_farm", "entity_registry_enabled_by_default")
async def test_us_farm_starts_without_unit_warnings(
    hass: HomeAssistant, rotem_entry: MockConfigEntry, caplog: pytest.LogCaptureFixture
) -> None:
    """Pressure in a unit this Home Assistant knows, temperatures converted to one decimal."""
    await setup_entry(hass, rotem_entry)
    warnings = [
        record.getMessage()
        for record in caplog.records
        if record.name == "homeassistant.components.sensor" and record.levelname == "WARNING"
    ]
    assert warnings == []
    unit, value = _native(hass, STATIC_PRESSURE_1)
    if sensor.HA_HAS_INCHES_OF_WATER:
        assert unit == "inH₂O"
        assert value == pytest.approx(0.1)
        assert _display_precision(hass, STATIC_PRESSURE_1) == 3
    else:
        assert unit == "Pa"
        assert value == pytest.approx(24.91, abs=0.01)
        assert _display_precision(hass, STATIC_PRESSURE_1) == 0
        state = hass.states.get(STATIC_PRESSURE_1)
        assert state is not None
        assert state.attributes[ATTR_UNIT_OF_MEASUREMENT] == "Pa"
    temperature = hass.states.get(TEMPERATURE_1)
    assert temperature is not None
    assert temperature.attributes[ATTR_UNIT_OF_MEASUREMENT] == UnitOfTemperature.CELSIUS
    assert float(temperature.state) == pytest.approx(30.0)
    assert _display_precision(hass, TEMPERATURE_1) == 1


@pytest.mark.parametrize(
    ("ha_has_inches", "shown"),
    [(True, ("inH₂O", 0.1, 0.12, 3)), (False, ("Pa", 24.909, 29.891, 0))],
)
@pytest.mark.usefixtures("us_farm", "entity_registry_enabled_by_default")
async def test_inches_of_water_follow_what_home_assistant_offers(
    hass: HomeAssistant,
    rotem_entry: MockConfigEntry,
    ha_has_inches: bool,
    shown: tuple[str, float, float, int],
) -> None:
    """Both branches, whatever this release is: kept in inH₂O, or converted to Pa."""
    unit, static, target, precision = shown
    with patch.object(sensor, "HA_HAS_INCHES_OF_WATER", ha_has_inches):
        await setup_entry(hass, rotem_entry)
    for key, value in (("static_pressure", static), ("target_pressure", target)):
        entity_id = f"sensor.green_valley_house_1_{key}"
        native_unit, native_value = _native(hass, entity_id)
        assert native_unit == unit
        assert native_value == pytest.approx(value, abs=0.001)
        assert _display_precision(hass, entity_id) == precision


def _history(house: int, kind: HistoryKind) -> History:
    values = {"TotalDrink": 2024.0} if kind is HistoryKind.WATER else {"Heater_1": 119.0}
    return History(house_number=house, kind=kind, rows=(HistoryRow(growth_day=20, values=values),))


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_every_numeric_sensor_has_a_display_precision(
    hass: HomeAssistant, rotem_entry: MockConfigEntry, mock_client: MagicMock
) -> None:
    """Rotem and manual farms, every optional sensor on: a number always has its decimals."""
    mock_client.get_history.side_effect = _history
    mock_client.get_house_details.side_effect = lambda number: HouseDetails(
        house_number=number, water_feed_ratio=1.8
    )
    await setup_entry(
        hass, rotem_entry, options={CONF_FETCH_HISTORY: True, CONF_FETCH_DETAILS: True}
    )
    hass.states.async_set("sensor.probe", "21.5", {ATTR_UNIT_OF_MEASUREMENT: "°C"})
    hass.states.async_set("sensor.probe_rh", "60", {ATTR_UNIT_OF_MEASUREMENT: "%"})
    manual = manual_entry(
        houses=1, links={"1": {"temperature": "sensor.probe", "humidity": "sensor.probe_rh"}}
    )
    manual.add_to_hass(hass)
    assert await hass.config_entries.async_setup(manual.entry_id)
    await hass.async_block_till_done()
    registry = er.async_get(hass)
    numeric = [
        entry
        for config_entry in (rotem_entry, manual)
        for entry in er.async_entries_for_config_entry(registry, config_entry.entry_id)
        if entry.domain == "sensor"
        and entry.original_device_class not in NOT_NUMERIC
        and entry.translation_key != "failure_subsystem"
    ]
    keys = {entry.translation_key for entry in numeric}
    assert {"water_yesterday", "mortality_today", "water_feed_ratio", "temperature"} <= keys
    missing = [
        entry.entity_id for entry in numeric if _display_precision(hass, entry.entity_id) is None
    ]
    assert missing == []
