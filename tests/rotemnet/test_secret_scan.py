"""The secret scan itself: it must find a secret wherever a person or a tool could see it."""

from __future__ import annotations

import logging

import pytest

from tests.support.secrets import SecretScan, exception_renderings, leaks

SECRET = "hunter2-SELF-test"


def _masked_from_none() -> ValueError:
    """An error whose hidden context (``raise ... from None``) quotes the secret."""
    try:
        try:
            raise KeyError(f"user {SECRET}")
        except KeyError:
            raise ValueError("masked") from None
    except ValueError as err:
        return err


def test_a_suppressed_context_is_still_read() -> None:
    error = _masked_from_none()
    assert error.__suppress_context__
    assert leaks([SECRET], exception_renderings(error))


def test_case_is_ignored_and_clean_texts_pass() -> None:
    assert leaks([SECRET], [f"echo {SECRET.upper()}"])
    assert leaks([SECRET], ["nothing here", repr(ValueError("masked"))]) == []


def test_log_lines_and_their_tracebacks_are_read(caplog: pytest.LogCaptureFixture) -> None:
    scan = SecretScan(caplog, [SECRET])
    logger = logging.getLogger("tests.secret_scan")
    try:
        raise _masked_from_none()
    except ValueError:
        logger.exception("failed")  # the message is clean; only the hidden context leaks
    assert scan.findings()
    caplog.clear()
    logger.warning("clean line")
    assert scan.findings() == []


def test_checked_errors_are_read(caplog: pytest.LogCaptureFixture) -> None:
    scan = SecretScan(caplog, [SECRET])
    scan.check(_masked_from_none())
    with pytest.raises(AssertionError, match="secrets leaked"):
        scan.assert_clean()
