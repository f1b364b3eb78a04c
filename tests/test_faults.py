"""Faults the platform survives: the database going away and coming back under a running app,
or lost in the middle of a scheduler pass (through a real TCP hop the test cuts), and kill -9
of the serving or job process in the middle of its work. What was acknowledged is kept, once;
what was not is done once on the next try. (SMTP down, messages queued then sent once when it
returns: tests/test_notifications.py.)"""

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from sqlmodel import Session, func, select

from app import create_app
from app.jobs import scheduler, tasks
from app.jobs.tasks import PURGE_CHUNK
from registry import api_tokens
from registry.accounts import Role
from registry.audit import AuditEntry
from registry.notifications.channels import SmtpSender
from registry.notifications.models import Notification
from registry.notifications.outbox import CLAIM, Recipient, deliver_due, enqueue
from registry.requests.models import RequestEvent, VisitRequest
from registry.timeutil import utcnow
from registry.visits.upkeep import pseudonym
from tests.conftest import login, settings_for
from tests.loopback import Inbox, TcpProxy, free_port, subject, through
from tests.request_data import nir, request_document
from tests.test_restart import PROJECT, Server
from tests.visit_data import book

PROBLEM = "application/problem+json"
UNAVAILABLE = "Service momentanément indisponible"


def no_internals(text: str) -> None:
    for word in ("Traceback", "sqlalchemy", "psycopg", "OperationalError", "127.0.0.1"):
        assert word not in text


def test_the_database_going_away_gives_503s_and_the_same_app_recovers_when_it_returns(
    database_url, db, make_user
):
    if not database_url.startswith("postgresql"):
        pytest.skip("a database server to cut the network to: PostgreSQL (SQLite is a file)")
    agent = make_user(Role.AGENT)
    _token, secret = api_tokens.issue_token(db, agent, name="SI CPAM", actor="test")
    db.commit()
    bearer = {"Authorization": f"Bearer {secret}"}
    server = sa.engine.make_url(database_url)
    proxy = TcpProxy((server.host or "127.0.0.1", server.port or 5432))
    proxy.start()
    app = create_app(settings_for(through(proxy, database_url)))
    client = app.test_client()
    try:
        assert login(client, agent.email).status_code == 302

        def answers() -> tuple[int, int, int]:
            return (
                client.get("/healthz").status_code,
                client.get("/agent/").status_code,
                client.get("/api/v1/visit-requests", headers=bearer).status_code,
            )

        assert answers() == (200, 200, 200)

        proxy.stop()
        health = client.get("/healthz")
        assert (health.status_code, health.get_json()) == (
            503,
            {"status": "unavailable", "database": "unreachable"},
        )
        page = client.get("/agent/")
        text = page.get_data(as_text=True)
        assert page.status_code == 503 and page.mimetype == "text/html"
        assert UNAVAILABLE in text
        no_internals(text)
        api = client.get("/api/v1/visit-requests", headers=bearer)
        assert (api.status_code, api.mimetype) == (503, PROBLEM)
        assert api.get_json()["detail"].startswith(UNAVAILABLE)
        assert api.headers["Retry-After"]
        no_internals(api.get_data(as_text=True))
        booking = {"Idempotency-Key": "during-the-outage", **bearer}
        body = request_document()
        refused = client.post("/api/v1/visit-requests", json=body, headers=booking)
        assert (refused.status_code, refused.mimetype) == (503, PROBLEM)

        proxy.start()
        assert answers() == (200, 200, 200)
        # The booking refused while the database was away had left nothing: retried, it is made.
        assert client.post("/api/v1/visit-requests", json=body, headers=booking).status_code == 201
    finally:
        proxy.stop()
        app.extensions["engine"].dispose()


