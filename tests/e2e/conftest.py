"""Fixtures of the end-to-end tests: one whole stack per module, driven from synchronous tests.

The stack (InfluxDB, simulator, a real `hass` process, the analyzer) takes a while to start, so a
module shares it and its tests run in file order, each one a step of the farmer's story. The
stack lives on its own event loop (`asyncio.Runner`), not pytest's per-test loop, because it
outlives single tests.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterator
from datetime import timedelta
from typing import Any

import pytest
import pytest_socket  # type: ignore[import-untyped]

from devtools.stack import DemoStack, StackSettings


@pytest.fixture(autouse=True)
def verify_cleanup() -> Iterator[None]:
    """Replace the HA test plugin's in-process cleanup check for these tests.

    That check looks for threads and timers left in *this* interpreter by an in-process HA; here
    HA runs in a child process and the module-wide stack keeps its own loop (and that loop's
    executor threads) across tests on purpose. Leftover processes are what matters here, and
    `DemoStack.stop` kills their process groups.
    """
    return (yield)


def allow_loopback() -> None:
    """Let this process open sockets to 127.0.0.1 only (the HA test plugin blocks all sockets).

    Done per test (`_loopback_sockets`) and when the module's stack starts, because the plugin
    blocks sockets again before every test and the stack fixture starts before function fixtures.
    """
    pytest_socket.enable_socket()
    pytest_socket.socket_allow_hosts(["127.0.0.1"])


@pytest.fixture(autouse=True)
def _loopback_sockets() -> None:
    allow_loopback()


class Stack:
    """The running stack and the loop it lives on; `run` executes one coroutine there."""

    def __init__(self, runner: asyncio.Runner, stack: DemoStack) -> None:
        self.runner = runner
        self.stack = stack

    def run[T](self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the stack's loop and return its result."""
        return self.runner.run(coroutine)


@pytest.fixture(scope="module")
def e2e(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """InfluxDB + simulator + HA with both farms + blueprint automations (no analyzer loop).

    Like the demo, the Rotem farm is read every minute (an automation calling
    homeassistant.update_entity), so an outage shows within the test.

    The scenario's heater failure (farm 1, house 3) happened 90 minutes before the stack started
    and the two days of heater wear before it are in InfluxDB's history, so one analyzer pass
    (`--once`) has everything it needs to find it. The simulator runs on the wall clock.
    """
    settings = StackSettings(
        root=tmp_path_factory.mktemp("e2e"),
        farms=1,
        houses=4,
        fault_in=timedelta(minutes=-90),
        history_days=3.0,
        analyzer_interval=300,
    )
    allow_loopback()
    stack = DemoStack(settings)
    with asyncio.Runner(loop_factory=asyncio.new_event_loop) as runner:
        try:
            runner.run(stack.start(analyzer=False))
            yield Stack(runner, stack)
        finally:
            runner.run(stack.stop())
