"""Exceptions raised by the RotemNetWeb client.

Every failure the client can meet leaves it as one of these, so callers (the Home Assistant
integration, the analyzer) can map them without catching ``Exception``. Messages never carry
the username, the password, a token or the session cookie, and an error whose message had to be
masked carries no chained error that still has them.
"""

from __future__ import annotations


class RotemError(Exception):
    """Base class of every error raised by this library."""


class RotemConnectionError(RotemError):
    """The service could not be reached: network error, time-out, HTTP 5xx or an HTML page."""


class RotemRateLimitError(RotemConnectionError):
    """The service asked us to slow down (HTTP 429/503) and the retry budget is spent."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RotemAuthError(RotemError):
    """The credentials were refused, or the session could not be re-established."""


class RotemSessionExpiredError(RotemAuthError):
    """The service said the session is gone (``isAuthorize`` or ``isInSession`` false).

    The client answers this with one fresh login and a retry; callers only see it when the
    fresh session is refused too, and then it is an ordinary :class:`RotemAuthError`.
    """


class RotemNoFarmError(RotemAuthError):
    """The login succeeded but the account has no farm (no connection token or gateway)."""


class RotemApiError(RotemError):
    """The service answered, but reported a logical failure (``isSucceed: false``)."""


class RotemParseError(RotemError):
    """The answer could not be understood (not JSON, wrong shape, wrong types)."""


class RotemResponseTooLargeError(RotemParseError):
    """The answer is larger than the client reads (``max_response_bytes``); it was cut off.

    The real answers are well under a megabyte, so this is a broken proxy, a wrong address
    or a hostile server; reading on would only exhaust the host's memory.
    """

    def __init__(self, message: str, limit: int | None = None) -> None:
        super().__init__(message)
        self.limit = limit
