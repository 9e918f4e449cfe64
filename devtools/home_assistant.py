"""A real Home Assistant process for end-to-end tests and the demo.

Unit tests run HA inside pytest; that cannot show what a user lives: the config flow over HTTP, the
frontend, the recorder, the InfluxDB writer, a restart. This module starts `hass` as a child
process with a generated configuration (`ha_config`), onboards it over the REST API like the
frontend does, and offers small REST/websocket helpers (`ha_api`). Everything it starts lives in
its own process group, so `stop()` leaves nothing running even when HA hangs.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aiohttp

from devtools.ha_api import HAWebSocket, HomeAssistantError, Tokens
from devtools.ha_config import HAConfig, write_config
from devtools.processes import stop_process_group, venv_python, wait_until

#: Integrations onboarding adds that need the internet (see `_remove_onboarding_extras`).
ONBOARDING_EXTRAS = frozenset({"google_translate", "met", "radio_browser"})


class HomeAssistantProcess:
    """One `hass` child process with its config dir; start, onboard, talk to it, stop it."""

    def __init__(
        self,
        config_dir: Path,
        config: HAConfig | None = None,
        *,
        python: str | None = None,
    ) -> None:
        self.config_dir = config_dir
        self.config = config or HAConfig()
        self.python = python or venv_python()
        self.process: subprocess.Popen[bytes] | None = None
        self.tokens: Tokens | None = None
        self._session: aiohttp.ClientSession | None = None

    @property
    def url(self) -> str:
        """Base URL of HA's HTTP server, without a trailing slash."""
        return f"http://127.0.0.1:{self.config.port}"

    @property
    def log_path(self) -> Path:
        """HA's own log file (what to read when something fails)."""
        return self.config_dir / "home-assistant.log"

    def log_tail(self, lines: int = 60) -> str:
        """The end of HA's log, for failure messages."""
        if not self.log_path.exists():
            return "(no log yet)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    # ---- lifecycle ------------------------------------------------------------------------

    async def start(self, within: float = 240) -> None:
        """Write the configuration, start `hass` and wait until HA reports it is running."""
        write_config(self.config_dir, self.config)
        self.process = self._spawn()
        await wait_until(self._http_ready, within=within, what="Home Assistant's HTTP server")
        if self.tokens is not None:
            await wait_until(self._core_running, within=within, what="Home Assistant to run")

    def _spawn(self) -> subprocess.Popen[bytes]:
        """Run `hass` in its own session (process group) with its output in the config dir."""
        with (self.config_dir / "hass.stdout.log").open("ab") as stdout:
            return subprocess.Popen(
                [
                    self.python,
                    "-m",
                    "homeassistant",
                    "-c",
                    str(self.config_dir),
                    "--skip-pip",
                    "--log-no-color",
                    "--ignore-os-check",
                ],
                stdout=stdout,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                cwd=self.config_dir,
            )

    async def _http_ready(self) -> bool:
        self._check_alive()
        async with self.session.get(f"{self.url}/manifest.json") as response:
            return response.status == 200

    async def _core_running(self) -> bool:
        self._check_alive()
        config = await self.rest("GET", "/api/config")
        return bool(config.get("state") == "RUNNING")

    def _check_alive(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(
                f"Home Assistant exited with code {self.process.returncode}:\n{self.log_tail()}"
            )

    async def stop(self, within: float = 60) -> None:
        """Stop HA gracefully (SIGTERM), then kill its whole process group if it lingers."""
        if self._session is not None:
            await self._session.close()
            self._session = None
        process, self.process = self.process, None
        if process is None:
            return
        await asyncio.to_thread(stop_process_group, process, within)

    async def restart(self, within: float = 240) -> None:
        """Stop and start again with the same configuration, port and tokens."""
        await self.stop()
        await self.start(within)

    @property
    def session(self) -> aiohttp.ClientSession:
        """HTTP session bound to the current event loop (created on first use)."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))
        return self._session

    # ---- onboarding and auth ----------------------------------------------------------------

    async def onboard(
        self, username: str, password: str, name: str = "Farmer", language: str = "en"
    ) -> Tokens:
        """Walk through onboarding like the frontend: user, core config, analytics, integration.

        Returns the user's tokens plus a long-lived token (what the analyzer and helpers use).
        """
        client_id = f"{self.url}/"
        redirect_uri = f"{client_id}?auth_callback=1"
        async with self.session.post(
            f"{self.url}/api/onboarding/users",
            json={
                "client_id": client_id,
                "name": name,
                "username": username,
                "password": password,
                "language": language,
            },
        ) as response:
            if response.status != 200:
                raise HomeAssistantError(f"onboarding user step: HTTP {response.status}")
            auth_code = (await response.json())["auth_code"]
        token = await self._exchange_code(auth_code, client_id)
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        for step, payload in (
            ("core_config", {}),
            ("analytics", {}),
            ("integration", {"client_id": client_id, "redirect_uri": redirect_uri}),
        ):
            async with self.session.post(
                f"{self.url}/api/onboarding/{step}", json=payload, headers=headers
            ) as response:
                if response.status != 200:
                    raise HomeAssistantError(f"onboarding {step} step: HTTP {response.status}")
        self.tokens = Tokens(
            access_token=token["access_token"],
            refresh_token=token["refresh_token"],
            long_lived="",
            client_id=client_id,
            expires_in=int(token.get("expires_in", 1800)),
        )
        self.tokens.long_lived = await self._long_lived_token(token["access_token"])
        await wait_until(self._core_running, within=120, what="Home Assistant to run")
        await self._remove_onboarding_extras()
        return self.tokens

    async def _remove_onboarding_extras(self) -> None:
        """Delete entries onboarding creates for internet services this offline HA cannot reach.

        The core-config step starts flows for Google Translate, Met.no and Radio Browser; they
        would only fail and retry here, filling the log and the integrations page with errors.
        """
        for entry in await self.config_entries():
            if entry["domain"] in ONBOARDING_EXTRAS:
                await self.rest("DELETE", f"/api/config/config_entries/entry/{entry['entry_id']}")

    async def login(self, username: str, password: str) -> dict[str, Any]:
        """Log in through the login flow (what the login form does); returns a token response."""
        client_id = f"{self.url}/"
        async with self.session.post(
            f"{self.url}/auth/login_flow",
            json={
                "client_id": client_id,
                "handler": ["homeassistant", None],
                "redirect_uri": f"{client_id}?auth_callback=1",
            },
        ) as response:
            flow = await response.json()
        async with self.session.post(
            f"{self.url}/auth/login_flow/{flow['flow_id']}",
            json={"client_id": client_id, "username": username, "password": password},
        ) as response:
            result = await response.json()
        if result.get("type") != "create_entry":
            raise HomeAssistantError("login refused")
        return await self._exchange_code(result["result"], client_id)

    async def _exchange_code(self, code: str, client_id: str) -> dict[str, Any]:
        async with self.session.post(
            f"{self.url}/auth/token",
            data={"grant_type": "authorization_code", "code": code, "client_id": client_id},
        ) as response:
            if response.status != 200:
                raise HomeAssistantError(f"token exchange: HTTP {response.status}")
            token: dict[str, Any] = await response.json()
            return token

    async def _long_lived_token(self, access_token: str) -> str:
        async with HAWebSocket(self.session, self.url, access_token) as ws:
            token: str = await ws.command(
                "auth/long_lived_access_token", client_name="rotem-farm-e2e", lifespan=3650
            )
            return token

    # ---- REST and websocket helpers ---------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        if self.tokens is None:
            raise HomeAssistantError("not onboarded: no token yet")
        return {"Authorization": f"Bearer {self.tokens.long_lived}"}

    async def rest(self, method: str, path: str, payload: Any = None) -> Any:
        """Call HA's REST API; raise HomeAssistantError with HA's message on an HTTP error."""
        async with self.session.request(
            method, f"{self.url}{path}", json=payload, headers=self._headers()
        ) as response:
            text = await response.text()
            if response.status >= 400:
                raise HomeAssistantError(f"{method} {path}: HTTP {response.status}: {text[:500]}")
            if not text:
                return None
            with contextlib.suppress(ValueError):
                return await response.json(content_type=None)
            return text

    def websocket(self) -> HAWebSocket:
        """An authenticated websocket connection (use with `async with`)."""
        return HAWebSocket(self.session, self.url, self._headers()["Authorization"][7:])

    async def ws(self, command: str, **payload: Any) -> Any:
        """Send one websocket command on a fresh connection and return its result."""
        async with self.websocket() as connection:
            return await connection.command(command, **payload)

    async def states(self) -> list[dict[str, Any]]:
        """All entity states."""
        result: list[dict[str, Any]] = await self.rest("GET", "/api/states")
        return result

    async def state(self, entity_id: str) -> dict[str, Any] | None:
        """One entity's state, or None when HA does not know it."""
        try:
            result: dict[str, Any] = await self.rest("GET", f"/api/states/{entity_id}")
        except HomeAssistantError as err:
            if "HTTP 404" in str(err):
                return None
            raise
        return result

    async def call_service(
        self, domain: str, service: str, data: Mapping[str, Any] | None = None
    ) -> Any:
        """Call a service over REST (as the analyzer does)."""
        return await self.rest("POST", f"/api/services/{domain}/{service}", dict(data or {}))

    async def flow_start(self, handler: str, *, advanced: bool = False) -> dict[str, Any]:
        """Start a config flow; `advanced` shows advanced options (advanced-mode users)."""
        result: dict[str, Any] = await self.rest(
            "POST",
            "/api/config/config_entries/flow",
            {"handler": handler, "show_advanced_options": advanced},
        )
        return result

    async def flow_step(self, flow_id: str, data: Mapping[str, Any]) -> dict[str, Any]:
        """Submit one step (a form's data, or `{"next_step_id": ...}` for a menu)."""
        result: dict[str, Any] = await self.rest(
            "POST", f"/api/config/config_entries/flow/{flow_id}", dict(data)
        )
        return result

    async def options_flow_start(self, entry_id: str) -> dict[str, Any]:
        """Start an entry's options flow."""
        result: dict[str, Any] = await self.rest(
            "POST", "/api/config/config_entries/options/flow", {"handler": entry_id}
        )
        return result

    async def options_flow_step(self, flow_id: str, data: Mapping[str, Any]) -> dict[str, Any]:
        """Submit one options-flow step."""
        result: dict[str, Any] = await self.rest(
            "POST", f"/api/config/config_entries/options/flow/{flow_id}", dict(data)
        )
        return result

    async def config_entries(self, domain: str | None = None) -> list[dict[str, Any]]:
        """Config entries, optionally of one integration."""
        query = f"?domain={domain}" if domain else ""
        result: list[dict[str, Any]] = await self.rest(
            "GET", f"/api/config/config_entries/entry{query}"
        )
        return result

    async def notifications(self) -> dict[str, dict[str, Any]]:
        """Current persistent notifications by id (they are not entities since HA 2023.6)."""
        async with self.websocket() as connection:
            event = await connection.first_event("persistent_notification/subscribe")
        notifications: dict[str, dict[str, Any]] = event.get("notifications", {})
        return notifications

    async def entity_registry(self) -> list[dict[str, Any]]:
        """Entity registry entries (websocket `config/entity_registry/list`)."""
        result: list[dict[str, Any]] = await self.ws("config/entity_registry/list")
        return result

    async def device_registry(self) -> list[dict[str, Any]]:
        """Device registry entries (websocket `config/device_registry/list`)."""
        result: list[dict[str, Any]] = await self.ws("config/device_registry/list")
        return result
