"""Data update coordinator of a Rotem farm: one per config entry, one request per poll.

Each poll asks the cloud for the whole site (every house in one answer). Farm facts (units,
alias, versions) are fetched at setup and refreshed daily; the optional daily history is fetched
hourly at most. Library errors become ``ConfigEntryAuthFailed`` (reauthentication) or
``UpdateFailed`` with a translation key, so the coordinator logs an outage once and its
recovery once. Houses that appear get entities through listeners; houses that stay away from
the answers for a day (or leave the farm's registration) lose their devices here.

Entities do not listen to every poll themselves: each one registers a *watcher* (what it shows,
read from a snapshot) and the coordinator, after a poll, tells only the entities whose shown
state changed. Fifty farms are ten thousand entities; calling each of them per poll, through
its properties, only to find the quarter that changed cost the event loop two to three times
what these readers cost (docs/integration.md, "What it costs").
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from functools import partial, wraps
from typing import TYPE_CHECKING, Any

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.storage import Store
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from .const import (
    CONF_FETCH_DETAILS,
    CONF_FETCH_HISTORY,
    DEFAULT_UPDATE_INTERVAL,
    DOMAIN,
    LOGGER,
)
from .flock import stable_placement_date
from .issues import async_update_no_farm_issue
from .rotemnet import (
    FarmInfo,
    History,
    HistoryKind,
    House,
    HouseDetails,
    RotemApiError,
    RotemAuthError,
    RotemClient,
    RotemConnectionError,
    RotemError,
    RotemNoFarmError,
    RotemParseError,
    SiteSnapshot,
    TemperatureUnit,
    Units,
)

if TYPE_CHECKING:
    from .data import RotemFarmConfigEntry

FARM_INFO_INTERVAL = timedelta(days=1)
HISTORY_INTERVAL = timedelta(hours=1)
DETAILS_INTERVAL = timedelta(minutes=30)
HISTORY_KINDS = (HistoryKind.WATER, HistoryKind.HEATERS)
SLOW_CALL_TIMEOUT = 60.0
"""Seconds one history or house-page request may take before its house waits a round."""
SLOW_ROUND_TIMEOUT = 240.0
"""Seconds one background round of history and house pages may take (under a poll)."""
STORAGE_VERSION = 1
HOUSE_GONE_AFTER = timedelta(hours=24)
"""How long a house may be missing from the cloud's answers before its device is removed.

One partial answer is not a removed house: removing a device loses its entities, the user's
names and areas, its history links and its analysis entities. A day of polls without it is.
"""


def map_library_errors[**P, T](
    func: Callable[P, Awaitable[T]],
) -> Callable[P, Awaitable[T]]:
    """Turn the client's exceptions into what the coordinator understands.

    A refused login starts reauthentication; every other failure is an ``UpdateFailed`` the
    coordinator logs once per outage. Messages come from translations, never from the library,
    so no server text (which could echo a secret) reaches the log.
    """

    @wraps(func)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await func(*args, **kwargs)
        except RotemNoFarmError as err:
            # The password was accepted: a repair issue asks for a farm selection instead.
            raise UpdateFailed(translation_domain=DOMAIN, translation_key="no_farm") from err
        except RotemAuthError as err:
            raise ConfigEntryAuthFailed(
                translation_domain=DOMAIN, translation_key="auth_failed"
            ) from err
        except RotemConnectionError as err:
            raise UpdateFailed(translation_domain=DOMAIN, translation_key="cannot_connect") from err
        except RotemParseError as err:
            raise UpdateFailed(translation_domain=DOMAIN, translation_key="parse_error") from err
        except RotemApiError as err:
            raise UpdateFailed(translation_domain=DOMAIN, translation_key="api_error") from err

    return wrapper


@dataclass(frozen=True, slots=True)
class RotemFarmSnapshot:
    """What one poll yields: the site, the farm facts and the derived per-house values."""

    site: SiteSnapshot
    farm_info: FarmInfo
    placement_dates: Mapping[int, date] = field(default_factory=dict)
    history: Mapping[tuple[int, HistoryKind], History] = field(default_factory=dict)
    history_on: bool = False
    """Whether the user asked for the history tables (a table is missing until fetched)."""
    details: Mapping[int, HouseDetails] | None = None
    """Each house's live page (None: the option is off; a house is missing until fetched)."""
    farm_water_daily: float | None = None
    farm_feed_daily: float | None = None
    farm_water_houses: tuple[int, ...] = ()
    """Houses whose reading of this poll is in ``farm_water_daily``."""
    farm_feed_houses: tuple[int, ...] = ()
    """Houses whose reading of this poll is in ``farm_feed_daily``."""
    farm_houses: tuple[int, ...] = ()
    """Every house of the farm: those reported and those missing from this answer."""


