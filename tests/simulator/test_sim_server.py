"""The server over real loopback sockets: logins, sessions, cloud faults, control endpoints."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from simulator.scenario import Scenario
from simulator.server import Simulation, SimulatorServer

LEGACY_LOGIN = "Latest/Services/AllServices.svc/Login"
CREDENTIALS = {
    "prmUsername": "farm1",
    "prmPassword": "demo",
    "prmIsNativeAppLogin": False,
    "prmIsKeepMeSignedIn": False,
}


async def _login(
    http: aiohttp.ClientSession, server: SimulatorServer, path: str = LEGACY_LOGIN, **body: Any
) -> tuple[dict[str, Any], str | None]:
    async with http.post(
        server.base_url + path, json={**CREDENTIALS, **body}, headers={"userToken": "null"}
    ) as response:
        assert response.status == 200
        cookie = response.cookies.get("ASP.NET_SessionId")
        return await response.json(), cookie.value if cookie else None


async def _call(
    http: aiohttp.ClientSession,
    server: SimulatorServer,
    login: dict[str, Any],
    cookie: str | None,
    operation: str,
    *,
    body: Any = None,
    legacy: bool = True,
) -> tuple[int, bytes]:
    payload = login["reponseObj"]
    prefix = payload["WebServerUrl"].lstrip("/")
    path = f"{prefix}Services/AllServices.svc/{operation}" if legacy else prefix + operation
    headers = {
        "userToken": payload["FarmUser"]["UserToken"],
        "farmConnectionToken": payload["FarmConnectionInfo"]["ConnectionToken"],
        "contextId": "ctx-42",
    }
    cookies = {"ASP.NET_SessionId": cookie} if cookie else None
    async with http.post(
        server.base_url + path, data=json.dumps(body), headers=headers, cookies=cookies
    ) as response:
        return response.status, await response.read()


@pytest.fixture
async def http(socket_enabled: None) -> Any:
    """A plain client session (the cookie is sent by hand, as the real client does)."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session:
        yield session


@pytest.mark.parametrize("path", [LEGACY_LOGIN, "api/Login"])
async def test_login_answers_tokens_gateway_and_cookie(
    sim_server: SimulatorServer, http: aiohttp.ClientSession, path: str
) -> None:
    answer, cookie = await _login(http, sim_server, path)
    assert answer["isSucceed"] is True
    payload = answer["reponseObj"]
    assert payload["FarmUser"]["UserToken"].count(".") == 2, "looks like a JWT"
    assert payload["FarmConnectionInfo"]["ConnectionToken"]
    assert payload["FarmConnectionInfo"]["GatewayName"] == sim_server.simulation.farms[0].gateway
    assert payload["WebServerUrl"] == "/Host1_V1/"
    assert cookie


async def test_wrong_password_is_refused_with_http_200(
    sim_server: SimulatorServer, http: aiohttp.ClientSession
) -> None:
    answer, cookie = await _login(http, sim_server, prmPassword="wrong")
    assert answer["isSucceed"] is False
    assert answer["ErrorObj"]["ErrorMessage"]
    assert "wrong" not in json.dumps(answer).replace("wrong user name", "")
    assert cookie is None
    assert sim_server.simulation.counters.logins == 0


@pytest.mark.parametrize("legacy", [True, False])
async def test_every_operation_answers_in_both_path_styles(
    sim_server: SimulatorServer, http: aiohttp.ClientSession, legacy: bool
) -> None:
    login, cookie = await _login(http, sim_server)
    calls: list[tuple[str, Any]] = [
        ("GetSiteControllersInfo", None),
        ("GetSiteControllersInfo", {"prmSiteControllersInfoParams": {"GatewayCode": None}}),
        ("JsGlobals_GetJsGlobals", {}),
        ("GetFarmRegistration", {"prmFarmRegistrationParams": {"GatewayCode": "x"}}),
        ("GetComparisonDisplayFields", {}),
        ("GetHouseData", {"prmGetMenuParams": {"HouseNumber": "2", "RoomNumber": -1}}),
    ]
    for command in ("0", 0, 35, "40", 41, 43):
        params = {"CommandID": command, "HouseNumber": "3", "RoomNumber": -1}
        calls.append(("RNBL_GetCommandData", {"prmGetCommandDataParams": params}))
    for operation, body in calls:
        status, raw = await _call(
            http, sim_server, login, cookie, operation, body=body, legacy=legacy
        )
        assert status == 200
        answer = json.loads(raw)
        assert answer["isSucceed"] is True, operation
        assert answer["contextId"] == "ctx-42"
        assert "reponseObj" in answer
    counts = sim_server.simulation.counters.requests
    assert counts["RNBL_GetCommandData"] == 6
    commands = sim_server.simulation.counters.commands
    assert commands == {"0": 2, "35": 1, "40": 1, "41": 1, "43": 1}
    assert counts["GetSiteControllersInfo"] == 2
    assert counts["Login"] == 1


