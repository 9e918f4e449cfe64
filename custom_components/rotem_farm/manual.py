"""Manual farms: houses without a Rotem controller, kept by the farmer.

Many farms (or some houses of a farm) have no controller in RotemNetWeb. A manual farm gives
them the same devices, keys and analysis as a Rotem farm: the flock (placement date, bird
count, capacity) is entered by the farmer or follows helpers, and temperature/humidity follow any
sensor in Home Assistant (a Zigbee probe, ...). The flock state lives in a ``Store`` so it
survives restarts and is shared by the sensors, the editable entities and the services.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

import voluptuous as vol
from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import (
    EVENT_CORE_CONFIG_UPDATE,
    PERCENTAGE,
    STATE_UNAVAILABLE,
    STATE_UNKNOWN,
    UnitOfTemperature,
    UnitOfTime,
)
from homeassistant.core import (
    CALLBACK_TYPE,
    Event,
    EventStateChangedData,
    HomeAssistant,
    State,
    callback,
)
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.event import (
    async_track_point_in_utc_time,
    async_track_state_change_event,
)
from homeassistant.helpers.start import async_at_started
from homeassistant.helpers.storage import Store
from homeassistant.helpers.typing import StateType
from homeassistant.util import dt as dt_util

from .const import (
    CONF_CAPACITY,
    CONF_HOUSES,
    CONF_LINKS,
    CONF_TARGET_AGE,
    DEFAULT_TARGET_AGE,
    DOMAIN,
    LOGGER,
)
from .entity import RotemFarmEntity, farm_device_info, house_device_info
from .flock import expected_harvest_date, growth_day_from_placement
from .issues import async_create_linked_entity_issue, async_delete_linked_entity_issue

if TYPE_CHECKING:
    from homeassistant.helpers.device_registry import DeviceInfo

    from .data import RotemFarmConfigEntry

STORAGE_VERSION: Final = 1
# Edits are rare and small; a short delay only batches a button press with the number it sets.
SAVE_DELAY_SECONDS: Final = 1

# Roles of entry.options["links"][house]: measurements follow a sensor, flock fields a helper.
LINK_TEMPERATURE: Final = "temperature"
LINK_HUMIDITY: Final = "humidity"
LINK_PLACEMENT_DATE: Final = "placement_date"
LINK_BIRD_COUNT: Final = "bird_count"
LINK_ROLES: Final = (LINK_TEMPERATURE, LINK_HUMIDITY, LINK_PLACEMENT_DATE, LINK_BIRD_COUNT)

_UNSET: Final[Any] = object()


def _storage_key(entry_id: str) -> str:
    return f"{DOMAIN}.manual_{entry_id}"


@dataclass(frozen=True, slots=True)
class HouseFlock:
    """What the farmer told us about one house: None where nothing is known."""

    placement_date: date | None = None
    bird_count: int | None = None
    capacity: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """Serialise for the Store."""
        return {
            "placement_date": self.placement_date.isoformat() if self.placement_date else None,
            "bird_count": self.bird_count,
            "capacity": self.capacity,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], default_capacity: int | None) -> HouseFlock:
        """Read a stored house; a damaged field becomes unknown rather than a guess."""
        placement = data.get("placement_date")
        return cls(
            placement_date=dt_util.parse_date(placement) if isinstance(placement, str) else None,
            bird_count=_count(data.get("bird_count")),
            capacity=_count(data.get("capacity", default_capacity)),
        )


def _count(value: Any) -> int | None:
    """A bird count from storage or a helper state: a finite number ≥ 0, else unknown."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(number) or number < 0:
        return None
    return round(number)


def date_from_state(state: State) -> date | None:
    """The calendar date an input_datetime (or a date/timestamp sensor) holds, if any.

    A timestamp is read in Home Assistant's time zone, because a placement is a local calendar
    day for the farmer.
    """
    if state.state in (STATE_UNKNOWN, STATE_UNAVAILABLE):
        return None
    if (moment := dt_util.parse_datetime(state.state)) is not None:
        return dt_util.as_local(moment).date() if moment.tzinfo else moment.date()
    return dt_util.parse_date(state.state)


