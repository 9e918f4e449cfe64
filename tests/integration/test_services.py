"""Services: start/end flock on manual farms, report_analysis, and their errors."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import voluptuous as vol
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.rotem_farm.analysis import AnalysisStore
from custom_components.rotem_farm.const import (
    CONF_CAPACITY,
    CONF_FARM_KIND,
    CONF_HOUSES,
    DOMAIN,
    FARM_KIND_MANUAL,
    FARM_KIND_ROTEM,
    SERVICE_END_FLOCK,
    SERVICE_REPORT_ANALYSIS,
    SERVICE_START_FLOCK,
)
from custom_components.rotem_farm.data import RotemFarmData

FARM_ID = "manualhilltop01"
ROTEM_FARM_ID = "GW-0042"
VALID_REPORT: dict[str, Any] = {
    "anomaly": True,
    "anomaly_score": 70,
    "failure_risk": 40,
    "subsystem": "water",
    "explanation": "Water 35 % below the curve since 04:00",
}


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


@pytest.fixture
async def manual_farm(hass: HomeAssistant) -> MockConfigEntry:
    """A loaded two-house manual farm with a capacity of 20,000 birds per house."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Hilltop",
        unique_id=FARM_ID,
        entry_id="hilltop_entry",
        data={CONF_FARM_KIND: FARM_KIND_MANUAL, CONF_HOUSES: 2, CONF_CAPACITY: 20000},
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


@pytest.fixture
def rotem_farm(hass: HomeAssistant, manual_farm: MockConfigEntry) -> MockConfigEntry:
    """A loaded Rotem farm as the services see it: runtime data and a house device.

    The services only read runtime data and the device registry; the cloud side is the core
    tests' business.
    """
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Valley",
        unique_id=ROTEM_FARM_ID,
        entry_id="valley_entry",
        data={CONF_FARM_KIND: FARM_KIND_ROTEM},
    )
    entry.add_to_hass(hass)
    entry.mock_state(hass, ConfigEntryState.LOADED)
    entry.runtime_data = RotemFarmData(
        farm_id=ROTEM_FARM_ID,
        kind=FARM_KIND_ROTEM,
        coordinator=None,
        manual=None,
        analysis=AnalysisStore(hass, entry),
    )
    dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id,
        identifiers={(DOMAIN, f"{ROTEM_FARM_ID}_3")},
        name="Valley House 3",
    )
    return entry


def device_id_of(hass: HomeAssistant, identifier: str) -> str:
    """The HA device id of a farm or house device."""
    entry_id = "valley_entry" if identifier.startswith(ROTEM_FARM_ID) else "hilltop_entry"
    device = find_device(hass, identifier, entry_id)
    assert device is not None
    return device.id


def sensor_state(hass: HomeAssistant, house: int, key: str, platform: str = "sensor") -> str:
    """The state of a manual house sensor, by its §3 unique id."""
    entity_id = er.async_get(hass).async_get_entity_id(platform, DOMAIN, f"{FARM_ID}_{house}_{key}")
    assert entity_id is not None
    state = hass.states.get(entity_id)
    assert state is not None
    return state.state


async def call(hass: HomeAssistant, service: str, data: dict[str, Any]) -> None:
    """Call one of our services and wait for it."""
    await hass.services.async_call(DOMAIN, service, data, blocking=True)


async def test_services_registered_once_without_entries(hass: HomeAssistant) -> None:
    """The services exist as soon as the integration is set up (action-setup)."""
    from homeassistant.setup import async_setup_component

    assert await async_setup_component(hass, DOMAIN, {})
    for service in (SERVICE_START_FLOCK, SERVICE_END_FLOCK, SERVICE_REPORT_ANALYSIS):
        assert hass.services.has_service(DOMAIN, service)
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, SERVICE_END_FLOCK, {"device_id": "nope"})
    assert err.value.translation_key == "unknown_house_device"


async def test_start_flock_by_device_with_values(
    hass: HomeAssistant, manual_farm: MockConfigEntry
) -> None:
    """A given placement date and count are used as they are."""
    await call(
        hass,
        SERVICE_START_FLOCK,
        {
            "device_id": device_id_of(hass, f"{FARM_ID}_2"),
            "placement_date": "2026-11-01",
            "bird_count": 18000,
        },
    )
    assert sensor_state(hass, 2, "placement_date") == "2026-11-01"
    assert sensor_state(hass, 2, "bird_count") == "18000"
    assert sensor_state(hass, 1, "placement_date") == STATE_UNKNOWN


