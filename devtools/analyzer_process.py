"""The ML analyzer run against the stack's HA and InfluxDB: continuously, or one pass.

The analyzer is a plain package under addon_ml_analyzer/; here it runs as the add-on would,
from a YAML config holding a long-lived token of the stack's HA (the file is private, 0600).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from pathlib import Path

import yaml

from devtools import REPO_ROOT
from devtools.processes import ChildProcess, spawn


class AnalyzerProcess:
    """`python -m ml_analyzer run --config ...` for the stack; `configure` first."""

    def __init__(
        self, *, python: str, config_path: Path, log_path: Path, interval: int, seed: int
    ) -> None:
        self.python = python
        self.config_path = config_path
        self.log_path = log_path
        self.interval = interval
        self.seed = seed
        self.child: ChildProcess | None = None

    def configure(self, ha_url: str, token: str, influx_port: int, database: str) -> Path:
        """The analyzer's YAML config: this HA with a long-lived token, this InfluxDB."""
        path = self.config_path
        path.write_text(
            yaml.safe_dump(
                {
                    "home_assistant": {"url": ha_url, "token": token},
                    "influxdb": {"host": "127.0.0.1", "port": influx_port, "database": database},
                    "interval_seconds": self.interval,
                    "sensitivity": "medium",
                    "seed": self.seed,
                    "log_level": "info",
                },
                sort_keys=False,
            )
        )
        path.chmod(0o600)
        return path

    def command(self, once: bool = False) -> list[str]:
        """`python -m ml_analyzer run --config ...` as the stack runs it."""
        command = [self.python, "-m", "ml_analyzer", "run", "--config", str(self.config_path)]
        return [*command, "--once"] if once else command

    @staticmethod
    def env() -> dict[str, str]:
        """The analyzer is a plain package under addon_ml_analyzer/."""
        return {"PYTHONPATH": str(REPO_ROOT / "addon_ml_analyzer")}

    def start(self) -> None:
        """Run the analyzer continuously (the demo)."""
        self.child = spawn("analyzer", self.command(), self.log_path, self.env())

    async def run_once(self, within: float = 180) -> str:
        """One analyzer pass (`--once`), returning its output; raises if it fails."""
        process = await asyncio.create_subprocess_exec(
            *self.command(once=True),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            cwd=REPO_ROOT,
            env={**os.environ, **self.env()},
            start_new_session=True,
        )
        try:
            async with asyncio.timeout(within):
                output, _ = await process.communicate()
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            await process.wait()
            raise
        text = output.decode(errors="replace")
        if process.returncode != 0:
            raise RuntimeError(f"analyzer --once exited {process.returncode}:\n{text[-3000:]}")
        return text

    def stop(self) -> None:
        """Stop the continuous analyzer's process group."""
        child, self.child = self.child, None
        if child is not None:
            child.stop()