def count_from_state(state: State) -> int | None:
    """The bird count an input_number (or any numeric entity) holds, if any."""
    if state.state in (STATE_UNKNOWN, STATE_UNAVAILABLE):
        return None
    return _count(state.state)


class ManualFarm:
    """The flock state of a manual farm's houses, its links to helpers and its listeners."""

    def __init__(self, hass: HomeAssistant, entry: RotemFarmConfigEntry) -> None:
        """Read the house count and default capacity from the entry; state comes in setup."""
        self.hass = hass
        self.entry = entry
        self.default_capacity = _count(entry.data.get(CONF_CAPACITY))
        self.house_numbers: tuple[int, ...] = tuple(range(1, int(entry.data[CONF_HOUSES]) + 1))
        self._flocks = {
            number: HouseFlock(capacity=self.default_capacity) for number in self.house_numbers
        }
        self._listeners: dict[int, list[Callable[[], None]]] = {}
        # The last state of each linked helper already taken over (persisted with the flocks).
        self._helper_seen: dict[str, str] = {}
        self._store: Store[dict[str, Any]] = Store(
            hass, STORAGE_VERSION, _storage_key(entry.entry_id)
        )

    async def async_setup(self) -> None:
        """Load the stored flocks, create the farm device and start following linked helpers.

        Everything started here is stopped when the entry unloads; unsaved edits are written
        then, so a reload reads what the farmer last entered.
        """
        stored = await self._store.async_load()
        houses = stored.get("houses", {}) if isinstance(stored, dict) else {}
        seen = stored.get("helpers_seen", {}) if isinstance(stored, dict) else {}
        if isinstance(seen, dict):
            self._helper_seen.update(
                {str(entity_id): str(value) for entity_id, value in seen.items()}
            )
        for number in self.house_numbers:
            if isinstance(house := houses.get(str(number)), dict):
                self._flocks[number] = HouseFlock.from_dict(house, self.default_capacity)
        farm_device = dr.async_get(self.hass).async_get_or_create(
            config_entry_id=self.entry.entry_id,
            **farm_device_info(self.entry, name=self.entry.title),
        )
        # House devices link to the farm device by this id on HA 2026.8 and later.
        self.entry.runtime_data.farm_device_id = farm_device.id
        self.entry.async_on_unload(self._async_save_now)
        tracked = self._helper_links()
        if tracked:
            self.entry.async_on_unload(
                async_track_state_change_event(self.hass, list(tracked), self._handle_helper)
            )
        for entity_id, targets in tracked.items():
            if (state := self.hass.states.get(entity_id)) is not None:
                self._apply_helper_state(state, targets)
        # Linked entities that are gone: checked once everything has started (other
        # integrations' entities appear during start-up), then on every deletion or rename.
        self.entry.async_on_unload(async_at_started(self.hass, self._async_check_links))
        if self._all_links():
            self.entry.async_on_unload(
                self.hass.bus.async_listen(
                    er.EVENT_ENTITY_REGISTRY_UPDATED, self._handle_registry_update
                )
            )

    def _all_links(self) -> list[tuple[int, str, str]]:
        """Every (house, role, entity id) the houses follow."""
        return [
            (number, role, entity_id)
            for number in self.house_numbers
            for role in LINK_ROLES
            if (entity_id := self.link(number, role))
        ]

    @callback
    def _async_check_links(self, hass: HomeAssistant) -> None:
        """Raise an issue for each linked entity that does not exist, clear the others'."""
        registry = er.async_get(hass)
        for number, role, entity_id in self._all_links():
            if registry.async_get(entity_id) is None and hass.states.get(entity_id) is None:
                async_create_linked_entity_issue(hass, self.entry, number, role, entity_id)
            else:
                async_delete_linked_entity_issue(hass, self.entry, number, role)

    @callback
    def _handle_registry_update(self, event: Event[er.EventEntityRegistryUpdatedData]) -> None:
        """A linked entity deleted or renamed: the house would stay unavailable, say so."""
        data = event.data
        if data["action"] == "remove":
            gone, renamed_to = data["entity_id"], None
        elif data["action"] == "update" and "old_entity_id" in data:
            gone, renamed_to = data["old_entity_id"], data["entity_id"]
        else:
            return
        for number, role, entity_id in self._all_links():
            if entity_id == gone:
                async_create_linked_entity_issue(
                    self.hass, self.entry, number, role, entity_id, renamed_to=renamed_to
                )

    def flock(self, house_number: int) -> HouseFlock:
        """The current flock state of a house."""
        return self._flocks[house_number]

    def link(self, house_number: int, role: str) -> str | None:
        """The entity a house's role follows, from the options flow's links."""
        links = self.entry.options.get(CONF_LINKS, {})
        entity_id = links.get(str(house_number), {}).get(role)
        return str(entity_id) if entity_id else None

    @property
    def target_age(self) -> int:
        """The flock age at harvest, for the expected harvest date."""
        return int(self.entry.options.get(CONF_TARGET_AGE, DEFAULT_TARGET_AGE))

    def house_device_info(self, house_number: int) -> DeviceInfo:
        """The device of a manual house (named after the farm so entity ids stay distinct)."""
        return house_device_info(
            self.entry.runtime_data, house_number, f"{self.entry.title} House {house_number}"
        )

    @callback
    def async_add_listener(
        self, house_number: int, update_callback: Callable[[], None]
    ) -> CALLBACK_TYPE:
        """Call ``update_callback`` when the house's flock changes; returns the remover."""
        listeners = self._listeners.setdefault(house_number, [])
        listeners.append(update_callback)

        @callback
        def remove_listener() -> None:
            listeners.remove(update_callback)

        return remove_listener

    @callback
    def async_update_flock(
        self,
        house_number: int,
        *,
        placement_date: date | None = _UNSET,
        bird_count: int | None = _UNSET,
        capacity: int | None = _UNSET,
        from_helper: bool = False,
    ) -> None:
        """Change some fields of a house's flock, persist them and tell the entities.

        A change made here (entity, button, service) is also written to the linked helpers, so
        the farmer's own dashboard helpers never show the previous flock; a change that came
        from a helper is not echoed back to it.
        """
        changes: dict[str, Any] = {
            name: value
            for name, value in (
                ("placement_date", placement_date),
                ("bird_count", bird_count),
                ("capacity", capacity),
            )
            if value is not _UNSET
        }
        current = self._flocks[house_number]
        updated = replace(current, **changes)
        if updated == current:
            return
        self._flocks[house_number] = updated
        self._store.async_delay_save(self._data_to_save, SAVE_DELAY_SECONDS)
        for update_callback in list(self._listeners.get(house_number, ())):
            update_callback()
        if not from_helper:
            self._push_to_helpers(house_number, current, updated)

    @callback
    def _push_to_helpers(self, house_number: int, before: HouseFlock, after: HouseFlock) -> None:
        """Write changed flock fields to the house's linked input_datetime / input_number."""
        calls: list[tuple[str, str, dict[str, Any]]] = []
        placement_link = self.link(house_number, LINK_PLACEMENT_DATE)
        if (
            placement_link
            and placement_link.startswith("input_datetime.")
            and after.placement_date is not None
            and after.placement_date != before.placement_date
        ):
            calls.append(
                (
                    "input_datetime",
                    "set_datetime",
                    {"entity_id": placement_link, "date": after.placement_date.isoformat()},
                )
            )
        count_link = self.link(house_number, LINK_BIRD_COUNT)
        if (
            count_link
            and count_link.split(".", 1)[0] in ("input_number", "number")
            and after.bird_count is not None
            and after.bird_count != before.bird_count
        ):
            calls.append(
                (
                    count_link.split(".", 1)[0],
                    "set_value",
                    {"entity_id": count_link, "value": after.bird_count},
                )
            )
        for domain, service, data in calls:
            self.entry.async_create_background_task(
                self.hass,
                self._async_call_helper(domain, service, data),
                f"{DOMAIN} update {data['entity_id']}",
            )

    async def _async_call_helper(self, domain: str, service: str, data: dict[str, Any]) -> None:
        """A helper that refuses the value (its own min/max) keeps its value; say so once."""
        try:
            await self.hass.services.async_call(domain, service, data, blocking=True)
        except (HomeAssistantError, vol.Invalid) as err:
            LOGGER.warning("Linked helper %s not updated: %s", data["entity_id"], err)

    @callback
    def async_start_flock(
        self,
        house_number: int,
        placement_date: date | None = None,
        bird_count: int | None = None,
    ) -> None:
        """Place a new flock: today unless told otherwise, the house's capacity unless counted.

        Without a count and without a known capacity the count becomes unknown: the previous
        flock's count would be a made-up value for the new one.
        """
        capacity = self._flocks[house_number].capacity
        self.async_update_flock(
            house_number,
            placement_date=placement_date or dt_util.now().date(),
            bird_count=bird_count if bird_count is not None else capacity,
        )

    @callback
    def async_end_flock(self, house_number: int) -> None:
        """The birds are caught: no placement, and the house holds zero birds."""
        self.async_update_flock(house_number, placement_date=None, bird_count=0)

    def _helper_links(self) -> dict[str, list[tuple[int, str]]]:
        """Entities that drive flock fields, each with the (house, role) pairs it feeds."""
        tracked: dict[str, list[tuple[int, str]]] = {}
        for number in self.house_numbers:
            for role in (LINK_PLACEMENT_DATE, LINK_BIRD_COUNT):
                if entity_id := self.link(number, role):
                    tracked.setdefault(entity_id, []).append((number, role))
        return tracked

    @callback
    def _handle_helper(self, event: Event[EventStateChangedData]) -> None:
        if (state := event.data["new_state"]) is None:
            return
        self._apply_helper_state(state, self._helper_links().get(state.entity_id, []))

    @callback
    def _apply_helper_state(self, state: State, targets: list[tuple[int, str]]) -> None:
        """Copy a helper's new value into the flock; an unusable state keeps the last known value.

        Only a value the helper did not hold before counts: a helper restoring its old state at
        start-up (or still holding the date of a flock ended since) must not bring that flock
        back. A helper going unavailable does not change the flock either: the chicks were still
        placed on that day.
        """
        if state.state in (STATE_UNKNOWN, STATE_UNAVAILABLE):
            return
        if self._helper_seen.get(state.entity_id) == state.state:
            return
        self._helper_seen[state.entity_id] = state.state
        self._store.async_delay_save(self._data_to_save, SAVE_DELAY_SECONDS)
        for house_number, role in targets:
            if role == LINK_PLACEMENT_DATE:
                if (placement := date_from_state(state)) is not None:
                    self.async_update_flock(
                        house_number, placement_date=placement, from_helper=True
                    )
            elif (count := count_from_state(state)) is not None:
                self.async_update_flock(house_number, bird_count=count, from_helper=True)

    def _data_to_save(self) -> dict[str, Any]:
        return {
            "houses": {str(number): flock.as_dict() for number, flock in self._flocks.items()},
            "helpers_seen": dict(self._helper_seen),
        }

    async def _async_save_now(self) -> None:
        await self._store.async_save(self._data_to_save())


