"""The RotemNetWeb client: login, session upkeep and the service calls.

One client serves one account (one farm). It logs in lazily, keeps the server session cookie
itself (the injected aiohttp session's cookie jar may be shared by several farms, and aiohttp's
default jar ignores cookies of IP hosts such as a local simulator), logs in again once when the
service says the session is gone, and backs off a bounded number of times when the service asks
it to slow down. Every failure leaves as a :class:`~.exceptions.RotemError`; no message, no
chained exception and no log line ever carries the username, the password, a token or the
session cookie. The tokens and the cookie go only to the configured host (see
:meth:`RotemClient._check_web_server_url`).

Large answers (the site answer is ~114 KB, the farm facts ~480 KB) are decoded, checked and
parsed in the running loop's default executor, in one job, so a host polling many farms does not
stall its event loop on JSON; small answers are handled inline, where a thread hop would cost
more than it saves.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import json
import logging
import math
import re
import time
import traceback
import uuid
from collections.abc import Awaitable, Callable, Mapping
from email.utils import parsedate_to_datetime
from http.cookies import SimpleCookie
from typing import Final, Literal
from urllib.parse import urlsplit

import aiohttp

from .exceptions import (
    RotemApiError,
    RotemAuthError,
    RotemConnectionError,
    RotemError,
    RotemParseError,
    RotemRateLimitError,
    RotemResponseTooLargeError,
    RotemSessionExpiredError,
)
from .models import (
    ClientStats,
    FarmInfo,
    History,
    HistoryKind,
    HouseDetails,
    LoginInfo,
    SiteSnapshot,
    Units,
)
from .parsing import (
    LoginResult,
    decode_json,
    needs_registration,
    parse_envelope,
    parse_farm_info,
    parse_history,
    parse_house_details,
    parse_login,
    parse_site,
)

_LOGGER = logging.getLogger(__name__)

type ApiStyle = Literal["legacy", "api"]

DEFAULT_BASE_URL: Final = "https://rotemnetweb.com/"
SESSION_COOKIE: Final = "ASP.NET_SessionId"
_LEGACY_SERVICE_PATH: Final = "Services/AllServices.svc/"
_LOGIN_PATHS: Final[Mapping[str, str]] = {
    "legacy": "Latest/Services/AllServices.svc/Login",
    "api": "api/Login",
}
# Where service calls go when a login answer names no WebServerUrl: the login's own root.
_FALLBACK_WEB_PATHS: Final[Mapping[str, str]] = {"legacy": "Latest/", "api": "api/"}
_JSON_CONTENT_TYPE: Final = "application/json;charset=UTF-8"
_RETRY_STATUSES: Final = frozenset({429, 503})
_REDACTED: Final = "***"
# Answers at least this large are decoded and parsed off the event loop (see the module doc).
DEFAULT_EXECUTOR_MIN_BYTES: Final = 32 * 1024
# No answer is read past this. The largest real answer (JsGlobals) is ~440 KB and the site answer
# grows by ~16 KB a house (99 KB for 6), so 8 MiB is 19 times the largest and fits a farm of a few
# hundred houses, while a runaway answer (300 MB took 570 MiB before failing) stops early.
DEFAULT_MAX_RESPONSE_BYTES: Final = 8 * 1024 * 1024
_READ_CHUNK_BYTES: Final = 64 * 1024


class _RedirectedError(RotemSessionExpiredError):
    """A service call was redirected (likely to a login page): try one fresh login."""


class RotemClient:
    """Async client of one RotemNetWeb account.

    The session is injected and never closed here, so Home Assistant can share its own.
    ``retry_delays`` are the back-off waits after HTTP 429/503 (their count is the retry
    budget); a ``Retry-After`` header replaces the wait, capped at ``max_retry_after``.
    Answers of at least ``executor_min_bytes`` bytes are decoded and parsed in the running
    loop's default executor (``None``: always on the loop, e.g. for a caller without one).
    No answer is read past ``max_response_bytes`` (after decompression): a larger one is a
    :class:`~.exceptions.RotemResponseTooLargeError`.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        username: str,
        password: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        api_style: ApiStyle = "legacy",
        request_timeout: float = 30.0,
        retry_delays: tuple[float, ...] = (1.0, 2.0),
        max_retry_after: float = 10.0,
        executor_min_bytes: int | None = DEFAULT_EXECUTOR_MIN_BYTES,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        if api_style not in _LOGIN_PATHS:
            raise ValueError(f"unknown api_style {api_style!r}")
        self._session = session
        self._username = username
        self._password = password
        self._base_url = base_url if base_url.endswith("/") else base_url + "/"
        self._api_style: ApiStyle = api_style
        self._timeout = aiohttp.ClientTimeout(total=request_timeout)
        self._retry_delays = retry_delays
        self._max_retry_after = max_retry_after
        self._executor_min_bytes = executor_min_bytes
        self._max_response_bytes = max_response_bytes
        self._login_result: LoginResult | None = None
        self._session_cookie: str | None = None
        # Every secret this client has held, so an echo of an old token is masked too. The
        # username is one: an echo of it (an e-mail address) would name the farmer in logs.
        self._secrets: set[str] = {secret for secret in (username, password) if secret}
        self._login_generation = 0
        self._login_lock = asyncio.Lock()
        self._units: Units | None = None
        self._requests = 0
        self._logins = 0
        self._bytes_received = 0
        self._sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

    # ----------------------------------------------------------------------------------------
    # Public surface
    # ----------------------------------------------------------------------------------------

    @property
    def gateway_code(self) -> str | None:
        """The farm's gateway code once logged in (a stable unique id for the farm)."""
        return None if self._login_result is None else self._login_result.gateway_code

    @property
    def units(self) -> Units | None:
        """The account's units, known after :meth:`get_farm_info`."""
        return self._units

    @property
    def stats(self) -> ClientStats:
        """A snapshot of the request counters."""
        return ClientStats(
            requests=self._requests, logins=self._logins, bytes_received=self._bytes_received
        )

    async def login(self) -> LoginInfo:
        """Log in now (the config flow checks credentials this way); later calls reuse it."""
        async with self._login_lock:
            result = await self._login_now()
        return LoginInfo(
            gateway_code=result.gateway_code,
            web_server_url=result.web_server_url,
            user_display_name=result.user_display_name,
        )

    async def get_site(self) -> SiteSnapshot:
        """Every house of the farm in one request (GetSiteControllersInfo).

        Pressure and wind are converted with the units of the last :meth:`get_farm_info`;
        before that call they are as the controller sends them.
        """
        gateway = await self._gateway()
        return await self._call(
            "GetSiteControllersInfo",
            {"prmSiteControllersInfoParams": {"GatewayCode": gateway}},
            functools.partial(parse_site, units=self._units),
        )

    async def get_farm_info(self) -> FarmInfo:
        """Gateway facts and units (JsGlobals, ~480 KB: call at setup and then daily).

        GetFarmRegistration is asked only when JsGlobals lacks the farm's alias; if that second
        call fails logically the alias stays unknown rather than failing the whole setup.
        """
        gateway = await self._gateway()
        js_globals = await self._call("JsGlobals_GetJsGlobals", {}, _as_decoded)
        registration: object | None = None
        if needs_registration(js_globals):
            try:
                registration = await self._call(
                    "GetFarmRegistration",
                    {"prmFarmRegistrationParams": {"GatewayCode": gateway}},
                    _as_decoded,
                )
            except RotemApiError:
                _LOGGER.debug("GetFarmRegistration failed; the farm alias stays unknown")
        info = parse_farm_info(js_globals, registration, gateway_code=gateway)
        self._units = info.units
        return info

    async def get_history(self, house_number: int, kind: HistoryKind) -> History:
        """A daily history table of one house (CommandID 35/40/41/43)."""
        history_kind = HistoryKind(kind)
        return await self._call(
            "RNBL_GetCommandData",
            _command_body(history_kind.value, house_number),
            functools.partial(parse_history, house_number=house_number, kind=history_kind),
        )

    async def get_house_details(self, house_number: int) -> HouseDetails:
        """The live page of one house (CommandID 0): precise values, installed counts."""
        return await self._call(
            "RNBL_GetCommandData",
            _command_body("0", house_number),
            functools.partial(parse_house_details, house_number=house_number, units=self._units),
        )

    # ----------------------------------------------------------------------------------------
    # Session
    # ----------------------------------------------------------------------------------------

    async def _gateway(self) -> str:
        """The gateway code, logging in first if needed."""
        return (await self._ensure_login()).gateway_code

    async def _ensure_login(self) -> LoginResult:
        """The current login, made once even when several calls start together."""
        current = self._login_result
        if current is not None:
            return current
        async with self._login_lock:
            # Another call may have logged in while this one waited for the lock.
            current = self._current_login()
            if current is not None:
                return current
            return await self._login_now()

    def _current_login(self) -> LoginResult | None:
        """The login now (a method, so a fresh read after an ``await`` is obvious)."""
        return self._login_result

    async def _relogin(self, generation: int) -> None:
        """Log in again unless another call already did since ``generation`` failed."""
        async with self._login_lock:
            if self._login_generation == generation:
                await self._login_now()

    async def _login_now(self) -> LoginResult:
        """POST the credentials; the caller holds the login lock."""
        self._login_result = None
        self._logins += 1
        try:
            result = await self._request_login()
        except RotemError as err:
            failure = self._scrubbed(err)
        else:
            self._login_result = result
            self._secrets.update((result.user_token, result.connection_token))
            self._login_generation += 1
            _LOGGER.debug("Logged in to gateway %s (%s)", result.gateway_code, self._api_style)
            return result
        # Raised here, outside the handler, so a masked copy gets no ``__context__``.
        raise failure

    async def _request_login(self) -> LoginResult:
        """The Login request and its answer, checked but not yet kept."""
        body = {
            "prmUsername": self._username,
            "prmPassword": self._password,
            "prmIsNativeAppLogin": False,
            "prmIsKeepMeSignedIn": False,
        }
        headers = {
            "Accept": "application/json, text/plain, */*",
            "Content-Type": _JSON_CONTENT_TYPE,
            "userToken": "null",
            "userLanguage": "ENGLISH",
        }
        url = self._base_url + _LOGIN_PATHS[self._api_style]
        data = await self._post("Login", url, body, headers, _as_decoded, login=True)
        result = parse_login(
            data, self._base_url, fallback_path=_FALLBACK_WEB_PATHS[self._api_style]
        )
        self._check_web_server_url(result.web_server_url)
        return result

    def _check_web_server_url(self, url: str) -> None:
        """Refuse a ``WebServerUrl`` that would carry the tokens and cookie elsewhere.

        Service calls carry both tokens and the session cookie, so they may go only to the
        host the user configured, over https or over the configured URL's own scheme (plain
        http only where the user chose it, e.g. a local simulator). The port may differ: a
        cookie is bound to a host, not to a port, so another port adds no exposure.
        """
        base = urlsplit(self._base_url)
        target = urlsplit(url)
        if target.hostname != base.hostname:
            raise RotemParseError(
                "the login answer sends service calls to another host; refused, so the "
                "tokens and the session cookie stay with the configured host"
            )
        if target.scheme not in ("https", base.scheme):
            raise RotemParseError(
                f"the login answer sends service calls over {target.scheme}, not https; "
                "refused, so the tokens and the session cookie are not sent in clear"
            )

    # ----------------------------------------------------------------------------------------
    # Requests
    # ----------------------------------------------------------------------------------------

    async def _call[T](self, operation: str, body: object, parse: Callable[[object], T]) -> T:
        """One service call with a single re-login and retry when the session has expired.

        ``parse`` turns the checked envelope into the result; it runs where the body is
        decoded (off the loop for a large answer), so it must not touch the loop.
        """
        try:
            return await self._call_with_relogin(operation, body, parse)
        except RotemError as err:
            failure = self._scrubbed(err)
        # Raised here, outside the handler, so a masked copy gets no ``__context__``.
        raise failure

    async def _call_with_relogin[T](
        self, operation: str, body: object, parse: Callable[[object], T]
    ) -> T:
        """The call, and once more after a fresh login if the session had expired."""
        login = await self._ensure_login()
        generation = self._login_generation
        try:
            return await self._service_request(login, operation, body, parse)
        except RotemSessionExpiredError:
            _LOGGER.debug("%s: session expired, logging in again", operation)
        await self._relogin(generation)
        login = await self._ensure_login()
        try:
            return await self._service_request(login, operation, body, parse)
        except _RedirectedError:
            raise RotemConnectionError(
                f"{operation}: still redirected after a fresh login"
            ) from None
        except RotemSessionExpiredError:
            raise RotemAuthError(f"{operation}: the service refused a fresh session") from None

    async def _service_request[T](
        self, login: LoginResult, operation: str, body: object, parse: Callable[[object], T]
    ) -> T:
        """POST one operation with the session's headers and check the envelope."""
        headers = {
            "Accept": "application/json, text/plain, */*",
            "Content-Type": _JSON_CONTENT_TYPE,
            "userToken": login.user_token,
            "farmConnectionToken": login.connection_token,
            "userLanguage": "ENGLISH",
            "contextId": str(uuid.uuid4()),
        }
        path = operation
        if self._api_style == "api":
            headers["Authorization"] = f"Bearer {login.user_token}"
        else:
            path = _LEGACY_SERVICE_PATH + operation
        return await self._post(
            operation, login.web_server_url + path, body, headers, _checked(parse)
        )

    async def _post[T](
        self,
        operation: str,
        url: str,
        body: object,
        headers: Mapping[str, str],
        parse: Callable[[object], T],
        *,
        login: bool = False,
    ) -> T:
        """POST JSON, back off on 429/503 within the retry budget, return the parsed body."""
        payload = json.dumps(body).encode()
        cookies = (
            None
            if login or self._session_cookie is None
            else {SESSION_COOKIE: self._session_cookie}
        )
        attempt = 0
        while True:
            self._requests += 1
            try:
                async with self._session.post(
                    url,
                    data=payload,
                    headers=headers,
                    cookies=cookies,
                    timeout=self._timeout,
                    allow_redirects=False,
                ) as response:
                    raw = await self._read_body(operation, response)
                    status = response.status
                    content_type = response.headers.get("Content-Type", "")
                    retry_after = _retry_after(response.headers.get("Retry-After"))
                    self._keep_session_cookie(response.cookies)
            except TimeoutError as err:
                raise RotemConnectionError(
                    f"{operation}: the service did not answer in time"
                ) from err
            except aiohttp.ClientConnectorDNSError as err:
                raise RotemConnectionError(
                    f"{operation}: cannot resolve the service's host name ({type(err).__name__})"
                ) from err
            except (aiohttp.ClientError, OSError) as err:
                # OSError: what aiohttp leaves unwrapped (socket.gaierror from a custom resolver).
                raise RotemConnectionError(
                    f"{operation}: cannot reach the service ({type(err).__name__})"
                ) from err
            except TypeError as err:
                if not _raised_while_resolving(err):
                    raise
                raise RotemConnectionError(
                    f"{operation}: cannot resolve the service's host name: the DNS resolver "
                    "failed (TypeError; an aiodns and pycares that do not fit together?)"
                ) from err
            if status in _RETRY_STATUSES and attempt < len(self._retry_delays):
                delay = self._retry_delays[attempt]
                if retry_after is not None:
                    delay = min(retry_after, self._max_retry_after)
                _LOGGER.debug(
                    "%s: HTTP %s, retrying in %.1f s (%d/%d)",
                    operation,
                    status,
                    delay,
                    attempt + 1,
                    len(self._retry_delays),
                )
                attempt += 1
                await self._sleep(delay)
                continue
            _check_status(operation, status, retry_after, login=login)
            job = functools.partial(_decode_and_parse, operation, raw, content_type, parse)
            if self._executor_min_bytes is not None and len(raw) >= self._executor_min_bytes:
                return await asyncio.get_running_loop().run_in_executor(None, job)
            return job()

    async def _read_body(self, operation: str, response: aiohttp.ClientResponse) -> bytes:
        """The answer's body, refused as soon as it is known to exceed the size limit.

        A declared ``Content-Length`` over the limit is refused before reading; otherwise the
        body is read in chunks and reading stops at the first byte over the limit, so neither
        a runaway stream nor a compressed bomb (counted after decompression) fills memory.
        The bytes read count in :attr:`stats` either way.
        """
        limit = self._max_response_bytes
        declared = response.content_length
        if declared is not None and declared > limit:
            raise RotemResponseTooLargeError(
                f"{operation}: the answer announces {declared} bytes, more than the "
                f"{limit} ({_size(limit)}) this client reads (max_response_bytes); not read",
                limit,
            )
        body = bytearray()
        try:
            async for chunk in response.content.iter_chunked(_READ_CHUNK_BYTES):
                body += chunk
                if len(body) > limit:
                    raise RotemResponseTooLargeError(
                        f"{operation}: the answer is larger than the {limit} bytes "
                        f"({_size(limit)}) this client reads (max_response_bytes); "
                        "reading stopped there",
                        limit,
                    )
        finally:
            self._bytes_received += len(body)
        return bytes(body)

    def _keep_session_cookie(self, cookies: SimpleCookie) -> None:
        """Remember the session cookie whenever the service sets one."""
        morsel = cookies.get(SESSION_COOKIE)
        if morsel is not None and morsel.value:
            self._session_cookie = morsel.value
            self._secrets.add(morsel.value)

    def _mask(self, text: str) -> str:
        """``text`` with every secret this client has held replaced by ``***``.

        Case-insensitive, because a service that echoes the username may change its case;
        longest first, so a secret containing another is masked whole.
        """
        secrets = sorted(self._secrets, key=len, reverse=True)
        if not secrets:
            return text
        pattern = re.compile("|".join(map(re.escape, secrets)), re.IGNORECASE)
        return pattern.sub(_REDACTED, text)

    def _scrubbed(self, err: RotemError) -> RotemError:
        """``err`` itself if nothing in it or its chain names a secret, else a masked copy.

        A clean error keeps its cause chain (useful to debug network errors). A masked copy
        has no ``__cause__`` and no ``__context__``: the chained errors may quote the same
        server text, and a traceback printer or error tracker would show them whole.
        """
        texts = [text for error in _chain(err) for text in (str(error), repr(error))]
        if all(self._mask(text) == text for text in texts):
            return err
        scrubbed = copy.copy(err)
        scrubbed.args = (self._mask(str(err)),)
        scrubbed.__cause__ = None
        scrubbed.__context__ = None
        scrubbed.__suppress_context__ = True
        return scrubbed


