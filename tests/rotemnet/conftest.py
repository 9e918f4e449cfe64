"""Fixtures of the RotemNetWeb client tests: a fake cloud on a loopback socket.

Every test here is scanned for secrets: each log line it causes (at DEBUG) and each exception
it catches through ``secret_scan.raises`` must not show the fake cloud's username, password,
tokens or any session cookie.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.rotemnet.fakecloud import COOKIE_PREFIX, SECRETS, FakeCloud
from tests.support.secrets import SecretScan, secret_scan_fixture

_scan = secret_scan_fixture(*SECRETS, COOKIE_PREFIX)


@pytest.fixture(autouse=True)
def secret_scan(caplog: pytest.LogCaptureFixture) -> Iterator[SecretScan]:
    """The secret scan of every client test (checked when the test has finished)."""
    yield from _scan(caplog)


@pytest.fixture
def cloud() -> FakeCloud:
    """The fake cloud's state (served by ``server``)."""
    return FakeCloud()


@pytest.fixture
async def server(cloud: FakeCloud, socket_enabled: None) -> AsyncIterator[TestServer]:
    """The fake cloud on a free loopback port (sockets allowed, hosts still loopback only)."""
    app = web.Application()
    app.router.add_route("POST", "/{tail:.*}", cloud.handle)
    test_server = TestServer(app, host="127.0.0.1", port=0)
    await test_server.start_server()
    yield test_server
    await test_server.close()


@pytest.fixture
async def http(socket_enabled: None) -> AsyncIterator[aiohttp.ClientSession]:
    """A plain aiohttp session, as the integration would inject (default cookie jar)."""
    async with aiohttp.ClientSession() as session:
        yield session
