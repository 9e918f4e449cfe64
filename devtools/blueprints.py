"""One automation per blueprint of blueprints/automation/rotem_farm, its inputs filled.

Inputs with a default keep it; device/entity inputs get the first matching rotem_farm house
device or entity, so each automation watches a real house of the stack.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from devtools.home_assistant import HomeAssistantProcess
from devtools.houses import farm_entities, house_devices, slug

GENERIC_INPUT_WORDS = frozenset({"sensor", "sensors", "entity", "entities", "binary"})


async def create_blueprint_automations(ha: HomeAssistantProcess) -> list[str]:
    """One automation per blueprint in blueprints/automation/rotem_farm, inputs filled.

    Inputs with a default keep it; device/entity inputs get the first matching rotem_farm
    house device or entity, so each automation watches a real house of the demo.
    """
    blueprints = await ha.ws("blueprint/list", domain="automation")
    devices = await house_devices(ha)
    entities = await farm_entities(ha)
    states = {state["entity_id"]: state for state in await ha.states()}
    created: list[str] = []
    for path, blueprint in sorted(blueprints.items()):
        if not path.startswith("rotem_farm/") or "error" in blueprint:
            continue
        inputs = blueprint.get("metadata", {}).get("input", {})
        values = blueprint_inputs(inputs, devices, entities, states)
        automation_id = slug(Path(path).stem)
        await ha.rest(
            "POST",
            f"/api/config/automation/config/{automation_id}",
            {
                "id": automation_id,
                "alias": str(blueprint["metadata"].get("name", path)),
                "description": f"Created by the demo from blueprint {path}",
                "use_blueprint": {"path": path, "input": values},
            },
        )
        created.append(automation_id)
    return created


def blueprint_inputs(
    inputs: Mapping[str, Any],
    devices: Sequence[Mapping[str, Any]],
    entities: Sequence[Mapping[str, Any]],
    states: Mapping[str, Mapping[str, Any]],
) -> dict[str, Any]:
    """Fill a blueprint's inputs that have no default, from what the selectors ask for.

    Entity inputs get every rotem_farm entity of the selector's domain and device class; among
    those, the ones whose unique-id key shares a word with the input's name win (the input
    `anomaly_sensors` gets the `anomaly` binary sensors, not the controller alarms).
    """
    values: dict[str, Any] = {}
    for name, spec in flatten_inputs(inputs).items():
        if spec is None or "default" in spec:
            continue
        selector = spec.get("selector") or {}
        if "device" in selector and devices:
            multiple = bool((selector["device"] or {}).get("multiple"))
            ids = [device["id"] for device in devices]
            values[name] = ids if multiple else ids[0]
        elif "entity" in selector:
            wanted = selector["entity"] or {}
            chosen = _entities_for(name, wanted, entities, states)
            if chosen:
                values[name] = chosen if wanted.get("multiple") else chosen[0]
        elif "target" in selector and devices:
            values[name] = {"device_id": [device["id"] for device in devices]}
    return values


def _entities_for(
    name: str,
    wanted: Mapping[str, Any],
    entities: Sequence[Mapping[str, Any]],
    states: Mapping[str, Mapping[str, Any]],
) -> list[str]:
    """The entity ids an entity selector accepts; only those sharing a word with `name` if any."""
    domains = _as_list(wanted.get("domain") or _filter_value(wanted, "domain"))
    classes = _as_list(wanted.get("device_class") or _filter_value(wanted, "device_class"))
    matching = [
        entry
        for entry in entities
        if (not domains or entry["entity_id"].split(".")[0] in domains)
        and (
            not classes
            or states.get(entry["entity_id"], {}).get("attributes", {}).get("device_class")
            in classes
        )
    ]
    words = set(name.split("_")) - GENERIC_INPUT_WORDS
    preferred = [
        entry for entry in matching if words & set(str(entry.get("unique_id", "")).split("_"))
    ]
    return [entry["entity_id"] for entry in (preferred or matching)]


def flatten_inputs(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Blueprint inputs with collapsible sections (`input:` inside an input) flattened."""
    flat: dict[str, Any] = {}
    for name, spec in inputs.items():
        if isinstance(spec, Mapping) and "input" in spec:
            flat.update(flatten_inputs(spec["input"]))
        else:
            flat[name] = spec
    return flat


def _filter_value(selector: Mapping[str, Any], key: str) -> Any:
    filters = selector.get("filter")
    for item in _as_list(filters):
        if isinstance(item, Mapping) and key in item:
            return item[key]
    return None


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]
