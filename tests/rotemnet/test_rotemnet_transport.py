"""The client over real sockets against a fake cloud on 127.0.0.1.

Covers both login addresses, the session cookie, re-login, the envelope's failure flags, byte
order marks, HTML outages, back-off with Retry-After, time-outs, and that no secret ever shows
up in an exception or a log line.
"""

from __future__ import annotations

import asyncio
import json
import logging
import traceback
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from custom_components.rotem_farm.rotemnet import (
    ClientStats,
    HistoryKind,
    RotemApiError,
    RotemAuthError,
    RotemClient,
    RotemConnectionError,
    RotemError,
    RotemNoFarmError,
    RotemParseError,
    RotemRateLimitError,
    RotemSessionExpiredError,
)
from tests.rotemnet.fakecloud import (
    CONNECTION_TOKEN,
    COOKIE_PREFIX,
    GATEWAY,
    PASSWORD,
    SECRETS,
    USER_TOKEN,
    USERNAME,
    FakeCloud,
    Recorded,
    base_url,
    capture_response,
    envelope,
    login_payload,
)
from tests.support.secrets import SecretScan


class SleepRecorder:
    """Stands in for asyncio.sleep so back-off waits are asserted, not waited for."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


def make_client(
    http: aiohttp.ClientSession,
    server: TestServer,
    *,
    password: str = PASSWORD,
    api_style: Any = "legacy",
    request_timeout: float = 10.0,
) -> tuple[RotemClient, SleepRecorder]:
    """A client of the fake cloud with recorded back-off."""
    client = RotemClient(
        http,
        USERNAME,
        password,
        base_url=base_url(server),
        api_style=api_style,
        request_timeout=request_timeout,
        retry_delays=(1.0, 2.0),
        max_retry_after=5.0,
    )
    sleeper = SleepRecorder()
    client._sleep = sleeper
    return client, sleeper


def answer(
    cloud: FakeCloud, body: object, *, status: int = 200, bom: bool = False
) -> Callable[[web.Request], web.Response]:
    """A scripted JSON answer."""
    return lambda _request: cloud.json_response(body, status=status, bom=bom)


def raw_answer(
    text: str,
    *,
    status: int = 200,
    content_type: str = "text/html",
    headers: dict[str, str] | None = None,
) -> Callable[[web.Request], web.Response]:
    """A scripted non-JSON answer (an error page)."""
    return lambda _request: web.Response(
        text=text, status=status, content_type=content_type, headers=headers
    )


async def test_login_legacy(cloud: FakeCloud, server: TestServer, http: Any) -> None:
    """Legacy login address, body and headers; WebServerUrl joined to the base."""
    client, _ = make_client(http, server)
    info = await client.login()
    assert info.gateway_code == GATEWAY
    assert info.web_server_url == base_url(server) + "Host6_V1/"
    assert info.user_display_name == "Farmer"
    assert client.gateway_code == GATEWAY
    (request,) = cloud.requests
    assert request.path == "/Latest/Services/AllServices.svc/Login"
    assert request.body == {
        "prmUsername": USERNAME,
        "prmPassword": PASSWORD,
        "prmIsNativeAppLogin": False,
        "prmIsKeepMeSignedIn": False,
    }
    assert request.headers["userToken"] == "null"
    assert client.stats.logins == 1
    assert client.stats.requests == 1


async def test_service_call_headers_and_cookie(
    cloud: FakeCloud, server: TestServer, http: Any
) -> None:
    """Service calls carry tokens, language, exact content type, a fresh contextId, cookie."""
    client, _ = make_client(http, server)
    site = await client.get_site()
    await client.get_site()
    assert sorted(site.houses) == [1, 2, 3, 4, 5, 6]
    calls = cloud.calls("GetSiteControllersInfo")
    assert [call.path for call in calls] == [
        "/Host6_V1/Services/AllServices.svc/GetSiteControllersInfo"
    ] * 2
    for call in calls:
        assert call.headers["userToken"] == USER_TOKEN
        assert call.headers["farmConnectionToken"] == CONNECTION_TOKEN
        assert call.headers["userLanguage"] == "ENGLISH"
        assert call.headers["Content-Type"] == "application/json;charset=UTF-8"
        assert "Authorization" not in call.headers
        assert call.cookies == {"ASP.NET_SessionId": "sess-COOKIE-1"}
        assert call.body == {"prmSiteControllersInfoParams": {"GatewayCode": GATEWAY}}
        uuid.UUID(call.headers["contextId"])
    assert calls[0].headers["contextId"] != calls[1].headers["contextId"]
    assert client.stats.logins == 1  # lazy login, once


async def test_login_api_style(cloud: FakeCloud, server: TestServer, http: Any) -> None:
    """The newer app: /api/Login, then {WebServerUrl}{Operation} with a Bearer token."""
    client, _ = make_client(http, server, api_style="api")
    await client.get_site()
    assert cloud.requests[0].path == "/api/Login"
    call = cloud.calls("GetSiteControllersInfo")[0]
    assert call.path == "/Host6_V1/GetSiteControllersInfo"
    assert call.headers["Authorization"] == f"Bearer {USER_TOKEN}"


def test_unknown_api_style_is_refused() -> None:
    """A typo in api_style fails at construction, not at the first request."""
    with pytest.raises(ValueError, match="api_style"):
        RotemClient(None, USERNAME, PASSWORD, api_style="new")  # type: ignore[arg-type]


async def test_cookie_kept_per_client_with_a_shared_session(
    cloud: FakeCloud, server: TestServer
) -> None:
    """Two farms on one shared session (unsafe jar: it stores IP cookies) keep their own."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as shared:
        first, _ = make_client(shared, server)
        second, _ = make_client(shared, server)
        await first.login()  # sess-COOKIE-1
        await second.login()  # sess-COOKIE-2: the shared jar now holds this one
        cloud.session_id = "sess-COOKIE-1"
        await first.get_site()
        assert cloud.calls("GetSiteControllersInfo")[-1].cookies == {
            "ASP.NET_SessionId": "sess-COOKIE-1"
        }
        assert first.stats.logins == 1


