"""The farmer's story end to end: real HA process, simulator, InfluxDB, analyzer, browser.

Tests run in file order on one stack (see conftest.py): the farm's values arrive, they are
written to InfluxDB as HA writes them, the analyzer finds the failed heaters and the blueprint's
automation notifies, the dashboard shows every house, the cloud goes away and comes back, and a
restart of HA keeps what the analyzer and the farmer entered.
"""

from __future__ import annotations

import io
import os
import shutil
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from devtools import REPO_ROOT
from devtools.flows import MANUAL_FARM_NAME
from devtools.houses import is_number, slug
from devtools.processes import wait_until
from tests.e2e.browser import Browser, chromium_binary, log_in_with_tokens
from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e

FAULTY_HOUSE = 3  # simulator/scenarios/demo.yaml: farm 1, house 3, heater failure
SCREENSHOT_SIZE = (1600, 1300)
MANUAL_KEYS = ("temperature", "humidity", "growth_day")


def rotem_houses(e2e: Stack) -> tuple[str, dict[str, dict[str, Any]]]:
    """The gateway code of simulated farm 1 and its houses in HA, by house number."""
    truth = e2e.run(e2e.stack.sim_get("truth"))
    gateway = truth["farms"][0]["gateway"]
    houses = e2e.run(e2e.stack.house_states())
    return gateway, {
        house["_identifier"].removeprefix(f"{gateway}_"): house
        for house in houses.values()
        if house["_identifier"].startswith(f"{gateway}_")
    }


def manual_values(houses: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, str]]:
    """The manual farm's readings (linked helpers and the age they give), by house name."""
    return {
        house["_name"]: {key: house[key]["state"] for key in MANUAL_KEYS}
        for house in houses.values()
        if house["_farm"] == MANUAL_FARM_NAME
    }


def number(state: Mapping[str, Any]) -> float:
    """An entity's state as a number; fails the test when it is unknown/unavailable."""
    assert is_number(state["state"]), f"{state['entity_id']} is {state['state']}"
    return float(state["state"])


def test_rotem_farm_houses_show_the_simulators_values(e2e: Stack) -> None:
    """Every simulated house became a device whose sensors read what the cloud reports."""
    _gateway, houses = rotem_houses(e2e)
    assert sorted(houses) == ["1", "2", "3", "4"]
    # HA shows the last poll; refresh it so the comparison is with the same instant's truth.
    e2e.run(
        e2e.stack.ha.call_service(
            "homeassistant", "update_entity", {"entity_id": houses["1"]["temperature"]["entity_id"]}
        )
    )
    truth = e2e.run(e2e.stack.sim_get("truth"))["farms"][0]
    _gateway, houses = rotem_houses(e2e)
    for reported in truth["houses"]:
        house = houses[str(reported["house"])]
        values = reported["values"]
        assert number(house["growth_day"]) == pytest.approx(values["growth_day"], abs=1)
        assert number(house["set_temperature"]) == pytest.approx(values["set_temperature"], abs=0.3)
        assert number(house["temperature"]) == pytest.approx(values["temperature"], abs=1.0)
        assert number(house["humidity"]) == pytest.approx(values["humidity"], abs=3)
        assert house["temperature"]["attributes"]["unit_of_measurement"] == "°C"


def test_state_changes_land_in_influxdb_in_has_layout(e2e: Stack) -> None:
    """HA's own points (after the backfilled past) are under measurement = unit, tag entity_id."""
    stack = e2e.stack
    _gateway, houses = rotem_houses(e2e)
    temperature = houses["1"]["temperature"]
    object_id = temperature["entity_id"].split(".", 1)[1]
    since = (stack.origin + timedelta(seconds=5)).isoformat().replace("+00:00", "Z")

    async def current_value_written() -> bool:
        series = await stack.influx_query(
            f'SELECT "value" FROM "°C" WHERE "entity_id" = \'{object_id}\' '
            f"AND \"domain\" = 'sensor' AND time > '{since}'"
        )
        state = await stack.ha.state(temperature["entity_id"])
        if not series or state is None or not is_number(state["state"]):
            return False
        return any(value == float(state["state"]) for _time, value in series[0]["values"])

    assert e2e.run(
        wait_until(current_value_written, within=120, what="HA's current value in InfluxDB")
    )

    alarm = houses["1"]["alarm"]
    series = e2e.run(
        stack.influx_query(
            f'SELECT "value" FROM "{alarm["entity_id"]}" WHERE "entity_id" = '
            f"'{alarm['entity_id'].split('.', 1)[1]}' AND \"domain\" = 'binary_sensor'"
        )
    )
    assert series, "a unit-less binary sensor is filed under its entity id"
    assert series[0]["values"][-1][1] == (1.0 if alarm["state"] == "on" else 0.0)


def test_analyzer_flags_the_failed_heaters_and_the_blueprint_notifies(e2e: Stack) -> None:
    """One analyzer pass marks house 3 (heating); the anomaly blueprint's automation notifies."""
    stack = e2e.stack
    output = e2e.run(stack.run_analyzer_once())
    _gateway, houses = rotem_houses(e2e)
    faulty = houses[str(FAULTY_HOUSE)]
    assert faulty["anomaly"]["state"] == "on", output[-2000:]
    assert faulty["failure_subsystem"]["state"] == "heating"
    scores = {
        n: number(h["anomaly_score"])
        for n, h in houses.items()
        if is_number(h["anomaly_score"]["state"])
    }
    assert max(scores, key=lambda n: scores[n]) == str(FAULTY_HOUSE)

    title = f"Anomaly in {faulty['_name']}"

    async def notified() -> bool:
        notes = await stack.ha.notifications()
        return any(note.get("title") == title for note in notes.values())

    assert e2e.run(wait_until(notified, within=60, what=f"notification {title!r}"))


