"""Sensors of a Rotem farm: one device per house from a single poll, plus farm totals.

Descriptions carry ``value_fn`` (read from the parsed house) and ``exists_fn`` (optional
sensors the controller does not have are not created); units are the farm's own settings,
never assumed.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import date
from typing import Final, cast

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.components.sensor.const import DEVICE_CLASS_UNITS
from homeassistant.const import (
    PERCENTAGE,
    UnitOfPressure,
    UnitOfTime,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.typing import StateType

from .analysis import analysis_sensors
from .const import CONF_TARGET_AGE, DEFAULT_TARGET_AGE
from .coordinator import RotemFarmCoordinator, RotemFarmSnapshot, ShownReader, ShownState
from .data import RotemFarmConfigEntry, RotemFarmData
from .entity import (
    FARM_MODEL,
    RotemFarmCoordinatorEntity,
    RotemHouseCoordinatorEntity,
    async_add_houses_as_they_appear,
    farm_device_info,
)
from .flock import expected_harvest_date
from .manual import manual_house_sensors
from .rotemnet import (
    Equipment,
    HistoryKind,
    House,
    HouseDetails,
    HouseMode,
    Mortality,
    Units,
)

PARALLEL_UPDATES = 0
# Newest Home Assistant deprecates CONCENTRATION_PARTS_PER_MILLION; the unit string is stable.
PARTS_PER_MILLION = "ppm"

type SensorValue = StateType | date
type Attributes = tuple[tuple[str, Hashable], ...]
"""State attributes as a comparable tuple of (name, value) pairs (part of the shown state)."""

# Inches of water (a US farm's static pressure unit) is a Home Assistant pressure unit only in
# releases after 2025.4; an older one warns at start-up about each such sensor and cannot convert
# it. There the value is shown in Pa instead, with the factor Home Assistant itself uses (water
# at 4 °C), and the sensor's unit says Pa.
INCHES_OF_WATER: Final = "inH₂O"
INH2O_TO_PA: Final = 249.0889083333348
HA_HAS_INCHES_OF_WATER: Final = INCHES_OF_WATER in DEVICE_CLASS_UNITS[SensorDeviceClass.PRESSURE]
# Decimals that resolve about 1 Pa in each pressure unit a farm can use (house pressures are a
# few tens of Pa: 0.1 inH₂O, 0.3 mbar); an unknown unit gets Home Assistant's default.
PRESSURE_PRECISION: Final[dict[str, int]] = {
    UnitOfPressure.PA: 0,
    UnitOfPressure.HPA: 2,
    UnitOfPressure.MBAR: 2,
    UnitOfPressure.KPA: 3,
    UnitOfPressure.BAR: 5,
    UnitOfPressure.PSI: 4,
    INCHES_OF_WATER: 3,
}


@dataclass(frozen=True, kw_only=True)
class RotemHouseSensorDescription(SensorEntityDescription):
    """A house sensor: how to read it, whether the house has it, which farm unit it uses."""

    value_fn: Callable[[House, RotemFarmSnapshot, RotemFarmConfigEntry], SensorValue]
    exists_fn: Callable[[House, RotemFarmSnapshot], bool] = lambda house, snapshot: True
    unit_fn: Callable[[Units], str | None] | None = None
    attributes_fn: Callable[[House, RotemFarmSnapshot], Attributes] | None = None
    """What a sum is made of, for sensors that add several counts up."""
    precision_fn: Callable[[str | None], int | None] | None = None
    """Display precision for the unit the farm uses, where one number does not fit them all."""


@dataclass(frozen=True, kw_only=True)
class RotemFarmSensorDescription(SensorEntityDescription):
    """A farm-wide sensor (the farm device)."""

    value_fn: Callable[[RotemFarmSnapshot], SensorValue]
    unit_fn: Callable[[Units], str | None] | None = None
    attributes_fn: Callable[[RotemFarmSnapshot], Attributes] | None = None


def _pressure_unit(units: Units) -> str | None:
    """The farm's pressure unit, or Pa where this Home Assistant lacks inches of water."""
    if units.pressure == INCHES_OF_WATER and not HA_HAS_INCHES_OF_WATER:
        return UnitOfPressure.PA
    return units.pressure