async def test_cookie_refreshed_when_the_service_sets_a_new_one(
    cloud: FakeCloud, server: TestServer, http: Any
) -> None:
    """A Set-Cookie on any answer replaces the kept session cookie."""

    def rotate(_request: web.Request) -> web.Response:
        cloud.session_id = "sess-ROTATED"
        response = cloud.json_response(capture_response("GetSiteControllersInfo.json"))
        response.set_cookie("ASP.NET_SessionId", "sess-ROTATED")
        return response

    client, _ = make_client(http, server)
    cloud.add("GetSiteControllersInfo", rotate)
    await client.get_site()
    await client.get_site()
    assert cloud.calls("GetSiteControllersInfo")[-1].cookies == {
        "ASP.NET_SessionId": "sess-ROTATED"
    }
    assert client.stats.logins == 1


async def test_no_cookie_no_cookie_header(
    cloud: FakeCloud, server: TestServer, http: Any, secret_scan: SecretScan
) -> None:
    """When the service sets no cookie, none is invented."""
    cloud.set_cookie = False
    client, _ = make_client(http, server)
    with secret_scan.raises(RotemAuthError):
        await client.get_site()
    assert cloud.calls("GetSiteControllersInfo")[0].cookies == {}


async def test_relogin_once_when_session_expired(
    cloud: FakeCloud, server: TestServer, http: Any
) -> None:
    """isInSession false -> one login and one retry, transparently."""
    client, _ = make_client(http, server)
    await client.get_site()
    cloud.expire_session()
    site = await client.get_site()
    assert len(site.houses) == 6
    assert client.stats.logins == 2
    assert cloud.calls("GetSiteControllersInfo")[-1].cookies == {
        "ASP.NET_SessionId": "sess-COOKIE-2"
    }


async def test_relogin_on_is_authorize_false(
    cloud: FakeCloud, server: TestServer, http: Any
) -> None:
    """isAuthorize false (token rejected) also gets one re-login."""
    client, _ = make_client(http, server)
    cloud.add("JsGlobals_GetJsGlobals", answer(cloud, envelope(None, isAuthorize=False)))
    info = await client.get_farm_info()
    assert info.units.temperature == "°C"
    assert client.stats.logins == 2


async def test_relogin_on_http_401(cloud: FakeCloud, server: TestServer, http: Any) -> None:
    """HTTP 401 on a service call is a lost session too."""
    client, _ = make_client(http, server)
    cloud.add("GetSiteControllersInfo", raw_answer("denied", status=401, content_type="text/plain"))
    await client.get_site()
    assert client.stats.logins == 2