async def async_remove_manual_store(hass: HomeAssistant, entry: RotemFarmConfigEntry) -> None:
    """Delete a removed manual farm's stored flocks (called from async_remove_entry)."""
    await Store[dict[str, Any]](hass, STORAGE_VERSION, _storage_key(entry.entry_id)).async_remove()


class ManualHouseEntity(RotemFarmEntity):
    """An entity of a manual house that follows the house's flock state."""

    _attr_should_poll = False

    def __init__(self, entry: RotemFarmConfigEntry, house_number: int, key: str) -> None:
        """Bind to the manual farm of ``entry`` and to the house device."""
        manual = entry.runtime_data.manual
        if manual is None:
            raise ValueError("a manual house entity needs a manual farm")
        self.manual: ManualFarm = manual
        super().__init__(
            entry.runtime_data, house_number, key, manual.house_device_info(house_number)
        )
        self._house_number = house_number

    @property
    def flock(self) -> HouseFlock:
        """The house's flock as it is now."""
        return self.manual.flock(self._house_number)

    async def async_added_to_hass(self) -> None:
        """Follow flock changes (edits, services, helpers)."""
        await super().async_added_to_hass()
        self.async_on_remove(
            self.manual.async_add_listener(self._house_number, self.async_write_ha_state)
        )


