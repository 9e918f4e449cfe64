"""Large answers are decoded and parsed off the event loop, with the same results and errors.

A host polling fifty farms would otherwise spend its event loop on JSON; these tests check where
the parse runs (the loop thread or another one), that the result is the same either way, and
that errors and the re-login still behave when the work happens in the executor.
"""

from __future__ import annotations

import threading
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from custom_components.rotem_farm.rotemnet import (
    RotemClient,
    RotemParseError,
    SiteSnapshot,
    parsing,
)
from custom_components.rotem_farm.rotemnet import client as client_module
from tests.rotemnet.fakecloud import PASSWORD, USERNAME, FakeCloud, base_url


def make_client(
    http: aiohttp.ClientSession, server: TestServer, executor_min_bytes: int | None
) -> RotemClient:
    """A client of the fake cloud with the given executor threshold."""
    return RotemClient(
        http,
        USERNAME,
        PASSWORD,
        base_url=base_url(server),
        request_timeout=10.0,
        executor_min_bytes=executor_min_bytes,
    )


@pytest.fixture
def parse_threads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The thread ids ``parse_site`` ran on, in call order."""
    threads: list[int] = []
    original = parsing.parse_site

    def recording_parse_site(data: object, **kwargs: Any) -> SiteSnapshot:
        threads.append(threading.get_ident())
        return original(data, **kwargs)

    monkeypatch.setattr(client_module, "parse_site", recording_parse_site)
    return threads


@pytest.mark.parametrize(
    ("executor_min_bytes", "off_loop"),
    [(None, False), (0, True), (10_000_000, False)],
    ids=["never", "always", "above-the-answer-size"],
)
async def test_where_the_site_answer_is_parsed(
    cloud: FakeCloud,
    server: TestServer,
    http: Any,
    *,
    parse_threads: list[int],
    executor_min_bytes: int | None,
    off_loop: bool,
) -> None:
    """Parsed in another thread when the answer reaches the threshold, on the loop otherwise."""
    client = make_client(http, server, executor_min_bytes)
    await client.get_site()
    assert len(parse_threads) == 1
    assert (parse_threads[0] != threading.get_ident()) is off_loop


async def test_default_threshold_moves_the_site_answer_off_the_loop(
    cloud: FakeCloud, server: TestServer, http: Any, parse_threads: list[int]
) -> None:
    """The real site answer (~114 KB) is above the default threshold."""
    client = RotemClient(http, USERNAME, PASSWORD, base_url=base_url(server))
    await client.get_site()
    assert client.stats.bytes_received > client_module.DEFAULT_EXECUTOR_MIN_BYTES
    assert len(parse_threads) == 1
    assert parse_threads[0] != threading.get_ident()


async def test_same_snapshot_on_and_off_the_loop(
    cloud: FakeCloud, server: TestServer, http: Any
) -> None:
    """Where the parse runs changes nothing in what it yields."""
    inline = await make_client(http, server, None).get_site()
    offloaded = await make_client(http, server, 0).get_site()
    assert offloaded == inline
    assert len(offloaded.houses) == 6


async def test_parse_error_from_the_executor(
    cloud: FakeCloud, server: TestServer, http: Any
) -> None:
    """A cut-off answer decoded in the executor is still a RotemParseError naming the call."""
    cloud.add(
        "GetSiteControllersInfo",
        lambda _request: web.Response(
            text='{"reponseObj": {"FarmHouses": [', content_type="application/json"
        ),
    )
    client = make_client(http, server, 0)
    with pytest.raises(RotemParseError, match="GetSiteControllersInfo"):
        await client.get_site()


async def test_expired_session_detected_in_the_executor(
    cloud: FakeCloud, server: TestServer, http: Any
) -> None:
    """The envelope check runs in the executor too, and its verdict still gets one re-login."""
    client = make_client(http, server, 0)
    await client.get_site()
    cloud.expire_session()
    site = await client.get_site()
    assert len(site.houses) == 6
    assert client.stats.logins == 2