def _pressure(value: float | None, units: Units) -> float | None:
    """A pressure in :func:`_pressure_unit`: converted to Pa only where that unit is Pa instead."""
    if value is None or units.pressure != INCHES_OF_WATER or HA_HAS_INCHES_OF_WATER:
        return value
    return value * INH2O_TO_PA


def _pressure_precision(unit: str | None) -> int | None:
    return None if unit is None else PRESSURE_PRECISION.get(unit)


def _running(equipment: Equipment | None) -> int | None:
    return None if equipment is None else equipment.running


def _placement(house: House, snapshot: RotemFarmSnapshot) -> date | None:
    return snapshot.placement_dates.get(house.number)


def _expected_harvest(
    house: House, snapshot: RotemFarmSnapshot, entry: RotemFarmConfigEntry
) -> date | None:
    placement = _placement(house, snapshot)
    if placement is None:
        return None
    return expected_harvest_date(
        placement, int(entry.options.get(CONF_TARGET_AGE, DEFAULT_TARGET_AGE))
    )


def _last_completed(
    house: House, snapshot: RotemFarmSnapshot, kind: HistoryKind
) -> dict[str, float | None] | None:
    history = snapshot.history.get((house.number, kind))
    if history is None or not history.completed:
        return None
    return dict(history.completed[-1].values)


def _water_yesterday(house: House, snapshot: RotemFarmSnapshot) -> float | None:
    values = _last_completed(house, snapshot, HistoryKind.WATER)
    return None if values is None else values.get("TotalDrink")


def _heater_minutes(house: House, snapshot: RotemFarmSnapshot) -> dict[str, float | None]:
    """Yesterday's minutes of every heater column (None: that heater's cell was empty)."""
    values = _last_completed(house, snapshot, HistoryKind.HEATERS) or {}
    return {key: value for key, value in values.items() if key.startswith("Heater_")}


def _heater_minutes_yesterday(house: House, snapshot: RotemFarmSnapshot) -> float | None:
    """All heaters' minutes, or unknown when one heater did not report.

    Unused heater slots report ``00:00``; an empty cell is a heater whose time is not known,
    and a sum without it would pass for the house's total.
    """
    minutes = _heater_minutes(house, snapshot)
    if not minutes or None in minutes.values():
        return None
    return sum(value for value in minutes.values() if value is not None)


def _heater_attributes(house: House, snapshot: RotemFarmSnapshot) -> Attributes:
    """How many heaters the run time adds up, and which did not report."""
    minutes = _heater_minutes(house, snapshot)
    if not minutes:
        return ()
    silent = tuple(key for key, value in minutes.items() if value is None)
    return (("heaters", len(minutes) - len(silent)), ("heaters_not_reported", silent))


def _details(house: House, snapshot: RotemFarmSnapshot) -> HouseDetails | None:
    """The house's live page (fetched every 30 minutes when the option is on), if any yet."""
    return None if snapshot.details is None else snapshot.details.get(house.number)


def _mortality_kinds(mortality: Mortality) -> dict[str, int | None]:
    """Dead and culled birds of the day, each over both sexes.

    None for a kind counted for one sex only: half a count is not the house's count. A kind
    the controller does not count at all (no value for either sex) is left out.
    """
    kinds: dict[str, int | None] = {}
    for kind, male, female in (
        ("mortality", mortality.male_mortality, mortality.female_mortality),
        ("cull", mortality.male_cull, mortality.female_cull),
    ):
        if male is None and female is None:
            continue
        kinds[kind] = None if male is None or female is None else male + female
    return kinds


def _mortality_today(house: House, snapshot: RotemFarmSnapshot) -> int | None:
    """Dead and culled birds today; unknown when any count is there for one sex only."""
    details = _details(house, snapshot)
    if details is None:
        return None
    kinds = _mortality_kinds(details.mortality)
    if not kinds or None in kinds.values():
        return None
    return sum(count for count in kinds.values() if count is not None)


