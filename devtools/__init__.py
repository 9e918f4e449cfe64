"""Developer tools: the whole product started on one machine, for the demo and the e2e tests.

Nothing here ships: the integration, the client, the simulator and the analyzer never import it.
`scripts/demo` runs `python -m devtools` (see `cli`); the end-to-end tests drive the same
`stack.DemoStack`, so the demo and the tests cannot drift apart.

Modules, bottom up: `processes` (child processes, ports, polling), `influxdb` (a throw-away
InfluxDB 1.x), `ha_config`, `ha_api` and `home_assistant` (a real `hass` process, its
configuration and its APIs), `simulator_process`, `analyzer_process`, `houses` (a running HA's
houses, read back), `flows` (config and options flows, the manual farm's helpers),
`blueprints`, `backfill` (the farm's past into InfluxDB), `dashboard`, `stack` (all of them
together) and `cli`.
`translations` and `newest_ha` are the Python halves of two scripts under `scripts/`.

This package imports only the standard library at its top, so `newest_ha` runs under the
system's python3 too; it never imports `tests`.
"""

from __future__ import annotations

from pathlib import Path

#: The repository's root (the parent of this package).
REPO_ROOT = Path(__file__).resolve().parents[1]
