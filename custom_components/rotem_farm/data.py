"""Runtime data of a Rotem Farm config entry.

Every platform, the services and the diagnostics read the same typed object from
``entry.runtime_data``; nothing per entry lives in ``hass.data``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from homeassistant.config_entries import ConfigEntry

if TYPE_CHECKING:
    from .analysis import AnalysisStore
    from .coordinator import RotemFarmCoordinator
    from .manual import ManualFarm

# Config entry data keys the shared const module does not define (Rotem accounts only).
CONF_API_STYLE: Final = "api_style"
API_STYLES: Final = ("legacy", "api")
DEFAULT_API_STYLE: Final = "legacy"


@dataclass
class RotemFarmData:
    """What a loaded entry holds: its farm id, its kind and the objects that feed its entities.

    ``farm_id`` is the prefix of every unique id and device identifier (the gateway code of a
    Rotem farm, the generated id of a manual one). Exactly one of ``coordinator`` (Rotem) and
    ``manual`` (manual farm) is set, matching ``kind``. ``farm_device_id`` is the device
    registry id of the farm device, set where that device is created (before any platform), so
    house devices can link to it by id on a Home Assistant that wants ``via_device_id``.
    """

    farm_id: str
    kind: str
    coordinator: RotemFarmCoordinator | None
    manual: ManualFarm | None
    analysis: AnalysisStore
    farm_device_id: str | None = None


type RotemFarmConfigEntry = ConfigEntry[RotemFarmData]