def _chain(err: BaseException) -> list[BaseException]:
    """``err`` and every exception chained to it (cause or context, shown or suppressed)."""
    chain: list[BaseException] = []
    pending: list[BaseException] = [err]
    while pending:
        current = pending.pop()
        if any(current is seen for seen in chain):
            continue
        chain.append(current)
        pending.extend(
            linked for linked in (current.__cause__, current.__context__) if linked is not None
        )
    return chain


_RESOLVER_MODULES: Final = ("aiodns", "pycares", "aiohttp.resolver", "aiohttp_asyncmdnsresolver")


def _raised_while_resolving(err: BaseException) -> bool:
    """Whether ``err`` came out of host name resolution rather than out of our own code.

    aiodns 3.2.0 with pycares 5 raises ``TypeError`` on every lookup, and aiohttp passes it on
    unwrapped. A resolver failure is an outage of this host's name service, so it becomes a
    connection error; a ``TypeError`` anywhere else is a bug and must stay loud. Told apart
    by where it was raised: in a resolver module, or under aiohttp's host resolution step
    (which also covers a resolver the caller injected, such as Home Assistant's).
    """
    for frame, _ in traceback.walk_tb(err.__traceback__):
        module = str(frame.f_globals.get("__name__", ""))
        if module.startswith(_RESOLVER_MODULES):
            return True
        if module == "aiohttp.connector" and "resolve" in frame.f_code.co_name:
            return True
    return False


