"""A throw-away InfluxDB 1.x server for tests and benchmarks.

The analyzer's InfluxDB reader must be proven against the real server (InfluxQL parsing, regex
matching, chunked responses), not a mock. This module starts the Debian `influxd` on free
loopback ports with its own temporary data, meta and WAL directories and a generated
configuration (no usage reporting, no UDP/Graphite/collectd listeners, no `_internal` monitor
database), waits until `/ping` answers and stops it again.

Use it as a pytest fixture (`influxdb_server`, session scoped; mark the tests `influx`) or as a
context manager (`running_influxdb()`) from scripts such as `bench/analyzer_throughput.py`.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

INFLUXD = "influxd"
START_TIMEOUT = 60.0


@dataclass(frozen=True)
class InfluxServer:
    """A running server: its base URL, host and port."""

    url: str
    host: str
    port: int

    def query(self, statement: str, database: str | None = None) -> bytes:
        """Run one InfluxQL statement (POST, so it may create or drop things)."""
        params = {"q": statement}
        if database:
            params["db"] = database
        data = urllib.parse.urlencode(params).encode()
        with urllib.request.urlopen(f"{self.url}/query", data=data, timeout=60) as response:
            body: bytes = response.read()
        return body

    def create_database(self, name: str) -> None:
        """Create a database (idempotent on the server side)."""
        self.query(f'CREATE DATABASE "{name}"')

    def drop_database(self, name: str) -> None:
        """Drop a database so the next test starts clean."""
        self.query(f'DROP DATABASE "{name}"')

    def write_lines(self, database: str, lines: str | bytes, precision: str = "s") -> None:
        """Write line protocol exactly as HA's influxdb integration does (one batch per call)."""
        body = lines.encode() if isinstance(lines, str) else lines
        query = urllib.parse.urlencode({"db": database, "precision": precision})
        request = urllib.request.Request(f"{self.url}/write?{query}", data=body, method="POST")
        with urllib.request.urlopen(request, timeout=300) as response:
            if response.status != 204:
                raise RuntimeError(f"InfluxDB write answered {response.status}")


def _free_port() -> int:
    """A loopback port nobody listens on right now (the server binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _config(root: Path, http_port: int, rpc_port: int) -> str:
    return f"""reporting-disabled = true
bind-address = "127.0.0.1:{rpc_port}"

[meta]
  dir = "{root / "meta"}"
  logging-enabled = false

[data]
  dir = "{root / "data"}"
  wal-dir = "{root / "wal"}"
  query-log-enabled = false
  cache-max-memory-size = 2147483648

[monitor]
  store-enabled = false

[http]
  enabled = true
  bind-address = "127.0.0.1:{http_port}"
  log-enabled = false
  pprof-enabled = false
  max-body-size = 0

[logging]
  level = "warn"
  suppress-logo = true

[[udp]]
  enabled = false

[[graphite]]
  enabled = false

[[collectd]]
  enabled = false

[[opentsdb]]
  enabled = false

[continuous_queries]
  enabled = false
"""


def influxd_available() -> bool:
    """Whether the Debian `influxd` binary is installed (scripts/setup installs it)."""
    return shutil.which(INFLUXD) is not None


def _wait_ready(url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"influxd exited with {process.returncode}: {log_path.read_text()[-2000:]}"
            )
        try:
            with urllib.request.urlopen(f"{url}/ping", timeout=1) as response:
                if response.status == 204:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"influxd did not answer /ping within {START_TIMEOUT} s")


@contextlib.contextmanager
def running_influxdb() -> Iterator[InfluxServer]:
    """Start a private influxd, yield it once /ping answers, stop it and delete its data."""
    if not influxd_available():
        raise RuntimeError(
            "influxd is not installed (run scripts/setup or apt-get install influxdb)"
        )
    with tempfile.TemporaryDirectory(prefix="rotem-influxdb-") as tmp:
        root = Path(tmp)
        http_port, rpc_port = _free_port(), _free_port()
        config_path = root / "influxdb.conf"
        config_path.write_text(_config(root, http_port, rpc_port))
        log_path = root / "influxd.log"
        url = f"http://127.0.0.1:{http_port}"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [INFLUXD, "run", "-config", str(config_path)],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            try:
                _wait_ready(url, process, log_path)
                yield InfluxServer(url=url, host="127.0.0.1", port=http_port)
            finally:
                process.terminate()
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


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