async def test_start_flock_by_entry_and_house_defaults(
    hass: HomeAssistant, manual_farm: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    """Without values: today in HA's zone, and the house's capacity."""
    freezer.move_to("2026-11-23T06:00:00+00:00")  # still the 22nd in US/Pacific
    await call(hass, SERVICE_START_FLOCK, {"config_entry_id": manual_farm.entry_id, "house": 1})
    assert sensor_state(hass, 1, "placement_date") == "2026-11-22"
    assert sensor_state(hass, 1, "growth_day") == "0"
    assert sensor_state(hass, 1, "bird_count") == "20000"


async def test_end_flock(hass: HomeAssistant, manual_farm: MockConfigEntry) -> None:
    """Ending a flock clears the age and leaves an empty house (zero birds)."""
    device_id = device_id_of(hass, f"{FARM_ID}_1")
    await call(hass, SERVICE_START_FLOCK, {"device_id": device_id, "placement_date": "2026-11-01"})
    assert sensor_state(hass, 1, "growth_day") != STATE_UNKNOWN

    await call(hass, SERVICE_END_FLOCK, {"device_id": device_id})

    assert sensor_state(hass, 1, "placement_date") == STATE_UNKNOWN
    assert sensor_state(hass, 1, "growth_day") == STATE_UNKNOWN
    assert sensor_state(hass, 1, "expected_harvest") == STATE_UNKNOWN
    assert sensor_state(hass, 1, "bird_count") == "0"


@pytest.mark.parametrize("service", [SERVICE_START_FLOCK, SERVICE_END_FLOCK])
async def test_flock_services_refuse_rotem_farms(
    hass: HomeAssistant, rotem_farm: MockConfigEntry, service: str
) -> None:
    """On a Rotem farm the controller's growth day rules: a translated refusal."""
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, service, {"device_id": device_id_of(hass, f"{ROTEM_FARM_ID}_3")})
    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == "not_manual_farm"
    assert err.value.translation_placeholders == {"farm": "Valley"}

    with pytest.raises(ServiceValidationError) as err:
        await call(hass, service, {"config_entry_id": rotem_farm.entry_id, "house": 3})
    assert err.value.translation_key == "not_manual_farm"


async def test_flock_service_target_errors(
    hass: HomeAssistant, manual_farm: MockConfigEntry
) -> None:
    """Unknown entries, houses and devices are named in translated errors."""
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, SERVICE_START_FLOCK, {"config_entry_id": "missing", "house": 1})
    assert err.value.translation_key == "unknown_config_entry"
    assert err.value.translation_placeholders == {"config_entry_id": "missing"}

    with pytest.raises(ServiceValidationError) as err:
        await call(hass, SERVICE_START_FLOCK, {"config_entry_id": manual_farm.entry_id, "house": 3})
    assert err.value.translation_key == "unknown_house"
    assert err.value.translation_placeholders == {"farm": "Hilltop", "house": "3"}

    # The farm device is not a house.
    farm_device = device_id_of(hass, FARM_ID)
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, SERVICE_END_FLOCK, {"device_id": farm_device})
    assert err.value.translation_key == "unknown_house_device"
    assert err.value.translation_placeholders == {"device_id": farm_device}

    # An unloaded farm has no flock to change.
    house_device = device_id_of(hass, f"{FARM_ID}_1")
    assert await hass.config_entries.async_unload(manual_farm.entry_id)
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, SERVICE_END_FLOCK, {"device_id": house_device})
    assert err.value.translation_key == "unknown_house_device"


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"house": 1},
        {"config_entry_id": "abc"},
        {"device_id": "abc", "config_entry_id": "abc", "house": 1},
        {"device_id": "abc", "bird_count": -1},
        {"device_id": "abc", "placement_date": "soon"},
        {"config_entry_id": "abc", "house": 0},
    ],
)
async def test_start_flock_schema(
    hass: HomeAssistant, manual_farm: MockConfigEntry, data: dict[str, Any]
) -> None:
    """A house is named exactly one way; counts and dates are checked before anything runs."""
    with pytest.raises(vol.Invalid):
        await call(hass, SERVICE_START_FLOCK, data)


