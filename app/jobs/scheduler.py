"""One APScheduler for the whole deployment. Every serving process runs an elector thread that
takes or renews the `scheduler` lease; the one holding it runs the scheduler, the others wait to
take over if it stops renewing (crash, kill -9, host down). Jobs live in the database (APScheduler's
SQLAlchemy job store), coalesce missed runs into one, and resume after a restart."""

import atexit
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, timedelta

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask, current_app

from app.config import Settings
from app.jobs import leases, tasks

log = logging.getLogger("vdsi.scheduler")
LEASE = "scheduler"


def jobs(settings: Settings) -> list[tuple[str, str, BaseTrigger]]:
    """Every recurring job: its id in the store, the function it runs, when."""
    return [
        (
            "planning",
            "app.jobs.tasks:planning_job",
            IntervalTrigger(seconds=settings.planning_seconds, timezone=UTC),
        ),
        (
            "delivery",
            "app.jobs.tasks:delivery_job",
            IntervalTrigger(seconds=settings.delivery_seconds, timezone=UTC),
        ),
        ("escalation", "app.jobs.tasks:escalation_job", IntervalTrigger(minutes=5, timezone=UTC)),
        ("follow_up", "app.jobs.tasks:follow_up_job", IntervalTrigger(hours=1, timezone=UTC)),
        (
            "purge",
            "app.jobs.tasks:purge_job",
            CronTrigger(hour=3, minute=15, timezone="Europe/Paris"),
        ),
    ]


class Elector(threading.Thread):
    def __init__(self, app: Flask):
        super().__init__(name="scheduler-elector", daemon=True)
        self.app = app
        self.settings: Settings = app.config["SETTINGS"]
        self.lease_time = timedelta(seconds=self.settings.scheduler_lease_seconds)
        # Renewed well before it lapses, so a slow database does not hand it over by mistake.
        self.renew_seconds = self.settings.scheduler_lease_seconds / 4
        self.holder = leases.process_identity()
        self.scheduler: BackgroundScheduler | None = None
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                self._tick()
            except Exception:
                log.exception("scheduler election failed; trying again")
            self.stopping.wait(self.renew_seconds)

    def _tick(self) -> None:
        engine = self.app.extensions["engine"]
        if leases.acquire(engine, LEASE, self.holder, self.lease_time):
            if self.scheduler is None:
                self.scheduler = _start(engine, self.settings)
                log.warning("scheduler started in %s", self.holder)
        elif self.scheduler is not None:
            log.warning("scheduler lease lost by %s: stopping", self.holder)
            self._stop_scheduler()

    def _stop_scheduler(self) -> None:
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
            self.scheduler = None

    def stop(self) -> None:
        self.stopping.set()
        self._stop_scheduler()
        try:
            leases.release(self.app.extensions["engine"], LEASE, self.holder)
        except Exception:  # the process is ending; the lease then expires on its own
            log.exception("scheduler lease not released")


class RetryingScheduler(BackgroundScheduler):
    """APScheduler 3 tries again when reading the due jobs fails, but an error while it stores a
    job's next run time (the database lost in the middle of a pass) ends its thread for good,
    the lease still renewed: no job would run again until a restart. Such a pass is logged and
    tried again; a job whose next time was not stored is due again then (jobs are idempotent)."""

    def _process_jobs(self):
        try:
            return super()._process_jobs()
        except Exception:
            log.exception(
                "scheduler pass failed; trying again in %s s", self.jobstore_retry_interval
            )
            return self.jobstore_retry_interval


def _start(engine, settings: Settings) -> BackgroundScheduler:
    scheduler = RetryingScheduler(
        jobstores={"default": SQLAlchemyJobStore(engine=engine, tablename="apscheduler_jobs")},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 24 * 3600},
        timezone=UTC,
    )
    scheduler.start(paused=True)
    for job_id, reference, trigger in jobs(settings):
        stored = scheduler.get_job(job_id)
        if stored is None:
            scheduler.add_job(reference, trigger, id=job_id, name=job_id)
        elif str(stored.trigger) != str(trigger):
            # The settings changed: the new timing applies from now.
            scheduler.reschedule_job(job_id, trigger=trigger)
        # Otherwise the stored job keeps its next run time: a restart resumes, it does not
        # reset (a run missed while no process held the lease happens at once, once).
    scheduler.resume()
    return scheduler


_lock = threading.Lock()


def _started_or_off(app: Flask) -> bool:
    return "scheduler" in app.extensions or not app.config["SETTINGS"].scheduler


def start(app: Flask) -> None:
    """Starts this process's elector, once (called before every request: after the first, or
    when the scheduler is off, it returns without taking the lock)."""
    if _started_or_off(app):
        return
    with _lock:
        if _started_or_off(app):  # another thread started it while this one waited
            return
        tasks.bind(app)
        elector = Elector(app)
        app.extensions["scheduler"] = elector
        elector.start()
        atexit.register(elector.stop)


# How many times in a row a pass planned on change is tried again when another process's pass
# holds the planning lease (each an interval later); then the scheduler's pass takes it up.
BUSY_RETRIES = 12


class PlanningTrigger:
    """Plans in the background after a change (a booking, a decline, a hand-back). Triggers that
    arrive while a pass waits to start are merged into it, and passes start at least
    `plan_change_seconds` apart: the first change after a quiet spell is planned at once, a burst
    of bookings by one pass every few seconds instead of one after the other (each pass solves the
    whole backlog, and in a serving process it takes CPU from the requests being served)."""

    def __init__(self, app: Flask):
        self.app = app
        self.interval = app.config["SETTINGS"].plan_change_seconds
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="planning")
        self.lock = threading.Lock()
        self.waiting = False  # a pass is submitted and has not started yet
        self.last_start = float("-inf")
        self.passes = 0
        self.busy_tries = 0

    def request(self) -> None:
        with self.lock:
            if self.waiting:
                return
            self.waiting = True
        self.executor.submit(self._pass)

    def _pass(self) -> None:
        delay = self.last_start + self.interval - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        with self.lock:
            self.waiting = False
            self.last_start = time.monotonic()
            self.passes += 1
        with self.app.app_context():
            try:
                planned = tasks.planning() is not None
            except Exception:
                log.exception("planning after a change failed; the scheduler's pass will retry")
                return
        if planned:
            self.busy_tries = 0
        elif self.busy_tries < BUSY_RETRIES:
            # Another process's pass held the lease: it may have read the requests before this
            # change was committed, so this one is tried again, an interval later.
            self.busy_tries += 1
            self.request()
        else:
            self.busy_tries = 0  # left to the scheduler's next pass


def plan_soon() -> None:
    """Asks for a planning pass now, when the deployment plans on change (called in a request,
    after its change is committed)."""
    app = current_app._get_current_object()
    if not app.config["SETTINGS"].plan_on_change:
        return
    with _lock:
        trigger = app.extensions.setdefault("planning_trigger", PlanningTrigger(app))
    trigger.request()