def redirect(location: str = "/Latest/rotemWebApp/User.html") -> Callable[[web.Request], Any]:
    """A redirect to the web app's login page."""
    return lambda _request: web.Response(status=302, headers={"Location": location})


async def test_redirect_of_a_call_gets_one_relogin(
    cloud: FakeCloud, server: TestServer, http: Any
) -> None:
    """A call redirected to the login page: one fresh login, then the answer."""
    client, _ = make_client(http, server)
    cloud.add("GetSiteControllersInfo", redirect())
    site = await client.get_site()
    assert len(site.houses) == 6
    assert client.stats.logins == 2
    assert cloud.calls("User.html") == []  # never followed


async def test_persistent_redirect_is_an_outage(
    cloud: FakeCloud, server: TestServer, http: Any, secret_scan: SecretScan
) -> None:
    """Still redirected after the fresh login: a connection problem, not bad credentials."""
    client, _ = make_client(http, server)
    cloud.add("GetSiteControllersInfo", redirect(), redirect())
    with secret_scan.raises(RotemConnectionError, match="redirected"):
        await client.get_site()
    assert client.stats.logins == 2


async def test_redirected_login_is_an_outage(
    cloud: FakeCloud, server: TestServer, http: Any, secret_scan: SecretScan
) -> None:
    """A login sent to a maintenance page is an outage, not a refusal."""
    cloud.add("Login", redirect("/maintenance.html"))
    client, _ = make_client(http, server)
    with secret_scan.raises(RotemConnectionError) as caught:
        await client.login()
    assert not isinstance(caught.value, RotemAuthError)


async def test_persistent_expiry_is_an_auth_error_without_a_storm(
    cloud: FakeCloud, server: TestServer, http: Any, secret_scan: SecretScan
) -> None:
    """Still expired after the fresh login -> RotemAuthError; exactly two logins, two calls."""
    client, _ = make_client(http, server)
    expired = envelope(None, isSucceed=False, isInSession=False)
    cloud.add("GetSiteControllersInfo", answer(cloud, expired), answer(cloud, expired))
    with secret_scan.raises(RotemAuthError) as caught:
        await client.get_site()
    assert not isinstance(caught.value, RotemSessionExpiredError)
    assert client.stats.logins == 2
    assert len(cloud.calls("GetSiteControllersInfo")) == 2


async def test_concurrent_calls_log_in_once(
    cloud: FakeCloud, server: TestServer, http: Any
) -> None:
    """Five polls starting together share one login, and one re-login after an expiry."""
    client, _ = make_client(http, server)
    await asyncio.gather(*(client.get_site() for _ in range(5)))
    assert client.stats.logins == 1
    cloud.expire_session()
    await asyncio.gather(*(client.get_site() for _ in range(5)))
    assert client.stats.logins == 2
    assert len(cloud.calls("Login")) == 2


async def test_bad_credentials(
    cloud: FakeCloud, server: TestServer, http: Any, secret_scan: SecretScan
) -> None:
    """isSucceed false on Login -> RotemAuthError; nothing else is called."""
    client, _ = make_client(http, server, password="wrong")
    with secret_scan.raises(RotemAuthError, match="Login failed"):
        await client.get_site()
    assert [request.path.rsplit("/", 1)[-1] for request in cloud.requests] == ["Login"]
    assert client.gateway_code is None


@pytest.mark.parametrize("status", [401, 403])
async def test_login_http_refusal(
    cloud: FakeCloud, server: TestServer, http: Any, status: int, secret_scan: SecretScan
) -> None:
    """A login refused at HTTP level is bad credentials too."""
    cloud.add("Login", raw_answer("no", status=status, content_type="text/plain"))
    client, _ = make_client(http, server)
    with secret_scan.raises(RotemAuthError, match=str(status)):
        await client.login()


async def test_login_without_farm(
    cloud: FakeCloud, server: TestServer, http: Any, secret_scan: SecretScan
) -> None:
    """A login without connection token -> RotemNoFarmError."""
    cloud.login_body = envelope(login_payload(FarmConnectionInfo={}))
    client, _ = make_client(http, server)
    with secret_scan.raises(RotemNoFarmError):
        await client.login()


