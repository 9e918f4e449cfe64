"""Home Assistant client: REST for service calls, one websocket for registry and recorder queries.

Works the same with a long-lived access token against `http://host:8123` (Container/Core
installs) and with the add-on's SUPERVISOR_TOKEN against `http://supervisor/core`, whose
websocket lives at `/core/websocket` instead of `/api/websocket`. Errors are split by what the
caller should do: `HomeAssistantConnectionError` → back off and retry, `HomeAssistantAuthError`
→ the token is wrong (retrying will not help, but the loop keeps trying so a fixed token is
picked up), `HomeAssistantCommandError` → HA understood and refused one request. An answer that
is not shaped as HA's API says (a proxy's HTML page with status 200, a websocket message that is
not an object) is `HomeAssistantAnswerError`, a connection error: HA is starting or something
stands between us. So is a failing name lookup, whatever the resolver raises (aiodns/pycares may
raise a TypeError). The token never appears in an exception message or a log line, and URLs
are shown without their userinfo (`config.mask_url`).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections.abc import Mapping
from typing import Any

import aiohttp

from ml_analyzer.config import SUPERVISOR_URL, mask_url, without_userinfo
from ml_analyzer.readers import CONNECT_ERRORS, connect_reason

_LOGGER = logging.getLogger(__name__)

REQUEST_TIMEOUT = aiohttp.ClientTimeout(total=60)
WEBSOCKET_TIMEOUT = 120.0


class HomeAssistantError(Exception):
    """Base class of everything this client raises."""


class HomeAssistantConnectionError(HomeAssistantError):
    """HA cannot be reached or answered with a server error: retry later."""


class HomeAssistantAnswerError(HomeAssistantConnectionError):
    """HA (or a proxy in front of it) answered something that is not HA's API: retry later."""


class HomeAssistantAuthError(HomeAssistantError):
    """HA rejected the token."""