async def test_wrong_gateway_unknown_house_and_command_fail_logically(
    sim_server: SimulatorServer, http: aiohttp.ClientSession
) -> None:
    login, cookie = await _login(http, sim_server)
    bodies = [
        ("GetSiteControllersInfo", {"prmSiteControllersInfoParams": {"GatewayCode": "OTHER"}}),
        ("RNBL_GetCommandData", {"prmGetCommandDataParams": {"CommandID": 0, "HouseNumber": "9"}}),
        ("RNBL_GetCommandData", {"prmGetCommandDataParams": {"CommandID": 99, "HouseNumber": 1}}),
    ]
    for operation, body in bodies:
        status, raw = await _call(http, sim_server, login, cookie, operation, body=body)
        answer = json.loads(raw)
        assert status == 200
        assert answer["isSucceed"] is False
        assert answer["ErrorObj"]["ErrorMessage"]


async def test_tokens_and_cookie_are_checked(
    sim_server: SimulatorServer, http: aiohttp.ClientSession
) -> None:
    login, cookie = await _login(http, sim_server)
    _, raw = await _call(http, sim_server, login, None, "GetSiteControllersInfo")
    no_cookie = json.loads(raw)
    assert no_cookie["isInSession"] is False
    assert no_cookie["isSucceed"] is False
    forged = json.loads(json.dumps(login))
    forged["reponseObj"]["FarmUser"]["UserToken"] = "forged"
    _, raw = await _call(http, sim_server, forged, cookie, "GetSiteControllersInfo")
    assert json.loads(raw)["isAuthorize"] is False
    other_farm = json.loads(json.dumps(login))
    other_farm["reponseObj"]["WebServerUrl"] = "/Host2_V1/"
    _, raw = await _call(http, sim_server, other_farm, cookie, "GetSiteControllersInfo")
    assert json.loads(raw)["isAuthorize"] is False


async def test_expired_session_refuses_once_then_a_new_login_works(
    sim_server: SimulatorServer, http: aiohttp.ClientSession
) -> None:
    login, cookie = await _login(http, sim_server)
    sim_server.simulation.add_fault({"kind": "session_expired"})
    _, raw = await _call(http, sim_server, login, cookie, "GetSiteControllersInfo")
    assert json.loads(raw)["isAuthorize"] is False
    fresh, fresh_cookie = await _login(http, sim_server)
    _, raw = await _call(http, sim_server, fresh, fresh_cookie, "GetSiteControllersInfo")
    assert json.loads(raw)["isSucceed"] is True


async def test_session_expiry_works_with_a_frozen_clock(
    socket_enabled: None, http: aiohttp.ClientSession
) -> None:
    simulation = Simulation(Scenario(farms=1, houses=1), speed=0.0)
    async with SimulatorServer(simulation) as server:
        login, cookie = await _login(http, server)
        simulation.add_fault({"kind": "session_expired"})
        _, raw = await _call(http, server, login, cookie, "GetSiteControllersInfo")
        assert json.loads(raw)["isAuthorize"] is False
        fresh, fresh_cookie = await _login(http, server)
        _, raw = await _call(http, server, fresh, fresh_cookie, "GetSiteControllersInfo")
        assert json.loads(raw)["isSucceed"] is True


