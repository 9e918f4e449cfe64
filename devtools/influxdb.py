"""A throw-away InfluxDB 1.x server: for the stack (asynchronous), and for tests and benchmarks.

The analyzer's InfluxDB reader must be proven against the real server (InfluxQL parsing, regex
matching, chunked responses), not a mock. This module starts the Debian `influxd` on free
loopback ports with its own data, meta and WAL directories and a generated configuration (no
usage reporting, no UDP/Graphite/collectd listeners, no `_internal` monitor database), waits
until `/ping` answers and stops it again.

`running_influxdb()` is a synchronous context manager (tests/support/influxdb.py wraps it in a
pytest fixture; `bench/analyzer_throughput.py` uses it directly); `InfluxDBProcess` is the
stack's server, a child process it stops with the rest.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from devtools.processes import ChildProcess, free_port, spawn, wait_until

INFLUXD = "influxd"
START_TIMEOUT = 60.0
#: The database HA's influxdb integration writes to in the stack (and the analyzer reads).
INFLUX_DATABASE = "home_assistant"
#: Lines per write request of `InfluxDBProcess.write`.
WRITE_CHUNK = 20000


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


def influxdb_config(root: Path, http_port: int, rpc_port: int) -> str:
    """A quiet influxd configuration with every directory under `root` and loopback ports."""
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
        http_port, rpc_port = free_port(), free_port()
        config_path = root / "influxdb.conf"
        config_path.write_text(influxdb_config(root, http_port, rpc_port))
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


class InfluxDBProcess:
    """The stack's influxd: data under `data_dir`, output in `log_path`, HA's database made."""

    def __init__(
        self, data_dir: Path, log_path: Path, http: Callable[[], aiohttp.ClientSession]
    ) -> None:
        self.data_dir = data_dir
        self.log_path = log_path
        self._http = http
        self.port = 0
        self.child: ChildProcess | None = None

    @property
    def url(self) -> str:
        """The InfluxDB HTTP API."""
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        """Run influxd on free ports, wait for /ping and create HA's database."""
        influxd = shutil.which(INFLUXD)
        if influxd is None:
            raise RuntimeError("influxd is not installed: run scripts/setup")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        config = self.data_dir / "influxdb.conf"
        config.write_text(influxdb_config(self.data_dir, self.port, free_port()))
        self.child = spawn("influxdb", [influxd, "run", "-config", str(config)], self.log_path)
        child = self.child

        async def ping() -> bool:
            child.check_alive()
            async with self._http().get(f"{self.url}/ping") as response:
                return response.status == 204

        await wait_until(ping, within=60, what="InfluxDB")
        await self.query(f'CREATE DATABASE "{INFLUX_DATABASE}"')

    async def query(self, statement: str) -> list[dict[str, Any]]:
        """Run InfluxQL on HA's database; return the first result's series (empty when none)."""
        async with self._http().post(
            f"{self.url}/query", data={"q": statement, "db": INFLUX_DATABASE}
        ) as response:
            body = await response.json(content_type=None)
        results = body.get("results") or [{}]
        series: list[dict[str, Any]] = results[0].get("series", [])
        return series

    async def write(self, lines: Sequence[str]) -> None:
        """Write line protocol (seconds) into HA's database, `WRITE_CHUNK` lines a request."""
        for chunk in range(0, len(lines), WRITE_CHUNK):
            body = "\n".join(lines[chunk : chunk + WRITE_CHUNK]).encode()
            async with self._http().post(
                f"{self.url}/write",
                params={"db": INFLUX_DATABASE, "precision": "s"},
                data=body,
            ) as response:
                if response.status != 204:
                    raise RuntimeError(f"InfluxDB refused the history: {await response.text()}")

    def stop(self) -> None:
        """Stop influxd's process group (its data stays under `data_dir`)."""
        child, self.child = self.child, None
        if child is not None:
            child.stop()
