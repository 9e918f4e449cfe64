"""Async client for the RotemNetWeb cloud of Rotem / Munters poultry-house controllers.

Publishable on its own: no Home Assistant import, the caller injects the aiohttp session.
"""

from __future__ import annotations

from .exceptions import (
    RotemApiError,
    RotemAuthError,
    RotemConnectionError,
    RotemError,
    RotemNoFarmError,
    RotemParseError,
    RotemRateLimitError,
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
    SiteSnapshot,
    TemperatureSensorLocation,
    TemperatureUnit,
    Units,
    VentilationMode,
)

__all__ = [
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
    "RotemApiError",
    "RotemAuthError",
    "RotemConnectionError",
    "RotemError",
    "RotemNoFarmError",
    "RotemParseError",
    "RotemRateLimitError",
    "RotemSessionExpiredError",
    "SiteSnapshot",
    "TemperatureSensorLocation",
    "TemperatureUnit",
    "Units",
    "VentilationMode",
]