async def test_is_succeed_false(
    cloud: FakeCloud, server: TestServer, http: Any, secret_scan: SecretScan
) -> None:
    """A logical failure carries the service's message, without a re-login."""
    failure = envelope(
        None, isSucceed=False, ErrorObj={"ErrorCode": 12, "ErrorMessage": "Gateway offline"}
    )
    cloud.add("GetSiteControllersInfo", answer(cloud, failure))
    client, _ = make_client(http, server)
    with secret_scan.raises(RotemApiError, match="Gateway offline"):
        await client.get_site()
    assert client.stats.logins == 1


async def test_bom_and_response_obj_spelling(
    cloud: FakeCloud, server: TestServer, http: Any
) -> None:
    """A UTF-8 BOM and the correct 'responseObj' spelling are both accepted."""
    body = capture_response("GetSiteControllersInfo.json")
    body["responseObj"] = body.pop("reponseObj")
    cloud.add("GetSiteControllersInfo", answer(cloud, body, bom=True))
    client, _ = make_client(http, server)
    site = await client.get_site()
    assert site.houses[1].average_temperature == 30.0


async def test_html_503_retried_then_connection_error(
    cloud: FakeCloud, server: TestServer, http: Any, secret_scan: SecretScan
) -> None:
    """503 with an HTML page: two back-offs (1 s, 2 s), then RotemConnectionError."""
    page = raw_answer("<html><body>Service Unavailable</body></html>", status=503)
    cloud.add("GetSiteControllersInfo", page, page, page)
    client, sleeper = make_client(http, server)
    with secret_scan.raises(RotemConnectionError) as caught:
        await client.get_site()
    assert not isinstance(caught.value, RotemRateLimitError)
    assert sleeper.delays == [1.0, 2.0]
    assert len(cloud.calls("GetSiteControllersInfo")) == 3


async def test_503_then_success(cloud: FakeCloud, server: TestServer, http: Any) -> None:
    """One 503 under load, then the answer: the caller sees only the answer."""
    cloud.add("GetSiteControllersInfo", raw_answer("<html>busy</html>", status=503))
    client, sleeper = make_client(http, server)
    site = await client.get_site()
    assert len(site.houses) == 6
    assert sleeper.delays == [1.0]


@pytest.mark.parametrize(
    ("retry_after", "expected_delay"),
    [
        ("1", 1.0),
        ("3600", 5.0),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),
        ("soon", 1.0),
        ("nan", 1.0),
    ],
)
async def test_429_honours_retry_after_up_to_a_cap(
    cloud: FakeCloud,
    server: TestServer,
    http: Any,
    retry_after: str,
    expected_delay: float,
    *,
    secret_scan: SecretScan,
) -> None:
    """Retry-After (seconds or date, capped at 5 s here) replaces the back-off step."""
    throttled = raw_answer(
        "slow down", status=429, content_type="text/plain", headers={"Retry-After": retry_after}
    )
    cloud.add("GetSiteControllersInfo", throttled, throttled, throttled)
    client, sleeper = make_client(http, server)
    with secret_scan.raises(RotemRateLimitError) as caught:
        await client.get_site()
    assert sleeper.delays[0] == expected_delay
    assert len(sleeper.delays) == 2
    assert len(cloud.calls("GetSiteControllersInfo")) == 3
    if retry_after == "1":
        assert caught.value.retry_after == 1.0


async def test_503_with_retry_after_is_rate_limit(
    cloud: FakeCloud, server: TestServer, http: Any, secret_scan: SecretScan
) -> None:
    """A 503 that says when to come back is throttling, and says so."""
    busy = raw_answer("busy", status=503, headers={"Retry-After": "2"})
    cloud.add("GetSiteControllersInfo", busy, busy, busy)
    client, sleeper = make_client(http, server)
    with secret_scan.raises(RotemRateLimitError):
        await client.get_site()
    assert sleeper.delays == [2.0, 2.0]


@pytest.mark.parametrize(
    ("status", "error"),
    [(500, RotemConnectionError), (502, RotemConnectionError), (400, RotemApiError)],
)
async def test_other_statuses_are_not_retried(
    cloud: FakeCloud,
    server: TestServer,
    http: Any,
    status: int,
    error: type[Exception],
    *,
    secret_scan: SecretScan,
) -> None:
    """5xx other than 503 and 4xx fail at once: no retry storm."""
    cloud.add("GetSiteControllersInfo", raw_answer("<html>oops</html>", status=status))
    client, sleeper = make_client(http, server)
    with secret_scan.raises(error):
        await client.get_site()
    assert sleeper.delays == []
    assert len(cloud.calls("GetSiteControllersInfo")) == 1