def _as_decoded(data: object) -> object:
    """The parse step of a call whose caller parses the decoded body itself."""
    return data


def _checked[T](parse: Callable[[object], T]) -> Callable[[object], T]:
    """``parse`` preceded by the envelope check every service answer needs."""

    def check_then_parse(data: object) -> T:
        parse_envelope(data)
        return parse(data)

    return check_then_parse


def _decode_and_parse[T](
    operation: str, raw: bytes, content_type: str, parse: Callable[[object], T]
) -> T:
    """Decode a body and parse it: one job, inline or in the executor (no loop access)."""
    return parse(_decode(operation, raw, content_type))


def _size(count: int) -> str:
    """A byte count as people read it (``8 MiB``, ``64 KiB``, ``900 bytes``)."""
    for unit, factor in (("MiB", 1024 * 1024), ("KiB", 1024)):
        if count >= factor:
            return f"{count / factor:g} {unit}"
    return f"{count} bytes"


def _command_body(command_id: int | str, house_number: int) -> dict[str, object]:
    """RNBL_GetCommandData parameters as the web app sends them."""
    return {
        "prmGetCommandDataParams": {
            "CommandID": command_id,
            "IsSetPointCommand": False,
            "HouseNumber": str(house_number),
            "RoomNumber": -1,
            "ClientLanguageIndex": 1,
            "IsIgnoreCache": False,
            "PageNumber": -1,
            "IsLoadPageFromCache": False,
        }
    }


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date)."""
    if value is None:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(text).timestamp() - time.time()
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
    if math.isnan(seconds):
        return None
    return max(0.0, seconds)


def _check_status(operation: str, status: int, retry_after: float | None, *, login: bool) -> None:
    """Map an unsuccessful HTTP status to the matching error."""
    if 200 <= status < 300:
        return
    if status in (401, 403):
        if login:
            raise RotemAuthError(f"login refused (HTTP {status})")
        raise RotemSessionExpiredError(f"{operation}: HTTP {status}")
    if 300 <= status < 400:
        # A web app sends a lost session to its login page; the API should not redirect at all.
        # Following it would only yield an HTML page, so a redirect of a call gets one re-login,
        # and a redirect of the login itself is an outage (maintenance page).
        if login:
            raise RotemConnectionError(f"login redirected (HTTP {status})")
        raise _RedirectedError(f"{operation}: redirected (HTTP {status})")
    if status == 429 or (status == 503 and retry_after is not None):
        raise RotemRateLimitError(
            f"{operation}: the service is throttling requests (HTTP {status})", retry_after
        )
    if status >= 500 or status == 404:
        raise RotemConnectionError(f"{operation}: the service is unavailable (HTTP {status})")
    raise RotemApiError(f"{operation}: unexpected HTTP {status}")


def _decode(operation: str, raw: bytes, content_type: str) -> object:
    """Decode a JSON body; an HTML page (error or maintenance page) counts as an outage."""
    if "html" in content_type.lower() or raw.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        raise RotemConnectionError(f"{operation}: the service answered with an HTML page")
    try:
        return decode_json(raw)
    except RotemParseError as err:
        raise RotemParseError(f"{operation}: {err}") from err
