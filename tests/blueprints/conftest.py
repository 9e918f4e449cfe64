"""Fixtures of the blueprint tests: a config dir holding our blueprints and a fake farm.

The blueprints are loaded by Home Assistant's own blueprint integration from a temporary config
directory (a copy of blueprints/automation/rotem_farm/), exactly as a user's import would place
them. The farm is only registry entries under the ``rotem_farm`` platform plus states the tests
set: the blueprints read nothing else (device name, entity states and attributes).
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry

DOMAIN = "rotem_farm"
BLUEPRINT_SOURCE = Path(__file__).parents[2] / "blueprints" / "automation" / DOMAIN
BLUEPRINT_FILES = (
    "house_anomaly_notify.yaml",
    "failure_warning.yaml",
    "temperature_out_of_band.yaml",
    "offline.yaml",
)


@dataclass
class FakeFarm:
    """Registry entries of one farm, so device_id()/device_attr() work as with the integration."""

    hass: HomeAssistant
    entry: MockConfigEntry
    devices: dict[str, str] = field(default_factory=dict)

    def device(self, identifier: str, name: str) -> str:
        """Create (once) a device of the farm and return its id."""
        if identifier not in self.devices:
            device = dr.async_get(self.hass).async_get_or_create(
                config_entry_id=self.entry.entry_id,
                identifiers={(DOMAIN, identifier)},
                name=name,
                manufacturer="Munters",
            )
            self.devices[identifier] = device.id
        return self.devices[identifier]

    def entity(
        self,
        domain: str,
        unique_id: str,
        object_id: str,
        device_id: str,
        device_class: str | None = None,
    ) -> str:
        """Register an entity under the rotem_farm platform and return its entity id."""
        entry = er.async_get(self.hass).async_get_or_create(
            domain,
            DOMAIN,
            unique_id,
            suggested_object_id=object_id,
            config_entry=self.entry,
            device_id=device_id,
            original_device_class=device_class,
        )
        return entry.entity_id


@pytest.fixture
async def blueprint_hass(hass: HomeAssistant, tmp_path: Path) -> HomeAssistant:
    """HA whose config dir holds our blueprints where an import puts them."""
    hass.config.config_dir = str(tmp_path)
    target = tmp_path / "blueprints" / "automation" / DOMAIN
    target.mkdir(parents=True)
    for name in BLUEPRINT_FILES:
        shutil.copy(BLUEPRINT_SOURCE / name, target / name)
    return hass


@pytest.fixture
def farm(blueprint_hass: HomeAssistant) -> FakeFarm:
    """A farm config entry (not set up: only its registry entries matter here)."""
    entry = MockConfigEntry(domain=DOMAIN, title="Test farm", unique_id="G1")
    entry.add_to_hass(blueprint_hass)
    return FakeFarm(blueprint_hass, entry)


async def setup_blueprint_automation(
    hass: HomeAssistant, blueprint: str, inputs: Mapping[str, Any]
) -> None:
    """Create one automation from a blueprint, as the UI's "create automation" would."""
    await setup_blueprint_automations(hass, [(blueprint, inputs)])


async def setup_blueprint_automations(
    hass: HomeAssistant, automations: list[tuple[str, Mapping[str, Any]]]
) -> None:
    """Create automations from blueprints in one go (the automation integration sets up once).

    Each is named after its blueprint (``automation.test_<file stem>``) and must come up on.
    """
    configs = [
        {
            "id": f"test_{blueprint.removesuffix('.yaml')}",
            "alias": f"Test {blueprint.removesuffix('.yaml')}",
            "use_blueprint": {"path": f"{DOMAIN}/{blueprint}", "input": dict(inputs)},
        }
        for blueprint, inputs in automations
    ]
    assert await async_setup_component(hass, "automation", {"automation": configs})
    await hass.async_block_till_done()
    for blueprint, _ in automations:
        state = hass.states.get(f"automation.test_{blueprint.removesuffix('.yaml')}")
        assert state is not None, f"no automation was created from {blueprint}"
        assert state.state == "on", f"automation is {state.state}: {state.attributes}"