async def test_unknown_operation_404(
    cloud: FakeCloud, server: TestServer, http: Any, secret_scan: SecretScan
) -> None:
    """A wrong address (404 page) is a connection problem, not a parse problem."""
    client, _ = make_client(http, server)
    await client.login()
    with secret_scan.raises(RotemConnectionError, match="404"):
        await client._call("NoSuchOperation", {}, lambda data: data)


async def test_html_with_status_200(
    cloud: FakeCloud, server: TestServer, http: Any, secret_scan: SecretScan
) -> None:
    """A maintenance page served with 200 is an outage."""
    cloud.add("GetSiteControllersInfo", raw_answer("\n  <!DOCTYPE html><html></html>"))
    client, _ = make_client(http, server)
    with secret_scan.raises(RotemConnectionError, match="HTML"):
        await client.get_site()


async def test_invalid_json(
    cloud: FakeCloud, server: TestServer, http: Any, secret_scan: SecretScan
) -> None:
    """A cut-off JSON answer is a parse error."""
    cloud.add(
        "GetSiteControllersInfo",
        raw_answer('{"reponseObj": {"FarmHouses": [', content_type="application/json"),
    )
    client, _ = make_client(http, server)
    with secret_scan.raises(RotemParseError):
        await client.get_site()


async def test_timeout(
    cloud: FakeCloud, server: TestServer, http: Any, secret_scan: SecretScan
) -> None:
    """A service that does not answer within request_timeout -> RotemConnectionError."""
    release = asyncio.Event()

    async def hang(_request: web.Request) -> web.Response:
        await release.wait()
        return web.Response(text="{}")

    cloud.add("GetSiteControllersInfo", hang)
    client, _ = make_client(http, server, request_timeout=0.3)
    await client.login()
    try:
        with secret_scan.raises(RotemConnectionError, match="in time"):
            await client.get_site()
    finally:
        release.set()


async def test_connection_refused(http: Any, secret_scan: SecretScan) -> None:
    """Nothing listening -> RotemConnectionError."""
    with socket_free_port() as port:
        client = RotemClient(http, USERNAME, PASSWORD, base_url=f"http://127.0.0.1:{port}")
    with secret_scan.raises(RotemConnectionError):
        await client.login()


class socket_free_port:  # noqa: N801 - used like a function
    """A port that was free a moment ago (bound to port 0, then released)."""

    def __enter__(self) -> int:
        import socket

        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        port: int = self._socket.getsockname()[1]
        return port

    def __exit__(self, *_: object) -> None:
        self._socket.close()


async def test_farm_info_skips_registration_when_alias_known(
    cloud: FakeCloud, server: TestServer, http: Any
) -> None:
    """JsGlobals has the alias: GetFarmRegistration is not called."""
    client, _ = make_client(http, server)
    info = await client.get_farm_info()
    assert info.alias == "<REDACTED_FARM_NAME>"
    assert cloud.calls("GetFarmRegistration") == []
    assert cloud.calls("JsGlobals_GetJsGlobals")[0].body == {}
    assert client.units == info.units


async def test_farm_info_asks_registration_for_the_alias(
    cloud: FakeCloud, server: TestServer, http: Any
) -> None:
    """JsGlobals lacks the alias: GetFarmRegistration provides it."""
    cloud.js_globals["reponseObj"]["GatewayInfo"]["GatewayAliasName"] = None
    client, _ = make_client(http, server)
    info = await client.get_farm_info()
    assert info.alias == "<REDACTED_FARM_NAME>"
    (call,) = cloud.calls("GetFarmRegistration")
    assert call.body == {"prmFarmRegistrationParams": {"GatewayCode": GATEWAY}}


async def test_farm_info_survives_a_failing_registration(
    cloud: FakeCloud, server: TestServer, http: Any
) -> None:
    """A logical failure of GetFarmRegistration leaves the alias unknown, setup goes on."""
    cloud.js_globals["reponseObj"]["GatewayInfo"]["GatewayAliasName"] = ""
    cloud.add("GetFarmRegistration", answer(cloud, envelope(None, isSucceed=False)))
    client, _ = make_client(http, server)
    info = await client.get_farm_info()
    assert info.alias is None
    assert info.gateway_code == "<REDACTED_GATEWAY_NAME>"


