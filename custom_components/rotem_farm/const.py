"""Constants of the Rotem Farm integration."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Final

DOMAIN: Final = "rotem_farm"
LOGGER = logging.getLogger(__package__)

# Config entry data
CONF_FARM_KIND: Final = "farm_kind"
FARM_KIND_ROTEM: Final = "rotem"
FARM_KIND_MANUAL: Final = "manual"
CONF_BASE_URL: Final = "base_url"
CONF_HOUSES: Final = "houses"  # manual farms: number of houses
CONF_CAPACITY: Final = "capacity"  # manual farms: birds per house (optional)

# Options
CONF_TARGET_AGE: Final = "target_age"  # days, for the expected harvest date
CONF_FETCH_HISTORY: Final = "fetch_history"
CONF_FETCH_DETAILS: Final = "fetch_details"
CONF_LINKS: Final = "links"  # manual farms: {house_number: {role: entity_id}}

# Fixed, as Home Assistant's appropriate-polling rule asks: one request per poll returns every
# house, and the controllers' own values move slowly. Who wants a reading now calls
# homeassistant.update_entity (docs/integration.md).
DEFAULT_UPDATE_INTERVAL: Final = timedelta(minutes=5)
# Removed option (minutes between polls): config entries of minor version 1 may still hold it;
# async_migrate_entry drops it.
LEGACY_CONF_UPDATE_INTERVAL: Final = "update_interval"
DEFAULT_TARGET_AGE: Final = 42
DEFAULT_BASE_URL: Final = "https://rotemnetweb.com/"

# Analysis reports (from the ML analyzer add-on through rotem_farm.report_analysis)
SERVICE_REPORT_ANALYSIS: Final = "report_analysis"
SERVICE_START_FLOCK: Final = "start_flock"
SERVICE_END_FLOCK: Final = "end_flock"
SUBSYSTEMS: Final = (
    "none",
    "heating",
    "ventilation",
    "water",
    "feed",
    "sensor",
    "controller_link",
)
# Analysis entities go unavailable when no report came for this many analysis intervals.
ANALYSIS_STALE_INTERVALS: Final = 3
# The longest analysis interval a report may announce (s): a day, as services.yaml offers. A
# bound keeps "stale after three intervals" a time the calendar has (no OverflowError).
MAX_ANALYSIS_INTERVAL_SECONDS: Final = 86400
