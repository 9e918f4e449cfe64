"""Faults at the analyzer's edges: malformed answers over real loopback sockets, and a tick that
raises what nobody expected.

The servers here are small aiohttp applications on 127.0.0.1 that answer like a broken InfluxDB,
a proxy in front of HA, or a starting HA: the readers and the HA client run their real request
paths against them. Every case must end in the typed error (or a gap), never in a `KeyError`,
`TypeError` or `ValueError` that stopped the service before.

Every test here uses the secrets below (HA token, InfluxDB password and token, user:password in
URLs), and an autouse fixture scans every log record of every test (message and traceback) for
them; exceptions the tests catch are scanned with their whole chain (`_assert_clean`).
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from ml_analyzer.config import AnalyzerConfig, InfluxV1Config
from ml_analyzer.discovery import discover
from ml_analyzer.ha import (
    HomeAssistantAnswerError,
    HomeAssistantClient,
    HomeAssistantConnectionError,
)
from ml_analyzer.loop import AnalyzerService
from ml_analyzer.readers import EntityRef, SourceAnswerError
from ml_analyzer.readers.influxdb_v1 import InfluxV1Reader

from tests.analyzer.test_loop import Clock, FakeAnalyzer, FakeHA, FakeReader, History

HA_TOKEN = "ha-token-SECRET-7c1f"
INFLUX_PASSWORD = "influx-pw-SECRET-93"
INFLUX_TOKEN = "influx2-token-SECRET-55"
URL_USER = "farmer-SECRET-u"
URL_PASSWORD = "url-pw-SECRET-p"
SECRETS = (HA_TOKEN, INFLUX_PASSWORD, INFLUX_TOKEN, URL_USER, URL_PASSWORD)
START = datetime(2026, 11, 20, tzinfo=UTC)
END = START + timedelta(hours=1)
START_MS = int(START.timestamp() * 1000)
TEMPERATURE = EntityRef("sensor.house_1_temperature", "°C", "temperature")

ServerFactory = Callable[[web.Application], Awaitable[Any]]


def _with_userinfo(url: str) -> str:
    return url.replace("://", f"://{URL_USER}:{URL_PASSWORD}@", 1)


def _assert_clean(text_or_error: str | BaseException) -> None:
    """No secret in a text, or in an exception's rendering with its whole chain."""
    if isinstance(text_or_error, BaseException):
        text = "".join(traceback.format_exception(text_or_error)) + repr(text_or_error)
    else:
        text = text_or_error
    for secret in SECRETS:
        assert secret not in text, f"secret {secret!r} in: {text}"


