"""kill -9 of the serving process loses nothing: the offer it made, the message it owed and
its recurring jobs are in the database, and the restarted server (another process, another
scheduler holder) carries on from there: the message leaves once, the stored planning job runs
again, no offer is made twice."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from sqlmodel import Session, select

from app.jobs.models import JobLease
from registry import api_tokens
from registry.accounts import Role
from registry.notifications.models import Notification
from registry.visits.models import Offer
from tests.loopback import Inbox, free_port, subject
from tests.request_data import request_document
from tests.visit_data import book, enrol_nurse

GUNICORN = Path(sys.executable).with_name("gunicorn")
PROJECT = Path(__file__).resolve().parent.parent


def stored_jobs(engine) -> list[str]:
    with engine.connect() as connection:
        return sorted(connection.execute(sa.text("SELECT id FROM apscheduler_jobs")).scalars())


def outbox(engine) -> list[tuple]:
    return [(m.dedupe_key, m.status, m.attempts, m.last_error) for m in rows(engine, Notification)]


def wait_for(check, seconds: float, what):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"not within {seconds} s: {what() if callable(what) else what}")


class Server:
    """gunicorn serving the app as in production (the scheduler on), in its own process group
    so that the master and its worker can be killed at once with SIGKILL."""

    def __init__(self, database_url: str, smtp_port: int, log: Path, **env):
        self.port = free_port()
        self.log = log
        self.env = {
            **os.environ,
            "APP_ENV": "production",
            "SECRET_KEY": "restart-test-secret",
            "DATABASE_URL": database_url,
            "PUBLIC_BASE_URL": "https://vdsi.exemple.fr",
            "MAIL_BACKEND": "smtp",
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": str(smtp_port),
            "NOTIFICATION_CHANNELS": "email",
            "SCHEDULER": "true",
            "PLAN_ON_CHANGE": "true",
            "PLAN_TIME_LIMIT": "1",
            "SCHEDULER_LEASE_SECONDS": "2",
            "PLANNING_SECONDS": "2",
            **env,
        }
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with self.log.open("a") as output:
            self.process = subprocess.Popen(
                [
                    str(GUNICORN),
                    "--bind",
                    f"127.0.0.1:{self.port}",
                    "--workers",
                    "1",
                    "app.wsgi:application",
                ],
                cwd=PROJECT,
                env=self.env,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

        def answers():
            try:
                probe = self.url + "/healthz"
                with urllib.request.urlopen(probe, timeout=1) as response:  # noqa: S310 (loopback)
                    return response.status == 200
            except OSError:  # refused, or no answer yet while the worker still boots
                return False

        wait_for(answers, 30, f"the server to answer (log: {self.log.read_text()[-2000:]})")

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def engine(app) -> sa.Engine:
    return app.extensions["engine"]


def rows(engine: sa.Engine, model, *criteria) -> list:
    with Session(engine, expire_on_commit=False) as session:
        return list(session.exec(select(model).where(*criteria)))


def test_kill_9_loses_no_offer_no_message_and_no_job(
    app, db, engine, database_url, make_user, tmp_path
):
    nurse = enrol_nurse(db)
    agent = make_user(Role.AGENT)
    _token, bearer = api_tokens.issue_token(db, agent, name="SI CPAM", actor="test")
    db.commit()
    smtp_port = free_port()
    log = tmp_path / "gunicorn.log"
    # First life: no delivery happens before the kill (the message is owed, not yet sent).
    first = Server(database_url, smtp_port, log, DELIVERY_SECONDS="3600")
    second = Server(database_url, smtp_port, log, DELIVERY_SECONDS="1")
    inbox = Inbox()
    mail = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    try:
        first.start()
        booking = urllib.request.Request(  # noqa: S310 (loopback)
            first.url + "/api/v1/visit-requests",
            data=json.dumps(request_document()).encode(),
            headers={"Authorization": f"Bearer {bearer}", "Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(booking, timeout=10) as booked:  # noqa: S310
            assert booked.status == 201
            request_id = json.load(booked)["id"]
        offer = wait_for(
            lambda: rows(engine, Offer, Offer.request_id == request_id),
            30,
            "an offer for the booked request",
        )[0]
        wait_for(lambda: rows(engine, Notification), 10, "the offer's message in the outbox")
        wait_for(lambda: len(stored_jobs(engine)) == 5, 30, "the scheduler's jobs in the store")
        first.kill()

        # Everything the dead process owed is in the database.
        assert [o.status for o in rows(engine, Offer)] == ["live"]
        owed = rows(engine, Notification)
        assert [(m.status, m.address) for m in owed] == [("pending", nurse.email)]
        assert stored_jobs(engine) == ["delivery", "escalation", "follow_up", "planning", "purge"]
        dead_holder = rows(engine, JobLease, JobLease.name == "scheduler")[0].holder

        # While it is down, another request is booked (by the CSV import, say).
        later = book(db, agent)
        mail.start()
        second.start()
        wait_for(
            lambda: len(inbox.messages) >= 2,
            30,
            lambda: (
                f"both offers' messages by e-mail; outbox: {outbox(engine)}; "
                f"log: {log.read_text()[-3000:]}"
            ),
        )
        time.sleep(2)  # a few more delivery runs: nothing goes twice
    finally:
        first.stop()
        second.stop()
        mail.stop(no_assert=True)
    assert rows(engine, JobLease, JobLease.name == "scheduler")[0].holder != dead_holder
    assert len(inbox.messages) == 2
    assert all(subject(m).startswith("Nouvelle visite proposée à Foix") for m in inbox.messages)
    offers = rows(engine, Offer)
    assert sorted((o.request_id, o.status) for o in offers) == [
        (request_id, "live"),
        (later.id, "live"),
    ]
    assert offers[0].id == offer.id  # the first offer survived, not replaced
    assert {m.status for m in rows(engine, Notification)} == {"sent"}, outbox(engine)
    assert len(stored_jobs(engine)) == 5
