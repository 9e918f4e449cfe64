"""The common answer envelope, the JSON structure checks every parser uses, and the login.

Only a wrong *structure* raises (an envelope that is not an object, a list that is not a list),
and then always :class:`RotemParseError`, so no ``KeyError`` or ``TypeError`` ever reaches a
caller; a refused call raises the typed error the client acts on (re-login, give up).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import urljoin

from .exceptions import (
    RotemApiError,
    RotemAuthError,
    RotemNoFarmError,
    RotemParseError,
    RotemSessionExpiredError,
)
from .values import parse_int

type JsonObject = Mapping[str, object]

_MAX_MESSAGE_LENGTH: Final = 200


# --------------------------------------------------------------------------------------------
# Structure helpers
# --------------------------------------------------------------------------------------------


def json_object(value: object, what: str) -> JsonObject:
    """``value`` as a JSON object, or RotemParseError naming what was expected."""
    if not isinstance(value, Mapping):
        raise RotemParseError(f"{what} is not a JSON object")
    return value


def optional_object(value: object, what: str) -> JsonObject:
    """Like :func:`json_object`, with a missing (null) value read as an empty object."""
    if value is None:
        return {}
    return json_object(value, what)


def _list(value: object, what: str) -> list[object]:
    """``value`` as a JSON array (null reads as empty), or RotemParseError."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise RotemParseError(f"{what} is not a JSON array")
    return value


def json_objects(value: object, what: str) -> list[JsonObject]:
    """A JSON array whose items must all be objects."""
    return [json_object(item, f"an item of {what}") for item in _list(value, what)]


def required_objects(container: JsonObject, key: str) -> list[JsonObject]:
    """Like :func:`json_objects`, for a section without which the answer means nothing."""
    if not isinstance(container.get(key), list):
        raise RotemParseError(f"the answer has no {key} list")
    return json_objects(container[key], key)


def first_string(*candidates: object) -> str | None:
    """The first non-empty string among the candidates."""
    for candidate in candidates:
        if isinstance(candidate, str) and candidate.strip():
            return candidate.strip()
    return None


def _short(text: str) -> str:
    """Cap a server-provided message so a whole HTML page never ends up in an exception."""
    text = " ".join(text.split())
    if len(text) > _MAX_MESSAGE_LENGTH:
        return text[: _MAX_MESSAGE_LENGTH - 1] + "…"
    return text


def _error_message(envelope: JsonObject) -> str:
    """The service's own words about a failure, shortened."""
    error = envelope.get("ErrorObj")
    parts: list[str] = []
    if isinstance(error, Mapping):
        message = error.get("ErrorMessage")
        if isinstance(message, str) and message.strip():
            parts.append(message)
        code = error.get("ErrorCode")
        if isinstance(code, int) and not isinstance(code, bool) and code:
            parts.append(f"code {code}")
    exception = envelope.get("exceptionMessage")
    if isinstance(exception, str) and exception.strip() and exception not in parts:
        parts.append(exception)
    return _short("; ".join(parts)) if parts else "no message"


def decode_json(raw: bytes) -> object:
    """Decode an answer body; a UTF-8 byte order mark (some answers start with one) is fine."""
    try:
        return json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as err:
        raise RotemParseError("the answer is not valid JSON") from err


# --------------------------------------------------------------------------------------------
# Envelope
# --------------------------------------------------------------------------------------------


def parse_envelope(data: object, *, check_session: bool = True) -> object:
    """Check the common envelope and return its payload (``reponseObj`` or ``responseObj``).

    The payload is whatever the operation returns (an object for the operations this library
    parses, a list for GetComparisonDisplayFields).

    ``isAuthorize``/``isInSession`` false raises :class:`RotemSessionExpiredError` (the client
    logs in again once); ``isSucceed`` false raises :class:`RotemApiError`. A login answer is
    checked with ``check_session=False``: before login there is no session to expire.
    """
    envelope = json_object(data, "the answer")
    if check_session and (
        envelope.get("isAuthorize") is False or envelope.get("isInSession") is False
    ):
        raise RotemSessionExpiredError("the service ended the session")
    if envelope.get("isSucceed") is not True:
        raise RotemApiError(f"the service reported a failure: {_error_message(envelope)}")
    payload = envelope.get("reponseObj")
    return envelope.get("responseObj") if payload is None else payload


def payload_object(data: object, *, check_session: bool = True) -> JsonObject:
    """The envelope's payload, which must be an object for the answers parsed here."""
    return json_object(parse_envelope(data, check_session=check_session), "the answer's reponseObj")


# --------------------------------------------------------------------------------------------
# Login
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LoginResult:
    """Tokens and addresses from a Login answer. The tokens never leave the client."""

    user_token: str = field(repr=False)
    connection_token: str = field(repr=False)
    gateway_code: str
    web_server_url: str
    user_display_name: str | None = None


def _web_server_url(raw: str | None, base_url: str, fallback_path: str) -> str:
    """The absolute base of service calls, always with a trailing slash.

    The service sends a relative path such as ``/Host6_V1/``; it is joined to the login base.
    Without one, calls go to the login's own service root (``fallback_path``).
    """
    try:
        url = urljoin(base_url, raw or fallback_path)
    except ValueError as err:
        raise RotemParseError("the login answer carries an unusable WebServerUrl") from err
    if not url.startswith(("http://", "https://")):
        raise RotemParseError("the login answer carries an unusable WebServerUrl")
    return url if url.endswith("/") else url + "/"


def parse_login(data: object, base_url: str, *, fallback_path: str = "Latest/") -> LoginResult:
    """Read a Login answer.

    A refusal (``isSucceed`` false) is a :class:`RotemAuthError`; a success without the user
    or connection token, or without a gateway, is a :class:`RotemNoFarmError` (the account has
    no farm selected). ``LoginResultCode`` values of JsGlobals ``eCheckLoginResultCode`` are
    honoured when the answer carries one.
    """
    envelope = json_object(data, "the login answer")
    try:
        payload = payload_object(envelope, check_session=False)
    except RotemApiError as err:
        raise RotemAuthError(f"login refused: {_error_message(envelope)}") from err
    user = optional_object(payload.get("FarmUser"), "FarmUser")
    connection = optional_object(payload.get("FarmConnectionInfo"), "FarmConnectionInfo")
    result_code = parse_int(payload.get("LoginResultCode", payload.get("CheckLoginResultCode")))
    if result_code in (1, 3):
        raise RotemAuthError(f"login refused (result code {result_code})")
    if result_code == 2:
        raise RotemNoFarmError("login accepted but the gateway is not activated")
    user_token = first_string(user.get("UserToken"))
    connection_token = first_string(connection.get("ConnectionToken"))
    gateway_code = first_string(connection.get("GatewayName"), user.get("GatewayName"))
    if user_token is None or connection_token is None or gateway_code is None:
        raise RotemNoFarmError("login accepted but the account has no farm selected")
    raw_url = first_string(
        envelope.get("WebServerUrl"),
        payload.get("WebServerUrl"),
        user.get("WebServerUrl"),
        connection.get("WebServerUrl"),
    )
    return LoginResult(
        user_token=user_token,
        connection_token=connection_token,
        gateway_code=gateway_code,
        web_server_url=_web_server_url(raw_url, base_url, fallback_path),
        user_display_name=first_string(user.get("DisplayName"), user.get("UserName")),
    )
