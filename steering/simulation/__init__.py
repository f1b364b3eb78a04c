"""Capacity simulation: with the nurses enrolled today, what happens if a department gets N
requests a day, under the platform's policy (the product's real planner, offers and expiry) and
under the incumbents' (broadcast to every eligible nurse, first to answer wins), on the same
requests and the same nurse behaviour; and how many more nurses, and where, reach a target."""

from steering.simulation.params import SimulationParams, default_per_day, parse_parameters
from steering.simulation.runner import Simulation, simulate
from steering.simulation.world import ScratchDatabases

__all__ = [
    "ScratchDatabases",
    "Simulation",
    "SimulationParams",
    "default_per_day",
    "parse_parameters",
    "simulate",
]