async def test_report_analysis_on_manual_and_rotem_houses(
    hass: HomeAssistant, rotem_farm: MockConfigEntry
) -> None:
    """One call carries several farms' houses; each lands in its own farm's store."""
    await call(
        hass,
        SERVICE_REPORT_ANALYSIS,
        {
            "reports": [
                {"device_id": device_id_of(hass, f"{FARM_ID}_2"), **VALID_REPORT},
                {
                    "device_id": device_id_of(hass, f"{ROTEM_FARM_ID}_3"),
                    **VALID_REPORT,
                    "subsystem": "ventilation",
                    "since": "2026-11-23 04:00:00",
                },
            ]
        },
    )
    assert sensor_state(hass, 2, "failure_subsystem") == "water"
    assert sensor_state(hass, 2, "anomaly", "binary_sensor") == "on"
    assert sensor_state(hass, 1, "anomaly", "binary_sensor") == STATE_UNKNOWN
    rotem_report = rotem_farm.runtime_data.analysis.latest(3)
    assert rotem_report is not None
    assert rotem_report.subsystem == "ventilation"
    # No interval given: the default five minutes.
    assert rotem_report.interval.total_seconds() == 300
    # A naive time is read in HA's zone (US/Pacific in tests) and kept in UTC.
    assert rotem_report.since is not None
    assert rotem_report.since.isoformat() == "2026-11-23T12:00:00+00:00"


async def test_report_analysis_unknown_device_applies_nothing(
    hass: HomeAssistant, manual_farm: MockConfigEntry
) -> None:
    """One bad device id refuses the whole call, naming the device."""
    other = MockConfigEntry(domain="zha")
    other.add_to_hass(hass)
    foreign = dr.async_get(hass).async_get_or_create(
        config_entry_id=other.entry_id, identifiers={("zha", "probe")}, name="Probe"
    )
    for bad_device in ("not-a-device", foreign.id):
        with pytest.raises(ServiceValidationError) as err:
            await call(
                hass,
                SERVICE_REPORT_ANALYSIS,
                {
                    "reports": [
                        {"device_id": device_id_of(hass, f"{FARM_ID}_1"), **VALID_REPORT},
                        {"device_id": bad_device, **VALID_REPORT},
                    ]
                },
            )
        assert err.value.translation_domain == DOMAIN
        assert err.value.translation_key == "unknown_house_device"
        assert err.value.translation_placeholders == {"device_id": bad_device}
        assert str(err.value).startswith(
            f"Device {bad_device} is not a house of a loaded Rotem Farm entry; nothing was applied"
        )
    assert sensor_state(hass, 1, "anomaly", "binary_sensor") == STATE_UNKNOWN
    assert sensor_state(hass, 1, "anomaly_score") == STATE_UNKNOWN


@pytest.mark.parametrize(
    "change",
    [
        {"anomaly_score": 101},
        {"failure_risk": -1},
        {"anomaly_score": "nan"},
        {"subsystem": "plumbing"},
        {"expected": "inf"},
        {"since": "last night"},
        {"time_to_failure_hours": -3},
        {"anomaly": "maybe"},
        {"anomaly_score": None},
    ],
)
async def test_report_analysis_schema_errors(
    hass: HomeAssistant, manual_farm: MockConfigEntry, change: dict[str, Any]
) -> None:
    """Out-of-range or malformed fields are refused before anything is applied."""
    report = {"device_id": device_id_of(hass, f"{FARM_ID}_1"), **VALID_REPORT, **change}
    with pytest.raises(vol.Invalid):
        await call(hass, SERVICE_REPORT_ANALYSIS, {"reports": [report]})
    assert sensor_state(hass, 1, "anomaly_score") == STATE_UNKNOWN


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"reports": []},
        {"reports": [{"anomaly": True}]},
        {"reports": [], "interval": 300},
        {"reports": [{"device_id": "x", **VALID_REPORT}], "interval": 0},
        {"reports": [{"device_id": "x", **VALID_REPORT}], "interval": "often"},
        # Beyond a day: "stale after three intervals" would leave the calendar.
        {"reports": [{"device_id": "x", **VALID_REPORT}], "interval": 1e308},
        {"reports": [{"device_id": "x", **VALID_REPORT}], "interval": 86401},
        {"reports": [{"device_id": "x", **VALID_REPORT}], "interval": "inf"},
    ],
)
async def test_report_analysis_call_schema(
    hass: HomeAssistant, manual_farm: MockConfigEntry, data: dict[str, Any]
) -> None:
    """At least one report and an interval from a second to a day."""
    with pytest.raises(vol.Invalid):
        await call(hass, SERVICE_REPORT_ANALYSIS, data)