@pytest.fixture(autouse=True)
def _no_secret_in_any_log(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Every log record of every test here, message and traceback, is free of secrets."""
    caplog.set_level(logging.DEBUG)
    yield
    for record in caplog.records:
        _assert_clean(record.getMessage())
        if record.exc_info and record.exc_info[1] is not None:
            _assert_clean(record.exc_info[1])


def _series(values: Any, tags: Any = None) -> dict[str, Any]:
    tags = {"domain": "sensor", "entity_id": "house_1_temperature"} if tags is None else tags
    return {"results": [{"series": [{"name": "°C", "tags": tags, "values": values}]}]}


async def _influx_answering(
    aiohttp_client: ServerFactory, body: str, content_type: str
) -> tuple[str, int]:
    async def query(request: web.Request) -> web.Response:
        return web.Response(text=body, content_type=content_type)

    app = web.Application()
    app.router.add_post("/query", query)
    client = await aiohttp_client(app)
    return str(client.host), int(client.port)


@pytest.mark.parametrize(
    ("body", "content_type", "problem"),
    [
        ("[]", "application/json", "not a JSON object"),
        ('{"results": {"a": 1}}', "application/json", "'results' is not a list"),
        (
            '{"results": [{"series": [{"tags": "house_1", "values": [[1, 2]]}]}]}',
            "application/json",
            "'tags' is not an object",
        ),
        (
            '{"results": [{"series": [{"tags": {}, "values": [[1], [2]]}]}]}',
            "application/json",
            r"a row is not \[time, value\]",
        ),
        (
            '{"results": [{"series": [{"tags": {}, "values": [["x", 2]]}]}]}',
            "application/json",
            r"a row is not \[time, value\]",
        ),
        ("<html><body>502 Bad Gateway</body></html>", "text/html", "not JSON"),
    ],
)
async def test_influxdb_v1_malformed_answers_are_typed(
    aiohttp_client: ServerFactory, body: str, content_type: str, problem: str
) -> None:
    host, port = await _influx_answering(aiohttp_client, body, content_type)
    async with aiohttp.ClientSession() as session:
        config = InfluxV1Config(host=host, port=port, username="ha", password=INFLUX_PASSWORD)
        reader = InfluxV1Reader(session, config)
        with pytest.raises(SourceAnswerError, match=problem) as caught:
            await reader.read_points([TEMPERATURE], START, END)
    _assert_clean(caught.value)


async def test_influxdb_v1_string_and_impossible_values_are_gaps(
    aiohttp_client: ServerFactory,
) -> None:
    import json

    values = [
        [START_MS, 21.5],
        [START_MS + 60_000, "on"],
        [START_MS + 120_000, None],
        [START_MS + 180_000, 1e308],
        [START_MS + 240_000, -1e308],
        [START_MS + 300_000, 22.0],
    ]
    host, port = await _influx_answering(
        aiohttp_client, json.dumps(_series(values)), "application/json"
    )
    async with aiohttp.ClientSession() as session:
        reader = InfluxV1Reader(session, InfluxV1Config(host=host, port=port))
        points = await reader.read_points([TEMPERATURE], START, END)
    stamps, numbers = points[TEMPERATURE.entity_id]
    assert numbers.tolist() == [21.5, 22.0]
    assert (stamps // 1_000_000).tolist() == [START_MS, START_MS + 300_000]


async def _ha_server(aiohttp_client: ServerFactory, app: web.Application) -> str:
    client = await aiohttp_client(app)
    return f"http://{client.host}:{client.port}"


async def test_report_answered_200_with_html_is_typed(aiohttp_client: ServerFactory) -> None:
    async def service(request: web.Request) -> web.Response:
        return web.Response(
            text="<html>Home Assistant is starting</html>", content_type="text/html"
        )

    app = web.Application()
    app.router.add_post("/api/services/rotem_farm/report_analysis", service)
    url = await _ha_server(aiohttp_client, app)
    async with aiohttp.ClientSession() as session:
        client = HomeAssistantClient(session, _with_userinfo(url), HA_TOKEN)
        with pytest.raises(HomeAssistantAnswerError, match="not with JSON") as caught:
            await client.call_service("rotem_farm", "report_analysis", {"reports": []})
    _assert_clean(caught.value)


def _websocket_app(answers: dict[str, Any], hello: Any = None) -> web.Application:
    """A websocket endpoint that authenticates any token and answers commands from `answers`."""

    async def websocket(request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        await socket.send_json(hello if hello is not None else {"type": "auth_required"})
        if hello is not None:
            return socket
        await socket.receive_json()
        await socket.send_json({"type": "auth_ok"})
        async for message in socket:
            command = message.json()
            answer = answers[command["type"]]
            if callable(answer):
                await socket.send_json(answer(command))
            else:
                await socket.send_json(
                    {"id": command["id"], "type": "result", "success": True, "result": answer}
                )
        return socket

    app = web.Application()
    app.router.add_get("/api/websocket", websocket)
    return app


async def test_registry_items_that_are_not_objects_are_typed(
    aiohttp_client: ServerFactory,
) -> None:
    app = _websocket_app(
        {
            "config/device_registry/list": ["dev1", 2, None],
            "config/entity_registry/list": [],
            "get_states": [],
            "config_entries/get": [],
        }
    )
    url = await _ha_server(aiohttp_client, app)
    async with aiohttp.ClientSession() as session:
        client = HomeAssistantClient(session, _with_userinfo(url), HA_TOKEN)
        try:
            with pytest.raises(HomeAssistantAnswerError, match="device registry"):
                await discover(client)
        finally:
            await client.close()


@pytest.mark.parametrize(
    "answer",
    [
        lambda command: [command["id"], "result"],
        lambda command: {"id": command["id"], "type": "result", "success": False, "error": "x"},
    ],
)
async def test_websocket_answers_not_shaped_as_ha_are_typed(
    aiohttp_client: ServerFactory, answer: Callable[[dict[str, Any]], Any]
) -> None:
    from ml_analyzer.ha import HomeAssistantError

    url = await _ha_server(aiohttp_client, _websocket_app({"get_states": answer}))
    async with aiohttp.ClientSession() as session:
        client = HomeAssistantClient(session, _with_userinfo(url), HA_TOKEN)
        try:
            with pytest.raises(HomeAssistantError):
                await client.command("get_states")
        finally:
            await client.close()


async def test_websocket_hello_that_is_not_ha_is_typed(aiohttp_client: ServerFactory) -> None:
    url = await _ha_server(aiohttp_client, _websocket_app({}, hello=["not", "ha"]))
    async with aiohttp.ClientSession() as session:
        client = HomeAssistantClient(session, _with_userinfo(url), HA_TOKEN)
        with pytest.raises(HomeAssistantAnswerError, match="did not answer as HA does"):
            await client.command("get_states")


class ExplodingReader(FakeReader):
    """A reader whose answer breaks in a way nobody foresaw (until `fixed`)."""

    def __init__(self) -> None:
        super().__init__()
        self.fixed = False

    async def read(self, entities: Any, start: datetime, end: datetime) -> Any:
        if not self.fixed:
            raise KeyError("series")
        return await super().read(entities, start, end)


async def test_unexpected_tick_failure_is_logged_once_and_the_service_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ha, reader, clock = FakeHA(2), ExplodingReader(), Clock()
    service = AnalyzerService(AnalyzerConfig(), ha, reader, FakeAnalyzer, History, clock=clock)
    caplog.set_level(logging.DEBUG, logger="ml_analyzer")
    for _ in range(3):
        result = await service.run(once=True)
        assert not result.ok
        assert result.errors == ["KeyError: 'series'"]
        clock.now += timedelta(minutes=5)
    failures = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(failures) == 1
    assert failures[0].levelno == logging.ERROR
    assert failures[0].exc_info is not None
    assert "goes unavailable" in failures[0].getMessage()
    assert ha.calls == []  # nothing published while cycles fail: the analysis goes stale
    reader.fixed = True
    caplog.clear()
    result = await service.run(once=True)
    assert result.ok
    assert result.published == 2
    assert any("run again" in r.getMessage() for r in caplog.records)


async def test_health_answers_while_ticks_finish_and_503_when_the_loop_hangs() -> None:
    from ml_analyzer.cli import _start_health

    from tests.support.influxdb import _free_port

    service = AnalyzerService(AnalyzerConfig(), FakeHA(1), FakeReader(), FakeAnalyzer, History)
    port = _free_port()
    runner = await _start_health(service, port)
    assert runner is not None
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{port}/health") as response:
                assert response.status == 200
            service.alive_at -= 2 * AnalyzerConfig().interval_seconds + 601
            async with session.get(f"http://127.0.0.1:{port}/health") as response:
                assert response.status == 503
            await service.run(once=True)
            async with session.get(f"http://127.0.0.1:{port}/health") as response:
                assert response.status == 200
        # A port already taken: the service runs without the check instead of failing.
        assert await _start_health(service, port) is None
    finally:
        await runner.cleanup()


@pytest.fixture
async def real_ha(hass: Any, hass_client: Any, hass_access_token: str) -> Any:
    """A real HA HTTP/websocket server (api, websocket_api, config) and a client for it."""
    from homeassistant.setup import async_setup_component

    for component in ("http", "api", "websocket_api", "config"):
        assert await async_setup_component(hass, component, {})
    client = await hass_client()
    async with aiohttp.ClientSession() as session:
        ha = HomeAssistantClient(session, f"http://{client.host}:{client.port}", hass_access_token)
        yield ha
        await ha.close()


async def test_ha_starting_results_kept_one_call_per_tick_one_line_per_outage(
    hass: Any, real_ha: HomeAssistantClient, caplog: pytest.LogCaptureFixture
) -> None:
    """Against a real HA: the service is not registered yet (HA answers 400), then it is."""
    from tests.analyzer.ha_fixtures import register_report_analysis, setup_fake_farm

    farm = await setup_fake_farm(hass, service=False)
    for number in range(1, 6):
        farm.add_house(number, {"temperature": "°C"})
    clock = Clock()
    service = AnalyzerService(
        AnalyzerConfig(), real_ha, FakeReader(), FakeAnalyzer, History, clock=clock
    )
    caplog.set_level(logging.INFO, logger="ml_analyzer")
    for _ in range(3):
        result = await service.tick()
        assert not result.ok
        assert result.scored_houses in (0, 5)
        clock.now += timedelta(minutes=5)
    assert service.publisher.calls == 3  # one call per tick, not one per house
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "(400)" in warnings[0]
    assert "Home Assistant is starting or the Rotem Farm integration is not loaded" in warnings[0]
    assert len(service.unpublished) == 5

    register_report_analysis(farm)
    result = await service.tick()
    assert result.ok
    assert service.publisher.calls == 4
    assert len(farm.reports) == 1
    assert len(farm.reports[0]["reports"]) == 5
    assert service.unpublished == {}
    assert sum("available again" in r.getMessage() for r in caplog.records) == 1


async def test_rest_only_outage_is_one_line(caplog: pytest.LogCaptureFixture) -> None:
    from ml_analyzer.ha import HomeAssistantConnectionError

    class RestDown(FakeHA):
        rest_down = True

        async def call_service(self, domain: str, service: str, data: Any) -> Any:
            if self.rest_down:
                raise HomeAssistantConnectionError("HA unreachable at http://ha:8123/api")
            return await super().call_service(domain, service, data)

    ha, clock = RestDown(3), Clock()
    service = AnalyzerService(
        AnalyzerConfig(), ha, FakeReader(), FakeAnalyzer, History, clock=clock
    )
    caplog.set_level(logging.INFO, logger="ml_analyzer")
    for _ in range(6):
        assert not (await service.tick()).ok
        clock.now += timedelta(minutes=5)
    ha.rest_down = False
    assert (await service.tick()).ok
    messages = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    assert sum("unavailable" in m for m in messages) == 1
    assert sum("available again" in m for m in messages) == 1
    assert len(ha.calls) == 1
    assert {r["device_id"] for r in ha.calls[0]["reports"]} == {"dev1", "dev2", "dev3"}


async def test_farm_not_loaded_keeps_results_without_calls(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ha, clock = FakeHA(2), Clock()
    ha.loaded = False
    service = AnalyzerService(
        AnalyzerConfig(), ha, FakeReader(), FakeAnalyzer, History, clock=clock
    )
    for _ in range(3):
        await service.tick()
        clock.now += timedelta(minutes=5)
    assert ha.calls == []
    assert set(service.unpublished) == {"dev1", "dev2"}
    assert sum("has not loaded the farm" in r.getMessage() for r in caplog.records) == 1
    ha.loaded = True
    await service.tick()
    assert len(ha.calls) == 1
    assert {r["device_id"] for r in ha.calls[0]["reports"]} == {"dev1", "dev2"}
    assert service.unpublished == {}
    assert (
        sum("Reporting to Home Assistant available again" in r.getMessage() for r in caplog.records)
        == 1
    )


async def test_no_house_found_says_what_to_do_and_once_fails(
    caplog: pytest.LogCaptureFixture,
) -> None:
    service = AnalyzerService(AnalyzerConfig(), FakeHA(0), FakeReader(), FakeAnalyzer, History)
    for _ in range(3):
        result = await service.run(once=True)
        assert result.houses == 0
    told = [r for r in caplog.records if "No Rotem Farm house found" in r.getMessage()]
    assert len(told) == 1
    assert told[0].levelno == logging.WARNING
    assert "Install the Rotem Farm integration and add a farm" in told[0].getMessage()


async def test_once_exits_1_when_no_house_is_found(
    real_ha: HomeAssistantClient, hass_access_token: str, tmp_path: Any
) -> None:
    """`run --once` (a real process) against a real HA without any Rotem device: exit 1."""
    import asyncio
    import json
    import os
    import sys

    from tests.analyzer.test_addon_command import ADDON

    options = tmp_path / "options.json"
    options.write_text(json.dumps({"source": "home_assistant"}))
    env = {
        **os.environ,
        "PYTHONPATH": str(ADDON),
        "ML_ANALYZER_HOME_ASSISTANT_URL": _with_userinfo(real_ha.rest_url.removesuffix("/api")),
        "ML_ANALYZER_HOME_ASSISTANT_TOKEN": hass_access_token,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ml_analyzer",
        "run",
        "--config",
        str(options),
        "--once",
        env=env,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=120)
    log = stderr.decode()
    assert process.returncode == 1, log
    assert "No Rotem Farm house found" in log
    assert "Home Assistant at http://***@127.0.0.1:" in log
    assert hass_access_token not in log
    _assert_clean(log)


async def test_waiting_for_history_says_when_the_first_verdict_comes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from ml_analyzer.loop import FIRST_VERDICT_AFTER

    class NotYet:
        def fit(self, history: Any) -> None:
            return None

        def update(self, history: Any) -> dict[str, Any]:
            return {}

    caplog.set_level(logging.INFO, logger="ml_analyzer")
    clock = Clock()
    service = AnalyzerService(
        AnalyzerConfig(), FakeHA(2), FakeReader(), NotYet, History, clock=clock
    )
    await service.tick()
    clock.now += timedelta(minutes=5)
    await service.tick()
    told = [r.getMessage() for r in caplog.records if "Waiting for history" in r.getMessage()]
    assert len(told) == 1
    assert "GW1_1, GW1_2" in told[0]
    assert "2 days" in told[0]
    from ml_analyzer.detectors.analyzer import MIN_SPAN

    assert pd_timedelta(MIN_SPAN) == FIRST_VERDICT_AFTER


def pd_timedelta(value: Any) -> timedelta:
    return timedelta(seconds=float(value.total_seconds()))


async def test_unreachable_urls_are_masked_in_errors_and_logs() -> None:
    """Credentials in `home_assistant.url` and the InfluxDB URLs never reach a message."""
    from ml_analyzer.config import InfluxV2Config
    from ml_analyzer.readers import SourceUnavailableError
    from ml_analyzer.readers.influxdb_v2 import InfluxV2Reader

    from tests.support.influxdb import _free_port

    url = _with_userinfo(f"http://127.0.0.1:{_free_port()}")
    async with aiohttp.ClientSession() as session:
        ha = HomeAssistantClient(session, url, HA_TOKEN)
        service = AnalyzerService(AnalyzerConfig(), ha, FakeReader(), FakeAnalyzer, History)
        result = await service.tick()  # the outage's log line is scanned by the fixture
        assert not result.ok
        assert "127.0.0.1:" in result.errors[0]
        with pytest.raises(HomeAssistantConnectionError) as caught:
            await ha.call_service("rotem_farm", "report_analysis", {})
        _assert_clean(caught.value)
        host = f"{URL_USER}:{URL_PASSWORD}@127.0.0.1"
        v1 = InfluxV1Reader(session, InfluxV1Config(host=host, port=_free_port()))
        with pytest.raises(SourceUnavailableError, match=r"\*\*\*@127\.0\.0\.1") as caught_v1:
            await v1.read_points([TEMPERATURE], START, END)
        _assert_clean(caught_v1.value)
    v2 = InfluxV2Reader(InfluxV2Config(url=url, token=INFLUX_TOKEN, org="farm"))
    try:
        with pytest.raises(SourceUnavailableError) as caught_v2:
            await v2.read([TEMPERATURE], START, END)
        _assert_clean(caught_v2.value)
    finally:
        await v2.close()


def test_yaml_error_reports_the_line_never_its_text(
    tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """PyYAML quotes the offending line; a token or password there was printed."""
    from ml_analyzer.cli import main

    for text, line in (
        # PyYAML marks where it noticed the problem: the end of input for an unclosed flow
        # sequence or quote, the alias itself for an undefined alias (the password here).
        (f"home_assistant:\n  token: {HA_TOKEN}\n  url: [http://x\n", 4),
        (f"sensitivity: medium\ninfluxdb:\n  password: *{INFLUX_PASSWORD}\n", 3),
        (f"influxdb:\n  password: '{INFLUX_PASSWORD}\n", 3),
    ):
        options = tmp_path / "options.yaml"
        options.write_text(text)
        assert main(["run", "--config", str(options)]) == 2
        captured = capsys.readouterr()
        _assert_clean(captured.err + captured.out)
        assert f"option '--config' is not valid YAML (line {line})" in captured.err


def test_mask_url_keeps_everything_but_the_userinfo() -> None:
    from ml_analyzer.config import mask_url

    assert mask_url(f"https://{URL_USER}:{URL_PASSWORD}@ha.farm:8123/api?x=@") == (
        "https://***@ha.farm:8123/api?x=@"
    )
    assert mask_url("http://supervisor/core") == "http://supervisor/core"
    assert mask_url("http://db:8086/a@b") == "http://db:8086/a@b"
    assert mask_url("not a url") == "not a url"


def test_every_input_role_has_a_plausible_range() -> None:
    from ml_analyzer.discovery import INPUT_ROLES
    from ml_analyzer.readers import PLAUSIBLE_RANGES, plausible_range

    assert set(PLAUSIBLE_RANGES) == {*INPUT_ROLES, "probe_temperature"}
    assert plausible_range("probe_temperature_12") == PLAUSIBLE_RANGES["temperature"]
    for low, high in PLAUSIBLE_RANGES.values():
        assert low < high


async def test_influxdb_v2_non_finite_and_impossible_values_never_reach_the_loop() -> None:
    """The 2.x reader turned `NaN`, `+Inf` and 1e308 into verdicts before (issue 15 §4)."""
    from ml_analyzer.config import InfluxV2Config
    from ml_analyzer.readers.influxdb_v2 import InfluxV2Reader

    header = (
        "#datatype,string,long,dateTime:RFC3339,double,string,string\r\n"
        ",result,table,_time,_value,entity_id,domain\r\n"
    )
    values = ["21.5", "NaN", "+Inf", "-Inf", "1e308", "-1e308", "22.0"]
    rows = "".join(
        f",_result,0,2026-11-20T00:0{minute}:00Z,{value},house_1_temperature,sensor\r\n"
        for minute, value in enumerate(values)
    )

    async def query(_flux: str) -> str:
        return header + rows

    reader = InfluxV2Reader(InfluxV2Config(url="http://x", token=INFLUX_TOKEN), query=query)
    series = await reader.read([TEMPERATURE], START, END)
    assert list(series[TEMPERATURE.entity_id]) == [21.5, 22.0]
    assert [t.minute for t in series[TEMPERATURE.entity_id].index] == [0, 6]


async def test_recorder_impossible_values_are_gaps() -> None:
    from ml_analyzer.readers.ha_history import HomeAssistantHistoryReader

    start_s = START.timestamp()

    class Recorder:
        async def command(self, command_type: str, **payload: Any) -> Any:
            if command_type == "recorder/statistics_during_period":
                return {
                    "sensor.house_1_humidity": [
                        {"end": (start_s + 300 * n) * 1000, "mean": mean}
                        for n, mean in enumerate([55.0, -5.0, 140.0, 1e308, 60.0], start=1)
                    ]
                }
            return {}

    humidity = EntityRef("sensor.house_1_humidity", "%", "humidity")
    series = await HomeAssistantHistoryReader(Recorder()).read([humidity], START, END)
    assert list(series[humidity.entity_id]) == [55.0, 60.0]