def _mortality_attributes(house: House, snapshot: RotemFarmSnapshot) -> Attributes:
    details = _details(house, snapshot)
    if details is None:
        return ()
    kinds = _mortality_kinds(details.mortality)
    return (("counted", tuple(kind for kind, count in kinds.items() if count is not None)),)


def _water_feed_ratio(house: House, snapshot: RotemFarmSnapshot) -> float | None:
    details = _details(house, snapshot)
    return None if details is None else details.water_feed_ratio


HOUSE_MODES: Final = [mode.name.lower() for mode in HouseMode]
"""The house mode sensor's states: the controller's ``eHouseMode`` names (full house, brooding
stages, empty house, rooms, catching)."""


def _house_mode(house: House) -> str | None:
    """The controller's house mode, or unknown when it sends none or a code we do not know."""
    return None if house.house_mode is None else house.house_mode.name.lower()


def _fetching_details(house: House, snapshot: RotemFarmSnapshot) -> bool:
    return snapshot.details is not None


def _temperature(
    name: str, *, enabled: bool = True, optional: bool = False
) -> RotemHouseSensorDescription:
    return RotemHouseSensorDescription(
        key=name,
        translation_key=name,
        device_class=SensorDeviceClass.TEMPERATURE,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=1,
        unit_fn=lambda units: units.temperature,
        entity_registry_enabled_default=enabled,
        value_fn=lambda house, snapshot, entry: getattr(house, name),
        exists_fn=(lambda house, snapshot: getattr(house, name) is not None)
        if optional
        else (lambda house, snapshot: True),
    )


