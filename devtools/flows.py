"""Both farms added the way a user adds them: the real config and options flows over HTTP.

The Rotem farm gets the simulator's address (an advanced option); the manual farm gets the
helpers a farmer types readings into (input_number / input_datetime, template sensors of the
right device class on top), linked to its houses through the options flow.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from devtools.ha_api import HomeAssistantError
from devtools.home_assistant import HomeAssistantProcess
from devtools.houses import DOMAIN
from devtools.processes import wait_until

#: Manual farm of the demo: a name, its houses, and the helpers a farmer reads off the panel.
MANUAL_FARM_NAME = "Hillside"
MANUAL_FARM_HOUSES = 2


@dataclass(frozen=True)
class ManualReading:
    """A value a farmer reads off the house panel and types into an input_number helper.

    The options flow links temperature and humidity to *sensors* of that device class, so each
    helper gets a template sensor on top (created through the template helper's own config flow,
    as a user would in Settings > Helpers).
    """

    role: str
    unit: str
    device_class: str | None
    low: float
    high: float
    step: float
    values: tuple[float, ...]


MANUAL_READINGS: tuple[ManualReading, ...] = (
    ManualReading("temperature", "°C", "temperature", -10, 50, 0.1, (24.6, 25.1)),
    ManualReading("humidity", "%", "humidity", 0, 100, 1, (61, 58)),
    ManualReading("bird_count", "birds", None, 0, 100000, 1, (21400, 20950)),
)


async def add_rotem_farm(
    ha: HomeAssistantProcess, sim_url: str, username: str = "farm1", password: str = "demo"
) -> str:
    """Add a Rotem farm through the real config flow, pointing the advanced address here."""
    flow = await ha.flow_start(DOMAIN, advanced=True)
    flow = await choose_menu(ha, flow, "rotem")
    flow = await ha.flow_step(
        flow["flow_id"],
        fill_form(
            flow,
            {"username": username, "password": password, "base_url": sim_url},
        ),
    )
    return finish_flow(flow, "Rotem farm")


async def set_rotem_options(ha: HomeAssistantProcess, entry_id: str) -> None:
    """Turn on a Rotem entry's detailed house data (mortality, water/feed ratio), through its
    options flow."""
    flow = await ha.options_flow_start(entry_id)
    if flow.get("type") == "menu":
        options = flow.get("menu_options") or []
        choice = next((o for o in options if "init" in o or "settings" in o), options[0])
        flow = await ha.options_flow_step(flow["flow_id"], {"next_step_id": choice})
    flow = await ha.options_flow_step(flow["flow_id"], fill_form(flow, {"fetch_details": True}))
    if flow.get("type") != "create_entry":
        raise HomeAssistantError(f"options flow refused the options: {flow.get('errors')}")


async def create_refresh_automation(ha: HomeAssistantProcess, entry_id: str) -> str:
    """An automation that reads the Rotem farm every minute (the integration's own interval is a
    fixed 5 minutes), the way docs/integration.md tells users: the
    ``homeassistant.update_entity`` action on one entity of the farm."""
    registry = await ha.entity_registry()
    entity_id = next(
        e["entity_id"]
        for e in registry
        if e.get("config_entry_id") == entry_id and e.get("platform") == DOMAIN
    )
    automation_id = "rotem_farm_read_every_minute"
    await ha.rest(
        "POST",
        f"/api/config/automation/config/{automation_id}",
        {
            "id": automation_id,
            "alias": "Read the Rotem farm every minute",
            "description": "Created by the demo: a lively farm between the 5-minute polls",
            "triggers": [{"trigger": "time_pattern", "minutes": "/1"}],
            "actions": [
                {"action": "homeassistant.update_entity", "target": {"entity_id": entity_id}}
            ],
        },
    )
    return automation_id


async def add_manual_farm(
    ha: HomeAssistantProcess, name: str = MANUAL_FARM_NAME, houses: int = MANUAL_FARM_HOUSES
) -> str:
    """Add a manual farm through the config flow, create its helpers and link them."""
    flow = await ha.flow_start(DOMAIN, advanced=True)
    flow = await choose_menu(ha, flow, "manual")
    flow = await ha.flow_step(flow["flow_id"], fill_form(flow, {"name": name, "houses": houses}))
    entry_id = finish_flow(flow, "manual farm")
    links = await create_manual_helpers(ha, name, houses)
    await link_manual_helpers(ha, entry_id, links)
    return entry_id


async def create_manual_helpers(
    ha: HomeAssistantProcess, farm_name: str, houses: int
) -> dict[int, dict[str, str]]:
    """Create the helpers a farmer types readings into; return the links per house.

    input_number / input_datetime helpers are stored by HA and keep their value across
    restarts; temperature and humidity get template sensors of the right device class.
    """
    links: dict[int, dict[str, str]] = {}
    async with ha.websocket() as ws:
        for house in range(1, houses + 1):
            for reading in MANUAL_READINGS:
                label = f"{farm_name} house {house} {reading.role.replace('_', ' ')}"
                created = await ws.command(
                    "input_number/create",
                    name=label,
                    min=reading.low,
                    max=reading.high,
                    step=reading.step,
                    unit_of_measurement=reading.unit,
                    mode="box",
                )
                helper = f"input_number.{created['id']}"
                await wait_state(ha, helper)
                await ha.call_service(
                    "input_number",
                    "set_value",
                    {"entity_id": helper, "value": reading.values[(house - 1) % 2]},
                )
                linked = helper
                if reading.device_class is not None:
                    linked = await create_template_sensor(
                        ha, f"{label} sensor", helper, reading.unit, reading.device_class
                    )
                links.setdefault(house, {})[reading.role] = linked
            label = f"{farm_name} house {house} placement date"
            created = await ws.command(
                "input_datetime/create", name=label, has_date=True, has_time=False
            )
            helper = f"input_datetime.{created['id']}"
            await wait_state(ha, helper)
            placed = datetime.now(UTC).date() - timedelta(days=18 + house)
            await ha.call_service(
                "input_datetime", "set_datetime", {"entity_id": helper, "date": str(placed)}
            )
            links[house]["placement_date"] = helper
    return links


async def create_template_sensor(
    ha: HomeAssistantProcess, name: str, source: str, unit_of_measurement: str, device_class: str
) -> str:
    """A template sensor helper over `source`, through the template config flow."""
    flow = await ha.flow_start("template")
    flow = await choose_menu(ha, flow, "sensor")
    flow = await ha.flow_step(
        flow["flow_id"],
        {
            "name": name,
            "state": f"{{{{ states('{source}') }}}}",
            "unit_of_measurement": unit_of_measurement,
            "device_class": device_class,
            "state_class": "measurement",
        },
    )
    entry_id = finish_flow(flow, f"template sensor {name!r}")
    registry = await ha.entity_registry()
    entity_id = next(e["entity_id"] for e in registry if e.get("config_entry_id") == entry_id)
    await wait_state(ha, entity_id)
    return str(entity_id)


async def wait_state(ha: HomeAssistantProcess, entity_id: str) -> None:
    """Wait until HA knows the entity (a helper's state appears a moment after its creation)."""
    await wait_until(lambda: ha.state(entity_id), within=30, what=f"entity {entity_id}")


async def link_manual_helpers(
    ha: HomeAssistantProcess, entry_id: str, links: dict[int, dict[str, str]]
) -> None:
    """Link the helpers to the manual farm's houses through the options flow.

    The options flow may ask per house (one form per house) or in one form; each form is
    filled from the links by field name, `<role>` or `house_<n>_<role>`.
    """
    flow = await ha.options_flow_start(entry_id)
    for _ in range(20):
        if flow.get("type") == "create_entry":
            return
        if flow.get("type") == "menu":
            options = flow.get("menu_options") or []
            choice = next((o for o in options if "link" in o or "house" in o), None)
            if choice is None:
                raise HomeAssistantError(f"options menu without a link step: {options}")
            flow = await ha.options_flow_step(flow["flow_id"], {"next_step_id": choice})
            continue
        if flow.get("type") != "form":
            raise HomeAssistantError(f"options flow ended with {flow.get('type')}")
        values = links_for_form(flow, links)
        flow = await ha.options_flow_step(flow["flow_id"], fill_form(flow, values))
        if flow.get("errors"):
            raise HomeAssistantError(f"options flow refused links: {flow['errors']}")
    raise HomeAssistantError("options flow did not finish within 20 steps")


async def choose_menu(
    ha: HomeAssistantProcess, flow: dict[str, Any], wanted: str
) -> dict[str, Any]:
    """Pick the menu option named `wanted` (or containing it); a form passes through."""
    if flow.get("type") != "menu":
        return flow
    options = flow.get("menu_options") or []
    exact = [option for option in options if option == wanted]
    choice = next(iter(exact or [option for option in options if wanted in option]), None)
    if choice is None:
        raise HomeAssistantError(f"config flow menu has no {wanted!r} option: {options}")
    return await ha.flow_step(flow["flow_id"], {"next_step_id": choice})


def finish_flow(flow: Mapping[str, Any], what: str) -> str:
    """The created entry's id; a flow that ended otherwise is an error naming its step."""
    if flow.get("type") != "create_entry":
        raise HomeAssistantError(
            f"{what} flow did not create an entry: {flow.get('type')} "
            f"{flow.get('step_id')} errors={flow.get('errors')}"
        )
    entry_id: str = flow["result"]["entry_id"]
    return entry_id


def fill_form(flow: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """Answer a form from `values` by field name, descending into sections (`expandable`).

    Fields not in `values` are left out so the flow's defaults apply.
    """

    def fill(schema: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        answer: dict[str, Any] = {}
        for item in schema:
            name = item["name"]
            if item.get("type") == "expandable":
                inner = fill(item.get("schema", []))
                if inner:
                    answer[name] = inner
            elif name in values:
                answer[name] = values[name]
        return answer

    return fill(flow.get("data_schema") or [])


def links_for_form(
    flow: Mapping[str, Any], links: Mapping[int, Mapping[str, str]]
) -> dict[str, Any]:
    """Map helper links onto an options form: `<role>` (per-house step) or `house_<n>_<role>`."""
    house = (flow.get("description_placeholders") or {}).get("house")
    values: dict[str, Any] = {}
    for number, roles in links.items():
        for role, entity_id in roles.items():
            values[f"house_{number}_{role}"] = entity_id
            values[f"{number}_{role}"] = entity_id
            if house is not None and str(house) == str(number):
                values[role] = entity_id
    if house is None and links:
        first = min(links)
        values.update(links[first])
    return values