class HomeAssistantCommandError(HomeAssistantError):
    """HA refused one request (bad service data, unknown command)."""

    def __init__(self, message: str, status: int | None = None, body: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.body = body


def api_urls(url: str) -> tuple[str, str]:
    """REST base and websocket URL for an HA base URL (the Supervisor proxy differs).

    `user:password@` in the URL is dropped: HA authenticates with the bearer token, and aiohttp
    refuses a request carrying both (a ValueError, not a connection problem).
    """
    base = without_userinfo(url).rstrip("/")
    rest = f"{base}/api"
    websocket_path = "/websocket" if base == SUPERVISOR_URL else "/api/websocket"
    websocket = base.replace("https://", "wss://", 1).replace("http://", "ws://", 1)
    return rest, websocket + websocket_path


def _snippet(body: str) -> str:
    """The start of an error answer for a log line: HA's message, not a whole HTML page."""
    text = " ".join(body.split())
    return text[:200] + ("…" if len(text) > 200 else "")


def command_result(command_type: str, answer: Mapping[str, Any]) -> Any:
    """The `result` of HA's answer to a websocket command, or the typed refusal.

    Anything short of `success: true` is a refusal; an `error` that is not an object (HA always
    sends one) is still shown, never an AttributeError.
    """
    if answer.get("success") is not True:
        error = answer.get("error")
        if not isinstance(error, Mapping):
            error = {"message": error}
        raise HomeAssistantCommandError(
            f"HA refused {command_type}: {error.get('code')}: {str(error.get('message'))[:300]}"
        )
    return answer.get("result")


class HomeAssistantClient:
    """Talks to one HA instance; the session is injected and never closed here."""

    def __init__(
        self, session: aiohttp.ClientSession, url: str, token: str, *, verify_ssl: bool = True
    ) -> None:
        self._session = session
        self._token = token
        self._ssl = verify_ssl
        self.rest_url, self.websocket_url = api_urls(url)
        self._websocket: aiohttp.ClientWebSocketResponse | None = None
        self._lock = asyncio.Lock()
        self._ids = itertools.count(1)

    @property
    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}", "Content-Type": "application/json"}

    async def call_service(self, domain: str, service: str, data: Mapping[str, Any]) -> Any:
        """POST /api/services/<domain>/<service>; returns HA's JSON answer."""
        url = f"{self.rest_url}/services/{domain}/{service}"
        where = mask_url(self.rest_url)
        try:
            response = await self._session.post(
                url, json=data, headers=self._headers, timeout=REQUEST_TIMEOUT, ssl=self._ssl
            )
        except CONNECT_ERRORS as err:
            raise HomeAssistantConnectionError(
                f"HA unreachable at {where}: {connect_reason(err)}"
            ) from None
        try:
            async with response:
                body = await response.text(errors="replace")
        except (aiohttp.ClientError, TimeoutError) as err:
            raise HomeAssistantConnectionError(
                f"HA unreachable at {where}: {type(err).__name__}"
            ) from None
        if response.status in (401, 403):
            raise HomeAssistantAuthError(f"HA rejected the token ({response.status})")
        # 502-504 come from a proxy (the Supervisor) while Core is down: retry later.
        # A 500 is Core itself failing this call (HA's REST API answers a service's
        # validation error with 500), so it is a refusal of this request.
        if response.status in (502, 503, 504):
            raise HomeAssistantConnectionError(
                f"HA answered {response.status} to {domain}.{service}"
            )
        if response.status >= 400:
            raise HomeAssistantCommandError(
                f"HA refused {domain}.{service} ({response.status}): {_snippet(body)}",
                status=response.status,
                body=body,
            )
        if not body:
            return None
        try:
            return json.loads(body)
        except ValueError:
            raise HomeAssistantAnswerError(
                f"HA answered {domain}.{service} with {response.status} but not with JSON "
                f"({response.content_type}): a proxy or a starting HA"
            ) from None

    async def _connect(self) -> aiohttp.ClientWebSocketResponse:
        where = mask_url(self.websocket_url)
        try:
            websocket = await self._session.ws_connect(
                self.websocket_url, max_msg_size=0, heartbeat=55, ssl=self._ssl
            )
        except CONNECT_ERRORS as err:
            raise HomeAssistantConnectionError(
                f"HA websocket unreachable at {where}: {connect_reason(err)}"
            ) from None
        try:
            hello = await websocket.receive_json(timeout=WEBSOCKET_TIMEOUT)
            if isinstance(hello, dict) and hello.get("type") == "auth_required":
                await websocket.send_json({"type": "auth", "access_token": self._token})
                hello = await websocket.receive_json(timeout=WEBSOCKET_TIMEOUT)
            if not isinstance(hello, dict) or hello.get("type") not in ("auth_ok", "auth_invalid"):
                raise HomeAssistantAnswerError(f"HA websocket at {where} did not answer as HA does")
            if hello.get("type") != "auth_ok":
                raise HomeAssistantAuthError("HA websocket rejected the token")
        except (aiohttp.ClientError, TimeoutError, TypeError, ValueError) as err:
            await websocket.close()
            raise HomeAssistantConnectionError(
                f"HA websocket handshake failed: {type(err).__name__}"
            ) from None
        except HomeAssistantError:
            await websocket.close()
            raise
        return websocket

    async def command(self, command_type: str, **payload: Any) -> Any:
        """Send one websocket command and return its `result` (one command at a time)."""
        async with self._lock:
            if self._websocket is None or self._websocket.closed:
                self._websocket = await self._connect()
            websocket = self._websocket
            message_id = next(self._ids)
            try:
                await websocket.send_json({"id": message_id, "type": command_type, **payload})
                while True:
                    message = await websocket.receive(timeout=WEBSOCKET_TIMEOUT)
                    if message.type != aiohttp.WSMsgType.TEXT:
                        raise HomeAssistantConnectionError(
                            f"HA websocket closed during {command_type}"
                        )
                    answer = json.loads(message.data)
                    if not isinstance(answer, dict):
                        raise HomeAssistantAnswerError(
                            f"HA sent a websocket message that is not an object "
                            f"during {command_type}"
                        )
                    if answer.get("id") == message_id and answer.get("type") == "result":
                        break
            except (aiohttp.ClientError, TimeoutError, ValueError) as err:
                await self._drop_websocket()
                raise HomeAssistantConnectionError(
                    f"HA websocket failed during {command_type}: {type(err).__name__}"
                ) from None
            except HomeAssistantConnectionError:
                await self._drop_websocket()
                raise
        return command_result(command_type, answer)

    async def _drop_websocket(self) -> None:
        if self._websocket is not None:
            await self._websocket.close()
        self._websocket = None

    async def close(self) -> None:
        """Close the websocket (the HTTP session belongs to the caller)."""
        async with self._lock:
            await self._drop_websocket()