def test_a_database_host_that_never_answers_gives_a_503_instead_of_holding_the_worker(
    database_url,
):
    """A server whose kernel completes the TCP handshake but which never says a word (hung,
    or its packets dropped past a firewall): without a connection timeout the request would
    wait for ever, holding a worker thread; it gets the 503 of an unreachable database."""
    if not database_url.startswith("postgresql"):
        pytest.skip("a database server that does not answer: PostgreSQL (SQLite is a file)")
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)  # never accepted: connections are made, and nothing is ever answered
    url = sa.engine.make_url(database_url).set(host="127.0.0.1", port=silent.getsockname()[1])
    app = create_app(settings_for(url.render_as_string(hide_password=False)))
    answers: list[int] = []
    asking = threading.Thread(
        target=lambda: answers.append(app.test_client().get("/healthz").status_code),
        daemon=True,
    )
    try:
        asking.start()
        asking.join(timeout=60)  # far beyond the 5 s connection timeout: it only fails a hang
        assert not asking.is_alive(), "the request still waits for the silent database"
        assert answers == [503]
    finally:
        silent.close()
        app.extensions["engine"].dispose()


def test_the_scheduler_loses_its_connection_in_the_middle_of_a_pass_and_carries_on(
    database_url, db
):
    """The connection to the database dropped while the scheduler stores a job's next run time
    (a network blip, a failover): the scheduler, its lease still held, goes on running jobs."""
    if not database_url.startswith("postgresql"):
        pytest.skip("a connection to drop at one statement: PostgreSQL (SQLite is a file)")
    server = sa.engine.make_url(database_url)
    proxy = TcpProxy((server.host or "127.0.0.1", server.port or 5432))
    proxy.start()
    settings = {"delivery_seconds": 1, "planning_seconds": 1, "scheduler_lease_seconds": 2}
    app = create_app(settings_for(through(proxy, database_url), **settings))
    tasks.bind(app)
    elector = scheduler.Elector(app)
    try:
        elector.start()
        wait_until(lambda: elector.scheduler is not None, "the scheduler to start")
        proxy.cut_at = b"UPDATE apscheduler_jobs"
        assert proxy.cut.wait(30), "no job's next run time stored"
        enqueue(
            db,
            key="after-the-blip",
            to=Recipient(None, "idel@exemple.fr"),
            subject="Nouvelle visite proposée à Foix",
            body="Répondre : https://vdsi.exemple.fr/nurse/offers",
            channels=["console"],
        )
        db.commit()
        elector.scheduler.wakeup()  # its next pass now, not after the retry interval
        wait_until(
            lambda: (
                outbox_by_subject(db.get_bind())
                == {"Nouvelle visite proposée à Foix": ("sent", False)}
            ),
            "the message sent by the delivery job after the blip",
        )
    finally:
        elector.stop()
        elector.join(timeout=10)
        proxy.stop()
        app.extensions["engine"].dispose()