HOUSE_SENSORS: tuple[RotemHouseSensorDescription, ...] = (
    RotemHouseSensorDescription(
        key="temperature",
        translation_key="temperature",
        device_class=SensorDeviceClass.TEMPERATURE,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=1,
        unit_fn=lambda units: units.temperature,
        value_fn=lambda house, snapshot, entry: house.average_temperature,
    ),
    _temperature("set_temperature"),
    _temperature("outside_temperature", optional=True),
    _temperature("tunnel_temperature", enabled=False, optional=True),
    RotemHouseSensorDescription(
        key="humidity",
        translation_key="humidity",
        device_class=SensorDeviceClass.HUMIDITY,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=PERCENTAGE,
        suggested_display_precision=0,
        value_fn=lambda house, snapshot, entry: house.humidity,
    ),
    RotemHouseSensorDescription(
        key="static_pressure",
        translation_key="static_pressure",
        device_class=SensorDeviceClass.PRESSURE,
        state_class=SensorStateClass.MEASUREMENT,
        unit_fn=_pressure_unit,
        precision_fn=_pressure_precision,
        value_fn=lambda house, snapshot, entry: _pressure(
            house.static_pressure, snapshot.farm_info.units
        ),
    ),
    RotemHouseSensorDescription(
        key="target_pressure",
        translation_key="target_pressure",
        device_class=SensorDeviceClass.PRESSURE,
        state_class=SensorStateClass.MEASUREMENT,
        entity_registry_enabled_default=False,
        unit_fn=_pressure_unit,
        precision_fn=_pressure_precision,
        value_fn=lambda house, snapshot, entry: _pressure(
            house.target_pressure, snapshot.farm_info.units
        ),
    ),
    RotemHouseSensorDescription(
        key="co2",
        translation_key="co2",
        device_class=SensorDeviceClass.CO2,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=PARTS_PER_MILLION,
        suggested_display_precision=0,
        value_fn=lambda house, snapshot, entry: house.co2,
        exists_fn=lambda house, snapshot: house.co2 is not None,
    ),
    RotemHouseSensorDescription(
        key="ammonia",
        translation_key="ammonia",
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=PARTS_PER_MILLION,
        suggested_display_precision=0,
        value_fn=lambda house, snapshot, entry: house.ammonia,
        exists_fn=lambda house, snapshot: house.ammonia is not None,
    ),
    RotemHouseSensorDescription(
        key="vent_level",
        translation_key="vent_level",
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=0,
        value_fn=lambda house, snapshot, entry: house.vent_level,
    ),
    RotemHouseSensorDescription(
        key="vent_level_percent",
        translation_key="vent_level_percent",
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=PERCENTAGE,
        suggested_display_precision=0,
        value_fn=lambda house, snapshot, entry: house.vent_level_percent,
    ),
    RotemHouseSensorDescription(
        key="air_flow",
        translation_key="air_flow",
        device_class=SensorDeviceClass.VOLUME_FLOW_RATE,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=0,
        unit_fn=lambda units: units.air_flow,
        value_fn=lambda house, snapshot, entry: house.air_flow,
    ),
    RotemHouseSensorDescription(
        key="water_daily",
        translation_key="water_daily",
        device_class=SensorDeviceClass.WATER,
        state_class=SensorStateClass.TOTAL_INCREASING,
        suggested_display_precision=0,
        unit_fn=lambda units: units.volume,
        value_fn=lambda house, snapshot, entry: house.water_daily,
    ),
    RotemHouseSensorDescription(
        key="feed_daily",
        translation_key="feed_daily",
        device_class=SensorDeviceClass.WEIGHT,
        state_class=SensorStateClass.TOTAL_INCREASING,
        suggested_display_precision=0,
        unit_fn=lambda units: units.weight,
        value_fn=lambda house, snapshot, entry: house.feed_daily,
    ),
    RotemHouseSensorDescription(
        key="bird_count",
        translation_key="bird_count",
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=0,
        value_fn=lambda house, snapshot, entry: house.bird_count,
    ),
    RotemHouseSensorDescription(
        key="livability",
        translation_key="livability",
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=PERCENTAGE,
        suggested_display_precision=1,
        value_fn=lambda house, snapshot, entry: house.livability,
    ),
    RotemHouseSensorDescription(
        key="growth_day",
        translation_key="growth_day",
        native_unit_of_measurement=UnitOfTime.DAYS,
        suggested_display_precision=0,
        value_fn=lambda house, snapshot, entry: house.growth_day,
    ),
    RotemHouseSensorDescription(
        key="house_mode",
        translation_key="house_mode",
        device_class=SensorDeviceClass.ENUM,
        options=HOUSE_MODES,
        value_fn=lambda house, snapshot, entry: _house_mode(house),
    ),
    RotemHouseSensorDescription(
        key="placement_date",
        translation_key="placement_date",
        device_class=SensorDeviceClass.DATE,
        value_fn=lambda house, snapshot, entry: _placement(house, snapshot),
    ),
    RotemHouseSensorDescription(
        key="expected_harvest",
        translation_key="expected_harvest",
        device_class=SensorDeviceClass.DATE,
        value_fn=_expected_harvest,
    ),
    RotemHouseSensorDescription(
        key="heaters_running",
        translation_key="heaters_running",
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=0,
        value_fn=lambda house, snapshot, entry: _running(house.heaters),
    ),
    RotemHouseSensorDescription(
        key="tunnel_fans_running",
        translation_key="tunnel_fans_running",
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=0,
        value_fn=lambda house, snapshot, entry: _running(house.tunnel_fans),
    ),
    RotemHouseSensorDescription(
        key="exhaust_fans_running",
        translation_key="exhaust_fans_running",
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=0,
        value_fn=lambda house, snapshot, entry: _running(house.exhaust_fans),
    ),
    RotemHouseSensorDescription(
        key="water_yesterday",
        translation_key="water_yesterday",
        device_class=SensorDeviceClass.WATER,
        suggested_display_precision=0,
        unit_fn=lambda units: units.volume,
        value_fn=lambda house, snapshot, entry: _water_yesterday(house, snapshot),
        exists_fn=lambda house, snapshot: snapshot.history_on,
    ),
    RotemHouseSensorDescription(
        key="heaters_runtime_yesterday",
        translation_key="heaters_runtime_yesterday",
        device_class=SensorDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.MINUTES,
        suggested_display_precision=0,
        value_fn=lambda house, snapshot, entry: _heater_minutes_yesterday(house, snapshot),
        exists_fn=lambda house, snapshot: snapshot.history_on,
        attributes_fn=_heater_attributes,
    ),
    RotemHouseSensorDescription(
        key="mortality_today",
        translation_key="mortality_today",
        state_class=SensorStateClass.TOTAL_INCREASING,
        suggested_display_precision=0,
        value_fn=lambda house, snapshot, entry: _mortality_today(house, snapshot),
        exists_fn=_fetching_details,
        attributes_fn=_mortality_attributes,
    ),
    RotemHouseSensorDescription(
        key="water_feed_ratio",
        translation_key="water_feed_ratio",
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=2,
        value_fn=lambda house, snapshot, entry: _water_feed_ratio(house, snapshot),
        exists_fn=_fetching_details,
    ),
)

