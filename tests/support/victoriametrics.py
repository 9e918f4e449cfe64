"""The session-wide VictoriaMetrics server fixture of the tests (the server is
`devtools.victoriametrics`). Mark tests that use `victoriametrics_server` `victoriametrics`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devtools.victoriametrics import VictoriaMetricsServer, _free_port, running_victoriametrics

__all__ = ["VictoriaMetricsServer", "_free_port", "victoriametrics_server"]


def _allow_sockets() -> None:
    """Undo pytest-socket's per-test block while the session fixture starts the server."""
    try:
        import pytest_socket  # type: ignore[import-untyped]
    except ImportError:
        return
    pytest_socket.enable_socket()


@pytest.fixture(scope="session")
def victoriametrics_server() -> Iterator[VictoriaMetricsServer]:
    """Session-wide VictoriaMetrics server; tests using it are marked `victoriametrics`.

    A missing binary fails the tests instead of skipping them: scripts/setup installs it, and a
    silently skipped reader test would prove nothing. Tests keep apart by their own entity ids
    (or call `delete_all`), as the server is shared by the session.
    """
    _allow_sockets()
    with running_victoriametrics() as server:
        yield server
