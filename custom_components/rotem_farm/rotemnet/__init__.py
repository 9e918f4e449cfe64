"""Async client for the RotemNetWeb cloud of Rotem / Munters poultry-house controllers.

Publishable on its own: no Home Assistant import, the caller injects the aiohttp session.
"""

from __future__ import annotations

from .client import DEFAULT_BASE_URL, RotemClient
from .exceptions import (
    RotemApiError,
    RotemAuthError,
    RotemConnectionError,
    RotemError,
    RotemNoFarmError,
    RotemParseError,
    RotemRateLimitError,
    RotemResponseTooLargeError,
    RotemSessionExpiredError,
)
from .models import (
    ClientStats,
    ConnectionStatus,
    Equipment,
    FarmInfo,
    History,
    HistoryKind,
    HistoryRow,
    House,
    HouseDetails,
    HouseMode,
    LoginInfo,
    Mortality,
    Readings,
    SiteSnapshot,
    TemperatureSensorLocation,
    TemperatureUnit,
    Units,
    VentilationMode,
)

__all__ = [
    "DEFAULT_BASE_URL",
    "ClientStats",
    "ConnectionStatus",
    "Equipment",
    "FarmInfo",
    "History",
    "HistoryKind",
    "HistoryRow",
    "House",
    "HouseDetails",
    "HouseMode",
    "LoginInfo",
    "Mortality",
    "Readings",
    "RotemApiError",
    "RotemAuthError",
    "RotemClient",
    "RotemConnectionError",
    "RotemError",
    "RotemNoFarmError",
    "RotemParseError",
    "RotemRateLimitError",
    "RotemResponseTooLargeError",
    "RotemSessionExpiredError",
    "SiteSnapshot",
    "TemperatureSensorLocation",
    "TemperatureUnit",
    "Units",
    "VentilationMode",
]
