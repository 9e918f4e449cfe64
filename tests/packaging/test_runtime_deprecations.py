"""Setting up and using the integration triggers none of Home Assistant's deprecation reports.

HA announces an API's removal a year ahead by logging "Detected that custom integration …" (the
frame helper) or "The deprecated constant …" while the old call still works. Nothing fails
then, so only a check like this one notices; run on the newest release (scripts/newest_ha) it
tells what to change before a release breaks the integration.
"""

from __future__ import annotations

import logging

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

# Imported at collection so HA finds this repository's custom_components package.
from custom_components.rotem_farm.const import DOMAIN

FARM_ID = "manualdeprecations"
DEPRECATION_MARKERS = ("deprecated", "will stop working", "will be removed")


def _deprecation_reports(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.levelno >= logging.WARNING
        and DOMAIN in record.getMessage()
        and any(marker in record.getMessage().lower() for marker in DEPRECATION_MARKERS)
    ]


async def test_manual_farm_setup_report_and_unload_use_no_deprecated_api(
    hass: HomeAssistant,
    enable_custom_integrations: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Devices, entities, the analysis service and unloading, on the running HA's current API."""
    caplog.set_level(logging.WARNING)
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Deprecation farm",
        unique_id=FARM_ID,
        data={"farm_kind": "manual", "houses": 2, "capacity": 20000},
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    anomaly = er.async_get(hass).async_get_entity_id(
        "binary_sensor", DOMAIN, f"{FARM_ID}_1_anomaly"
    )
    assert anomaly is not None
    entity_entry = er.async_get(hass).async_get(anomaly)
    assert entity_entry is not None
    await hass.services.async_call(
        DOMAIN,
        "report_analysis",
        {
            "reports": [
                {
                    "device_id": entity_entry.device_id,
                    "anomaly": False,
                    "anomaly_score": 5,
                    "failure_risk": 1,
                    "subsystem": "none",
                }
            ]
        },
        blocking=True,
    )
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()

    assert not _deprecation_reports(caplog), "\n".join(_deprecation_reports(caplog))


def test_deprecation_filter_recognises_ha_reports(caplog: pytest.LogCaptureFixture) -> None:
    """The filter itself: HA's wording is caught, other warnings are not."""
    logger = logging.getLogger("homeassistant.helpers.frame")
    with caplog.at_level(logging.WARNING):
        logger.warning(
            "Detected that custom integration 'rotem_farm' calls `x` with a deprecated `y`;"
            " This will stop working in Home Assistant 2027.8.0"
        )
        logger.warning("Config entry for rotem_farm could not authenticate")
    assert len(_deprecation_reports(caplog)) == 1
