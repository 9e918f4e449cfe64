"""Child processes the tools start, free loopback ports and polling waits.

Every process is started in its own session (process group) with its output in a log file, so
stopping it stops whatever it spawned too, even when it hangs.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from devtools import REPO_ROOT


class ServiceError(RuntimeError):
    """A service the tools started did not do what the caller needed.

    `wait_until` counts it as "not yet", like a refused connection.
    """


def free_port() -> int:
    """Return a loopback TCP port that is free right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def venv_python() -> str:
    """The repository's venv interpreter when there is one, else the running one."""
    python = REPO_ROOT / ".venv" / "bin" / "python"
    return str(python) if python.exists() else sys.executable


def log(message: str) -> None:
    """Progress on stderr, so `--check`'s summary on stdout stays clean."""
    sys.stderr.write(f"demo: {message}\n")
    sys.stderr.flush()


async def wait_until[T](
    probe: Callable[[], Awaitable[T | None]],
    *,
    within: float,
    what: str,
    interval: float = 0.5,
) -> T:
    """Poll `probe` until it returns something other than None/False; raise after `within` seconds.

    Errors raised by the probe count as "not yet" (a server that is still starting refuses
    connections); the last one is reported if the wait fails.
    """
    deadline = time.monotonic() + within
    last_error: BaseException | None = None
    while True:
        try:
            result = await probe()
        except (aiohttp.ClientError, OSError, ServiceError, KeyError) as err:
            last_error = err
            result = None
        if result is not None and result is not False:
            return result
        if time.monotonic() >= deadline:
            detail = f" (last error: {last_error!r})" if last_error else ""
            raise TimeoutError(f"timed out after {within:.0f} s waiting for {what}{detail}")
        await asyncio.sleep(interval)


def stop_process_group(process: subprocess.Popen[bytes], timeout: float) -> None:
    """SIGTERM the process, wait up to `timeout`, then SIGKILL its whole process group.

    The group is killed in any case at the end, so helpers the process spawned (HA runs none by
    default, but pip or ffmpeg could) do not outlive it. Requires `start_new_session=True`.
    """
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


@dataclass
class ChildProcess:
    """A process the demo started, in its own process group, with its output in a log file."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def alive(self) -> bool:
        """Whether it still runs."""
        return self.process.poll() is None

    def stop(self, within: float = 30) -> None:
        """SIGTERM, wait, then SIGKILL the whole group: nothing of it survives."""
        stop_process_group(self.process, within)

    def log_tail(self, lines: int = 40) -> str:
        """The end of its output, for error messages."""
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def check_alive(self) -> None:
        """Raise with the end of its log when it has exited (a wait would only time out)."""
        if not self.alive():
            raise RuntimeError(f"{self.name} exited:\n{self.log_tail()}")


def spawn(
    name: str, command: Sequence[str], log_path: Path, env: Mapping[str, str] | None = None
) -> ChildProcess:
    """Start a command in a new session so it can be stopped as a group."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as output:
        process = subprocess.Popen(
            list(command),
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=REPO_ROOT,
            env={**os.environ, **(env or {})},
        )
    return ChildProcess(name, process, log_path)