async def test_report_analysis_longest_interval(
    hass: HomeAssistant, manual_farm: MockConfigEntry
) -> None:
    """A day is the longest interval: accepted, and its report goes stale three days later."""
    await call(
        hass,
        SERVICE_REPORT_ANALYSIS,
        {
            "reports": [{"device_id": device_id_of(hass, f"{FARM_ID}_1"), **VALID_REPORT}],
            "interval": 86400,
        },
    )
    report = manual_farm.runtime_data.analysis.latest(1)
    assert report is not None
    assert report.stale_at - report.received == timedelta(days=3)


async def test_report_analysis_accepts_a_single_mapping(
    hass: HomeAssistant, manual_farm: MockConfigEntry
) -> None:
    """A YAML call with one report as a mapping (not a list) is accepted."""
    await call(
        hass,
        SERVICE_REPORT_ANALYSIS,
        {
            "reports": {"device_id": device_id_of(hass, f"{FARM_ID}_1"), **VALID_REPORT},
            "interval": "600",
        },
    )
    assert sensor_state(hass, 1, "anomaly_score") == "70.0"


async def test_services_yaml_describes_every_field(
    hass: HomeAssistant, manual_farm: MockConfigEntry
) -> None:
    """services.yaml loads and passes HA's schema, with a selector for each schema field."""
    from homeassistant.helpers.service import async_get_all_descriptions

    descriptions = (await async_get_all_descriptions(hass))[DOMAIN]
    assert set(descriptions[SERVICE_START_FLOCK]["fields"]) == {
        "device_id",
        "config_entry_id",
        "house",
        "placement_date",
        "bird_count",
    }
    assert set(descriptions[SERVICE_END_FLOCK]["fields"]) == {
        "device_id",
        "config_entry_id",
        "house",
    }
    report_fields = descriptions[SERVICE_REPORT_ANALYSIS]["fields"]
    assert set(report_fields) == {"reports", "interval"}
    assert report_fields["reports"]["required"] is True
    for service in descriptions.values():
        for field in service["fields"].values():
            assert "selector" in field


def test_device_entries_on_every_ha() -> None:
    """A device's entries come from config_entry_id (HA 2026.8+) or config_entries (before)."""
    from custom_components.rotem_farm.services import _config_entry_ids

    class NewDevice:
        config_entry_id = "one"

    class OldDevice:
        config_entries = frozenset({"one", "two"})

    assert _config_entry_ids(NewDevice()) == {"one"}
    assert _config_entry_ids(OldDevice()) == {"one", "two"}


async def test_report_analysis_over_the_rest_api(
    hass: HomeAssistant, manual_farm: MockConfigEntry, hass_client: Any
) -> None:
    """The analyzer's path: POST /api/services/rotem_farm/report_analysis with a JSON body."""
    from homeassistant.setup import async_setup_component

    assert await async_setup_component(hass, "api", {})
    client = await hass_client()
    device_id = device_id_of(hass, f"{FARM_ID}_1")
    url = f"/api/services/{DOMAIN}/{SERVICE_REPORT_ANALYSIS}"

    response = await client.post(
        url, json={"reports": [{"device_id": device_id, **VALID_REPORT}], "interval": 300}
    )
    assert response.status == 200
    assert sensor_state(hass, 1, "failure_subsystem") == "water"

    # Refusals are errors the analyzer can tell from success, so it retries house by house:
    # a schema error is 400; an unknown device is 400 on newer HA, 500 on HA 2025.4 (its REST
    # API maps only schema errors to 400).
    response = await client.post(
        url,
        json={"reports": [{"device_id": device_id, **VALID_REPORT, "anomaly_score": 5}, {}]},
    )
    assert response.status == 400
    response = await client.post(
        url,
        json={
            "reports": [
                {"device_id": device_id, **VALID_REPORT, "anomaly_score": 5},
                {"device_id": "gone", **VALID_REPORT},
            ]
        },
    )
    assert response.status in (400, 500)
    assert sensor_state(hass, 1, "anomaly_score") == "70.0"
