"""The whole product on one machine: InfluxDB, the simulator, a real HA and the analyzer.

`DemoStack.start` does what a farmer would: a Home Assistant (onboarded, writing to InfluxDB,
with the farm dashboard), a Rotem farm and a manual farm added through the real config flows,
the farm's past in InfluxDB, one automation per blueprint, and the ML analyzer against that HA.
`scripts/demo` runs it (`devtools.cli`); the end-to-end tests drive the same steps with their own
directories and timings, so the demo and the tests cannot drift apart.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from devtools import REPO_ROOT, flows
from devtools.analyzer_process import AnalyzerProcess
from devtools.backfill import backfill_history
from devtools.blueprints import create_blueprint_automations
from devtools.dashboard import DASHBOARD_FILE, DASHBOARD_URL_PATH, write_dashboard
from devtools.ha_api import HomeAssistantError
from devtools.ha_config import HAConfig, InfluxTarget
from devtools.home_assistant import HomeAssistantProcess
from devtools.houses import house_states, is_number, shown_value
from devtools.influxdb import INFLUX_DATABASE, InfluxDBProcess
from devtools.processes import log, venv_python, wait_until
from devtools.simulator_process import SimulatorProcess, timeline_scenario

DEMO_USER = "demo"
DEMO_PASSWORD = "demo-farm"


@dataclass
class StackSettings:
    """What the stack runs; the demo's defaults, the e2e tests pass their own."""

    root: Path
    farms: int = 2
    houses: int = 6
    #: Simulated seconds per second. The past written into InfluxDB is on the wall clock; from
    #: the start on, a faster simulator packs hours of the farm into minutes (the demo: 60, an
    #: hour a minute, so the scenario's fault comes soon); the e2e tests keep 1.
    speed: float = 1.0
    seed: int = 1
    scenario: Path = REPO_ROOT / "simulator" / "scenarios" / "demo.yaml"
    #: When the scenario's (first) fault strikes, in simulated time from the stack's start;
    #: negative: it already happened (the e2e tests want the analyzer to see it at once).
    #: None keeps the scenario's own timing (demo.yaml: 4 simulated hours after the start).
    fault_in: timedelta | None = None
    #: Days of the farm's past written into InfluxDB before HA starts writing its own points:
    #: the analyzer learns each house's normal behaviour from two days at least.
    history_days: float = 3.0
    analyzer_interval: int = 60
    python: str = field(default_factory=venv_python)