@dataclass(frozen=True, kw_only=True)
class FlockSensorEntityDescription(SensorEntityDescription):
    """A sensor computed from the flock and today's local date."""

    value_fn: Callable[[HouseFlock, date, int], StateType | date]


FLOCK_SENSORS: tuple[FlockSensorEntityDescription, ...] = (
    FlockSensorEntityDescription(
        key="growth_day",
        translation_key="growth_day",
        native_unit_of_measurement=UnitOfTime.DAYS,
        suggested_display_precision=0,
        value_fn=lambda flock, today, _target: (
            growth_day_from_placement(flock.placement_date, today) if flock.placement_date else None
        ),
    ),
    FlockSensorEntityDescription(
        key="placement_date",
        translation_key="placement_date",
        device_class=SensorDeviceClass.DATE,
        value_fn=lambda flock, _today, _target: flock.placement_date,
    ),
    FlockSensorEntityDescription(
        key="expected_harvest",
        translation_key="expected_harvest",
        device_class=SensorDeviceClass.DATE,
        value_fn=lambda flock, _today, target: (
            expected_harvest_date(flock.placement_date, target) if flock.placement_date else None
        ),
    ),
    FlockSensorEntityDescription(
        key="bird_count",
        translation_key="bird_count",
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=0,
        value_fn=lambda flock, _today, _target: flock.bird_count,
    ),
)


