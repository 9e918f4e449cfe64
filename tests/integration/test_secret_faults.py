"""No secret in any output of the integration while the cloud fails and echoes every secret.

The real client, inside the real config flow and coordinator, talks over loopback sockets to the
fake cloud of the client tests; its error answers repeat the username, the password, both tokens
and a cookie. Every log line HA and the integration write (at DEBUG, with tracebacks) and every
error a flow or poll ends with is scanned by ``tests/support/secrets.py``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from homeassistant.config_entries import SOURCE_USER, ConfigEntry, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType

from custom_components.rotem_farm.const import DOMAIN
from tests.rotemnet.fakecloud import (
    COOKIE_PREFIX,
    PASSWORD,
    SECRETS,
    USERNAME,
    FakeCloud,
    base_url,
    envelope,
    login_payload,
)
from tests.support.secrets import SecretScan, secret_scan_fixture

from .conftest import flows_in_progress

CREDENTIALS = f"{USERNAME} {PASSWORD}"
"""What a first login's answer can echo: the client holds no token or cookie yet."""

_scan = secret_scan_fixture(*SECRETS, COOKIE_PREFIX)


@pytest.fixture
def secret_scan(caplog: pytest.LogCaptureFixture) -> Iterator[SecretScan]:
    """Every log line of the test, scanned when it has finished."""
    yield from _scan(caplog)


@pytest.fixture
def cloud() -> FakeCloud:
    """The fake cloud's state."""
    return FakeCloud()


@pytest.fixture
async def server(cloud: FakeCloud, socket_enabled: None) -> AsyncIterator[TestServer]:
    """The fake cloud on a free loopback port."""
    app = web.Application()
    app.router.add_route("POST", "/{tail:.*}", cloud.handle)
    test_server = TestServer(app, host="127.0.0.1", port=0)
    await test_server.start_server()
    yield test_server
    await test_server.close()


def leaky(cookie: str) -> str:
    """Server text echoing every secret a logged-in client holds (its cookie: ``cookie``)."""
    return " ".join((*SECRETS, cookie))


def leaky_failure(text: str, **flags: object) -> dict[str, object]:
    """An envelope whose messages repeat ``text``."""
    return envelope(
        None,
        ErrorObj={"ErrorCode": 1, "ErrorMessage": f"bad request {text}"},
        exceptionMessage=f"trace {text}",
        **flags,
    )


def json_answer(cloud: FakeCloud, body: object) -> Callable[[web.Request], web.Response]:
    """A scripted JSON answer."""
    return lambda _request: cloud.json_response(body)


def page(status: int, text: str) -> Callable[[web.Request], web.Response]:
    """A scripted error page quoting ``text``."""
    return lambda _request: web.Response(
        text=f"<html>{text}</html>", status=status, content_type="text/html"
    )


async def _add_farm(hass: HomeAssistant, server: TestServer) -> dict[str, object]:
    """The config flow's Rotem step with the fake cloud's credentials."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "rotem"}
    )
    return dict(
        await hass.config_entries.flow.async_configure(
            result["flow_id"],
            {
                "username": USERNAME,
                "password": PASSWORD,
                "advanced": {"base_url": base_url(server), "api_style": "legacy"},
            },
        )
    )


LOGIN_FAULTS: dict[
    str, tuple[Callable[[FakeCloud], Callable[[web.Request], web.Response]], str]
] = {
    "refused, echoing": (
        lambda cloud: json_answer(cloud, leaky_failure(CREDENTIALS, isSucceed=False)),
        "invalid_auth",
    ),
    "500 page": (lambda _cloud: page(500, CREDENTIALS), "cannot_connect"),
    "wrong shape, echoing": (
        lambda cloud: json_answer(
            cloud, envelope(login_payload(FarmUser=CREDENTIALS), exceptionMessage=CREDENTIALS)
        ),
        "unknown",
    ),
    "another host": (
        lambda cloud: json_answer(
            cloud, envelope(login_payload(WebServerUrl=f"https://{USERNAME}.example/"))
        ),
        "unknown",
    ),
}


@pytest.mark.parametrize("fault", sorted(LOGIN_FAULTS))
async def test_config_flow_login_faults_show_no_secret(
    hass: HomeAssistant,
    cloud: FakeCloud,
    server: TestServer,
    fault: str,
    secret_scan: SecretScan,
) -> None:
    """Each failed login shows its translated error; the log (tracebacks too) names no secret."""
    handler, error = LOGIN_FAULTS[fault]
    cloud.add("Login", handler(cloud))
    result = await _add_farm(hass, server)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": error}
    assert [call.path.rsplit("/", 1)[-1] for call in cloud.requests] == ["Login"]


async def test_polls_failing_with_echoed_secrets_show_none(
    hass: HomeAssistant,
    cloud: FakeCloud,
    server: TestServer,
    secret_scan: SecretScan,
) -> None:
    """A farm set up for real, then polls that fail in every way the service can echo.

    Polls are asked of the coordinator directly: a frozen clock moved by minutes would also
    move the client's request time-outs over a real socket.
    """
    result = await _add_farm(hass, server)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    entry = result["result"]
    assert isinstance(entry, ConfigEntry)
    assert entry.state is ConfigEntryState.LOADED
    coordinator = entry.runtime_data.coordinator
    assert coordinator is not None
    site = "GetSiteControllersInfo"
    text = leaky(cloud.session_id)

    for fault in (
        json_answer(cloud, leaky_failure(text, isSucceed=False)),
        page(500, text),
        json_answer(cloud, envelope({"FarmHouses": text})),
    ):
        cloud.add(site, fault)
        await coordinator.async_refresh()
        assert not coordinator.last_update_success
        secret_scan.check(coordinator.last_exception)
    assert len(cloud.calls(site)) == 1 + 3, "the first poll, then each fault once"

    # The session ends and the fresh login is refused with the secrets in its message.
    cloud.expire_session()
    cloud.add("Login", json_answer(cloud, leaky_failure(text, isSucceed=False)))
    await coordinator.async_refresh()
    await hass.async_block_till_done()
    secret_scan.check(coordinator.last_exception)
    assert flows_in_progress(hass) == ["reauth"]
