"""One simulation: the department's nurses copied into a scratch database, the period's requests
and the nurses' behaviour drawn from the seed, each policy run on them, the capacity search if a
target is given; the answer as plain JSON values (stored, printed, shown)."""

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session

from registry.requests.services import BookingRules
from registry.timeutil import utcnow
from registry.visits.offers import OfferRules
from steering.simulation.arrivals import Arrival, draw_arrivals
from steering.simulation.behaviour import NurseBehaviour
from steering.simulation.broadcast_policy import run_broadcast
from steering.simulation.capacity import CapacityAnswer, capacity_search
from steering.simulation.metrics import PolicyRun, summary
from steering.simulation.params import (
    SimulationParams,
    national_share,
    patient_communes,
    population,
)
from steering.simulation.platform_policy import run_platform
from steering.simulation.world import ScratchDatabases, World

# Progress: a message in French and the share of the work done (0 to 1).
Progress = Callable[[str, float], None]
POLICY_LABELS = {"platform": "Plateforme", "broadcast": "Diffusion à toutes"}
# The last requests need up to a day for their visit; the period then ends.
DRAIN = timedelta(days=2)


@dataclass(frozen=True)
class Period:
    """The days simulated: the coming days from the next local midnight, run `shift` (whole
    weeks) earlier so that every simulated instant is already past on the real clock."""

    first_day: datetime  # simulated, a local midnight
    days: int
    shift: timedelta

    @classmethod
    def coming(cls, timezone: str, days: int, now: datetime | None = None) -> "Period":
        now = now or utcnow()
        zone = ZoneInfo(timezone)
        tomorrow = (now.astimezone(zone) + timedelta(days=1)).date()
        midnight = datetime.combine(tomorrow, datetime.min.time(), zone)
        weeks = math.ceil((midnight + timedelta(days=days) + DRAIN - now) / timedelta(days=7))
        shift = timedelta(days=7 * weeks)
        return cls((midnight - shift).astimezone(zone), days, shift)

    def elapsed(self, at: datetime) -> float:
        """How far into the period (0 to 1, the drain after the last day included)."""
        span = timedelta(days=self.days) + DRAIN
        return min(max((at - self.first_day) / span, 0.0), 1.0)

    def day_of(self, at: datetime) -> int:
        return min(int((at - self.first_day) / timedelta(days=1)) + 1, self.days)


@dataclass
class Simulation:
    params: SimulationParams
    period: Period
    world: World
    arrivals: list[Arrival]
    runs: dict[str, PolicyRun] = field(default_factory=dict)
    capacity: CapacityAnswer | None = None
    broadcast_with_added: PolicyRun | None = None
    seconds: float = 0.0

    def as_dict(self) -> dict:
        department = self.params.department
        nurses = self.world.nurses
        answer = {
            "parameters": self.params.as_dict(),
            "department": department,
            "population": population(department),
            "national_share": national_share(department),
            "first_day": (self.period.first_day + self.period.shift).date().isoformat(),
            "nurses": len(nurses),
            "requests": len(self.arrivals),
            "policies": {
                name: summary(run, self.arrivals, nurses) for name, run in self.runs.items()
            },
            "capacity": None,
            "seconds": round(self.seconds, 1),
        }
        if self.capacity is not None:
            answer["capacity"] = _capacity_dict(self)
        return answer


def simulate(
    source: Session,
    params: SimulationParams,
    *,
    rules: OfferRules,
    booking: BookingRules,
    databases: ScratchDatabases,
    progress: Progress | None = None,
    now: datetime | None = None,
) -> Simulation:
    """Runs the simulation; the scratch databases are gone when it returns."""
    started = time.perf_counter()
    report = progress or (lambda _message, _fraction: None)
    communes = patient_communes(params.department)
    timezone = communes[0].timezone if communes else "Europe/Paris"
    period = Period.coming(timezone, params.days, now)
    report("copie des infirmières du département", 0.0)
    world = World.build(
        source, params.department, period.shift, databases, lambda m: report(m, 0.0)
    )
    source.rollback()  # only read, and no longer: no transaction held open for the whole run
    try:
        simulation = Simulation(
            params, period, world, draw_arrivals(params, communes, period.first_day)
        )
        _Runner(simulation, rules, booking, report).run_all(communes)
    finally:
        world.close()
    simulation.seconds = time.perf_counter() - started
    return simulation


class _Runner:
    """Runs the policies asked for, then the capacity search, telling how far it has got."""

    def __init__(self, simulation: Simulation, rules, booking, report: Progress):
        self.simulation, self.rules, self.booking, self.report = simulation, rules, booking, report
        params = simulation.params
        self.behaviour = NurseBehaviour(params)
        self.policies = [p for p in ("platform", "broadcast") if params.policy in (p, "both")]
        self.searching = params.target is not None and "platform" in self.policies
        self.steps = len(self.policies) + (1 if self.searching else 0)

    def run_all(self, communes) -> None:
        simulation = self.simulation
        for step, name in enumerate(self.policies):
            simulation.runs[name] = self.run(name, simulation.world, step)
        if self.searching:
            last = self.steps - 1
            simulation.capacity = capacity_search(
                simulation.world,
                simulation.arrivals,
                [c for c in communes if c.population > 0 and c.postal_codes],
                simulation.runs["platform"],
                target=simulation.params.target,
                cap=simulation.params.max_added_nurses,
                run=lambda grown, label: self.run("platform", grown, last, label),
                progress=lambda message: self.report(message, last / self.steps),
            )
            if simulation.capacity.added and "broadcast" in self.policies:
                simulation.broadcast_with_added = self.run(
                    "broadcast", simulation.capacity.world, last, "Diffusion (capacité)"
                )
        self.report("terminé", 1.0)

    def run(self, name: str, world: World, step: int, label: str | None = None) -> PolicyRun:
        simulation, label = self.simulation, label or POLICY_LABELS[name]
        period, days = simulation.period, simulation.params.days

        def at(moment: datetime) -> None:
            fraction = (step + period.elapsed(moment)) / self.steps
            self.report(f"{label} : jour {period.day_of(moment)}/{days}", fraction)

        if name == "platform":
            return run_platform(
                world,
                simulation.arrivals,
                self.behaviour,
                simulation.params,
                rules=self.rules,
                booking=self.booking,
                progress=at,
            )
        return run_broadcast(
            world, simulation.arrivals, self.behaviour, booking=self.booking, progress=at
        )


def _capacity_dict(simulation: Simulation) -> dict:
    answer = simulation.capacity
    broadcast = simulation.broadcast_with_added
    return {
        "target": answer.target,
        "reached": answer.reached,
        "share": answer.share,
        "added": len(answer.added),
        "communes": [
            {"insee": c.insee, "name": c.name, "population": c.population, "nurses": n}
            for c, n in answer.communes()
        ],
        "rounds": [{"added": n, "share": share} for n, share in answer.rounds],
        "platform": summary(answer.run, simulation.arrivals, answer.world.nurses),
        "broadcast_share": (
            len(broadcast.within_24h(simulation.arrivals)) / len(simulation.arrivals)
            if broadcast is not None and simulation.arrivals
            else None
        ),
    }
