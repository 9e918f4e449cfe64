"""The session-wide InfluxDB 1.x server fixture of the tests (the server is `devtools.influxdb`).

Mark tests that use `influxdb_server` `influx`. `InfluxServer` and `_free_port` are importable
from here too, for tests written before the server moved to `devtools`.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devtools.influxdb import InfluxServer, running_influxdb
from devtools.processes import free_port as _free_port

__all__ = ["InfluxServer", "_free_port", "influxdb_server"]


def _allow_sockets() -> None:
    """Undo pytest-socket's per-test block while the session fixture starts the server."""
    try:
        import pytest_socket  # type: ignore[import-untyped]
    except ImportError:
        return
    pytest_socket.enable_socket()


@pytest.fixture(scope="session")
def influxdb_server() -> Iterator[InfluxServer]:
    """Session-wide InfluxDB 1.x server; tests using it are marked `influx`.

    A missing `influxd` fails the tests instead of skipping them: scripts/setup installs it, and
    a silently skipped reader test would prove nothing. pytest-homeassistant-custom-component
    blocks sockets for every test; the server start needs them (free ports, /ping), and tests
    that talk to the server request pytest-socket's `socket_enabled` fixture.
    """
    _allow_sockets()
    with running_influxdb() as server:
        yield server