async def test_units_convert_site_pressure(cloud: FakeCloud, server: TestServer, http: Any) -> None:
    """After get_farm_info on a mmWC account, the site's pressure is in Pa."""
    settings = cloud.js_globals["reponseObj"]["UserInfo"]["UnitConverterSettings"]
    settings["PressureUnit"] = 4
    client, _ = make_client(http, server)
    raw = (await client.get_site()).houses[1].static_pressure
    info = await client.get_farm_info()
    converted = (await client.get_site()).houses[1].static_pressure
    assert info.units.pressure == "Pa"
    assert raw == 25
    assert converted == pytest.approx(25 * 9.80665, abs=1e-3)


@pytest.mark.parametrize("kind", list(HistoryKind))
async def test_history_request(
    cloud: FakeCloud, server: TestServer, http: Any, kind: HistoryKind
) -> None:
    """RNBL_GetCommandData with the command id and house number as the web app sends them."""
    client, _ = make_client(http, server)
    history = await client.get_history(1, kind)
    assert history.kind is kind
    assert history.rows[-1].partial
    (call,) = cloud.calls("RNBL_GetCommandData")
    params = call.body["prmGetCommandDataParams"]
    assert params["CommandID"] == kind.value
    assert params["HouseNumber"] == "1"
    assert params["RoomNumber"] == -1
    assert params["ClientLanguageIndex"] == 1


async def test_house_details_request(cloud: FakeCloud, server: TestServer, http: Any) -> None:
    """CommandID "0" (a string, as captured) gives the live house page."""
    client, _ = make_client(http, server)
    details = await client.get_house_details(1)
    assert details.heaters is not None
    assert details.heaters.installed == 8
    params = cloud.calls("RNBL_GetCommandData")[0].body["prmGetCommandDataParams"]
    assert params["CommandID"] == "0"


async def test_answer_for_another_house(
    cloud: FakeCloud, server: TestServer, http: Any, secret_scan: SecretScan
) -> None:
    """The capture is house 1: asking for house 3 and getting house 1 is refused."""
    client, _ = make_client(http, server)
    with secret_scan.raises(RotemParseError, match="house 3"):
        await client.get_house_details(3)


async def test_stats_count_requests_logins_and_bytes(
    cloud: FakeCloud, server: TestServer, http: Any
) -> None:
    """Every request, login and byte read is counted; the injected session stays open."""
    client, _ = make_client(http, server)
    assert client.stats == ClientStats()
    await client.get_site()
    await client.get_history(1, HistoryKind.WATER)
    cloud.expire_session()
    await client.get_site()
    assert client.stats == ClientStats(requests=6, logins=2, bytes_received=cloud.bytes_sent)
    assert not http.closed


# ---------------------------------------------------------------------------------------------
# Secrets
# ---------------------------------------------------------------------------------------------

LEAKY = " ".join(SECRETS)
"""A server message that echoes every secret, as a careless service might."""


def leaky_failure(**flags: object) -> dict[str, object]:
    """An envelope whose messages repeat the password and tokens."""
    return envelope(
        None,
        ErrorObj={"ErrorCode": 1, "ErrorMessage": f"bad request {LEAKY}"},
        exceptionMessage=f"trace {LEAKY}",
        **flags,
    )


def relogin_refused(cloud: FakeCloud, refusal: Callable[[web.Request], web.Response]) -> None:
    """The session expires after the first poll and the fresh login is refused."""
    cloud.add("GetSiteControllersInfo", lambda _request: _expire_then_serve(cloud))
    cloud.add("Login", cloud_login(cloud), refusal)


def cloud_login(cloud: FakeCloud) -> Callable[[web.Request], web.Response]:
    """The normal login of the fake cloud, as a scripted step."""
    return lambda _request: cloud.login(cloud.requests[-1].body)


def _expire_then_serve(cloud: FakeCloud) -> web.Response:
    """Serve the site, then forget the session, so the next poll must log in again."""
    response = cloud.json_response(capture_response("GetSiteControllersInfo.json"))
    cloud.expire_session()
    return response


