"""The RotemNetWeb-compatible aiohttp server, with sessions, cloud faults and control endpoints.

Only loopback use is intended: it exists so the client, the integration and the end-to-end
tests meet the same behaviour the real cloud shows (tokens, session cookie, HTTP 200 logical
failures, expired sessions, 503 pages, time-outs, byte order marks) without the real cloud.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import re
import secrets
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from . import wire
from .model import FarmModel, build_farms
from .report import house_reports, truth
from .scenario import Fault, FaultEvent, Scenario, ScenarioError, resolve

_LOGGER = logging.getLogger(__name__)

LOGIN_PATHS = ("/Latest/Services/AllServices.svc/Login", "/api/Login")
OPERATIONS = (
    "GetSiteControllersInfo",
    "RNBL_GetCommandData",
    "JsGlobals_GetJsGlobals",
    "GetFarmRegistration",
    "GetComparisonDisplayFields",
    "GetHouseData",
)
HISTORY_COMMANDS = (35, 40, 41, 43)
SESSION_COOKIE = "ASP.NET_SessionId"
_FARM_PATH = re.compile(
    r"^/Host(?P<host>\d+)_V1/(?:Services/AllServices\.svc/)?(?P<operation>[A-Za-z_]+)$"
)
_OUTAGE_PAGE = (
    "<!DOCTYPE html><html><head><title>503 Service Unavailable</title></head><body>"
    "<h1>Service Unavailable</h1><p>The service is temporarily unavailable. "
    "Please try again later.</p></body></html>"
)
JSON_TYPE = "application/json; charset=utf-8"


@dataclass(slots=True)
class Session:
    """One logged-in client: tokens, the server-side session cookie and when it began."""

    farm: int
    connection_token: str
    cookie: str
    created: datetime
    serial: int
    """Order of creation among sessions and injected faults (the clock may stand still)."""


@dataclass(slots=True)
class Counters:
    """Requests per operation, successful logins and bytes sent, for benchmarks."""

    requests: Counter[str] = field(default_factory=Counter)
    commands: Counter[str] = field(default_factory=Counter)
    """``RNBL_GetCommandData`` calls by CommandID."""
    logins: int = 0
    bytes_sent: int = 0


class Simulation:
    """Clock, farms, faults, sessions and counters of one running simulator."""

    def __init__(
        self,
        scenario: Scenario,
        *,
        start: datetime | None = None,
        speed: float = 1.0,
        password: str = "demo",
    ) -> None:
        self.scenario = scenario
        wall = datetime.now(UTC)
        self.origin = (start or scenario.start or wall).astimezone(UTC)
        """Anchor of the flock calendar and of relative event times."""
        self.start = self.origin
        """Simulated time when this process started; ``now()`` runs on from here."""
        if start is None and scenario.start is not None and self.origin <= wall:
            # A scenario pinned to a moment in the past is a timeline on the wall clock: the
            # clock stands where that timeline is now, so a restarted simulator carries on
            # (and at speed 1 shows the wall clock) instead of replaying from the start.
            self.start = self.origin + (wall - self.origin) * speed
        self.speed = speed
        self.password = password
        self.farms = build_farms(scenario, self.origin)
        self.faults: list[Fault] = scenario.faults(self.origin)
        self.sessions: dict[str, Session] = {}
        self.counters = Counters()
        self._real_start = time.monotonic()
        # Answers spent per fault, keyed by id() with the fault kept beside its count: a cleared
        # fault's id can be reused by a new one, which must not inherit the old one's budget.
        self._used: dict[int, tuple[Fault, int]] = {}
        self._serial = 0
        self._fault_serials: dict[int, int] = {}

    def now(self) -> datetime:
        """Simulated time: start + speed x real time elapsed."""
        elapsed = (time.monotonic() - self._real_start) * self.speed
        return self.start + timedelta(seconds=elapsed)

    def advance(self, delta: timedelta) -> None:
        """Move the simulated clock on at once (tests and benchmarks step through polls)."""
        self.start += delta

    def farm_by_user(self, username: str) -> FarmModel | None:
        """``farm<i>`` → farm i."""
        match = re.fullmatch(r"farm(\d+)", username or "")
        if match is None:
            return None
        number = int(match.group(1))
        return self.farms[number - 1] if 1 <= number <= len(self.farms) else None

    def farm_by_host(self, host: int) -> FarmModel | None:
        """``/Host<k>_V1/`` → the farm served there."""
        for farm in self.farms:
            if farm.host_path == f"/Host{host}_V1/":
                return farm
        return None

    def cloud_fault(self, kind: str, farm: int | None) -> Fault | None:
        """The first active cloud fault of ``kind`` for this farm, within its answer budget."""
        now = self.now()
        for fault in self.faults:
            if fault.kind != kind or not fault.active(now):
                continue
            if (farm is None and fault.farm is not None) or (
                farm is not None and not fault.applies_to(farm)
            ):
                # A request of no known farm meets only the faults of the whole cloud.
                continue
            budget = fault.params.get("count")
            if budget is not None and self.spent(fault) >= int(budget):
                continue
            return fault
        return None

    def missing_houses(self, farm: int) -> set[int]:
        """Houses a ``house_missing`` fault leaves out of this site answer (budgets spent)."""
        now = self.now()
        missing: set[int] = set()
        for fault in self.faults:
            if fault.kind != "house_missing" or not fault.active(now):
                continue
            if not fault.applies_to(farm) or fault.house is None:
                continue
            budget = fault.params.get("count")
            if budget is not None and self.spent(fault) >= int(budget):
                continue
            self.spend(fault)
            missing.add(fault.house)
        return missing

    def as_answered(self, farm: FarmModel) -> FarmModel:
        """The farm with the units its account is set to now (a ``unit_change`` in force).

        Units are an account setting, not physics: the model stays metric and every answer
        (values, signs, JsGlobals settings, history) follows the setting of the moment.
        """
        change = self.cloud_fault("unit_change", farm.number)
        if change is None:
            return farm
        other = "metric" if farm.options.units == "imperial" else "imperial"
        units = str(change.params.get("units", other))
        if units == farm.options.units:
            return farm
        return replace(farm, options=replace(farm.options, units=units))

    def spent(self, fault: Fault) -> int:
        """How many answers this very fault (not an earlier one with the same id) affected."""
        held = self._used.get(id(fault))
        return held[1] if held is not None and held[0] is fault else 0

    def spend(self, fault: Fault) -> None:
        """Count one answer affected by a fault with a ``count`` budget."""
        self._used[id(fault)] = (fault, self.spent(fault) + 1)

    def add_fault(self, data: dict[str, Any]) -> Fault:
        """Inject a fault; ``at`` (default now) is relative to the current simulated time."""
        fault = resolve(FaultEvent.from_dict(data), self.now())
        if fault.farm is not None and not 1 <= fault.farm <= len(self.farms):
            raise ScenarioError(f"no farm {fault.farm}")
        self.faults.append(fault)
        self._fault_serials[id(fault)] = self.next_serial()
        return fault

    def next_serial(self) -> int:
        """A number that orders sessions and injected faults."""
        self._serial += 1
        return self._serial

    def session_valid(self, session: Session) -> bool:
        """False once a ``session_expired`` fault has begun after the session was created."""
        now = self.now()
        for fault in self.faults:
            if fault.kind != "session_expired" or fault.start > now:
                continue
            if not fault.applies_to(session.farm):
                continue
            if session.created < fault.start or (
                session.created == fault.start
                and session.serial < self._fault_serials.get(id(fault), 0)
            ):
                return False
        return True

    def status(self) -> dict[str, Any]:
        """``GET /_sim/status``."""
        now = self.now()
        return {
            "requests": dict(self.counters.requests),
            "commands": dict(self.counters.commands),
            "logins": self.counters.logins,
            "bytes_sent": self.counters.bytes_sent,
            "sim_time": now.isoformat(),
            "speed": self.speed,
            "scenario": self.scenario.name,
            "farms": [
                {
                    "farm": farm.number,
                    "username": f"farm{farm.number}",
                    "gateway": farm.gateway,
                    "web_server_url": farm.host_path,
                    "houses": len(farm.houses),
                    "units": self.as_answered(farm).options.units,
                }
                for farm in self.farms
            ],
            "faults": [
                fault.as_dict() for fault in self.faults if fault.end is None or fault.end > now
            ],
        }

    def truth(self) -> dict[str, Any]:
        """``GET /_sim/truth``: what the cloud reports now, as plain numbers."""
        now = self.now()
        farms = []
        for scenario_farm in self.farms:
            farm = self.as_answered(scenario_farm)
            houses = [truth(r) for r in house_reports(farm, farm.houses, now, self.faults)]
            farms.append(
                {
                    "farm": farm.number,
                    "gateway": farm.gateway,
                    "units": farm.options.units,
                    "houses": houses,
                }
            )
        return {"sim_time": now.isoformat(), "farms": farms}


def _fake_jwt(farm: FarmModel) -> str:
    """A token that looks like the cloud's JWT (three base64url parts); never verified."""

    def part(data: dict[str, Any]) -> str:
        raw = json.dumps(data, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    header = part({"alg": "HS256", "typ": "JWT"})
    payload = part(
        {"unique_name": f"farm{farm.number}", "gw": farm.gateway, "n": secrets.token_hex(8)}
    )
    return f"{header}.{payload}.{secrets.token_urlsafe(32)}"


class SimulatorApp:
    """Request handling on top of a :class:`Simulation`."""

    def __init__(self, simulation: Simulation) -> None:
        self.sim = simulation

    def application(self) -> web.Application:
        """The aiohttp application with every route."""
        app = web.Application()
        for path in LOGIN_PATHS:
            app.router.add_post(path, self.login)
        app.router.add_post(
            "/Host{host:\\d+}_V1/Services/AllServices.svc/{operation}", self.farm_call
        )
        app.router.add_post("/Host{host:\\d+}_V1/{operation}", self.farm_call)
        app.router.add_get("/_sim/status", self.status)
        app.router.add_get("/_sim/truth", self.truth)
        app.router.add_post("/_sim/fault", self.fault)
        app.router.add_post("/_sim/clear", self.clear)
        app.router.add_post("/_sim/reset-counters", self.reset_counters)
        return app

    def _reply(self, answer: dict[str, Any], farm: int | None) -> web.Response:
        body = json.dumps(answer, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        malformed = self.sim.cloud_fault("malformed_json", farm)
        if malformed is not None:
            self.sim.spend(malformed)
            body = body[: max(1, len(body) // 3)]
        bom = self.sim.cloud_fault("bom", farm)
        if bom is not None:
            self.sim.spend(bom)
            body = b"\xef\xbb\xbf" + body
        self.sim.counters.bytes_sent += len(body)
        return web.Response(body=body, headers={"Content-Type": JSON_TYPE})

    async def _cloud_trouble(self, farm: int | None) -> web.Response | None:
        """Outage (503 page or a hang) and slow answers, before any real work."""
        outage = self.sim.cloud_fault("cloud_outage", farm)
        if outage is not None:
            self.sim.spend(outage)
            if outage.params.get("mode", "http") == "timeout":
                await asyncio.sleep(outage.param("hold_seconds", 120.0))
                return web.Response(status=504, text="Gateway Time-out", content_type="text/plain")
            status = int(outage.param("status", 503))
            headers = {}
            if "retry_after" in outage.params:
                headers["Retry-After"] = str(int(outage.param("retry_after", 0)))
            return web.Response(
                status=status, text=_OUTAGE_PAGE, content_type="text/html", headers=headers
            )
        slow = self.sim.cloud_fault("slow_answers", farm)
        if slow is not None:
            self.sim.spend(slow)
            await asyncio.sleep(slow.param("delay_seconds", 5.0))
        return None

    async def login(self, request: web.Request) -> web.Response:
        """Both login addresses: check the account, open a session, set the cookie."""
        self.sim.counters.requests["Login"] += 1
        body = await _json_body(request)
        username = str(body.get("prmUsername") or "") if isinstance(body, dict) else ""
        password = str(body.get("prmPassword") or "") if isinstance(body, dict) else ""
        farm = self.sim.farm_by_user(username)
        trouble = await self._cloud_trouble(farm.number if farm else None)
        if trouble is not None:
            return trouble
        refused = farm is not None and self.sim.cloud_fault("wrong_password", farm.number)
        if farm is None or password != self.sim.password or refused:
            _LOGGER.info("login refused for %s", username or "<empty>")
            refusal = wire.login_refused(request.headers.get("contextId"))
            return self._reply(refusal, farm.number if farm else None)
        token = _fake_jwt(farm)
        session = Session(
            farm=farm.number,
            connection_token=secrets.token_hex(16),
            cookie=secrets.token_hex(12),
            created=self.sim.now(),
            serial=self.sim.next_serial(),
        )
        self.sim.sessions[token] = session
        self.sim.counters.logins += 1
        answer = wire.login_answer(farm, token, session.connection_token, session.created)
        if self.sim.cloud_fault("no_farm", farm.number) is not None:
            # The account exists but has no farm selected: no connection token, no gateway.
            answer["reponseObj"]["FarmConnectionInfo"] = None
            self.sim.sessions.pop(token)
        response = self._reply(answer, farm.number)
        response.set_cookie(SESSION_COOKIE, session.cookie, path="/", httponly=True)
        return response

    def _authenticate(
        self, request: web.Request, farm: FarmModel
    ) -> tuple[Session | None, dict[str, Any] | None]:
        """The session of this call, or the answer that refuses it."""
        context = request.headers.get("contextId")
        token = request.headers.get("userToken") or ""
        bearer = request.headers.get("Authorization", "")
        if (not token or token == "null") and bearer.startswith("Bearer "):
            token = bearer[len("Bearer ") :]
        session = self.sim.sessions.get(token)
        if (
            session is None
            or session.farm != farm.number
            or request.headers.get("farmConnectionToken") != session.connection_token
            or not self.sim.session_valid(session)
        ):
            if session is not None and not self.sim.session_valid(session):
                self.sim.sessions.pop(token, None)
            return None, wire.not_authorized(context, session_lost=False)
        if request.cookies.get(SESSION_COOKIE) != session.cookie:
            return None, wire.not_authorized(context, session_lost=True)
        return session, None

    async def farm_call(self, request: web.Request) -> web.Response:
        """Every farm operation under ``/Host<k>_V1/``."""
        operation = request.match_info["operation"]
        if operation not in OPERATIONS:
            raise web.HTTPNotFound(text=f"unknown operation {operation}")
        self.sim.counters.requests[operation] += 1
        farm = self.sim.farm_by_host(int(request.match_info["host"]))
        if farm is None:
            raise web.HTTPNotFound(text="unknown host")
        trouble = await self._cloud_trouble(farm.number)
        if trouble is not None:
            return trouble
        _session, refusal = self._authenticate(request, farm)
        if refusal is not None:
            return self._reply(refusal, farm.number)
        body = await _json_body(request)
        context = request.headers.get("contextId")
        token = request.headers.get("userToken") or ""
        answer = self._answer(operation, self.sim.as_answered(farm), body, context, token)
        return self._reply(answer, farm.number)

    def _answer(
        self,
        operation: str,
        farm: FarmModel,
        body: Any,
        context: str | None,
        token: str,
    ) -> dict[str, Any]:
        now = self.sim.now()
        faults = self.sim.faults
        if operation == "GetSiteControllersInfo":
            params = _params(body, "prmSiteControllersInfoParams")
            gateway = params.get("GatewayCode")
            if gateway not in (None, "", farm.gateway):
                return wire.failure("Unknown gateway", context)
            missing = self.sim.missing_houses(farm.number)
            return wire.site_controllers_info(farm, now, faults, context, missing=missing)
        if operation == "JsGlobals_GetJsGlobals":
            return wire.js_globals(farm, token, context)
        if operation == "GetFarmRegistration":
            return wire.farm_registration(farm, context)
        if operation == "GetComparisonDisplayFields":
            return wire.comparison_display_fields(context)
        key = "prmGetMenuParams" if operation == "GetHouseData" else "prmGetCommandDataParams"
        params = _params(body, key)
        try:
            house_number = int(str(params.get("HouseNumber", "")))
        except ValueError:
            return wire.failure("HouseNumber is missing", context)
        house = farm.house(house_number)
        if house is None:
            return wire.failure(f"House {house_number} is not scanned", context)
        if operation == "GetHouseData":
            return wire.house_data(house, context)
        try:
            command = int(str(params.get("CommandID", "")))
        except ValueError:
            return wire.failure("CommandID is missing", context)
        self.sim.counters.commands[str(command)] += 1
        if command == 0:
            return wire.command_general(farm, house, now, faults, context)
        if command in HISTORY_COMMANDS:
            return wire.history(farm, house, command, when=now, faults=faults, context_id=context)
        return wire.failure(f"CommandID {command} is not supported by the simulator", context)

    async def status(self, request: web.Request) -> web.Response:
        """``GET /_sim/status``."""
        del request
        return web.json_response(self.sim.status())

    async def truth(self, request: web.Request) -> web.Response:
        """``GET /_sim/truth``."""
        del request
        return web.json_response(self.sim.truth())

    async def fault(self, request: web.Request) -> web.Response:
        """``POST /_sim/fault`` with a scenario event; answers the fault with absolute times."""
        body = await _json_body(request)
        try:
            fault = self.sim.add_fault(body if isinstance(body, dict) else {})
        except ScenarioError as err:
            return web.json_response({"error": str(err)}, status=400)
        return web.json_response(fault.as_dict())

    async def clear(self, request: web.Request) -> web.Response:
        """``POST /_sim/clear``: end every fault now (scheduled ones are dropped)."""
        del request
        self.sim.faults.clear()
        return web.json_response({"faults": 0})

    async def reset_counters(self, request: web.Request) -> web.Response:
        """``POST /_sim/reset-counters``."""
        del request
        self.sim.counters = Counters()
        return web.json_response({"requests": {}, "commands": {}, "logins": 0})


async def _json_body(request: web.Request) -> Any:
    """The POSTed JSON (``null`` and an empty body are accepted, as the cloud does)."""
    raw = await request.read()
    if not raw.strip():
        return None
    try:
        return json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None


def _params(body: Any, key: str) -> dict[str, Any]:
    if isinstance(body, dict) and isinstance(body.get(key), dict):
        params: dict[str, Any] = body[key]
        return params
    return {}


class SimulatorServer:
    """Run the simulator in-process (tests, benchmarks): ``async with SimulatorServer(...)``."""

    def __init__(self, simulation: Simulation, host: str = "127.0.0.1", port: int = 0) -> None:
        self.simulation = simulation
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        """``http://HOST:PORT/`` once started."""
        return f"http://{self.host}:{self.port}/"

    async def start(self) -> None:
        """Bind and serve; with port 0 the real port is read back."""
        # A short shutdown: hanging "outage" requests must not hold a stop for a minute.
        runner = web.AppRunner(
            SimulatorApp(self.simulation).application(), access_log=None, shutdown_timeout=2.0
        )
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        if sockets:
            self.port = int(sockets[0].getsockname()[1])
        self._runner = runner

    async def stop(self) -> None:
        """Stop serving and close every connection."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> SimulatorServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