class FlockSensor(ManualHouseEntity, SensorEntity):
    """Age and size of a manual house's flock; the age turns over at local midnight."""

    entity_description: FlockSensorEntityDescription

    def __init__(
        self,
        entry: RotemFarmConfigEntry,
        house_number: int,
        description: FlockSensorEntityDescription,
    ) -> None:
        """Bind the description to the house."""
        super().__init__(entry, house_number, description.key)
        self.entity_description = description
        self._cancel_midnight: CALLBACK_TYPE | None = None

    @property
    def native_value(self) -> StateType | date:
        """Computed from today's date in Home Assistant's time zone, at every state write."""
        return self.entity_description.value_fn(
            self.flock, dt_util.now().date(), self.manual.target_age
        )

    async def async_added_to_hass(self) -> None:
        """Also refresh at local midnight and when the time zone of Home Assistant changes."""
        await super().async_added_to_hass()
        self.async_on_remove(self._stop_midnight_timer)
        self.async_on_remove(
            self.hass.bus.async_listen(EVENT_CORE_CONFIG_UPDATE, self._handle_config_update)
        )
        self._schedule_midnight()

    @callback
    def _schedule_midnight(self) -> None:
        """Wake at the next local midnight, computed in the zone configured right now."""
        self._stop_midnight_timer()
        next_midnight = dt_util.start_of_local_day(dt_util.now().date() + timedelta(days=1))
        self._cancel_midnight = async_track_point_in_utc_time(
            self.hass, self._handle_midnight, next_midnight
        )

    @callback
    def _stop_midnight_timer(self) -> None:
        if self._cancel_midnight is not None:
            self._cancel_midnight()
            self._cancel_midnight = None

    @callback
    def _handle_midnight(self, _now: datetime) -> None:
        self._cancel_midnight = None
        self._schedule_midnight()
        self.async_write_ha_state()

    @callback
    def _handle_config_update(self, _event: Event[Any]) -> None:
        """A new time zone moves both today's date and the next midnight."""
        self._schedule_midnight()
        self.async_write_ha_state()


