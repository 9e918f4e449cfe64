"""Look for secrets everywhere a failure can be seen: log lines and exception renderings.

A suite hands :class:`SecretScan` the secrets its fakes use (password, tokens, cookie,
username, ...) and every exception its fault tests catch; at the end of the test the scan
renders each exception the ways a person or a tool would see it (``str``, ``repr``, the
traceback with its chain, and every chained exception on its own, including a context that
``raise ... from None`` only hides from the printer) and reads every captured log line with
its traceback, and fails naming what leaked where.

Use the ``secret_scan`` fixture of ``tests/rotemnet/conftest.py`` (every client test is scanned)
or build one with :func:`secret_scan_fixture` in another suite's conftest.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

import pytest

_LOGGERS = ("custom_components.rotem_farm", "aiohttp", "simulator", "ml_analyzer")
"""Loggers the scan turns to DEBUG, so the lines only a debugging user sees are read too."""


def exception_renderings(error: BaseException) -> list[str]:
    """Every text ``error`` shows: the printed traceback and each chained exception's own.

    Chained exceptions are walked through ``__cause__`` and ``__context__`` whether the
    printer shows them or not (a suppressed context is still reachable by an error tracker),
    and through the members of exception groups.
    """
    texts = ["".join(traceback.format_exception(error))]
    seen: list[BaseException] = []
    pending: list[BaseException] = [error]
    while pending:
        current = pending.pop()
        if any(current is known for known in seen):
            continue
        seen.append(current)
        texts += [str(current), repr(current), *traceback.format_exception_only(current)]
        texts += [repr(arg) for arg in current.args]
        pending += [linked for linked in (current.__cause__, current.__context__) if linked]
        if isinstance(current, BaseExceptionGroup):
            pending += current.exceptions
    return texts


def record_renderings(record: logging.LogRecord) -> list[str]:
    """A log record as a handler would print it, with its traceback and chained errors."""
    texts = [record.getMessage()]
    if record.exc_info and record.exc_info[1] is not None:
        texts += exception_renderings(record.exc_info[1])
    if record.exc_text:
        texts.append(record.exc_text)
    if record.stack_info:
        texts.append(record.stack_info)
    return texts


def leaks(secrets: Iterable[str], texts: Iterable[str]) -> list[str]:
    """Which secrets occur in which texts (case-insensitive), as readable findings."""
    wanted = [secret for secret in secrets if secret]
    found = []
    for text in texts:
        lowered = text.lower()
        for secret in wanted:
            position = lowered.find(secret.lower())
            if position >= 0:
                excerpt = text[max(0, position - 60) : position + len(secret) + 60]
                found.append(f"{secret!r} in {excerpt!r}")
    return found


class SecretScan:
    """The secrets of one test and the exceptions its faults raised, checked at the end."""

    def __init__(self, caplog: pytest.LogCaptureFixture, secrets: Iterable[str] = ()) -> None:
        self._caplog = caplog
        self.secrets: set[str] = set(secrets)
        self.errors: list[BaseException] = []

    def add_secrets(self, *secrets: str) -> None:
        """More values that must never show (e.g. a cookie the test's fake handed out)."""
        self.secrets.update(secrets)

    def check(self, error: BaseException) -> BaseException:
        """Remember ``error`` to be scanned at the end; returns it for chaining."""
        self.errors.append(error)
        return error

    @contextmanager
    def raises[E: BaseException](
        self, expected: type[E] | tuple[type[E], ...], *, match: str | None = None
    ) -> Iterator[pytest.ExceptionInfo[E]]:
        """``pytest.raises`` whose exception is scanned at the end of the test."""
        with pytest.raises(expected, match=match) as caught:
            yield caught
        self.check(caught.value)

    def findings(self) -> list[str]:
        """Every leak in the captured log lines and the checked exceptions."""
        texts: list[str] = []
        for record in self._caplog.records:
            texts += record_renderings(record)
        for error in self.errors:
            texts += exception_renderings(error)
        return leaks(self.secrets, texts)

    def assert_clean(self) -> None:
        """Fail naming every leak found."""
        found = self.findings()
        assert not found, "secrets leaked:\n" + "\n".join(found)


def secret_scan_fixture(
    *secrets: str,
) -> Callable[[pytest.LogCaptureFixture], Iterator[SecretScan]]:
    """A fixture body: a :class:`SecretScan` of ``secrets``, logging at DEBUG, checked after.

    The check runs when the test has finished, so it sees every log line the test caused
    and every exception the test handed to :meth:`SecretScan.check` or caught with
    :meth:`SecretScan.raises`.
    """

    def scan(caplog: pytest.LogCaptureFixture) -> Iterator[SecretScan]:
        for name in _LOGGERS:
            caplog.set_level(logging.DEBUG, logger=name)
        scanner = SecretScan(caplog, secrets)
        yield scanner
        scanner.assert_clean()

    return scan