async def test_outage_bom_and_malformed_answers(
    sim_server: SimulatorServer, http: aiohttp.ClientSession
) -> None:
    login, cookie = await _login(http, sim_server)
    simulation = sim_server.simulation
    simulation.add_fault({"kind": "bom", "duration": "1h"})
    _, raw = await _call(http, sim_server, login, cookie, "GetSiteControllersInfo")
    assert raw.startswith(b"\xef\xbb\xbf")
    assert json.loads(raw.decode("utf-8-sig"))["isSucceed"] is True
    simulation.faults.clear()
    simulation.add_fault({"kind": "malformed_json", "params": {"count": 1}})
    _, raw = await _call(http, sim_server, login, cookie, "GetSiteControllersInfo")
    with pytest.raises(json.JSONDecodeError):
        json.loads(raw)
    _, raw = await _call(http, sim_server, login, cookie, "GetSiteControllersInfo")
    assert json.loads(raw)["isSucceed"] is True, "the fault's budget was one answer"
    simulation.add_fault({"kind": "cloud_outage", "farm": 1, "duration": "10m"})
    status, raw = await _call(http, sim_server, login, cookie, "GetSiteControllersInfo")
    assert status == 503
    assert raw.lstrip().startswith(b"<!DOCTYPE html>")
    answer, _ = await _login(http, sim_server, prmUsername="farm2")
    assert answer["isSucceed"] is True, "farm 2 is not in the outage"
    answer, _ = await _login(http, sim_server, prmUsername="nobody")
    assert answer["isSucceed"] is False, "an unknown user meets no farm's outage"


async def test_house_missing_from_one_answer(
    sim_server: SimulatorServer, http: aiohttp.ClientSession
) -> None:
    """A partial answer: the house is absent from FarmHouses and the comparison, once."""
    login, cookie = await _login(http, sim_server)

    def houses(raw: bytes) -> tuple[list[int], set[str]]:
        payload = json.loads(raw)["reponseObj"]
        numbers = [house["HouseNumber"] for house in payload["FarmHouses"]]
        keys = set(payload["DicComparisonItems"]["Temperature_Current"])
        return numbers, keys

    sim_server.simulation.add_fault({"kind": "house_missing", "house": 2, "params": {"count": 1}})
    _, raw = await _call(http, sim_server, login, cookie, "GetSiteControllersInfo")
    numbers, keys = houses(raw)
    assert numbers == [1, 3]
    assert "House2" not in keys
    assert {"House1", "House3"} <= keys
    _, raw = await _call(http, sim_server, login, cookie, "GetSiteControllersInfo")
    assert houses(raw)[0] == [1, 2, 3], "the fault's budget was one answer"
    # Farm 2 is not concerned by a fault of farm 1.
    sim_server.simulation.add_fault({"kind": "house_missing", "farm": 1, "house": 3})
    answer, cookie2 = await _login(http, sim_server, prmUsername="farm2")
    _, raw = await _call(http, sim_server, answer, cookie2, "GetSiteControllersInfo")
    assert houses(raw)[0] == [1, 2, 3]


async def test_unit_change_switches_every_answer(
    sim_server: SimulatorServer, http: aiohttp.ClientSession
) -> None:
    """The account switches to imperial: settings, signs and values all follow at once."""
    login, cookie = await _login(http, sim_server)

    async def answer(operation: str, body: Any = None) -> dict[str, Any]:
        _, raw = await _call(http, sim_server, login, cookie, operation, body=body)
        payload: dict[str, Any] = json.loads(raw)["reponseObj"]
        return payload

    def temperature(site: dict[str, Any]) -> float:
        return float(site["DicComparisonItems"]["Temperature_Current"]["House1"])

    celsius = temperature(await answer("GetSiteControllersInfo"))
    sim_server.simulation.add_fault({"kind": "unit_change", "farm": 1})
    fahrenheit = temperature(await answer("GetSiteControllersInfo"))
    assert fahrenheit == pytest.approx(celsius * 1.8 + 32, abs=0.2)
    settings = (await answer("JsGlobals_GetJsGlobals"))["UserInfo"]["UnitConverterSettings"]
    assert settings["TemperatureUnit"] == 1
    page = await answer(
        "RNBL_GetCommandData",
        {"prmGetCommandDataParams": {"CommandID": "0", "HouseNumber": "1", "RoomNumber": -1}},
    )
    assert page["dsData"]["General_View"][0]["Average_Temperature_Sign"] == "F°"
    async with http.get(sim_server.base_url + "_sim/status") as response:
        assert (await response.json())["farms"][0]["units"] == "imperial"
    sim_server.simulation.faults.clear()
    assert temperature(await answer("GetSiteControllersInfo")) == pytest.approx(celsius, abs=0.1)