class DailyTotal:
    """A farm-wide daily counter made from per-house daily counters that reset at midnight.

    A plain sum would drop a little whenever one controller resets before the others (their
    clocks differ), and a ``total_increasing`` sensor reads every drop as a new cycle: water
    would be counted twice. Adding up each house's increments instead (a house that dropped
    reset, so its whole new value is new) gives a counter that only rises during the local day
    and restarts at local midnight from what was used since.
    """

    def __init__(self, stored: Mapping[str, Any] | None = None) -> None:
        """Restore the counter (day, total, last value per house) from storage."""
        stored = stored or {}
        self.day: str | None = stored.get("day")
        self.total: float | None = stored.get("total")
        self.last: dict[str, float] = dict(stored.get("last", {}))

    def update(self, values: Mapping[int, float | None], today: date) -> float | None:
        """Take one reading per house (None: not reported) and return the farm's total."""
        reported = {str(house): value for house, value in values.items() if value is not None}
        if self.total is None:
            if not reported:
                return None
            self.day = today.isoformat()
            self.total = float(sum(reported.values()))
            self.last = reported
            return self.total
        increments = 0.0
        for house, value in reported.items():
            previous = self.last.get(house)
            if previous is None:
                increments += value
            elif value >= previous:
                increments += value - previous
            else:
                increments += value
            self.last[house] = value
        if self.day != today.isoformat():
            self.day = today.isoformat()
            self.total = increments
        else:
            self.total += increments
        return self.total

    def as_dict(self) -> dict[str, Any]:
        """Return what :meth:`__init__` restores."""
        return {"day": self.day, "total": self.total, "last": self.last}


def _reporting(values: Mapping[int, float | None]) -> tuple[int, ...]:
    """The houses that gave a reading, in order."""
    return tuple(sorted(number for number, value in values.items() if value is not None))


UNIT_JUMP = 10.0
"""Degrees (either unit) a house temperature cannot move between two polls by itself."""
UNIT_MATCH = 3.0
"""Degrees (new unit) within which a jumped value must equal the converted previous one."""


def _celsius_to_fahrenheit(value: float) -> float:
    return value * 1.8 + 32


def _fahrenheit_to_celsius(value: float) -> float:
    return (value - 32) / 1.8


_SWITCHED_TO: Mapping[str, Callable[[float], float]] = {
    TemperatureUnit.CELSIUS: _celsius_to_fahrenheit,
    TemperatureUnit.FAHRENHEIT: _fahrenheit_to_celsius,
}
"""For the unit in use, what a value becomes when the controller switches to the other one."""


def temperature_unit_switched(
    previous: SiteSnapshot, current: SiteSnapshot, unit: str | None
) -> bool:
    """True when a house's set point or average temperature jumped by the °C/°F conversion.

    Both are regulated indoor values that move by a degree or so between polls; a jump of
    ten degrees or more that lands where the conversion of the previous value lands is the
    unit, not the house. Outside temperatures are left out (weather can jump, and near
    -40 the two units meet).
    """
    convert = _SWITCHED_TO.get(unit) if unit is not None else None
    if convert is None:
        return False
    for number, house in current.houses.items():
        before = previous.houses.get(number)
        if before is None or not (house.online and before.online):
            continue
        for old, new in (
            (before.set_temperature, house.set_temperature),
            (before.average_temperature, house.average_temperature),
        ):
            if old is None or new is None:
                continue
            if abs(new - old) >= UNIT_JUMP and abs(new - convert(old)) <= UNIT_MATCH:
                return True
    return False


type ShownState = Hashable | None
"""What an entity shows that a poll can change; None: unavailable because the poll failed."""

type ShownReader = Callable[[House | None, RotemFarmSnapshot], Hashable]
"""Reads an entity's shown state from a snapshot and its house (None: farm entity or the house
vanished). Called for every watching entity after every poll, so it must be cheap."""


class _Watcher:
    """One entity's interest in a poll: how to read what it shows, and whom to tell."""

    __slots__ = ("read", "shown", "update")

    def __init__(
        self,
        read: ShownReader,
        update: Callable[[ShownState], None],
        shown: ShownState,
    ) -> None:
        self.read = read
        self.update = update
        self.shown = shown


