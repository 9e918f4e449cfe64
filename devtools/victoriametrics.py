"""A throw-away VictoriaMetrics server for tests and benchmarks.

The analyzer's VictoriaMetrics reader must be proven against the real server (how it files HA's
InfluxDB line protocol, its selector syntax, its export format), not a mock. This module starts
Debian's `victoria-metrics` single-node binary on a free loopback port with a temporary data
directory and a 100-year retention (the tests write points dated in 2026, which a short
retention would drop), waits until `/health` answers and stops it again.

The tests use it through the pytest fixture `victoriametrics_server` (tests/support, session
scoped; mark the tests `victoriametrics`); scripts such as `bench/analyzer_throughput.py` use the
context manager `running_victoriametrics()`.
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

VICTORIA_METRICS = "victoria-metrics"
START_TIMEOUT = 60.0


@dataclass(frozen=True)
class VictoriaMetricsServer:
    """A running server: its base URL, host and port."""

    url: str
    host: str
    port: int

    def write_lines(
        self, database: str, lines: str | bytes, precision: str = "s", *, flush: bool = True
    ) -> None:
        """Write InfluxDB line protocol to `/write` as HA's influxdb integration (api_version 1)
        does, then flush, so the points are visible to the next read at once (the server
        otherwise buffers fresh points for up to a second). A bulk loader flushes once at the
        end instead (`flush=False`, then `flush()`)."""
        body = lines.encode() if isinstance(lines, str) else lines
        query = urllib.parse.urlencode({"db": database, "precision": precision})
        request = urllib.request.Request(f"{self.url}/write?{query}", data=body, method="POST")
        with urllib.request.urlopen(request, timeout=300) as response:
            if response.status != 204:
                raise RuntimeError(f"VictoriaMetrics write answered {response.status}")
        if flush:
            self.flush()

    def flush(self) -> None:
        """Make every point written so far searchable (`/internal/force_flush`)."""
        with urllib.request.urlopen(f"{self.url}/internal/force_flush", timeout=60):
            pass

    def delete_all(self) -> None:
        """Delete every series, so the next test starts from an empty server."""
        data = urllib.parse.urlencode({"match[]": '{__name__=~".+"}'}).encode()
        request = urllib.request.Request(
            f"{self.url}/api/v1/admin/tsdb/delete_series", data=data, method="POST"
        )
        with urllib.request.urlopen(request, timeout=60):
            pass


def _free_port() -> int:
    """A loopback port nobody listens on right now (the server binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def victoriametrics_available() -> bool:
    """Whether Debian's `victoria-metrics` binary is installed (scripts/setup installs it)."""
    return shutil.which(VICTORIA_METRICS) is not None


def _wait_ready(url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"victoria-metrics exited with {process.returncode}: "
                f"{log_path.read_text(errors='replace')[-2000:]}"
            )
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=1) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"victoria-metrics did not answer /health within {START_TIMEOUT} s")


@contextlib.contextmanager
def running_victoriametrics() -> Iterator[VictoriaMetricsServer]:
    """Start a private victoria-metrics, yield it once /health answers, stop it and delete its
    data."""
    if not victoriametrics_available():
        raise RuntimeError(
            "victoria-metrics is not installed "
            "(run scripts/setup or apt-get install victoria-metrics)"
        )
    with tempfile.TemporaryDirectory(prefix="rotem-victoriametrics-") as tmp:
        root = Path(tmp)
        port = _free_port()
        log_path = root / "victoria-metrics.log"
        url = f"http://127.0.0.1:{port}"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [
                    VICTORIA_METRICS,
                    "-httpListenAddr",
                    f"127.0.0.1:{port}",
                    "-storageDataPath",
                    str(root / "data"),
                    "-retentionPeriod",
                    "100y",
                    "-loggerLevel",
                    "WARN",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            try:
                _wait_ready(url, process, log_path)
                yield VictoriaMetricsServer(url=url, host="127.0.0.1", port=port)
            finally:
                process.terminate()
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
