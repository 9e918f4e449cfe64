"""Data update coordinator of a Rotem farm: one per config entry, one request per poll.

Each poll asks the cloud for the whole site (every house in one answer). Farm facts (units,
alias, versions) are fetched at setup and refreshed daily; the optional daily history is fetched
hourly at most. Library errors become ``ConfigEntryAuthFailed`` (reauthentication) or
``UpdateFailed`` with a translation key, so the coordinator logs an outage once and its
recovery once. Houses that appear get entities through listeners; houses that vanish lose their
devices here.

Entities do not listen to every poll themselves: each one registers a *watcher* (what it shows,
read from a snapshot) and the coordinator, after a poll, tells only the entities whose shown
state changed. Fifty farms are ten thousand entities; calling each of them per poll, through
its properties, only to find the quarter that changed cost the event loop two to three times
what these readers cost (docs/integration.md, "What it costs").
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Mapping
from dataclasses import dataclass, field
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
)

if TYPE_CHECKING:
    from .data import RotemFarmConfigEntry

FARM_INFO_INTERVAL = timedelta(days=1)
HISTORY_INTERVAL = timedelta(hours=1)
DETAILS_INTERVAL = timedelta(minutes=30)
HISTORY_KINDS = (HistoryKind.WATER, HistoryKind.HEATERS)
STORAGE_VERSION = 1


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
    details: Mapping[int, HouseDetails] | None = None
    """Each house's live page (None: the option is off; a house is missing until fetched)."""
    farm_water_daily: float | None = None
    farm_feed_daily: float | None = None


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
        self._reported_houses: frozenset[int] | None = None

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

    @map_library_errors
    async def _async_fetch_farm_info(self) -> None:
        self.farm_info = await self.client.get_farm_info()
        self._farm_info_at = dt_util.utcnow()

    @map_library_errors
    async def _async_fetch_site(self) -> SiteSnapshot:
        return await self.client.get_site()

    async def _async_update_data(self) -> RotemFarmSnapshot:
        """Poll the site; refresh farm facts daily and history hourly, both best effort."""
        now = dt_util.utcnow()
        if self._farm_info_at is None or now - self._farm_info_at >= FARM_INFO_INTERVAL:
            await self._async_refresh_farm_info()
        site = await self._async_fetch_site()
        if self.fetch_history and (
            self._history_at is None or now - self._history_at >= HISTORY_INTERVAL
        ):
            await self._async_refresh_history(site)
        if self.fetch_details and (
            self._details_at is None or now - self._details_at >= DETAILS_INTERVAL
        ):
            await self._async_refresh_details(site)
        assert self.farm_info is not None  # set by _async_setup
        today = dt_util.now().date()
        snapshot = RotemFarmSnapshot(
            site=site,
            farm_info=self.farm_info,
            placement_dates=self._update_placements(site, today),
            history=dict(self._history) if self.fetch_history else {},
            details=dict(self._details) if self.fetch_details else None,
            farm_water_daily=self._water.update(
                {
                    number: house.water_daily
                    for number, house in site.houses.items()
                    if house.online
                },
                today,
            ),
            farm_feed_daily=self._feed.update(
                {number: house.feed_daily for number, house in site.houses.items() if house.online},
                today,
            ),
        )
        self._save_pending = True
        self._store.async_delay_save(self._data_to_store, 10)
        houses = frozenset(site.houses)
        if houses != self._reported_houses:
            self._remove_stale_devices(site)
            self._reported_houses = houses
        return snapshot

    async def _async_refresh_farm_info(self) -> None:
        """Refresh units, alias and versions; a failure keeps yesterday's facts."""
        previous = self.farm_info
        try:
            await self._async_fetch_farm_info()
        except UpdateFailed:
            if previous is None:
                raise
            LOGGER.debug("Daily refresh of the farm facts failed; keeping the previous ones")
            return
        if previous is not None and self.farm_info is not None:
            self._update_farm_device(self.farm_info)

    async def _async_refresh_history(self, site: SiteSnapshot) -> None:
        """Fetch water and heater history per online house; failures keep the old tables."""
        for kind in HISTORY_KINDS:
            tables = await self._async_fetch_per_house(
                site, partial(self.client.get_history, kind=kind), f"History {kind.name}"
            )
            self._history.update({(number, kind): table for number, table in tables.items()})
        self._history_at = dt_util.utcnow()

    async def _async_refresh_details(self, site: SiteSnapshot) -> None:
        """Fetch each online house's live page; a failure keeps that house's previous one.

        Each round also drops the pages of houses the cloud no longer reports.
        """
        for number in set(self._details) - set(site.houses):
            del self._details[number]
        self._details.update(
            await self._async_fetch_per_house(site, self.client.get_house_details, "Details")
        )
        self._details_at = dt_util.utcnow()

    async def _async_fetch_per_house[T](
        self, site: SiteSnapshot, fetch: Callable[[int], Awaitable[T]], what: str
    ) -> dict[int, T]:
        """Fetch one slow-cadence answer per online house, one after the other.

        Returns the answers by house number. A refused session starts reauthentication; any
        other failure leaves that house out (logged at debug level: the next round retries),
        so the caller keeps what it had.
        """
        answers: dict[int, T] = {}
        for number, house in site.houses.items():
            if not house.online:
                continue
            try:
                answers[number] = await fetch(number)
            except RotemNoFarmError as err:
                raise UpdateFailed(translation_domain=DOMAIN, translation_key="no_farm") from err
            except RotemAuthError as err:
                raise ConfigEntryAuthFailed(
                    translation_domain=DOMAIN, translation_key="auth_failed"
                ) from err
            except RotemError as err:
                LOGGER.debug("%s of house %s not fetched: %s", what, number, err)
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

    @callback
    def _remove_stale_devices(self, site: SiteSnapshot) -> None:
        """Remove the house devices the cloud no longer reports.

        Runs on the first poll and whenever the set of reported houses changes, not every poll.
        An empty answer is not taken as "every house removed": it is more likely a glitch, and
        removing devices loses their history and customisations.
        """
        from .entity import remove_house_devices  # entity.py imports this module

        if site.houses:
            remove_house_devices(self.hass, self.config_entry, keep=set(site.houses))
