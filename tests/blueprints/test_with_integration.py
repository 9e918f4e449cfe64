"""The blueprints on the real integration: a report_analysis call reaches the farmer's phone.

The other blueprint tests set states by hand; this one lets the integration itself turn a report
into entity states and attributes, so a renamed attribute (explanation, since,
time_to_failure_hours) or key breaks a test here instead of a farmer's notification.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_mock_service

# Imported at collection, before the test harness can put its own (empty) custom_components
# package first on the path; the integration is then found where HA looks for it.
from custom_components.rotem_farm.const import DOMAIN

from .conftest import setup_blueprint_automations

FARM_ID = "manualblueprints"
EXPLANATION = "Water 35 % below the curve since 04:00 while feed is normal"
SINCE = datetime(2026, 11, 23, 4, 0, tzinfo=dt_util.UTC)


@pytest.fixture
async def manual_farm(
    blueprint_hass: HomeAssistant, enable_custom_integrations: None
) -> MockConfigEntry:
    """A real two-house manual farm (no cloud needed), set up."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Blueprint farm",
        unique_id=FARM_ID,
        data={"farm_kind": "manual", "houses": 2, "capacity": 20000},
    )
    entry.add_to_hass(blueprint_hass)
    assert await blueprint_hass.config_entries.async_setup(entry.entry_id)
    await blueprint_hass.async_block_till_done()
    return entry


def _entity_id(hass: HomeAssistant, platform: str, key: str) -> str:
    entity_id = er.async_get(hass).async_get_entity_id(platform, DOMAIN, f"{FARM_ID}_1_{key}")
    assert entity_id is not None, f"the integration has no {platform} {key} for house 1"
    return entity_id


async def test_report_analysis_anomaly_notifies_through_the_blueprint(
    blueprint_hass: HomeAssistant, manual_farm: MockConfigEntry
) -> None:
    """An anomaly report for house 1 gives one message naming the house, the why and the since."""
    anomaly = _entity_id(blueprint_hass, "binary_sensor", "anomaly")
    risk = _entity_id(blueprint_hass, "sensor", "failure_risk")
    await setup_blueprint_automations(
        blueprint_hass,
        [
            (
                "house_anomaly_notify.yaml",
                {"anomaly_sensors": [anomaly], "notify_service": "notify.farm_phone"},
            ),
            (
                "failure_warning.yaml",
                {"risk_sensors": [risk], "threshold": 50, "notify_service": "notify.farm_phone"},
            ),
        ],
    )
    calls = async_mock_service(blueprint_hass, "notify", "farm_phone")
    entity_entry = er.async_get(blueprint_hass).async_get(anomaly)
    assert entity_entry is not None
    assert entity_entry.device_id is not None
    device = dr.async_get(blueprint_hass).async_get(entity_entry.device_id)
    assert device is not None
    house = device.name_by_user or device.name

    await blueprint_hass.services.async_call(
        DOMAIN,
        "report_analysis",
        {
            "reports": [
                {
                    "device_id": entity_entry.device_id,
                    "anomaly": True,
                    "anomaly_score": 91,
                    "failure_risk": 72,
                    "subsystem": "water",
                    "explanation": EXPLANATION,
                    "since": SINCE.isoformat(),
                    "time_to_failure_hours": 6,
                }
            ],
            "interval": 300,
        },
        blocking=True,
    )
    await blueprint_hass.async_block_till_done()

    by_title = {call.data["title"]: call.data["message"] for call in calls}
    local_since = dt_util.as_local(SINCE).strftime("%Y-%m-%d %H:%M")
    assert by_title == {
        f"Anomaly in {house}": f"{EXPLANATION} (since {local_since})",
        f"Failure risk 72 % in {house}": f"{EXPLANATION} Estimated time left: 6 h.",
    }
