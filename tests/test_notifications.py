"""The outbox delivers through a real SMTP server on loopback; when the server is down the
message waits and is retried with a growing delay, then sent once it is back."""

from datetime import datetime, timedelta

import pytest
from aiosmtpd.controller import Controller
from sqlmodel import Session, select

from registry.accounts import Role
from registry.audit import AuditEntry
from registry.notifications.channels import SmtpSender
from registry.notifications.models import Notification
from registry.notifications.outbox import MAX_ATTEMPTS, Recipient, backoff, deliver_due, enqueue
from registry.timeutil import utcnow
from registry.visits.messages import local_time
from tests.conftest import csrf_token, fresh
from tests.loopback import Inbox, free_port, subject


@pytest.fixture
def smtp_port():
    return free_port()


def queue_one(db):
    enqueue(
        db,
        key="offer:1",
        to=Recipient(None, "idel@exemple.fr"),
        subject="Nouvelle visite proposée à Foix, à faire avant 18 h 30",
        body="Répondre : http://127.0.0.1:5000/nurse/offers",
        channels=["email"],
    )
    db.commit()


def test_a_queued_message_is_sent_over_smtp_once(app, db, smtp_port):
    inbox = Inbox()
    server = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    server.start()
    try:
        queue_one(db)
        queue_one(db)  # the same event again adds nothing
        engine = app.extensions["engine"]
        senders = {"email": SmtpSender("127.0.0.1", smtp_port, "VDSI <no-reply@vdsi.localhost>")}
        report = deliver_due(lambda: Session(engine, expire_on_commit=False), senders)
        again = deliver_due(lambda: Session(engine, expire_on_commit=False), senders)
    finally:
        server.stop()
    assert (report.sent, again.sent) == (1, 0)
    assert [subject(m) for m in inbox.messages] == [
        "Nouvelle visite proposée à Foix, à faire avant 18 h 30"
    ]
    assert db.exec(select(Notification.status)).all() == ["sent"]


def test_smtp_down_keeps_the_message_and_sends_it_when_the_server_returns(app, db, smtp_port):
    queue_one(db)
    engine = app.extensions["engine"]
    senders = {"email": SmtpSender("127.0.0.1", smtp_port, "VDSI <no-reply@vdsi.localhost>")}
    now = utcnow()
    down = deliver_due(lambda: Session(engine, expire_on_commit=False), senders, now=lambda: now)
    assert (down.sent, down.retried) == (0, 1)
    message = db.exec(select(Notification)).one()
    assert message.status == "pending" and message.attempts == 1 and message.last_error
    assert message.next_attempt_at == now + backoff(1)
    inbox = Inbox()
    server = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    server.start()
    try:
        early = deliver_due(
            lambda: Session(engine, expire_on_commit=False), senders, now=lambda: now
        )
        later = now + timedelta(minutes=2)
        back = deliver_due(
            lambda: Session(engine, expire_on_commit=False), senders, now=lambda: later
        )
    finally:
        server.stop()
    assert (early.sent, back.sent) == (0, 1)
    assert len(inbox.messages) == 1


def test_the_delay_doubles_up_to_an_hour():
    assert [backoff(n).total_seconds() / 60 for n in (1, 2, 3, 4, 7, 8)] == [1, 2, 4, 8, 60, 60]


def give_up_on_one(app, db, smtp_port) -> Notification:
    """A message whose every attempt failed (nothing listens on the port)."""
    queue_one(db)
    engine = app.extensions["engine"]
    senders = {"email": SmtpSender("127.0.0.1", smtp_port, "VDSI <no-reply@vdsi.localhost>")}
    start = utcnow()
    for attempt in range(MAX_ATTEMPTS):
        moment = start + timedelta(hours=attempt)
        deliver_due(
            lambda: Session(engine, expire_on_commit=False),
            senders,
            now=lambda moment=moment: moment,
        )
    return db.exec(select(Notification)).one()


def test_after_the_last_attempt_the_message_is_given_up_and_shown_to_admins(
    app, db, client, logged_in, smtp_port
):
    message = give_up_on_one(app, db, smtp_port)
    assert message.status == "failed" and message.attempts == MAX_ATTEMPTS
    logged_in(Role.ADMIN)
    home = client.get("/admin/").get_data(as_text=True)
    assert "Des notifications n'ont pas pu être envoyées" in home
    page = client.get("/admin/notifications").get_data(as_text=True)
    assert "Nouvelle visite proposée à Foix" in page
    assert "ConnectionRefusedError" in page
    assert "Relancer" in page


def test_an_admin_retries_a_failed_message_and_it_leaves_once_smtp_is_back(
    app, db, client, logged_in, smtp_port
):
    message = give_up_on_one(app, db, smtp_port)
    admin = logged_in(Role.ADMIN)
    token = csrf_token(client, "/admin/notifications")
    response = client.post(f"/admin/notifications/{message.id}/retry", data={"csrf_token": token})
    assert response.status_code == 302
    message = fresh(db, message)
    assert (message.status, message.attempts) == ("pending", 0)
    entry = db.exec(select(AuditEntry).where(AuditEntry.action == "notification.retried")).one()
    assert (entry.actor_id, entry.target_id) == (admin.id, str(message.id))
    inbox = Inbox()
    server = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    server.start()
    try:
        engine = app.extensions["engine"]
        senders = {"email": SmtpSender("127.0.0.1", smtp_port, "VDSI <no-reply@vdsi.localhost>")}
        report = deliver_due(lambda: Session(engine, expire_on_commit=False), senders)
    finally:
        server.stop()
    assert report.sent == 1 and len(inbox.messages) == 1
    # A sent message cannot be retried: it would reach its recipient twice.
    response = client.post(f"/admin/notifications/{message.id}/retry", data={"csrf_token": token})
    assert "Seule une notification en échec peut être relancée" in client.get(
        response.headers["Location"]
    ).get_data(as_text=True)
    assert fresh(db, message).status == "sent"


def test_retrying_every_failed_message_needs_the_box_ticked(app, db, client, logged_in, smtp_port):
    message = give_up_on_one(app, db, smtp_port)
    logged_in(Role.ADMIN)
    token = csrf_token(client, "/admin/notifications")
    client.post("/admin/notifications/retry-failed", data={"csrf_token": token})
    assert fresh(db, message).status == "failed"
    client.post("/admin/notifications/retry-failed", data={"csrf_token": token, "confirm": "y"})
    assert fresh(db, message).status == "pending"


def test_a_message_names_the_day_when_it_is_not_today():
    now = datetime.fromisoformat("2026-11-23T21:00:00+00:00")  # 22 h in Paris
    paris = "Europe/Paris"
    assert local_time(datetime.fromisoformat("2026-11-23T22:30:00+00:00"), paris, now) == (
        "23 h 30"
    )
    assert local_time(datetime.fromisoformat("2026-11-24T17:30:00+00:00"), paris, now) == (
        "demain 18 h 30"
    )
    assert local_time(datetime.fromisoformat("2026-11-26T08:05:00+00:00"), paris, now) == (
        "le 26/11 à 9 h 05"
    )
    # Guadeloupe is 5 hours behind Paris: still the 23rd there.
    assert (
        local_time(datetime.fromisoformat("2026-11-24T02:00:00+00:00"), "America/Guadeloupe", now)
        == "22 h 00"
    )
