"""The jobs themselves, each one short transaction (or a few) over the services, safe to run
again at any time: the planning pass, delivery of notifications, escalations, J+4 reminders and
the retention purge. The scheduler calls them by name; the CLI and the pages may call them too."""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from flask import Flask, current_app
from sqlmodel import Session

from app import notify
from app.db import begin_write
from app.jobs import leases
from app.rules import booking_rules, offer_rules
from registry.notifications.outbox import DeliveryReport, deliver_due
from registry.timeutil import utcnow
from registry.visits import upkeep
from registry.visits.planning import PlanSummary, plan_pass

log = logging.getLogger("vdsi.jobs")
PURGE_CHUNK = 500
# Set by the scheduler: its jobs are stored by name and run with this application.
_application: Flask | None = None


def bind(app: Flask) -> None:
    global _application
    _application = app


def _engine():
    return current_app.extensions["engine"]


@contextmanager
def _writing() -> Iterator[Session]:
    """A session whose transaction writes, committed when the block ends without error."""
    with Session(_engine(), expire_on_commit=False) as session:
        begin_write(session)
        yield session
        session.commit()


def planning(holder: str | None = None) -> PlanSummary | None:
    """One planning pass, unless another process is running one (then None: it will see the
    same requests, and the next pass anything that came after)."""
    holder = holder or leases.process_identity()
    lease_time = timedelta(seconds=max(120, offer_rules().plan_time_limit * 4))
    if not leases.acquire(_engine(), "planning", holder, lease_time):
        return None
    try:
        with _writing() as session:
            summary = plan_pass(session, rules=offer_rules())
            notify.offers_made(session, summary.offered)
            notify.requests_flagged(session, summary.flagged, "unassigned")
        return summary
    finally:
        leases.release(_engine(), "planning", holder)


def delivery() -> DeliveryReport:
    settings = current_app.config["SETTINGS"]
    return deliver_due(lambda: Session(_engine(), expire_on_commit=False), notify.senders(settings))


def escalation() -> int:
    with _writing() as session:
        flagged = upkeep.escalate_at_risk(session, utcnow(), booking_rules().at_risk_before)
        notify.requests_flagged(session, flagged, "at-risk")
    return len(flagged)


def follow_up() -> int:
    with _writing() as session:
        due = upkeep.unreported_at_follow_up(session, utcnow())
        notify.follow_ups_due(session, due)
    return len(due)


def purge() -> int:
    """Every identity past the retention period, in chunks of one transaction each: a night's
    backlog is purged whole, never holding the write lock long, and a run stopped midway leaves
    whole chunks done, the rest for the next run."""
    settings = current_app.config["SETTINGS"]
    now, retention = utcnow(), timedelta(days=settings.retention_days)
    total = 0
    while True:
        with _writing() as session:
            count = upkeep.purge_identities(
                session, now, retention, settings.secret_key, limit=PURGE_CHUNK
            )
        total += count
        if count < PURGE_CHUNK:
            return total


def _run(name: str, job) -> None:
    if _application is None:
        raise RuntimeError("the scheduler's application is not bound")
    with _application.app_context():
        try:
            result = job()
        except Exception:
            log.exception("job %s failed; it runs again at its next time", name)
            raise
        log.info("job %s: %s", name, result)


# Entry points the job store refers to by name (module:function).
def planning_job() -> None:
    _run("planning", planning)


def delivery_job() -> None:
    _run("delivery", delivery)


def escalation_job() -> None:
    _run("escalation", escalation)


def follow_up_job() -> None:
    _run("follow_up", follow_up)


def purge_job() -> None:
    _run("purge", purge)
