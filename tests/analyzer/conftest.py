"""Fixtures of the analyzer tests: the real InfluxDB 1.x and VictoriaMetrics servers."""

from __future__ import annotations

import pytest

from devtools.influxdb import InfluxServer
from tests.support.influxdb import influxdb_server
from tests.support.victoriametrics import VictoriaMetricsServer, victoriametrics_server

__all__ = ["InfluxServer", "VictoriaMetricsServer", "influxdb_server", "victoriametrics_server"]


@pytest.fixture(autouse=True)
def _loopback_sockets(socket_enabled: None) -> None:
    """The analyzer talks to real servers on 127.0.0.1 (InfluxDB, HA's HTTP server)."""