@pytest.mark.skipif(chromium_binary() is None, reason="chromium missing: run scripts/setup")
def test_dashboard_shows_a_card_per_house(e2e: Stack, tmp_path: Path) -> None:
    """The farm dashboard renders in the real frontend: one card per house, values, history."""
    stack = e2e.stack
    tokens = stack.ha.tokens
    assert tokens is not None
    _gateway, houses = rotem_houses(e2e)
    farm_view = slug(next(iter(houses.values()))["_farm"])
    expected = [f"House {n}" for n in sorted(houses)]

    async def look() -> tuple[str, int, bytes]:
        async with Browser(*SCREENSHOT_SIZE) as browser:
            await log_in_with_tokens(
                browser,
                stack.ha.url,
                {"access_token": tokens.access_token, "refresh_token": tokens.refresh_token},
                tokens.client_id,
            )
            await browser.navigate(f"{stack.ha.url}/farm-dashboard/{farm_view}")

            async def rendered() -> str | None:
                text = await browser.text()
                return text if all(name in text for name in expected) else None

            text = await wait_until(rendered, within=90, what="the house cards")
            charts = await wait_until(
                lambda: browser.evaluate(f"{COUNT_CHARTS_JS} || null"),
                within=60,
                what="the 24-hour history charts",
            )
            # Entity icons arrive from the backend after the cards render (frontend/get_icons).
            icons_per_house = 13
            await wait_until(
                lambda: browser.evaluate(
                    f"{COUNT_ICONS_JS} >= {icons_per_house * len(houses)} || null"
                ),
                within=60,
                what="the entity icons",
            )
            png = await browser.stable_screenshot(tmp_path / "dashboard.png")
            return text, int(charts), png

    text, charts, png = e2e.run(look())
    for label in (
        "Temperature",
        "Set point",
        "Humidity",
        "Growth day",
        "Water today",
        "Mortality today",
        "Water/feed ratio",
        "Anomaly",
    ):
        assert label in text
    assert charts >= len(houses)
    image = Image.open(io.BytesIO(png)).convert("RGB")
    assert image.size == SCREENSHOT_SIZE
    assert len(set(image.resize((160, 130)).getdata())) > 50, "the screenshot is (nearly) blank"
    if os.environ.get("ROTEM_SAVE_SCREENSHOT") == "1":
        shutil.copyfile(tmp_path / "dashboard.png", REPO_ROOT / "docs" / "dashboard.png")


#: Rendered history charts (deep in shadow roots): 0 until at least one is drawn.
COUNT_CHARTS_JS = """(() => {
  let count = 0;
  const walk = (node) => {
    if (!node) return;
    if (node.nodeName === 'HA-CHART-BASE') count += 1;
    if (node.shadowRoot) walk(node.shadowRoot);
    for (const child of node.children || []) walk(child);
  };
  walk(document.documentElement);
  return count;
})()"""


#: Drawn icons (an ha-svg-icon whose path has data), deep in shadow roots.
COUNT_ICONS_JS = """(() => {
  let count = 0;
  const walk = (node) => {
    if (!node) return;
    if (node.nodeName === 'HA-SVG-ICON') {
      const path = node.shadowRoot && node.shadowRoot.querySelector('path');
      if (path && path.getAttribute('d')) count += 1;
    }
    if (node.shadowRoot) walk(node.shadowRoot);
    for (const child of node.children || []) walk(child);
  };
  walk(document.documentElement);
  return count;
})()"""


def test_cloud_outage_and_recovery_without_restarting_ha(e2e: Stack) -> None:
    """The cloud goes away: houses turn unavailable; it comes back: values return, HA untouched."""
    stack = e2e.stack
    _gateway, houses = rotem_houses(e2e)
    temperatures = [house["temperature"]["entity_id"] for house in houses.values()]

    async def states_of() -> list[str]:
        return [
            (await stack.ha.state(entity_id) or {}).get("state", "") for entity_id in temperatures
        ]

    async def all_unavailable() -> bool:
        return all(state == "unavailable" for state in await states_of())

    async def all_numbers() -> bool:
        return all(is_number(state) for state in await states_of())

    stack.stop_simulator()
    e2e.run(wait_until(all_unavailable, within=180, what="houses to become unavailable"))
    e2e.run(stack.start_simulator())
    e2e.run(wait_until(all_numbers, within=180, what="houses to come back"))


def test_restart_keeps_analysis_and_manual_farm_values(e2e: Stack) -> None:
    """After a restart of HA the analyzer's verdict is restored, the manual farm's values kept."""
    stack = e2e.stack
    _gateway, houses = rotem_houses(e2e)
    analysis_before = {
        key: houses[str(FAULTY_HOUSE)][key]["state"] for key in ("anomaly", "failure_subsystem")
    }
    manual_before = manual_values(e2e.run(stack.house_states()))
    assert len(manual_before) == 2
    assert all(is_number(v) for values in manual_before.values() for v in values.values())

    e2e.run(stack.ha.restart())

    async def settled() -> bool:
        return manual_values(await stack.house_states()) == manual_before

    e2e.run(wait_until(settled, within=120, what="the manual farm's values after the restart"))
    _gateway, houses = rotem_houses(e2e)
    assert {
        key: houses[str(FAULTY_HOUSE)][key]["state"] for key in ("anomaly", "failure_subsystem")
    } == analysis_before
