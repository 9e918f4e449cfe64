"""The real capture's shape through the whole chain: every house reports 0 birds (issue 11, §1).

The captured farm's controllers report 0 birds in full houses (the count was never entered).
Simulator (`bird_count: unreported`) → a real HA with the integration → InfluxDB (a real
server) → one analyzer pass: every house must get a verdict, not silence.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from devtools.stack import DemoStack, StackSettings
from tests.e2e.conftest import Stack, allow_loopback

pytestmark = pytest.mark.e2e
HOUSES = 4


@pytest.fixture(scope="module")
def unreported(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A farm whose controllers report no birds, with three days of that past in InfluxDB."""
    root = tmp_path_factory.mktemp("unreported")
    scenario = root / "capture_shape.yaml"
    scenario.write_text(
        yaml.safe_dump(
            {
                "name": "capture_shape",
                "farms": 1,
                "houses": HOUSES,
                "seed": 3,
                "farm_options": [{"farm": 1, "bird_count": "unreported"}],
                "events": [],
            }
        )
    )
    settings = StackSettings(
        root=root / "stack",
        farms=1,
        houses=HOUSES,
        scenario=Path(scenario),
        history_days=3.0,
        analyzer_interval=300,
    )
    allow_loopback()
    stack = DemoStack(settings)
    with asyncio.Runner(loop_factory=asyncio.new_event_loop) as runner:
        try:
            runner.run(stack.start(analyzer=False))
            yield Stack(runner, stack)
        finally:
            runner.run(stack.stop())


def _farm_houses(e2e: Stack) -> dict[str, dict[str, Any]]:
    truth = e2e.run(e2e.stack.sim_get("truth"))
    gateway = truth["farms"][0]["gateway"]
    houses = e2e.run(e2e.stack.house_states())
    return {
        house["_identifier"]: house
        for house in houses.values()
        if house["_identifier"].startswith(f"{gateway}_")
    }


def test_every_house_gets_a_verdict_when_no_house_reports_birds(unreported: Stack) -> None:
    houses = _farm_houses(unreported)
    assert len(houses) == HOUSES
    for house in houses.values():
        assert house["bird_count"]["state"] == "0", house["_name"]
        assert house["house_mode"]["state"] in ("full_house", "empty_house"), house["_name"]
        assert house["anomaly"]["state"] == "unknown", house["_name"]
    output = unreported.run(unreported.stack.run_analyzer_once())
    houses = _farm_houses(unreported)
    verdicts = {house["_name"]: house["anomaly"]["state"] for house in houses.values()}
    assert all(state in ("on", "off") for state in verdicts.values()), (verdicts, output[-2000:])
    occupied = [h for h in houses.values() if h["house_mode"]["state"] == "full_house"]
    assert occupied, "the scenario must have full houses"
    for house in occupied:
        assert house["failure_risk"]["state"] not in ("unknown", "unavailable"), house["_name"]
