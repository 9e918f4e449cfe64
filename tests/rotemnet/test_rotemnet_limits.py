"""How much the client reads, and how it reaches the service by name, over real sockets.

An answer is never read past ``max_response_bytes`` (a runaway stream, a declared huge body, a
compressed bomb); the real answers fit with room to spare. A host name is resolved by aiohttp's
default resolver (aiodns where installed), and every way resolution fails is a
``RotemConnectionError``.
"""

from __future__ import annotations

import gzip
import socket
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.test_utils import TestServer

from custom_components.rotem_farm.rotemnet import (
    RotemClient,
    RotemConnectionError,
    RotemParseError,
    RotemResponseTooLargeError,
)
from custom_components.rotem_farm.rotemnet.client import (
    DEFAULT_MAX_RESPONSE_BYTES,
    _raised_while_resolving,
)
from tests.rotemnet.fakecloud import PASSWORD, USERNAME, FakeCloud, base_url
from tests.support.secrets import SecretScan

MIB = 1024 * 1024
CHUNK = 64 * 1024


def _client(http: Any, server: TestServer, **options: Any) -> RotemClient:
    return RotemClient(
        http, USERNAME, PASSWORD, base_url=base_url(server), retry_delays=(), **options
    )


class Stream:
    """An answer streamed without a length, 300 MB at most, that notes what it could send."""

    total = 300 * MIB

    def __init__(self) -> None:
        self.sent = 0

    async def __call__(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
        chunk = b" " * CHUNK  # JSON whitespace: a valid start of any answer
        try:
            while self.sent < self.total:
                await response.write(chunk)
                self.sent += len(chunk)
        except ConnectionError:
            return response  # the client hung up: what it should do
        await response.write_eof()
        return response


async def test_an_endless_answer_is_cut_off_at_the_limit(
    cloud: FakeCloud, server: TestServer, http: Any, secret_scan: SecretScan
) -> None:
    """No length, 300 MB on offer: the client stops one chunk past 8 MiB and says why.

    8 MiB is 19 times the largest real answer (JsGlobals, ~440 KB).
    """
    stream = Stream()
    cloud.add("GetSiteControllersInfo", stream)
    client = _client(http, server)
    await client.login()
    before = client.stats.bytes_received
    too_large = r"larger than the 8388608 bytes \(8 MiB\)"
    with secret_scan.raises(RotemResponseTooLargeError, match=too_large) as caught:
        await client.get_site()
    assert caught.value.limit == DEFAULT_MAX_RESPONSE_BYTES
    assert isinstance(caught.value, RotemParseError)  # callers that know only the base
    read = client.stats.bytes_received - before
    assert DEFAULT_MAX_RESPONSE_BYTES < read <= DEFAULT_MAX_RESPONSE_BYTES + CHUNK
    assert stream.sent < stream.total, "the server could not send it all: the client hung up"


async def test_a_declared_huge_answer_is_not_read(
    cloud: FakeCloud, server: TestServer, http: Any, secret_scan: SecretScan
) -> None:
    """A Content-Length over the limit is refused before a byte of the body is read."""
    size = DEFAULT_MAX_RESPONSE_BYTES + 1
    cloud.add(
        "GetSiteControllersInfo",
        lambda _request: web.Response(body=b" " * size, content_type="application/json"),
    )
    client = _client(http, server)
    await client.login()
    before = client.stats.bytes_received
    with secret_scan.raises(RotemResponseTooLargeError, match=f"announces {size} bytes"):
        await client.get_site()
    assert client.stats.bytes_received == before


async def test_a_compressed_bomb_is_counted_after_decompression(
    cloud: FakeCloud, server: TestServer, http: Any, secret_scan: SecretScan
) -> None:
    """40 MiB of JSON whitespace gzipped to ~40 KB: what counts is what it unpacks to."""
    bomb = gzip.compress(b" " * (40 * MIB))
    assert len(bomb) < DEFAULT_MAX_RESPONSE_BYTES // 100
    cloud.add(
        "GetSiteControllersInfo",
        lambda _request: web.Response(
            body=bomb, headers={"Content-Type": "application/json", "Content-Encoding": "gzip"}
        ),
    )
    client = _client(http, server)
    await client.login()
    with secret_scan.raises(RotemResponseTooLargeError, match="larger than"):
        await client.get_site()


async def test_the_limit_is_the_callers(
    cloud: FakeCloud, server: TestServer, http: Any, secret_scan: SecretScan
) -> None:
    """The real site answer (~99 KB) passes a 200 KB limit and is refused by a 50 KB one."""
    roomy = _client(http, server, max_response_bytes=200_000)
    assert len((await roomy.get_site()).houses) == 6
    tight = _client(http, server, max_response_bytes=50_000)
    await tight.login()
    too_large = r"more than the 50000 \(48\.8281 KiB\)"
    with secret_scan.raises(RotemResponseTooLargeError, match=too_large):
        await tight.get_site()


# ---------------------------------------------------------------------------------------------
# Host names
# ---------------------------------------------------------------------------------------------


async def test_a_host_name_through_the_default_resolver(
    cloud: FakeCloud, server: TestServer, http: aiohttp.ClientSession
) -> None:
    """``localhost``, resolved by aiohttp's default resolver, as ``rotemnetweb.com`` would be.

    Every other test uses 127.0.0.1, which skips resolution: this one failed (TypeError out of
    the client) in a venv that paired aiodns 3.2.0 with pycares 5.
    """
    client = RotemClient(http, USERNAME, PASSWORD, base_url=f"http://localhost:{server.port}/")
    login = await client.login()
    assert login.web_server_url == f"http://localhost:{server.port}/Host6_V1/"
    assert len((await client.get_site()).houses) == 6
    assert [call.path for call in cloud.requests] == [
        "/Latest/Services/AllServices.svc/Login",
        "/Host6_V1/Services/AllServices.svc/GetSiteControllersInfo",
    ]


class FailingResolver(AbstractResolver):
    """A resolver that fails the way a broken name service or resolver package does."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        raise self.error

    async def close(self) -> None:
        """Nothing to release."""


@pytest.fixture
async def resolving_with() -> AsyncIterator[Any]:
    """Sessions whose connector resolves through a given resolver, closed after the test."""
    sessions: list[aiohttp.ClientSession] = []

    def make(resolver: AbstractResolver) -> aiohttp.ClientSession:
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(resolver=resolver))
        sessions.append(session)
        return session

    yield make
    for session in sessions:
        await session.close()


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (
            TypeError(
                "Channel.getaddrinfo() takes 3 positional arguments but 4 positional "
                "arguments (and 4 keyword-only arguments) were given"
            ),
            "DNS resolver failed",
        ),
        (socket.gaierror(socket.EAI_NONAME, "Name or service not known"), "cannot resolve"),
        (OSError(101, "Network is unreachable"), "cannot resolve"),
    ],
)
async def test_resolver_failures_are_connection_errors(
    resolving_with: Any,
    error: Exception,
    message: str,
    *,
    secret_scan: SecretScan,
) -> None:
    """A failing lookup (the aiodns/pycares TypeError included) is an outage, not a crash."""
    http = resolving_with(FailingResolver(error))
    client = RotemClient(http, USERNAME, PASSWORD, base_url="https://rotemnetweb.example/")
    with secret_scan.raises(RotemConnectionError, match=message) as caught:
        await client.login()
    assert caught.value.__cause__ is not None  # the resolver's own words stay for debugging


def test_a_type_error_elsewhere_is_not_taken_for_a_resolver_failure() -> None:
    """Only resolution is excused: a TypeError in other code is a bug and stays one."""
    with pytest.raises(TypeError) as caught:
        len(5)  # type: ignore[arg-type]
    assert not _raised_while_resolving(caught.value)
