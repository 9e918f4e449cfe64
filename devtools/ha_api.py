"""Home Assistant's websocket API, minimal: authenticate, then request/response commands.

Also the errors and the onboarding tokens every other part of `devtools` that talks to HA uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aiohttp

from devtools.processes import ServiceError


class HomeAssistantError(ServiceError):
    """The HA process or one of its APIs did not do what the caller needed."""


@dataclass
class Tokens:
    """Credentials obtained by onboarding; `long_lived` is what helpers and the analyzer use."""

    access_token: str
    refresh_token: str
    long_lived: str
    client_id: str
    expires_in: int = 1800


class HAWebSocket:
    """A minimal client for HA's websocket API: authenticate, then request/response commands."""

    def __init__(self, session: aiohttp.ClientSession, url: str, access_token: str) -> None:
        self._session = session
        self._url = url.replace("http", "ws", 1) + "/api/websocket"
        self._token = access_token
        self._socket: aiohttp.ClientWebSocketResponse | None = None
        self._next_id = 1

    async def __aenter__(self) -> HAWebSocket:
        self._socket = await self._session.ws_connect(self._url, max_msg_size=0)
        hello = await self._socket.receive_json()
        if hello.get("type") != "auth_required":
            raise HomeAssistantError(f"unexpected websocket greeting {hello.get('type')}")
        await self._socket.send_json({"type": "auth", "access_token": self._token})
        reply = await self._socket.receive_json()
        if reply.get("type") != "auth_ok":
            raise HomeAssistantError("websocket authentication refused")
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._socket is not None:
            await self._socket.close()

    async def command(self, command: str, **payload: Any) -> Any:
        """Send a command and return its `result`; HA's error becomes HomeAssistantError."""
        if self._socket is None:
            raise HomeAssistantError("websocket not connected")
        message_id = self._next_id
        self._next_id += 1
        await self._socket.send_json({"id": message_id, "type": command, **payload})
        while True:
            reply = await self._socket.receive_json(timeout=60)
            if reply.get("id") != message_id or reply.get("type") != "result":
                continue
            if not reply.get("success"):
                raise HomeAssistantError(f"{command}: {reply.get('error')}")
            return reply.get("result")

    async def first_event(self, command: str, **payload: Any) -> dict[str, Any]:
        """Subscribe with `command` and return the first event (a subscription's snapshot)."""
        if self._socket is None:
            raise HomeAssistantError("websocket not connected")
        message_id = self._next_id
        self._next_id += 1
        await self._socket.send_json({"id": message_id, "type": command, **payload})
        while True:
            reply = await self._socket.receive_json(timeout=60)
            if reply.get("id") != message_id:
                continue
            if reply.get("type") == "result" and not reply.get("success"):
                raise HomeAssistantError(f"{command}: {reply.get('error')}")
            if reply.get("type") == "event":
                event: dict[str, Any] = reply.get("event", {})
                return event