def post_json(url: str, document: dict, headers: dict) -> tuple[int, dict]:
    """The status and JSON answer of a POST; OSError when no answer came (refused, reset)."""
    request = urllib.request.Request(  # noqa: S310 (loopback)
        url,
        data=json.dumps(document).encode(),
        headers={"Content-Type": "application/json", **headers},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, json.load(response)
    except urllib.error.HTTPError as answered:
        return answered.code, json.load(answered)


class Burst(threading.Thread):
    """A CPAM system posting bookings one after the other as fast as they are answered, each with
    its own Idempotency-Key; notes which were acknowledged (2xx, with the id) and which got no
    answer, and says when `signal_after` have been acknowledged."""

    def __init__(self, url: str, bearer: dict, bookings: dict, side: str, signal_after: int):
        super().__init__(daemon=True)
        self.url, self.bearer = url, bearer
        self.bookings = {key: body for key, body in bookings.items() if key.startswith(side)}
        self.signal_after = signal_after
        self.acknowledged: dict[str, int] = {}
        self.unanswered: list[str] = []
        self.refused: list[tuple[str, int]] = []
        self.enough = threading.Event()

    def run(self) -> None:
        for key, document in self.bookings.items():
            try:
                status, answer = post_json(
                    self.url, document, {**self.bearer, "Idempotency-Key": key}
                )
            except OSError:
                self.unanswered.append(key)
                continue
            if 200 <= status < 300:
                self.acknowledged[key] = answer["id"]
            else:
                self.refused.append((key, status))
            if len(self.acknowledged) >= self.signal_after:
                self.enough.set()
        self.enough.set()


def stored_by_key(engine: sa.Engine) -> dict[str, list[int]]:
    with Session(engine) as session:
        found: dict[str, list[int]] = {}
        for key, request_id in session.exec(select(VisitRequest.idempotency_key, VisitRequest.id)):
            found.setdefault(key, []).append(request_id)
        return found


BURST = 30
HOLD_AFTER = 10


def test_kill_9_during_a_burst_keeps_every_acknowledged_booking_once_and_retries_add_none_twice(
    database_url, db, make_user, tmp_path
):
    """Two CPAM systems book at once, one through a reverse proxy. gunicorn (master and worker)
    is killed while the proxy holds the reply to a booking it has committed, and the other
    system's bookings are in full flow. Restarted, the server has every acknowledged booking,
    once; the clients retry what got no answer with the same keys, and nothing is stored twice:
    the booking done but never acknowledged is replayed (200), the others are made (201)."""
    agent = make_user(Role.AGENT)
    _token, secret = api_tokens.issue_token(db, agent, name="SI CPAM", actor="test")
    db.commit()
    bearer = {"Authorization": f"Bearer {secret}"}
    bookings = {f"{side}-{n:03d}": request_document() for side in "ab" for n in range(BURST)}
    log = tmp_path / "gunicorn.log"
    quiet = {"NOTIFICATION_CHANNELS": "console"}
    first = Server(database_url, free_port(), log, **quiet)
    second = Server(database_url, free_port(), log, **quiet)
    engine = db.get_bind()
    front = TcpProxy(("127.0.0.1", first.port))
    path = "/api/v1/visit-requests"
    proxied = Burst(f"http://127.0.0.1:{front.port}{path}", bearer, bookings, "a", HOLD_AFTER)
    direct = Burst(first.url + path, bearer, bookings, "b", HOLD_AFTER)
    try:
        first.start()
        front.start()
        proxied.start()
        direct.start()
        assert proxied.enough.wait(60) and direct.enough.wait(60), log.read_text()[-3000:]
        front.hold_replies.set()
        assert front.reply_held.wait(60), "no booking answered through the proxy"
        first.kill()  # master and worker: the held reply's booking is committed, unanswered
        front.stop()
        for burst in (proxied, direct):
            burst.join(timeout=60)
            assert not burst.is_alive() and burst.refused == []
        unanswered = proxied.unanswered + direct.unanswered
        acknowledged = proxied.acknowledged | direct.acknowledged

        # Every acknowledged booking survived, once, as the id it was acknowledged with.
        stored = stored_by_key(engine)
        for key, request_id in acknowledged.items():
            assert stored[key] == [request_id]
        done_unanswered = {key: stored[key][0] for key in unanswered if key in stored}
        assert proxied.unanswered[0] in done_unanswered  # the reply the proxy held
        assert direct.unanswered, "the other system's burst was not cut by the kill"

        # The clients retry what got no answer, with the same keys, on the restarted server.
        second.start()
        retried = {}
        for key in unanswered:
            status, answer = post_json(
                second.url + path, bookings[key], {**bearer, "Idempotency-Key": key}
            )
            retried[key] = (status, answer["id"])
    finally:
        front.stop()
        first.stop()
        second.stop()
    for key in unanswered:
        status, request_id = retried[key]
        if key in done_unanswered:
            assert (status, request_id) == (200, done_unanswered[key])
        else:
            assert status == 201
    stored = stored_by_key(engine)
    assert sorted(stored) == sorted(bookings)
    assert all(len(ids) == 1 for ids in stored.values()), stored
    with Session(engine) as session:
        received = Counter(
            session.exec(
                select(RequestEvent.request_id).where(RequestEvent.to_status == "received")
            )
        )
        created = session.exec(
            select(AuditEntry).where(AuditEntry.action == "visit_request.created")
        ).all()
    assert sorted(received.values()) == [1] * len(bookings)
    assert len(created) == len(bookings)


FLASK = Path(sys.executable).with_name("flask")
JOB_SECRET = "job-test-secret"


def job_env(database_url: str, smtp_port: int) -> dict[str, str]:
    return {
        **os.environ,
        "APP_ENV": "production",
        "SECRET_KEY": JOB_SECRET,
        "DATABASE_URL": database_url,
        "MAIL_BACKEND": "smtp",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(smtp_port),
        "NOTIFICATION_CHANNELS": "email",
    }


def start_job(name: str, env: dict[str, str]) -> subprocess.Popen:
    """`flask jobs run NAME` in its own process group, as the scheduler's process runs it."""
    return subprocess.Popen(
        [str(FLASK), "--app", "app", "jobs", "run", name],
        cwd=PROJECT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def run_job(name: str, env: dict[str, str]) -> str:
    job = start_job(name, env)
    output, _ = job.communicate(timeout=60)
    assert job.returncode == 0, output
    return output


def kill_9(job: subprocess.Popen) -> None:
    os.killpg(job.pid, signal.SIGKILL)
    job.wait(timeout=10)


def wait_until(check, what: str, seconds: float = 30):
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"not within {seconds} s: {what}"
        time.sleep(0.05)


class HoldingInbox(Inbox):
    """An SMTP server slow on one message: it keeps the `held`-th waiting for its answer until
    released, then refuses it (its sender is dead by then); the others it accepts."""

    def __init__(self, held: int):
        super().__init__()
        self.held, self.received = held, 0
        self.holding, self.release = threading.Event(), threading.Event()

    async def handle_DATA(self, server, session, envelope):
        self.received += 1
        if self.received != self.held:
            return await super().handle_DATA(server, session, envelope)
        self.holding.set()
        await asyncio.get_running_loop().run_in_executor(None, self.release.wait)
        return "451 4.3.0 Try again later"


def outbox_by_subject(engine: sa.Engine) -> dict[str, tuple[str, bool]]:
    with Session(engine) as session:
        return {
            m.subject: (m.status, m.claimed_until is not None)
            for m in session.exec(select(Notification))
        }


MESSAGES = 30
HELD = 12


def test_a_delivery_killed_mid_batch_sends_every_message_once_after_restart(
    db, database_url, tmp_path
):
    """kill -9 of the delivery job while it waits for the SMTP server's answer to a message,
    in the middle of a batch: what it sent is marked sent and never leaves again; the restarted
    job sends the rest, but not the message the dead sender was holding, which leaves, once,
    when its claim lapses."""
    subjects = [f"Message {number:02d}" for number in range(MESSAGES)]
    for number, title in enumerate(subjects):
        enqueue(
            db,
            key=f"batch:{number}",
            to=Recipient(None, f"idel{number}@exemple.fr"),
            subject=title,
            body="Répondre : https://vdsi.exemple.fr/nurse/offers",
            channels=["email"],
        )
    db.commit()
    engine = db.get_bind()
    smtp_port = free_port()
    env = job_env(database_url, smtp_port)
    inbox = HoldingInbox(HELD)
    mail = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    mail.start()
    try:
        job = start_job("delivery", env)
        assert inbox.holding.wait(30), job.communicate(timeout=30)[0]
        kill_9(job)
        inbox.release.set()
        held = subjects[HELD - 1]
        assert outbox_by_subject(engine) == {
            **{title: ("sent", False) for title in subjects[: HELD - 1]},
            held: ("pending", True),
            **{title: ("pending", False) for title in subjects[HELD:]},
        }

        assert "sent=18" in run_job("delivery", env)
        received = Counter(subject(m) for m in inbox.messages)
        assert received == Counter(title for title in subjects if title != held)
        assert outbox_by_subject(engine)[held] == ("pending", True)

        # The claim of the dead sender lapses; then the message leaves, once.
        senders = {"email": SmtpSender("127.0.0.1", smtp_port, "VDSI <no-reply@vdsi.localhost>")}
        later = utcnow() + CLAIM
        report = deliver_due(lambda: Session(engine), senders, now=lambda: later)
        again = deliver_due(lambda: Session(engine), senders, now=lambda: later)
    finally:
        mail.stop()
    assert (report.sent, again.sent) == (1, 0)
    assert Counter(subject(m) for m in inbox.messages) == Counter(subjects)
    assert set(outbox_by_subject(engine).values()) == {("sent", False)}


PURGED = 2 * PURGE_CHUNK + 200


def closed_long_ago(db, agent, count: int) -> dict[int, str]:
    """`count` cancelled requests closed past the retention period: their ids and NIRs."""
    template = book(db, agent).model_dump(exclude={"id", "idempotency_key", "external_ref"})
    old = utcnow() - timedelta(days=91)
    rows = [
        {**template, "nir": nir(), "status": "cancelled", "status_changed_at": old}
        for _ in range(count)
    ]
    db.execute(sa.insert(VisitRequest), rows)
    db.commit()
    return dict(
        db.exec(
            select(VisitRequest.id, VisitRequest.nir).where(VisitRequest.status == "cancelled")
        ).all()
    )


def test_a_purge_killed_between_its_chunks_completes_once_after_restart(
    app, db, database_url, make_user
):
    """The retention purge works in chunks, each one transaction. Held by a row lock on the
    first request of its second chunk, it is killed with the first chunk committed and the
    second under way: the second is rolled back; restarted, the purge does the rest, and every
    identity is replaced once (a pseudonym of the NIR, not of a pseudonym)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("holding the job between two chunks takes a row lock: PostgreSQL")
    originals = closed_long_ago(db, make_user(Role.AGENT), PURGED)
    ids = sorted(originals)
    engine = db.get_bind()
    url = sa.engine.make_url(database_url).update_query_dict({"application_name": "purge-job"})
    env = job_env(url.render_as_string(hide_password=False), free_port())

    def purged() -> int:
        with Session(engine) as session:
            return session.exec(
                select(func.count())
                .select_from(VisitRequest)
                .where(VisitRequest.pseudonymised_at.is_not(None))
            ).one()

    def job_backends(*, waiting_on_a_lock: bool = False) -> int:
        with engine.connect() as connection:
            return connection.execute(
                sa.text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND application_name = 'purge-job'"
                    " AND (NOT :waiting OR wait_event_type = 'Lock')"
                ),
                {"waiting": waiting_on_a_lock},
            ).scalar_one()

    with engine.connect() as lock:
        lock.execute(
            sa.text("SELECT id FROM visit_request WHERE id = :id FOR UPDATE"),
            {"id": ids[PURGE_CHUNK]},
        )
        job = start_job("purge", env)
        try:
            wait_until(
                lambda: job_backends(waiting_on_a_lock=True) == 1,
                "the purge waiting on the second chunk's first row",
            )
            assert purged() == PURGE_CHUNK
        finally:
            kill_9(job)
        lock.rollback()
    wait_until(lambda: job_backends() == 0, "the dead job's connection to end")
    assert purged() == PURGE_CHUNK  # the second chunk, under way, was rolled back whole
    with Session(engine) as session:
        first_pass = dict(
            session.exec(
                select(VisitRequest.id, VisitRequest.pseudonymised_at).where(
                    VisitRequest.pseudonymised_at.is_not(None)
                )
            ).all()
        )
    assert sorted(first_pass) == ids[:PURGE_CHUNK]

    assert f"purge : {PURGED - PURGE_CHUNK}" in run_job("purge", env)
    with Session(engine) as session:
        after = {
            r.id: r for r in session.exec(select(VisitRequest).where(VisitRequest.id.in_(ids)))
        }
        passes = session.exec(
            select(AuditEntry).where(AuditEntry.action == "visit_request.pseudonymised")
        ).all()
    assert {i: r.nir for i, r in after.items()} == {
        i: pseudonym(original, JOB_SECRET) for i, original in originals.items()
    }
    assert all(r.last_name == "" and r.phone == "" for r in after.values())
    assert {i: after[i].pseudonymised_at for i in first_pass} == first_pass  # not redone
    assert sorted(entry.details["count"] for entry in passes) == [200, PURGE_CHUNK, PURGE_CHUNK]
    with app.app_context():
        assert tasks.purge() == 0  # and a further run changes nothing