async def test_control_endpoints(sim_server: SimulatorServer, http: aiohttp.ClientSession) -> None:
    login, cookie = await _login(http, sim_server)
    await _call(http, sim_server, login, cookie, "GetSiteControllersInfo")
    async with http.get(sim_server.base_url + "_sim/status") as response:
        status = await response.json()
    assert status["requests"] == {"Login": 1, "GetSiteControllersInfo": 1}
    assert status["logins"] == 1
    assert [farm["username"] for farm in status["farms"]] == ["farm1", "farm2"]
    async with http.get(sim_server.base_url + "_sim/truth") as response:
        truth = await response.json()
    house = truth["farms"][0]["houses"][0]
    assert house["connection"] == 1
    assert set(house["values"]) >= {"temperature", "set_temperature", "water_daily"}
    fault = {"kind": "heater_failure", "farm": 1, "house": 2, "params": {"severity": 0.5}}
    async with http.post(sim_server.base_url + "_sim/fault", json=fault) as response:
        assert response.status == 200
        injected = await response.json()
    assert injected["kind"] == "heater_failure"
    assert injected["house"] == 2
    async with http.post(sim_server.base_url + "_sim/fault", json={"kind": "nope"}) as response:
        assert response.status == 400
        assert "unknown fault kind" in (await response.json())["error"]
    async with http.get(sim_server.base_url + "_sim/status") as response:
        assert len((await response.json())["faults"]) == 1
    async with http.post(sim_server.base_url + "_sim/clear") as response:
        assert response.status == 200
    async with http.post(sim_server.base_url + "_sim/reset-counters") as response:
        assert response.status == 200
    async with http.get(sim_server.base_url + "_sim/status") as response:
        status = await response.json()
    assert status["requests"] == {}
    assert status["logins"] == 0
    assert status["faults"] == []


def test_a_scenario_pinned_in_the_past_runs_on_the_wall_clock() -> None:
    """The demo stack writes ``start: <stack start>``: a restart must carry on, not replay."""
    origin = datetime.now(UTC) - timedelta(hours=5)
    scenario = Scenario(farms=1, houses=1, start=origin)
    simulation = Simulation(scenario)
    assert abs((simulation.now() - datetime.now(UTC)).total_seconds()) < 5
    assert simulation.origin == origin
    fast = Simulation(scenario, speed=2.0)
    assert abs((fast.now() - (origin + timedelta(hours=10))).total_seconds()) < 10
    pinned = Simulation(scenario, start=origin)
    assert abs((pinned.now() - origin).total_seconds()) < 5
    future = Simulation(Scenario(start=datetime.now(UTC) + timedelta(days=1)))
    assert future.now() > datetime.now(UTC) + timedelta(hours=23)


def test_clock_runs_at_the_chosen_speed(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1000.0]
    monkeypatch.setattr("simulator.server.time.monotonic", lambda: clock[0])
    simulation = Simulation(Scenario(farms=1, houses=1), speed=60.0)
    first = simulation.now()
    clock[0] += 2.0
    assert simulation.now() - first == timedelta(minutes=2)
    simulation.advance(timedelta(hours=1))
    assert simulation.now() - first == timedelta(hours=1, minutes=2)


ROOT = Path(__file__).resolve().parents[2]


async def test_command_line_prints_its_port_and_stops_on_sigterm(socket_enabled: None) -> None:
    root = ROOT
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "simulator",
        "--port",
        "0",
        "--farms",
        "2",
        "--houses",
        "2",
        "--scenario",
        "demo",
        "--speed",
        "60",
        cwd=root,
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
        assert line.startswith("simulator listening on http://127.0.0.1:")
        port = int(line.split("http://127.0.0.1:")[1].split("/")[0])
        assert port > 0
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{port}/_sim/status") as response,
        ):
            status = await response.json()
        assert len(status["farms"]) == 2
        assert status["scenario"] == "demo"
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 15) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


def test_a_new_fault_does_not_inherit_a_cleared_faults_budget() -> None:
    """Budgets were kept per id(): a fault added after another was cleared could get the freed
    id and find its budget already spent (seen as a flaky malformed-answer test)."""
    simulation = Simulation(Scenario(farms=1, houses=1), speed=0.0)
    for _ in range(50):
        simulation.add_fault({"kind": "malformed_json", "params": {"count": 1}})
        fault = simulation.cloud_fault("malformed_json", 1)
        assert fault is not None
        simulation.spend(fault)
        assert simulation.cloud_fault("malformed_json", 1) is None
        simulation.faults.clear()
        del fault