class RotemFarmCoordinator(DataUpdateCoordinator[RotemFarmSnapshot]):
    """Polls one Rotem farm and tells each entity when what it shows changed."""

    config_entry: RotemFarmConfigEntry

    def __init__(
        self, hass: HomeAssistant, entry: RotemFarmConfigEntry, client: RotemClient
    ) -> None:
        """Poll at the fixed interval (homeassistant.update_entity polls in between)."""
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=f"{DOMAIN} {entry.title}",
            update_interval=DEFAULT_UPDATE_INTERVAL,
        )
        self.client = client
        self.farm_info: FarmInfo | None = None
        self._farm_info_at: datetime | None = None
        self._history: dict[tuple[int, HistoryKind], History] = {}
        self._history_at: datetime | None = None
        self._details: dict[int, HouseDetails] = {}
        self._details_at: datetime | None = None
        self._store: Store[dict[str, Any]] = Store(
            hass, STORAGE_VERSION, f"{DOMAIN}.{entry.entry_id}"
        )
        self._placements: dict[int, tuple[date, int | None]] = {}
        self._placements_day: date | None = None
        self._water = DailyTotal()
        self._feed = DailyTotal()
        # A delayed save is scheduled and not written yet (see async_shutdown).
        self._save_pending = False
        self._watchers: dict[int | None, list[_Watcher]] = {}
        self._stop_dispatch: CALLBACK_TYPE | None = None
        self._known_houses: set[int] | None = None
        self._slow_task: asyncio.Task[None] | None = None
        self._missing_since: dict[int, datetime] = {}

    def shown_state(self, house_number: int | None, read: ShownReader) -> ShownState:
        """What an entity of house ``house_number`` (None: the farm) shows now."""
        if not self.last_update_success:
            return None
        data = self.data
        house = None if house_number is None else data.site.houses.get(house_number)
        return read(house, data)

    @callback
    def async_watch(
        self,
        house_number: int | None,
        read: ShownReader,
        update: Callable[[ShownState], None],
    ) -> CALLBACK_TYPE:
        """Call ``update`` after a poll whenever ``read`` gives another value; return the remover.

        The first watcher subscribes the coordinator's single dispatcher, which keeps the farm
        polled (a coordinator polls while it has listeners); the last one to go unsubscribes it.
        Availability is part of what an entity shows, so an outage and its recovery reach every
        watcher.
        """
        watcher = _Watcher(read, update, self.shown_state(house_number, read))
        self._watchers.setdefault(house_number, []).append(watcher)
        if self._stop_dispatch is None:
            self._stop_dispatch = self.async_add_listener(self._async_dispatch)

        @callback
        def remove_watcher() -> None:
            watchers = self._watchers[house_number]
            watchers.remove(watcher)
            if not watchers:
                del self._watchers[house_number]
            if not self._watchers and self._stop_dispatch is not None:
                self._stop_dispatch()
                self._stop_dispatch = None

        return remove_watcher

    @callback
    def _async_dispatch(self) -> None:
        """Tell the entities whose shown state changed with this poll, and only those.

        Changes are collected first and delivered afterwards, so an entity that adds or removes
        watchers while it updates cannot disturb the walk.
        """
        success = self.last_update_success
        data = self.data
        houses = data.site.houses
        changed: list[tuple[_Watcher, ShownState]] = []
        for house_number, watchers in self._watchers.items():
            house = None if house_number is None else houses.get(house_number)
            for watcher in watchers:
                shown = watcher.read(house, data) if success else None
                if shown != watcher.shown:
                    watcher.shown = shown
                    changed.append((watcher, shown))
        for watcher, shown in changed:
            watcher.update(shown)

    @property
    def fetch_history(self) -> bool:
        """Whether the user asked for the daily history tables (more requests)."""
        return bool(self.config_entry.options.get(CONF_FETCH_HISTORY, False))

    @property
    def fetch_details(self) -> bool:
        """Whether the user asked for each house's live page (mortality, water/feed ratio)."""
        return bool(self.config_entry.options.get(CONF_FETCH_DETAILS, False))

    async def _async_setup(self) -> None:
        """Fetch the farm's facts once and restore the stored flock and totals state."""
        await self._async_fetch_farm_info()
        stored = await self._store.async_load() or {}
        for house, item in stored.get("placement", {}).items():
            self._placements[int(house)] = (
                date.fromisoformat(item["date"]),
                item.get("growth_day"),
            )
        self._water = DailyTotal(stored.get("water"))
        self._feed = DailyTotal(stored.get("feed"))
        for house, since in stored.get("missing", {}).items():
            if (when := dt_util.parse_datetime(since)) is not None:
                self._missing_since[int(house)] = when

    @map_library_errors
    async def _async_fetch_farm_info(self) -> None:
        self.farm_info = await self.client.get_farm_info()
        self._farm_info_at = dt_util.utcnow()

    @map_library_errors
    async def _async_fetch_site(self) -> SiteSnapshot:
        return await self.client.get_site()

    async def _async_update_data(self) -> RotemFarmSnapshot:
        """Poll the site; refresh farm facts daily; history and house pages follow.

        The poll returns as soon as the site answer is in, so fresh values are shown at once;
        history (hourly) and house pages (every 30 minutes) are one request per house each,
        fetched afterwards in the background (see :meth:`_start_slow_fetch`).
        """
        now = dt_util.utcnow()
        if self._farm_info_at is None or now - self._farm_info_at >= FARM_INFO_INTERVAL:
            await self._async_refresh_farm_info()
        site = await self._async_fetch_site()
        if await self._async_units_switched(site):
            # Pressure and wind of this answer were parsed with the old units: ask again.
            site = await self._async_fetch_site()
        assert self.farm_info is not None  # set by _async_setup
        self._track_houses(site, now)
        today = dt_util.now().date()
        water = {number: house.water_daily for number, house in site.houses.items() if house.online}
        feed = {number: house.feed_daily for number, house in site.houses.items() if house.online}
        snapshot = RotemFarmSnapshot(
            site=site,
            farm_info=self.farm_info,
            placement_dates=self._update_placements(site, today),
            history=dict(self._history) if self.fetch_history else {},
            history_on=self.fetch_history,
            details=dict(self._details) if self.fetch_details else None,
            farm_water_daily=self._water.update(water, today),
            farm_feed_daily=self._feed.update(feed, today),
            farm_water_houses=_reporting(water),
            farm_feed_houses=_reporting(feed),
            farm_houses=tuple(sorted(self.kept_houses | set(site.houses))),
        )
        self._save_pending = True
        self._store.async_delay_save(self._data_to_store, 10)
        self._start_slow_fetch(site, now)
        return snapshot

    async def _async_refresh_farm_info(self) -> None:
        """Refresh units, alias and versions; a failure keeps yesterday's facts."""
        previous = self.farm_info
        try:
            await self._async_fetch_farm_info()
        except UpdateFailed:
            if previous is None:
                raise
            LOGGER.debug("Refresh of the farm facts failed; keeping the previous ones")
            return
        if previous is not None and self.farm_info is not None:
            self._update_farm_device(self.farm_info)
            if self.farm_info.units != previous.units:
                self._units_changed(previous.units, self.farm_info.units)

    async def _async_units_switched(self, site: SiteSnapshot) -> bool:
        """Whether this answer shows a unit switch the daily farm facts have not caught yet.

        Units come from the farm facts, read once a day; a controller switched from °C to °F
        would otherwise be recorded in the wrong unit for up to a day. The site answer carries
        no unit sign, so the sign is the values themselves: temperatures that jump by exactly
        the conversion between two polls. Then the farm facts are read again at once (one
        request, only on such a jump). Returns True when the units did change.
        """
        previous = self.data
        info = self.farm_info
        if previous is None or info is None:
            return False
        if not temperature_unit_switched(previous.site, site, info.units.temperature):
            return False
        LOGGER.info("Temperatures jumped by a unit conversion; reading the farm's units again")
        await self._async_refresh_farm_info()
        return self.farm_info is not None and self.farm_info.units != info.units

    @callback
    def _units_changed(self, old: Units, new: Units) -> None:
        """Drop what was kept in the old units: history, house pages, the farm's daily totals.

        A round of history and pages still running is cancelled; the poll starts a new one.
        """
        LOGGER.info(
            "The farm's units changed (temperature %s to %s)", old.temperature, new.temperature
        )
        if self._slow_task is not None and not self._slow_task.done():
            self._slow_task.cancel()  # its tables would come in the old units
            self._slow_task = None
        self._history.clear()
        self._history_at = None
        self._details.clear()
        self._details_at = None
        if new.volume != old.volume:
            self._water = DailyTotal()
        if new.weight != old.weight:
            self._feed = DailyTotal()

    @callback
    def _start_slow_fetch(self, site: SiteSnapshot, now: datetime) -> None:
        """Start the history and house-page round that is due, unless one is still running.

        It runs as a background task of the config entry, so unloading the farm cancels it,
        and it does not hold up the poll: a slow cloud delays these tables, never the site.
        """
        if self._slow_task is not None and not self._slow_task.done():
            return
        history = self.fetch_history and (
            self._history_at is None or now - self._history_at >= HISTORY_INTERVAL
        )
        details = self.fetch_details and (
            self._details_at is None or now - self._details_at >= DETAILS_INTERVAL
        )
        if not history and not details:
            return
        self._slow_task = self.config_entry.async_create_background_task(
            self.hass,
            self._async_fetch_slow(site, history=history, details=details),
            name=f"{DOMAIN} history and house pages",
            eager_start=False,
        )

    async def _async_fetch_slow(self, site: SiteSnapshot, *, history: bool, details: bool) -> None:
        """Fetch the due tables within :data:`SLOW_ROUND_TIMEOUT`, then show them.

        A refused session starts reauthentication (the site values stay shown until a poll
        is refused too).
        """
        deadline = asyncio.get_running_loop().time() + SLOW_ROUND_TIMEOUT
        try:
            if history:
                await self._async_refresh_history(site, deadline)
            if details:
                await self._async_refresh_details(site, deadline)
        except RotemNoFarmError as err:
            async_update_no_farm_issue(self.hass, self.config_entry, err)
            return
        except RotemAuthError:
            self.config_entry.async_start_reauth(self.hass)
            return
        if self.data is not None and self.last_update_success:
            self.data = replace(
                self.data,
                history=dict(self._history) if self.fetch_history else {},
                details=dict(self._details) if self.fetch_details else None,
            )
            self.async_update_listeners()

    async def _async_refresh_history(self, site: SiteSnapshot, deadline: float) -> None:
        """Fetch water and heater history per online house; failures keep the old tables."""
        for kind in HISTORY_KINDS:
            tables = await self._async_fetch_per_house(
                site,
                partial(self.client.get_history, kind=kind),
                f"History {kind.name}",
                deadline,
            )
            self._history.update({(number, kind): table for number, table in tables.items()})
        self._history_at = dt_util.utcnow()

    async def _async_refresh_details(self, site: SiteSnapshot, deadline: float) -> None:
        """Fetch each online house's live page; a failure keeps that house's previous one.

        Each round also drops the pages of houses the cloud no longer reports.
        """
        for number in set(self._details) - set(site.houses):
            del self._details[number]
        self._details.update(
            await self._async_fetch_per_house(
                site, self.client.get_house_details, "Details", deadline
            )
        )
        self._details_at = dt_util.utcnow()

    async def _async_fetch_per_house[T](
        self,
        site: SiteSnapshot,
        fetch: Callable[[int], Awaitable[T]],
        what: str,
        deadline: float,
    ) -> dict[int, T]:
        """Fetch one slow-cadence answer per online house, one after the other, in time.

        Returns the answers by house number. Each request gets :data:`SLOW_CALL_TIMEOUT` and
        none starts after ``deadline`` (loop time). A refused session is raised; any other
        failure or a time-out leaves that house out (logged at debug level: the next round
        retries), so the caller keeps what it had.
        """
        loop = asyncio.get_running_loop()
        answers: dict[int, T] = {}
        for number, house in site.houses.items():
            if not house.online:
                continue
            remaining = deadline - loop.time()
            if remaining <= 0:
                LOGGER.debug("%s: out of time; from house %s on, next round", what, number)
                break
            try:
                async with asyncio.timeout(min(SLOW_CALL_TIMEOUT, remaining)):
                    answers[number] = await fetch(number)
            except RotemAuthError:
                raise
            except (RotemError, TimeoutError) as err:
                LOGGER.debug("%s of house %s not fetched: %r", what, number, err)
        return answers

    def _update_placements(self, site: SiteSnapshot, today: date) -> dict[int, date]:
        """Keep each house's placement date stable within a flock (see flock.py).

        Within one local day a house whose growth day did not move keeps its date without
        deriving it again (most polls of a day).
        """
        same_day = today == self._placements_day
        for number, house in site.houses.items():
            stored, previous_day = self._placements.get(number, (None, None))
            if same_day and stored is not None and house.growth_day == previous_day:
                continue
            placement = stable_placement_date(
                stored, house.growth_day, today, previous_growth_day=previous_day
            )
            if placement is not None:
                growth_day = house.growth_day if house.growth_day is not None else previous_day
                self._placements[number] = (placement, growth_day)
        self._placements_day = today
        return {number: placement for number, (placement, _) in self._placements.items()}

    @callback
    def _async_refresh_finished(self) -> None:
        """After every poll, failed ones too: raise or clear the "no farm selected" issue."""
        async_update_no_farm_issue(
            self.hass,
            self.config_entry,
            None if self.last_update_success else self.last_exception,
        )

    async def async_shutdown(self) -> None:
        """Stop polling, and write the state the last poll left to a delayed save now.

        Left pending, the delayed save outlives the entry: a farm removed within its delay had
        its file deleted (async_remove_entry runs after the unload) and then written back.
        Only a pending save is written, so a setup that failed before loading the stored state
        cannot overwrite it with nothing.
        """
        await super().async_shutdown()
        if self._save_pending:
            await self._store.async_save(self._data_to_store())

    @callback
    def _data_to_store(self) -> dict[str, Any]:
        self._save_pending = False
        return {
            "placement": {
                str(number): {"date": placement.isoformat(), "growth_day": growth_day}
                for number, (placement, growth_day) in self._placements.items()
            },
            "water": self._water.as_dict(),
            "feed": self._feed.as_dict(),
            "missing": {
                str(number): since.isoformat() for number, since in self._missing_since.items()
            },
        }

    @callback
    def _update_farm_device(self, info: FarmInfo) -> None:
        """Keep the farm device's firmware version current after the daily refresh."""
        from .entity import find_device  # entity.py imports this module

        device = find_device(
            self.hass, (DOMAIN, self.config_entry.unique_id or ""), self.config_entry.entry_id
        )
        if device is not None and device.sw_version != info.gateway_version:
            dr.async_get(self.hass).async_update_device(device.id, sw_version=info.gateway_version)

    @property
    def kept_houses(self) -> frozenset[int]:
        """Houses whose devices and entities stay: reported now, or missing for less than a day.

        Platforms add a house's entities once and keep them while it is in this set, so a house
        missing from a few answers keeps its entities (unavailable) instead of getting new ones.
        """
        return frozenset(self._known_houses or ())

    @callback
    def async_forget_house(self, house_number: int) -> None:
        """The user deleted a missing house's device: stop waiting for it."""
        self._missing_since.pop(house_number, None)
        if self._known_houses is not None:
            self._known_houses.discard(house_number)

    @callback
    def _track_houses(self, site: SiteSnapshot, now: datetime) -> None:
        """Start or stop the clock of each missing house; remove the houses that are gone.

        A house is gone when it has been missing for :data:`HOUSE_GONE_AFTER`, or when the
        farm's registration (the houses to scan in the daily farm facts) no longer lists it.
        The houses known at the first poll are those with a device (HA may have been stopped
        while one went), so a restart neither forgets nor removes a missing house early; the
        clocks themselves are stored. An empty answer removes nothing: it is more likely a
        glitch than a farm without houses.
        """
        from .entity import registered_house_numbers, remove_house_devices

        reported = set(site.houses)
        if self._known_houses is None:
            self._known_houses = registered_house_numbers(self.hass, self.config_entry)
            self._missing_since = {
                number: since
                for number, since in self._missing_since.items()
                if number in self._known_houses
            }
        self._known_houses |= reported
        for number in reported:
            if self._missing_since.pop(number, None) is not None:
                LOGGER.info("House %s is reported again", number)
        for number in sorted(self._known_houses - reported):
            if number not in self._missing_since:
                self._missing_since[number] = now
                LOGGER.info(
                    "House %s is missing from the cloud's answer; its device is kept for %s",
                    number,
                    HOUSE_GONE_AFTER,
                )
        gone = {
            number
            for number, since in self._missing_since.items()
            if now - since >= HOUSE_GONE_AFTER
        }
        registered = self.farm_info.houses_to_scan if self.farm_info else {}
        if registered:
            gone |= set(self._missing_since) - set(registered)
        if not gone or not reported:
            return
        remove_house_devices(self.hass, self.config_entry, keep=self._known_houses - gone)
        self._known_houses -= gone
        for number in gone:
            del self._missing_since[number]
        LOGGER.info("Removed the devices of houses %s, no longer on the farm", sorted(gone))
