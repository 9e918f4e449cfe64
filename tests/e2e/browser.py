"""Headless Chromium driven over the DevTools protocol, to look at the real HA frontend.

Only the Debian `chromium` binary and aiohttp's websocket client are used: no npm, no browser
downloads, no Selenium. The frontend renders inside nested shadow roots, so page text is collected
by walking them (`DEEP_TEXT_JS`) instead of reading `document.body.innerText`.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import aiohttp

from devtools.processes import stop_process_group

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
)

#: All text of the page including every open shadow root, whitespace collapsed.
DEEP_TEXT_JS = """(() => {
  const parts = [];
  const walk = (node) => {
    if (!node) return;
    if (node.nodeType === Node.TEXT_NODE) { parts.push(node.textContent); return; }
    if (node.nodeName === 'STYLE' || node.nodeName === 'SCRIPT') return;
    if (node.shadowRoot) walk(node.shadowRoot);
    for (const child of node.childNodes) walk(child);
  };
  walk(document.documentElement);
  return parts.join(' ').replace(/\\s+/g, ' ');
})()"""


def chromium_binary() -> str | None:
    """The Chromium executable installed by scripts/setup, if any."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


class Browser:
    """One headless Chromium with a fresh profile and one page, controlled over DevTools."""

    def __init__(self, width: int = 1600, height: int = 1200) -> None:
        self.width = width
        self.height = height
        self._profile = tempfile.TemporaryDirectory(prefix="rotem-chromium-")
        self._process: subprocess.Popen[bytes] | None = None
        self._session: aiohttp.ClientSession | None = None
        self._socket: aiohttp.ClientWebSocketResponse | None = None
        self._next_id = 1

    async def __aenter__(self) -> Browser:
        binary = chromium_binary()
        if binary is None:
            raise RuntimeError("chromium is not installed (scripts/setup installs it)")
        self._process = self._spawn(binary)
        port = await asyncio.to_thread(self._devtools_port)
        self._session = aiohttp.ClientSession()
        async with self._session.get(f"http://127.0.0.1:{port}/json/list") as response:
            targets = await response.json()
        page = next(target for target in targets if target.get("type") == "page")
        self._socket = await self._session.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0)
        await self.send("Page.enable")
        await self.send("Runtime.enable")
        await self.send(
            "Emulation.setDeviceMetricsOverride",
            width=self.width,
            height=self.height,
            deviceScaleFactor=1,
            mobile=False,
        )
        # Charts animate their lines in; a screenshot mid-animation shows half a day.
        await self.send(
            "Emulation.setEmulatedMedia",
            features=[{"name": "prefers-reduced-motion", "value": "reduce"}],
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._socket is not None:
            await self._socket.close()
        if self._session is not None:
            await self._session.close()
        if self._process is not None:
            await asyncio.to_thread(stop_process_group, self._process, 10)
        self._profile.cleanup()

    def _spawn(self, binary: str) -> subprocess.Popen[bytes]:
        log = Path(self._profile.name) / "chromium.log"
        with log.open("wb") as output:
            return subprocess.Popen(
                [
                    binary,
                    *CHROMIUM_FLAGS,
                    f"--user-data-dir={self._profile.name}/profile",
                    f"--window-size={self.width},{self.height}",
                    "about:blank",
                ],
                stdout=subprocess.DEVNULL,
                stderr=output,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def _devtools_port(self) -> int:
        """Chromium writes the port it chose to DevToolsActivePort in the profile."""
        port_file = Path(self._profile.name) / "profile" / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                log = (Path(self._profile.name) / "chromium.log").read_text(errors="replace")
                raise RuntimeError(f"chromium exited: {log[-2000:]}")
            with contextlib.suppress(FileNotFoundError, ValueError, IndexError):
                return int(port_file.read_text().splitlines()[0])
            time.sleep(0.1)
        raise RuntimeError("chromium did not open its DevTools port within 30 s")

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        """Send one DevTools command and return its result (events in between are dropped)."""
        if self._socket is None:
            raise RuntimeError("browser not started")
        message_id = self._next_id
        self._next_id += 1
        request = {"id": message_id, "method": method, "params": params}
        await self._socket.send_str(json.dumps(request))
        while True:
            message = json.loads(await self._socket.receive_str(timeout=60))
            if message.get("id") != message_id:
                continue
            if "error" in message:
                raise RuntimeError(f"{method}: {message['error']}")
            result: dict[str, Any] = message.get("result", {})
            return result

    async def navigate(self, url: str) -> None:
        """Open a URL in the page (returns when navigation is committed, not when rendered)."""
        await self.send("Page.navigate", url=url)

    async def evaluate(self, expression: str) -> Any:
        """Evaluate JavaScript in the page and return its JSON value."""
        result = await self.send(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            description = details.get("exception", {}).get("description") or details.get("text")
            raise RuntimeError(f"page script failed: {description}")
        return result.get("result", {}).get("value")

    async def text(self) -> str:
        """All visible text of the page, shadow roots included."""
        value = await self.evaluate(DEEP_TEXT_JS)
        return str(value or "")

    async def stable_screenshot(self, path: Path, attempts: int = 20) -> bytes:
        """A screenshot once two in a row are identical (rendering settled), saved to `path`."""
        previous = b""
        for _ in range(attempts):
            result = await self.send("Page.captureScreenshot", format="png")
            data = base64.b64decode(result["data"])
            if data == previous:
                break
            previous = data
            await asyncio.sleep(0.5)
        else:
            raise RuntimeError(f"the page kept changing over {attempts} screenshots")
        await asyncio.to_thread(_write, path, data)
        return data

    async def screenshot(self, path: Path) -> bytes:
        """Save a PNG of the viewport to `path` and return its bytes."""
        result = await self.send("Page.captureScreenshot", format="png")
        data = base64.b64decode(result["data"])
        await asyncio.to_thread(_write, path, data)
        return data


async def log_in_with_tokens(
    browser: Browser, ha_url: str, tokens: dict[str, Any], client_id: str
) -> None:
    """Give the frontend a session the way it stores one itself: `hassTokens` in localStorage.

    The page must be on HA's origin before localStorage can be written, hence the first visit.
    """
    await browser.navigate(f"{ha_url}/manifest.json")
    stored = {
        "hassUrl": ha_url,
        "clientId": client_id,
        "access_token": tokens["access_token"],
        "refresh_token": tokens["refresh_token"],
        "token_type": "Bearer",
        "expires_in": tokens.get("expires_in", 1800),
        # Already expired: the frontend refreshes it with the refresh token on its first call.
        "expires": 0,
    }
    deadline = time.monotonic() + 30
    while True:
        origin = await browser.evaluate("location.origin")
        if origin == re.sub(r"/+$", "", ha_url):
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"browser never reached {ha_url} (at {origin})")
        await asyncio.sleep(0.2)
    await browser.evaluate(f"localStorage.setItem('hassTokens', {json.dumps(json.dumps(stored))})")


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