@dataclass(frozen=True, kw_only=True)
class LinkedSensorEntityDescription(SensorEntityDescription):
    """A measurement that mirrors a linked entity of the same kind."""

    default_unit_fn: Callable[[HomeAssistant], str]
    valid_units: frozenset[str]


LINKED_SENSORS: tuple[LinkedSensorEntityDescription, ...] = (
    LinkedSensorEntityDescription(
        key=LINK_TEMPERATURE,
        translation_key=LINK_TEMPERATURE,
        device_class=SensorDeviceClass.TEMPERATURE,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=1,
        default_unit_fn=lambda hass: hass.config.units.temperature_unit,
        valid_units=frozenset(unit.value for unit in UnitOfTemperature),
    ),
    LinkedSensorEntityDescription(
        key=LINK_HUMIDITY,
        translation_key=LINK_HUMIDITY,
        device_class=SensorDeviceClass.HUMIDITY,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=0,
        default_unit_fn=lambda _hass: PERCENTAGE,
        valid_units=frozenset({PERCENTAGE}),
    ),
)


class LinkedSensor(ManualHouseEntity, SensorEntity):
    """A house measurement that mirrors another sensor (a Zigbee probe, a template, ...).

    It is unavailable while the source is missing or unavailable and unknown while the source
    is unknown, not numeric or without a unit of the right kind: never a value the source did
    not report.
    """

    entity_description: LinkedSensorEntityDescription

    def __init__(
        self,
        entry: RotemFarmConfigEntry,
        house_number: int,
        description: LinkedSensorEntityDescription,
        source: str,
    ) -> None:
        """Bind the description to the house and to its source entity."""
        super().__init__(entry, house_number, description.key)
        self.entity_description = description
        self.source = source
        self._attr_extra_state_attributes = {"source": source}

    @property
    def _source_state(self) -> State | None:
        return self.hass.states.get(self.source)

    @property
    def available(self) -> bool:
        """Available while the source exists and is available."""
        state = self._source_state
        return state is not None and state.state != STATE_UNAVAILABLE

    @property
    def native_value(self) -> float | None:
        """The source's number, or unknown when it has none."""
        state = self._source_state
        if state is None or not self._source_unit_valid(state):
            return None
        try:
            value = float(state.state)
        except ValueError:
            return None
        return value if math.isfinite(value) else None

    def _source_unit_valid(self, state: State) -> bool:
        """A source without a unit of this kind gives no value: its number could mean anything."""
        return state.attributes.get("unit_of_measurement") in self.entity_description.valid_units

    @property
    def native_unit_of_measurement(self) -> str:
        """The source's unit when it is one of this kind, else the kind's usual unit."""
        state = self._source_state
        if state is not None and self._source_unit_valid(state):
            return str(state.attributes["unit_of_measurement"])
        return self.entity_description.default_unit_fn(self.hass)

    async def async_added_to_hass(self) -> None:
        """Mirror every change of the source."""
        await super().async_added_to_hass()
        self.async_on_remove(
            async_track_state_change_event(self.hass, self.source, self._handle_source)
        )

    @callback
    def _handle_source(self, _event: Event[EventStateChangedData]) -> None:
        self.async_write_ha_state()


def manual_house_sensors(entry: RotemFarmConfigEntry, house_number: int) -> list[SensorEntity]:
    """The sensors of one manual house, for the sensor platform: linked measurements + flock."""
    manual = entry.runtime_data.manual
    if manual is None:
        return []
    sensors: list[SensorEntity] = [
        LinkedSensor(entry, house_number, description, source)
        for description in LINKED_SENSORS
        if (source := manual.link(house_number, description.key))
    ]
    sensors.extend(FlockSensor(entry, house_number, description) for description in FLOCK_SENSORS)
    return sensors