FARM_SENSORS: tuple[RotemFarmSensorDescription, ...] = (
    RotemFarmSensorDescription(
        key="water_daily",
        translation_key="farm_water_daily",
        device_class=SensorDeviceClass.WATER,
        state_class=SensorStateClass.TOTAL_INCREASING,
        suggested_display_precision=0,
        unit_fn=lambda units: units.volume,
        value_fn=lambda snapshot: snapshot.farm_water_daily,
        attributes_fn=lambda snapshot: _farm_houses(snapshot, snapshot.farm_water_houses),
    ),
    RotemFarmSensorDescription(
        key="feed_daily",
        translation_key="farm_feed_daily",
        device_class=SensorDeviceClass.WEIGHT,
        state_class=SensorStateClass.TOTAL_INCREASING,
        suggested_display_precision=0,
        unit_fn=lambda units: units.weight,
        value_fn=lambda snapshot: snapshot.farm_feed_daily,
        attributes_fn=lambda snapshot: _farm_houses(snapshot, snapshot.farm_feed_houses),
    ),
)


def _farm_houses(snapshot: RotemFarmSnapshot, counted: tuple[int, ...]) -> Attributes:
    """Which houses' readings this farm total holds now, and which are not in it.

    A house off line or missing from the answer adds nothing until it reports again (then
    its whole increase is added), so meanwhile the total is that of the houses counted.
    """
    return (
        ("houses_counted", counted),
        ("houses_not_reporting", tuple(sorted(set(snapshot.farm_houses) - set(counted)))),
    )


def probe_description(probe: int) -> RotemHouseSensorDescription:
    """Return the description of temperature probe ``probe`` (disabled by default: noisy)."""
    return RotemHouseSensorDescription(
        key=f"probe_temperature_{probe}",
        translation_key="probe_temperature",
        translation_placeholders={"probe": str(probe)},
        device_class=SensorDeviceClass.TEMPERATURE,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=1,
        entity_registry_enabled_default=False,
        unit_fn=lambda units: units.temperature,
        value_fn=lambda house, snapshot, entry: house.probe_temperatures.get(probe),
    )


