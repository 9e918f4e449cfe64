"""Fixtures of the integration tests: real captures parsed by the real parser, client mocked."""

from __future__ import annotations

import json
from collections.abc import Generator, Mapping
from dataclasses import replace
from datetime import timedelta
from typing import Any
from unittest.mock import AsyncMock, MagicMock, PropertyMock, patch

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from syrupy.assertion import SnapshotAssertion

from custom_components.rotem_farm.const import CONF_BASE_URL, CONF_FARM_KIND, DOMAIN
from custom_components.rotem_farm.data import CONF_API_STYLE
from custom_components.rotem_farm.rotemnet import (
    ClientStats,
    FarmInfo,
    House,
    LoginInfo,
    SiteSnapshot,
)
from custom_components.rotem_farm.rotemnet.parsing import parse_farm_info, parse_site
from tests.captures import CAPTURES

GATEWAY = "GW-0001"


async def setup_entry(
    hass: HomeAssistant, entry: MockConfigEntry, *, options: Mapping[str, Any] | None = None
) -> None:
    """Add the entry (unless added already) and set it up, all platforms, as at start.

    ``options`` are stored first, as if the options flow had saved them before the start.
    """
    if hass.config_entries.async_get_entry(entry.entry_id) is None:
        entry.add_to_hass(hass)
    if options is not None:
        hass.config_entries.async_update_entry(entry, options=options)
    assert await hass.config_entries.async_setup(entry.entry_id)
    # The history and house pages of the first poll are fetched in the background.
    await hass.async_block_till_done(wait_background_tasks=True)


def with_house(site: SiteSnapshot, house: House) -> SiteSnapshot:
    """The site with ``house`` in place of the house of the same number."""
    return replace(site, houses={**site.houses, house.number: house})


def flows_in_progress(hass: HomeAssistant) -> list[str]:
    """The source of every config flow in progress (a started reauthentication: ``reauth``)."""
    return [flow["context"]["source"] for flow in hass.config_entries.flow.async_progress()]


async def poll(hass: HomeAssistant, freezer: FrozenDateTimeFactory, minutes: int = 5) -> None:
    """Move the clock on so the coordinator's timer fires, and wait for the writes."""
    freezer.tick(timedelta(minutes=minutes))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)


def state_of(hass: HomeAssistant, entity_id: str) -> str:
    """The state of an entity that must exist."""
    state = hass.states.get(entity_id)
    assert state is not None, entity_id
    return state.state


def entity_summary(hass: HomeAssistant, config_entry_id: str, domain: str) -> dict[str, Any]:
    """What a platform created, in a form every supported HA release prints the same way.

    HA's own snapshot of registry entries changes shape between releases (new fields, sets
    turned lists), so the snapshot holds what we decide: ids, names, classes, units,
    categories, enabled state, state and attributes.
    """
    registry = er.async_get(hass)
    summary: dict[str, Any] = {}
    for entry in sorted(
        er.async_entries_for_config_entry(registry, config_entry_id), key=lambda e: e.entity_id
    ):
        if entry.domain != domain:
            continue
        state = hass.states.get(entry.entity_id)
        summary[entry.entity_id] = json.loads(
            json.dumps(
                {
                    "unique_id": entry.unique_id,
                    "translation_key": entry.translation_key,
                    "original_name": entry.original_name,
                    "device_class": entry.original_device_class,
                    "entity_category": entry.entity_category,
                    "disabled_by": entry.disabled_by,
                    "unit": entry.unit_of_measurement,
                    "capabilities": entry.capabilities,
                    "display_precision": dict(entry.options.get("sensor") or {}).get(
                        "suggested_display_precision"
                    ),
                    "state": None if state is None else state.state,
                    "attributes": None if state is None else dict(state.attributes),
                },
                default=str,
            )
        )
    return summary


def capture(name: str) -> Any:
    """The response body of one capture file."""
    return json.loads((CAPTURES / name).read_text(encoding="utf-8"))["response"]


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Load custom_components/ in every test."""


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Snapshots that leave out random ids and times, as Home Assistant core's do."""
    return snapshot.use_extension(HomeAssistantSnapshotExtension)


@pytest.fixture
def entity_registry_enabled_by_default() -> Generator[None]:
    """Create entities that are disabled by default as enabled (to snapshot them too)."""
    with patch(
        "homeassistant.helpers.entity.Entity.entity_registry_enabled_default",
        new_callable=PropertyMock,
        return_value=True,
    ):
        yield


@pytest.fixture
def farm_info() -> FarmInfo:
    """Farm facts of the captured farm, with a readable gateway code."""
    info = parse_farm_info(
        capture("JsGlobals_GetJsGlobals.json"),
        capture("GetFarmRegistration.json"),
        gateway_code=GATEWAY,
    )
    return replace(info, alias="Green Valley")  # the capture's alias is a placeholder


@pytest.fixture
def site(farm_info: FarmInfo) -> SiteSnapshot:
    """The captured six-house site."""
    return parse_site(capture("GetSiteControllersInfo.json"), units=farm_info.units)


@pytest.fixture
def mock_client(site: SiteSnapshot, farm_info: FarmInfo) -> Generator[MagicMock]:
    """The RotemClient as seen by setup and the config flow."""
    client = MagicMock()
    client.login = AsyncMock(
        return_value=LoginInfo(
            gateway_code=GATEWAY, web_server_url="/Host6_V1/", user_display_name="Jane Farmer"
        )
    )
    client.get_site = AsyncMock(return_value=site)
    client.get_farm_info = AsyncMock(return_value=farm_info)
    client.get_history = AsyncMock()
    client.get_house_details = AsyncMock()
    client.gateway_code = GATEWAY
    client.stats = ClientStats(requests=3, logins=1, bytes_received=1000)
    with (
        patch("custom_components.rotem_farm.RotemClient", return_value=client),
        patch("custom_components.rotem_farm.config_flow.RotemClient", return_value=client),
    ):
        yield client


@pytest.fixture
def rotem_entry() -> MockConfigEntry:
    """A Rotem-account entry of the captured farm."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="Green Valley",
        unique_id=GATEWAY,
        data={
            CONF_FARM_KIND: "rotem",
            "username": "farmer@example.com",
            "password": "s3cret",
            CONF_BASE_URL: "https://rotemnetweb.com/",
            CONF_API_STYLE: "legacy",
        },
        entry_id="01ROTEMENTRY",
    )