class DemoStack:
    """InfluxDB + simulator + Home Assistant + analyzer, started and stopped together."""

    def __init__(self, settings: StackSettings) -> None:
        self.settings = settings
        self.root = root = settings.root
        self._http: aiohttp.ClientSession | None = None
        self.influxdb = InfluxDBProcess(
            root / "influxdb", root / "logs/influxdb.log", self._session
        )
        self.scenario_path = root / "scenario.yaml"
        self.simulator = SimulatorProcess(
            python=settings.python,
            scenario_path=self.scenario_path,
            log_path=root / "logs/simulator.log",
            farms=settings.farms,
            houses=settings.houses,
            speed=settings.speed,
            seed=settings.seed,
            http=self._session,
        )
        self.ha = HomeAssistantProcess(
            root / "ha",
            HAConfig(
                name="Rotem Farm demo",
                dashboards={DASHBOARD_URL_PATH: DASHBOARD_FILE} if DASHBOARD_FILE.exists() else {},
            ),
            python=settings.python,
        )
        self.analyzer = AnalyzerProcess(
            python=settings.python,
            config_path=root / "analyzer.yaml",
            log_path=root / "logs/analyzer.log",
            interval=settings.analyzer_interval,
            seed=settings.seed,
        )
        self.rotem_entry_id: str | None = None
        self.manual_entry_id: str | None = None
        self.automations: list[str] = []
        self.origin = datetime.now(UTC).replace(second=0, microsecond=0)

    def _session(self) -> aiohttp.ClientSession:
        """Session for the simulator's and InfluxDB's HTTP APIs (made on first use)."""
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))
        return self._http

    @property
    def sim_url(self) -> str:
        """The simulator's base URL (what the Rotem config flow's service address gets)."""
        return self.simulator.url

    @property
    def influx_port(self) -> int:
        """The InfluxDB HTTP API's port."""
        return self.influxdb.port

    @property
    def influx_url(self) -> str:
        """The InfluxDB HTTP API."""
        return self.influxdb.url

    # ---- the parts ----------------------------------------------------------------------------

    async def start_influxdb(self) -> None:
        """Run influxd with its data under root/influxdb; HA will write to its database."""
        await self.influxdb.start()
        self.ha.config.influxdb = InfluxTarget("127.0.0.1", self.influxdb.port, INFLUX_DATABASE)

    async def influx_query(self, statement: str) -> list[dict[str, Any]]:
        """Run InfluxQL on HA's database; return the first result's series (empty when none)."""
        return await self.influxdb.query(statement)

    async def start_simulator(self) -> None:
        """Run the simulator on a free port (the same port again after `stop_simulator`)."""
        settings = self.settings
        if not self.scenario_path.exists():
            self.scenario_path.write_text(
                yaml.safe_dump(
                    timeline_scenario(
                        settings.scenario,
                        origin=self.origin,
                        fault_at=(
                            None if settings.fault_in is None else self.origin + settings.fault_in
                        ),
                        farms=settings.farms,
                        houses=settings.houses,
                        seed=settings.seed,
                    ),
                    sort_keys=False,
                )
            )
        await self.simulator.start()

    def stop_simulator(self) -> None:
        """Stop the simulator only (the cloud goes away; HA keeps running)."""
        self.simulator.stop()

    async def sim_get(self, what: str) -> dict[str, Any]:
        """GET /_sim/<what> (status, truth)."""
        return await self.simulator.get(what)

    async def sim_post(self, what: str, payload: Mapping[str, Any] | None = None) -> Any:
        """POST /_sim/<what> (fault, clear, reset-counters)."""
        return await self.simulator.post(what, payload)

    async def backfill_history(self) -> int:
        """Write the farm's past days into InfluxDB and HA's statistics; the point count."""
        truth = await self.sim_get("truth")
        return await backfill_history(
            scenario_path=self.scenario_path,
            truth=truth,
            houses=await self.house_states(),
            history_days=self.settings.history_days,
            influx=self.influxdb,
            ha=self.ha,
        )

    async def start_home_assistant(self) -> None:
        """Start HA (InfluxDB must run first: HA checks the connection at setup) and onboard."""
        await self.ha.start()
        if self.ha.tokens is None:
            await self.ha.onboard(DEMO_USER, DEMO_PASSWORD, name="Demo farmer")

    async def add_rotem_farm(self, username: str = "farm1", password: str = "demo") -> str:
        """Add a Rotem farm through the real config flow, pointing the advanced address here."""
        self.rotem_entry_id = await flows.add_rotem_farm(self.ha, self.sim_url, username, password)
        return self.rotem_entry_id

    async def add_manual_farm(
        self, name: str = flows.MANUAL_FARM_NAME, houses: int = flows.MANUAL_FARM_HOUSES
    ) -> str:
        """Add a manual farm through the config flow, create its helpers and link them."""
        self.manual_entry_id = await flows.add_manual_farm(self.ha, name, houses)
        return self.manual_entry_id

    def write_analyzer_config(self) -> Path:
        """The analyzer's YAML config: this HA with a long-lived token, this InfluxDB."""
        if self.ha.tokens is None:
            raise HomeAssistantError("HA is not onboarded")
        return self.analyzer.configure(
            self.ha.url, self.ha.tokens.long_lived, self.influxdb.port, INFLUX_DATABASE
        )

    def start_analyzer(self) -> None:
        """Run the analyzer continuously (the demo) against this HA and InfluxDB."""
        self.write_analyzer_config()
        self.analyzer.start()

    async def run_analyzer_once(self, within: float = 180) -> str:
        """One analyzer pass (`--once`), returning its output; raises if it fails."""
        self.write_analyzer_config()
        return await self.analyzer.run_once(within)

    # ---- whole stack --------------------------------------------------------------------------

    async def start(self, *, analyzer: bool = True) -> None:
        """Everything, in dependency order."""
        self.root.mkdir(parents=True, exist_ok=True)
        log("starting InfluxDB")
        await self.start_influxdb()
        log("starting the simulator")
        await self.start_simulator()
        log("starting Home Assistant (first start takes a little while)")
        await self.start_home_assistant()
        log("adding the Rotem farm through the config flow")
        entry_id = await self.add_rotem_farm()
        # Read the farm every minute (an automation; the integration polls every 5) so the farm
        # is lively, and show each house's mortality and water/feed ratio (detailed house data).
        await flows.set_rotem_options(self.ha, entry_id)
        await flows.create_refresh_automation(self.ha, entry_id)
        log(f"adding the manual farm {flows.MANUAL_FARM_NAME!r} and linking its helpers")
        await self.add_manual_farm()
        await self.wait_for_values()
        log(f"writing {self.settings.history_days:g} days of the farm's history into InfluxDB")
        await self.backfill_history()
        log("writing the farm dashboard for these houses")
        await self.write_dashboard()
        log("creating one automation per blueprint")
        self.automations = await create_blueprint_automations(self.ha)
        if analyzer:
            log("starting the ML analyzer")
            self.start_analyzer()

    async def write_dashboard(self) -> Path:
        """Render the farm dashboard for this HA's houses into its YAML dashboard file."""
        houses = list((await self.house_states()).values())
        return write_dashboard(self.ha.config_dir, houses)

    async def wait_for_values(self, within: float = 180) -> dict[str, dict[str, Any]]:
        """Wait until every house of both farms has a numeric temperature in HA."""
        expected = self.settings.houses + flows.MANUAL_FARM_HOUSES

        async def ready() -> dict[str, dict[str, Any]] | None:
            houses = await self.house_states()
            temperatures = [house.get("temperature") for house in houses.values()]
            if len(temperatures) < expected:
                return None
            if not all(state and is_number(state["state"]) for state in temperatures):
                return None
            return houses

        return await wait_until(ready, within=within, what="house temperatures in HA")

    async def wait_for_analysis(self, within: float = 240) -> None:
        """Wait until the analyzer has published a verdict for every house of the Rotem farm."""

        async def judged() -> bool:
            houses = (await self.house_states()).values()
            verdicts = [h["anomaly"]["state"] for h in houses if "set_temperature" in h]
            return bool(verdicts) and all(state in ("on", "off") for state in verdicts)

        await wait_until(judged, within=within, what="the analyzer's first verdicts", interval=5)

    async def house_states(self) -> dict[str, dict[str, Any]]:
        """Per house device id: `{key: state}` of its entities (see `houses.collect_houses`)."""
        return await house_states(self.ha)

    async def summary(self) -> str:
        """One line per house: temperature, set point, humidity, age, analysis; for `--check`."""
        shown = (
            "temperature",
            "set_temperature",
            "humidity",
            "growth_day",
            "anomaly",
            "failure_risk",
            "failure_subsystem",
        )
        lines = [f"Home Assistant {self.ha.url}, login {DEMO_USER} / {DEMO_PASSWORD}"]
        houses = sorted((await self.house_states()).values(), key=lambda h: str(h["_name"]))
        for house in houses:
            values = [f"{key}={shown_value(house[key])}" for key in shown if key in house]
            lines.append(f"  {house['_name']}: " + ", ".join(values))
        lines.append(f"Automations from blueprints: {', '.join(self.automations) or 'none'}")
        return "\n".join(lines)

    async def stop(self) -> None:
        """Stop everything started, in reverse order; safe to call twice."""
        await asyncio.to_thread(self.analyzer.stop)
        await self.ha.stop()
        await asyncio.to_thread(self.simulator.stop)
        await asyncio.to_thread(self.influxdb.stop)
        if self._http is not None:
            await self._http.close()
            self._http = None
