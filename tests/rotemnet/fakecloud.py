"""The real captures and a fake RotemNetWeb cloud for the client tests.

The fake cloud is deliberately small: it serves the captures with the protocol's checks
(tokens, cookie), and lets a test script answers per operation. The full simulator lives in
``simulator/`` and has its own tests.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.captures import CAPTURES

USERNAME = "farmer@example.com"
PASSWORD = "pw-TOP-secret-7731!"
USER_TOKEN = "eyJ-USER-TOKEN-4f1c9e"
CONNECTION_TOKEN = "conn-TOKEN-8d2b77"
GATEWAY = "GW-12345"
HOST_PATH = "/Host6_V1/"
COOKIE_PREFIX = "sess-COOKIE-"
"""Every session cookie the fake cloud hands out starts with this (then a counter)."""
SECRETS = (USERNAME, PASSWORD, USER_TOKEN, CONNECTION_TOKEN)
"""What must never show in a log line or an exception (with any cookie)."""


@functools.cache
def _capture_text(name: str) -> str:
    """The text of a capture file, read once per test run."""
    return (CAPTURES / name).read_text(encoding="utf-8")


def load_capture(name: str) -> dict[str, Any]:
    """One capture file (with its request and response), a fresh copy each time."""
    data: dict[str, Any] = json.loads(_capture_text(name))
    return data


def capture_response(name: str) -> dict[str, Any]:
    """The response body of one capture."""
    response: dict[str, Any] = load_capture(name)["response"]
    return response


OPERATION_CAPTURES = {
    "GetSiteControllersInfo": "GetSiteControllersInfo.json",
    "JsGlobals_GetJsGlobals": "JsGlobals_GetJsGlobals.json",
    "GetFarmRegistration": "GetFarmRegistration.json",
}
COMMAND_CAPTURES = {
    "0": "RNBL_GetCommandData-cmd0-general.json",
    "35": "RNBL_GetCommandData-cmd35-temperature-history.json",
    "40": "RNBL_GetCommandData-cmd40-water-history.json",
    "41": "RNBL_GetCommandData-cmd41-feed-history.json",
    "43": "RNBL_GetCommandData-cmd43-heater-history.json",
}


def envelope(payload: object, **overrides: object) -> dict[str, object]:
    """A successful envelope around ``payload`` (spelling ``reponseObj``, as the service)."""
    body: dict[str, object] = {
        "reponseObj": payload,
        "ErrorObj": {"ErrorCode": 0, "ErrorMessage": ""},
        "exceptionMessage": None,
        "isInSession": True,
        "isAuthorize": True,
        "isSucceed": True,
        "contextId": "",
    }
    body.update(overrides)
    return body


def login_payload(**overrides: object) -> dict[str, object]:
    """The ``reponseObj`` of a successful login."""
    payload: dict[str, object] = {
        "FarmUser": {"UserToken": USER_TOKEN, "DisplayName": "Farmer"},
        "FarmConnectionInfo": {"ConnectionToken": CONNECTION_TOKEN, "GatewayName": GATEWAY},
        "WebServerUrl": HOST_PATH,
    }
    payload.update(overrides)
    return payload


@dataclass
class Recorded:
    """One request the fake cloud received."""

    path: str
    headers: dict[str, str]
    cookies: dict[str, str]
    body: Any


type Handler = Callable[[web.Request], Awaitable[web.StreamResponse] | web.StreamResponse]


@dataclass
class FakeCloud:
    """A RotemNetWeb stand-in on 127.0.0.1 with scripted deviations."""

    session_counter: int = 0
    session_id: str = ""
    login_body: dict[str, object] = field(
        default_factory=lambda: envelope(login_payload(), contextId="")
    )
    set_cookie: bool = True
    requests: list[Recorded] = field(default_factory=list)
    script: dict[str, list[Handler]] = field(default_factory=dict)
    bytes_sent: int = 0
    js_globals: dict[str, Any] = field(
        default_factory=lambda: capture_response("JsGlobals_GetJsGlobals.json")
    )

    def add(self, operation: str, *handlers: Handler) -> None:
        """Answer the next calls of ``operation`` with these handlers, in order."""
        self.script.setdefault(operation, []).extend(handlers)

    def expire_session(self) -> None:
        """Forget the server session, as the cloud does after a while."""
        self.session_id = "expired"

    def calls(self, operation: str) -> list[Recorded]:
        """Requests of one operation (the last path segment)."""
        return [r for r in self.requests if r.path.rsplit("/", 1)[-1] == operation]

    def json_response(self, body: object, *, status: int = 200, bom: bool = False) -> web.Response:
        """A JSON answer, counted in ``bytes_sent``."""
        raw = json.dumps(body).encode()
        if bom:
            raw = b"\xef\xbb\xbf" + raw
        self.bytes_sent += len(raw)
        return web.Response(body=raw, status=status, content_type="application/json")

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Route every POST: login paths, then scripted answers, then the captures."""
        raw = await request.read()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        self.requests.append(
            Recorded(
                path=request.path,
                headers=dict(request.headers),
                cookies=dict(request.cookies),
                body=body,
            )
        )
        operation = request.path.rsplit("/", 1)[-1]
        scripted = self.script.get(operation)
        if scripted:
            answer = scripted.pop(0)(request)
            return await answer if isinstance(answer, Awaitable) else answer
        if operation == "Login":
            return self.login(body)
        return self.service(request, operation, body)

    def login(self, body: Any) -> web.Response:
        """Accept the test credentials and open a new server session."""
        if not isinstance(body, dict) or body.get("prmPassword") != PASSWORD:
            return self.json_response(
                envelope(
                    None,
                    isSucceed=False,
                    isAuthorize=False,
                    ErrorObj={"ErrorCode": 1, "ErrorMessage": "Login failed"},
                )
            )
        self.session_counter += 1
        self.session_id = f"{COOKIE_PREFIX}{self.session_counter}"
        response = self.json_response(self.login_body)
        if self.set_cookie:
            response.set_cookie("ASP.NET_SessionId", self.session_id, httponly=True, path="/")
        return response

    def service(self, request: web.Request, operation: str, body: Any) -> web.Response:
        """Check the session like the cloud, then answer from the captures."""
        authorized = (
            request.headers.get("userToken") == USER_TOKEN
            and request.headers.get("farmConnectionToken") == CONNECTION_TOKEN
        )
        in_session = request.cookies.get("ASP.NET_SessionId") == self.session_id
        if not authorized or not in_session:
            return self.json_response(
                envelope(None, isSucceed=False, isAuthorize=authorized, isInSession=in_session)
            )
        if operation == "RNBL_GetCommandData":
            params = body["prmGetCommandDataParams"]
            capture = capture_response(COMMAND_CAPTURES[str(params["CommandID"])])
            return self.json_response(capture)
        if operation == "JsGlobals_GetJsGlobals":
            return self.json_response(self.js_globals)
        if operation in OPERATION_CAPTURES:
            return self.json_response(capture_response(OPERATION_CAPTURES[operation]))
        return web.Response(status=404, text="<html>not found</html>", content_type="text/html")


def base_url(server: TestServer) -> str:
    """The fake cloud's root URL with a trailing slash."""
    return str(server.make_url("/"))