async def async_setup_entry(
    hass: HomeAssistant,
    entry: RotemFarmConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Create the farm sensors and each house's sensors, and add houses as they appear."""
    data = entry.runtime_data
    coordinator = data.coordinator
    if coordinator is None:
        if data.manual is not None:
            async_add_entities(
                entity
                for number in data.manual.house_numbers
                for entity in (
                    *manual_house_sensors(entry, number),
                    *analysis_sensors(entry, number),
                )
            )
        return
    async_add_entities(
        RotemFarmSensor(coordinator, data, description) for description in FARM_SENSORS
    )

    def entities_of_house(number: int) -> list[SensorEntity]:
        snapshot = coordinator.data
        house = snapshot.site.houses[number]
        descriptions = [
            *HOUSE_SENSORS,
            *(probe_description(probe) for probe in sorted(house.probe_temperatures)),
        ]
        return [
            *(
                RotemHouseSensor(coordinator, data, number, description)
                for description in descriptions
                if description.exists_fn(house, snapshot)
            ),
            *analysis_sensors(entry, number),
        ]

    async_add_houses_as_they_appear(entry, coordinator, async_add_entities, entities_of_house)


type _SensorShown = tuple[bool, SensorValue, str | None, Attributes | None]
_NO_UNIT: Final = object()


class _RotemCoordinatorSensor(RotemFarmCoordinatorEntity, SensorEntity):
    """What the house and farm sensors share: their shown state is (available, value, unit)."""

    def _show(self, shown: ShownState) -> None:
        """Set availability, value and unit (None: the poll failed, keep value and unit).

        A poll mostly changes the value alone, so availability and unit are set only when they
        differ (reading an ``_attr_`` is cheap, setting one is a call into Home Assistant's
        cache invalidation).
        """
        if shown is None:
            self._attr_available = False
            return
        available, value, unit, attributes = cast(_SensorShown, shown)
        if available != self._attr_available:
            self._attr_available = available
        self._attr_native_value = value
        # Not set at all before the first reading (SensorEntity has no class default).
        if unit != getattr(self, "_attr_native_unit_of_measurement", _NO_UNIT):
            self._attr_native_unit_of_measurement = unit
        if attributes is not None:
            self._attr_extra_state_attributes = {
                name: list(item) if isinstance(item, tuple) else item for name, item in attributes
            }


class RotemHouseSensor(RotemHouseCoordinatorEntity, _RotemCoordinatorSensor):
    """A sensor of one house; unavailable while its controller is off line."""

    entity_description: RotemHouseSensorDescription

    def __init__(
        self,
        coordinator: RotemFarmCoordinator,
        data: RotemFarmData,
        house_number: int,
        description: RotemHouseSensorDescription,
    ) -> None:
        """Bind the description to the house; its reader picks the value and the farm's unit.

        A unit-dependent display precision is fixed here, from the unit at creation: Home
        Assistant reads it once, when the entity is registered.
        """
        self.entity_description = description
        if description.precision_fn is not None and description.unit_fn is not None:
            unit = description.unit_fn(coordinator.data.farm_info.units)
            self._attr_suggested_display_precision = description.precision_fn(unit)
        super().__init__(
            coordinator,
            data,
            house_number,
            description.key,
            read=_house_reader(description, coordinator.config_entry),
        )


class RotemFarmSensor(_RotemCoordinatorSensor):
    """A farm-wide sensor on the farm device."""

    entity_description: RotemFarmSensorDescription

    def __init__(
        self,
        coordinator: RotemFarmCoordinator,
        data: RotemFarmData,
        description: RotemFarmSensorDescription,
    ) -> None:
        """Bind the description to the farm device; its reader picks the value and unit."""
        info = coordinator.data.farm_info
        self.entity_description = description
        super().__init__(
            coordinator,
            data,
            None,
            description.key,
            farm_device_info(
                coordinator.config_entry,
                name=coordinator.config_entry.title,
                model=FARM_MODEL,
                sw_version=info.gateway_version,
            ),
            read=_farm_reader(description),
        )


def _house_reader(
    description: RotemHouseSensorDescription, entry: RotemFarmConfigEntry
) -> ShownReader:
    """What a house sensor shows: available (house on line), value, and the farm's unit.

    An off-line or vanished house shows no value: its state is unavailable anyway, and a
    stale value moving underneath would only cause writes nobody sees.
    """
    value_fn = description.value_fn
    unit_fn = description.unit_fn
    attributes_fn = description.attributes_fn
    fixed_unit = description.native_unit_of_measurement

    def read(house: House | None, snapshot: RotemFarmSnapshot) -> _SensorShown:
        unit = fixed_unit if unit_fn is None else unit_fn(snapshot.farm_info.units)
        if house is None or not house.online:
            return (False, None, unit, None)
        attributes = None if attributes_fn is None else attributes_fn(house, snapshot)
        return (True, value_fn(house, snapshot, entry), unit, attributes)

    return read


def _farm_reader(description: RotemFarmSensorDescription) -> ShownReader:
    """What a farm sensor shows: available whenever the poll succeeded, value, farm's unit."""
    value_fn = description.value_fn
    unit_fn = description.unit_fn
    attributes_fn = description.attributes_fn
    fixed_unit = description.native_unit_of_measurement

    def read(house: House | None, snapshot: RotemFarmSnapshot) -> _SensorShown:
        unit = fixed_unit if unit_fn is None else unit_fn(snapshot.farm_info.units)
        attributes = None if attributes_fn is None else attributes_fn(snapshot)
        return (True, value_fn(snapshot), unit, attributes)

    return read
