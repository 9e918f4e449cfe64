"""Fixtures of the simulator tests: a small simulation and its server on a loopback port."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from simulator.scenario import Scenario
from simulator.server import Simulation, SimulatorServer
from tests.simulator.simhelpers import START


@pytest.fixture
def simulation() -> Simulation:
    """Two farms of three houses, no faults, at a fixed start."""
    return Simulation(Scenario(farms=2, houses=3, seed=11), start=START)


@pytest.fixture
async def sim_server(
    simulation: Simulation, socket_enabled: None
) -> AsyncIterator[SimulatorServer]:
    """The simulator on a free loopback port."""
    async with SimulatorServer(simulation) as server:
        yield server
