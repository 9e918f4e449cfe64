"""RotemNetWeb-compatible cloud simulator: a broiler-farm model, a server that answers in the
captured wire format, fault scenarios, and a vectorised series API for benchmarks."""

from .scenario import FarmOptions, Fault, FaultEvent, Scenario, ScenarioError, load
from .server import Simulation, SimulatorServer

__all__ = [
    "FarmOptions",
    "Fault",
    "FaultEvent",
    "Scenario",
    "ScenarioError",
    "Simulation",
    "SimulatorServer",
    "load",
]
