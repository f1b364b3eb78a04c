"""Simulation runs started from the coordinator's page: the run is recorded (and audited), then
executed in a background thread of the process that took the request, which writes its progress
and, at the end, its answer or its failure to the run's row. A running row whose heartbeat is
older than `STALE` belongs to a process that died: it is shown as interrupted."""

import logging
import time
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, select

from registry import audit
from registry.errors import Conflict, NotFound
from registry.requests.services import BookingRules
from registry.timeutil import utcnow
from registry.visits.offers import OfferRules
from steering.simulation.models import RunStatus, SimulationRun
from steering.simulation.params import SimulationParams
from steering.simulation.runner import simulate
from steering.simulation.world import ScratchDatabases

log = logging.getLogger("vdsi.simulation")
# Progress is written at most this often; a run calls back many times a second.
BEAT_SECONDS = 2.0
# A run whose process has not written for this long is no longer running. The longest step
# without a call back is one planning pass (its time limit, a few seconds).
STALE = timedelta(minutes=2)
RECENT = 20
# Runs going on at once in the deployment: each takes a processor core while it lasts.
MAX_RUNNING = 2


def start_run(session: Session, params: SimulationParams, *, actor) -> SimulationRun:
    """Records the run (the caller commits, then executes it); refused while `MAX_RUNNING`
    others are going on."""
    now = utcnow()
    running = session.exec(
        select(SimulationRun.id).where(
            SimulationRun.status == RunStatus.RUNNING, SimulationRun.heartbeat_at > now - STALE
        )
    ).all()
    if len(running) >= MAX_RUNNING:
        raise Conflict(
            f"{len(running)} simulations sont déjà en cours ; attendez qu'une se termine."
        )
    run = SimulationRun(
        created_by_id=getattr(actor, "id", None),
        created_by_label=getattr(actor, "email", None) or str(actor),
        department=params.department,
        parameters=params.as_dict(),
        step="en attente de démarrage",
    )
    session.add(run)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="simulation.started",
        target_type="simulation_run",
        target_id=run.id,
        details=params.as_dict(),
    )
    return run


def execute_run(
    engine,
    run_id: int,
    params: SimulationParams,
    *,
    rules: OfferRules,
    booking: BookingRules,
    databases: ScratchDatabases,
) -> None:
    """Runs the simulation here and now (a thread's target); never raises."""
    beat = _Heartbeat(engine, run_id)
    try:
        with Session(engine, expire_on_commit=False) as source:
            simulation = simulate(
                source, params, rules=rules, booking=booking, databases=databases, progress=beat
            )
        _finish(engine, run_id, RunStatus.DONE, result=simulation.as_dict())
    except Exception as error:
        log.exception("simulation run %s failed", run_id)
        message = f"La simulation a échoué : {error}"
        _finish(engine, run_id, RunStatus.FAILED, error=message[:500])


class _Heartbeat:
    def __init__(self, engine, run_id: int):
        self.engine, self.run_id = engine, run_id
        self.written = 0.0

    def __call__(self, message: str, fraction: float) -> None:
        if time.monotonic() - self.written < BEAT_SECONDS:
            return
        self.written = time.monotonic()
        with Session(self.engine) as session:
            session.execute(
                update(SimulationRun)
                .where(SimulationRun.id == self.run_id, SimulationRun.status == RunStatus.RUNNING)
                .values(progress=fraction, step=message[:200], heartbeat_at=utcnow())
            )
            session.commit()


def _finish(engine, run_id: int, status: RunStatus, *, result=None, error: str = "") -> None:
    with Session(engine) as session:
        now = utcnow()
        session.execute(
            update(SimulationRun)
            .where(SimulationRun.id == run_id)
            .values(
                status=status,
                progress=1.0 if status == RunStatus.DONE else SimulationRun.progress,
                step="terminée" if status == RunStatus.DONE else "échouée",
                heartbeat_at=now,
                finished_at=now,
                result=result,
                error=error,
            )
        )
        session.commit()


def state_of(run: SimulationRun, now: datetime | None = None) -> RunStatus:
    now = now or utcnow()
    if run.status == RunStatus.RUNNING and now - run.heartbeat_at > STALE:
        return RunStatus.INTERRUPTED
    return RunStatus(run.status)


def get_run(session: Session, run_id: int) -> SimulationRun:
    run = session.get(SimulationRun, run_id)
    if run is None:
        raise NotFound(f"Simulation n° {run_id} introuvable.")
    return run


def recent_runs(session: Session, limit: int = RECENT) -> list[SimulationRun]:
    return list(session.exec(select(SimulationRun).order_by(SimulationRun.id.desc()).limit(limit)))


def progress_of(run: SimulationRun, now: datetime | None = None) -> dict:
    """What the page's poller reads."""
    state = state_of(run, now)
    return {
        "id": run.id,
        "status": state.value,
        "status_label": state.label,
        "progress": round(run.progress, 3),
        "step": run.step,
        "error": run.error,
        "finished": state != RunStatus.RUNNING,
    }