FAILURE_PATHS: dict[str, Callable[[FakeCloud], None]] = {
    "login refused": lambda cloud: relogin_refused(
        cloud, answer(cloud, leaky_failure(isSucceed=False))
    ),
    "login http 401": lambda cloud: relogin_refused(cloud, raw_answer(LEAKY, status=401)),
    "login no farm": lambda cloud: relogin_refused(
        cloud,
        answer(
            cloud,
            envelope(
                login_payload(FarmConnectionInfo={"GatewayName": LEAKY}),
                exceptionMessage=LEAKY,
            ),
        ),
    ),
    "is succeed false": lambda cloud: cloud.add(
        "GetSiteControllersInfo", answer(cloud, leaky_failure(isSucceed=False))
    ),
    "session expired twice": lambda cloud: cloud.add(
        "GetSiteControllersInfo",
        answer(cloud, leaky_failure(isSucceed=False, isAuthorize=False)),
        answer(cloud, leaky_failure(isSucceed=False, isAuthorize=False)),
    ),
    "html 503": lambda cloud: cloud.add(
        "GetSiteControllersInfo", *[raw_answer(f"<html>{LEAKY}</html>", status=503)] * 3
    ),
    "429": lambda cloud: cloud.add(
        "GetSiteControllersInfo",
        *[raw_answer(LEAKY, status=429, headers={"Retry-After": "1"})] * 3,
    ),
    "500": lambda cloud: cloud.add("GetSiteControllersInfo", raw_answer(LEAKY, status=500)),
    "bad json": lambda cloud: cloud.add(
        "GetSiteControllersInfo", raw_answer(f'{{"x": "{LEAKY}"', content_type="text/plain")
    ),
    "wrong shape": lambda cloud: cloud.add(
        "GetSiteControllersInfo", answer(cloud, envelope({"FarmHouses": LEAKY}))
    ),
    "rnbl failure": lambda cloud: None,
    "login refused, username in capitals": lambda cloud: relogin_refused(
        cloud,
        answer(
            cloud,
            envelope(
                None,
                isSucceed=False,
                ErrorObj={"ErrorCode": 1, "ErrorMessage": f"no user {USERNAME.upper()}"},
            ),
        ),
    ),
}


@pytest.mark.parametrize("path", sorted(FAILURE_PATHS))
async def test_no_secret_in_errors_or_logs(
    cloud: FakeCloud,
    server: TestServer,
    http: Any,
    caplog: pytest.LogCaptureFixture,
    path: str,
    *,
    secret_scan: SecretScan,
) -> None:
    """Whatever fails, neither the username, the password, a token nor the cookie shows.

    The server here echoes every secret in its messages; the client must mask them all.
    Login failures happen on the re-login, when the client already holds tokens and a cookie.
    ``secret_scan`` also reads every chained exception, even one ``from None`` hides.
    """
    caplog.set_level(logging.DEBUG)
    FAILURE_PATHS[path](cloud)
    client, _ = make_client(http, server)
    if path.startswith("login"):
        await client.get_site()
    call = client.get_house_details(2) if path == "rnbl failure" else client.get_site()
    with secret_scan.raises(RotemError) as caught:
        await call
    rendered = "".join(traceback.format_exception(caught.value))
    leaked = [*SECRETS, *(f"{COOKIE_PREFIX}{n}" for n in range(1, 4))]
    for secret in leaked:
        assert secret not in str(caught.value)
        assert secret not in repr(caught.value)
        assert secret not in rendered
        assert secret not in caplog.text
    assert json.dumps(caught.value.args)  # the error stays a plain, serialisable message


async def test_masked_error_keeps_no_chained_error(
    cloud: FakeCloud, server: TestServer, http: Any, secret_scan: SecretScan
) -> None:
    """A masked copy drops its cause and its context: both quote the unmasked server text.

    Without this an error tracker, or ``traceback`` with a context shown, would print the
    original message, username and password included.
    """
    relogin_refused(cloud, answer(cloud, leaky_failure(isSucceed=False)))
    client, _ = make_client(http, server)
    await client.get_site()
    with secret_scan.raises(RotemAuthError, match=r"login refused: bad request \*\*\*") as caught:
        await client.get_site()
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None


async def test_clean_error_keeps_its_cause(
    cloud: FakeCloud, server: TestServer, http: Any, secret_scan: SecretScan
) -> None:
    """An error naming no secret keeps its chain, which tells what went wrong underneath."""
    cloud.add("GetSiteControllersInfo", raw_answer('{"x": ', content_type="text/plain"))
    client, _ = make_client(http, server)
    with secret_scan.raises(RotemParseError) as caught:
        await client.get_site()
    assert isinstance(caught.value.__cause__, RotemParseError)
    assert isinstance(caught.value.__cause__.__cause__, ValueError)


# ---------------------------------------------------------------------------------------------
# Where the tokens may go
# ---------------------------------------------------------------------------------------------


@pytest.fixture
async def elsewhere(socket_enabled: None) -> AsyncIterator[tuple[TestServer, list[Recorded]]]:
    """A second server, reached as ``localhost``: another host name than the fake cloud's.

    It records every request, so a test can show no token and no cookie was sent to it.
    """
    received: list[Recorded] = []

    async def record(request: web.Request) -> web.Response:
        received.append(Recorded(request.path, dict(request.headers), dict(request.cookies), None))
        return web.json_response(envelope({}))

    app = web.Application()
    app.router.add_route("POST", "/{tail:.*}", record)
    other = TestServer(app, host="127.0.0.1", port=0)
    await other.start_server()
    yield other, received
    await other.close()


@pytest.mark.parametrize(
    "web_server_url",
    [
        "http://localhost:{port}/Host6_V1/",
        "//localhost:{port}/Host6_V1/",
        "https://rotemnetweb.example/Host6_V1/",
    ],
)
async def test_tokens_never_follow_a_web_server_url_to_another_host(
    cloud: FakeCloud,
    server: TestServer,
    http: Any,
    elsewhere: tuple[TestServer, list[Recorded]],
    web_server_url: str,
    *,
    secret_scan: SecretScan,
) -> None:
    """A login answer naming another host is refused before any service call is sent."""
    other, received = elsewhere
    url = web_server_url.format(port=other.port)
    cloud.login_body = envelope(login_payload(WebServerUrl=url))
    client, _ = make_client(http, server)
    with secret_scan.raises(RotemParseError, match="another host"):
        await client.get_site()
    assert received == []
    assert [call.path.rsplit("/", 1)[-1] for call in cloud.requests] == ["Login"]
    assert client.gateway_code is None


async def test_web_server_url_on_the_same_host_and_another_port_is_followed(
    cloud: FakeCloud,
    server: TestServer,
    http: Any,
    elsewhere: tuple[TestServer, list[Recorded]],
) -> None:
    """The same host (a cookie's scope) on another port and the configured scheme is fine."""
    other, received = elsewhere
    cloud.login_body = envelope(
        login_payload(WebServerUrl=f"http://127.0.0.1:{other.port}/Host6_V1/")
    )
    client, _ = make_client(http, server)
    login = await client.login()
    assert login.web_server_url == f"http://127.0.0.1:{other.port}/Host6_V1/"
    with pytest.raises(RotemParseError):
        await client.get_site()  # the recorder's empty answer is no site
    assert [call.headers["userToken"] for call in received] == [USER_TOKEN]


@pytest.mark.parametrize(
    ("base", "web_server_url", "followed"),
    [
        ("https://rotemnetweb.com/", "https://rotemnetweb.com/Host6_V1/", True),
        ("https://rotemnetweb.com/", "https://ROTEMNETWEB.com:8443/Host6_V1/", True),
        ("https://rotemnetweb.com/", "http://rotemnetweb.com/Host6_V1/", False),
        ("https://rotemnetweb.com/", "https://rotemnetweb.com.evil.example/Host6_V1/", False),
        ("https://rotemnetweb.com/", "https://evil.example/rotemnetweb.com/", False),
        ("https://rotemnetweb.com/", "https://rotemnetweb.com@evil.example/", False),
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080/Host1_V1/", True),
        ("http://127.0.0.1:8080/", "https://127.0.0.1/Host1_V1/", True),
        ("http://127.0.0.1:8080/", "http://localhost:8080/Host1_V1/", False),
    ],
)
def test_which_web_server_urls_are_followed(base: str, web_server_url: str, followed: bool) -> None:
    """Only the configured host, over https or over the configured URL's own scheme.

    The check on its own, for the addresses no test server here can stand for (https, a
    public host); the tests above run it over a real login.
    """
    client = RotemClient(None, USERNAME, PASSWORD, base_url=base)  # type: ignore[arg-type]
    if followed:
        client._check_web_server_url(web_server_url)
    else:
        with pytest.raises(RotemParseError, match=r"another host|not https"):
            client._check_web_server_url(web_server_url)
