"""Writing messages to the outbox (in the transaction of the change they announce) and
delivering them: claimed one by one so two senders never send the same, retried with a growing
delay, given up on visibly after the last attempt.

Messages name a commune and a time, never a patient: the texts are built from an offer's
summary or from counts, and the link leads to the secure page."""

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, func, select

from registry import audit
from registry.errors import Conflict, NotFound
from registry.notifications.models import Channel, DeliveryStatus, Notification
from registry.paging import page_of
from registry.timeutil import utcnow

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 8
CLAIM = timedelta(minutes=2)


class Sender(Protocol):
    def send(self, address: str, subject: str, body: str) -> None:
        """Delivers one message or raises."""


@dataclass(frozen=True)
class Recipient:
    user_id: int | None
    email: str
    phone: str = ""


def enqueue(
    session: Session,
    *,
    key: str,
    to: Recipient,
    subject: str,
    body: str,
    channels: Iterable[str],
    now: datetime | None = None,
) -> list[Notification]:
    """One message per channel the recipient can be reached on; a key already used (the same
    event notified before) adds nothing."""
    now = now or utcnow()
    queued = []
    for channel in channels:
        address = to.phone if channel == Channel.SMS else to.email
        if not address:
            continue
        message = Notification(
            dedupe_key=f"{key}:{channel}"[:120],
            user_id=to.user_id,
            channel=channel,
            address=address,
            subject=subject[:200],
            body=body[:2000],
            next_attempt_at=now,
            created_at=now,
        )
        try:
            with session.begin_nested():
                session.add(message)
                session.flush()
        except IntegrityError:
            continue  # notified already
        queued.append(message)
    return queued


@dataclass
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0


def deliver_due(
    new_session: Callable[[], Session],
    senders: dict[str, Sender],
    *,
    now: Callable[[], datetime] = utcnow,
    limit: int = 100,
) -> DeliveryReport:
    """Sends what is due, each message in its own short transaction: claimed, sent, marked.
    A message whose sender died while holding it is claimed again once the claim lapses."""
    report = DeliveryReport()
    with new_session() as session:
        due = session.exec(
            select(Notification.id)
            .where(
                Notification.status == DeliveryStatus.PENDING,
                Notification.next_attempt_at <= now(),
                or_(Notification.claimed_until.is_(None), Notification.claimed_until <= now()),
            )
            .order_by(Notification.next_attempt_at, Notification.id)
            .limit(limit)
        ).all()
    for message_id in due:
        with new_session() as session:
            _deliver_one(session, message_id, senders, now(), report)
    return report


def _deliver_one(session, message_id, senders, moment, report) -> None:
    """Claim, send, mark: the claim and the mark are each a short transaction that begins by
    writing, and none is open while the channel is slow, so a sender never holds the database
    and never loses the mark of a message it sent (which would send it again)."""
    claim = moment + CLAIM
    claimed = session.execute(
        update(Notification)
        .where(
            Notification.id == message_id,
            Notification.status == DeliveryStatus.PENDING,
            or_(Notification.claimed_until.is_(None), Notification.claimed_until <= moment),
        )
        .values(claimed_until=claim)
    ).rowcount
    message = session.get(Notification, message_id) if claimed else None
    session.commit()
    if message is None:
        return
    sender = senders.get(message.channel)
    try:
        if sender is None:
            raise RuntimeError(f"aucun canal « {message.channel} » n'est configuré")
        sender.send(message.address, message.subject, message.body)
    except Exception as error:  # any failure of the channel: retried later, then reported
        attempts = message.attempts + 1
        last_error = f"{type(error).__name__}: {error}"[:500]
        if attempts >= MAX_ATTEMPTS:
            outcome = {"status": DeliveryStatus.FAILED}
            report.failed += 1
            log.error("notification %s abandonnée : %s", message.id, last_error)
        else:
            outcome = {"next_attempt_at": moment + backoff(attempts)}
            report.retried += 1
        outcome |= {"attempts": attempts, "last_error": last_error}
    else:
        outcome = {
            "status": DeliveryStatus.SENT,
            "attempts": message.attempts + 1,
            "sent_at": moment,
        }
        report.sent += 1
    session.execute(
        update(Notification)
        .where(Notification.id == message_id, Notification.claimed_until == claim)
        .values(claimed_until=None, **outcome)
    )
    session.commit()


def backoff(attempts: int) -> timedelta:
    """1, 2, 4, 8… minutes after each failure, an hour at most."""
    return timedelta(minutes=min(2 ** (attempts - 1), 60))


def search(
    session: Session, *, status: str = "", page: int = 1, per_page: int = 50
) -> tuple[list[Notification], int]:
    """Messages in one status (all when empty), newest first, one page, and the total."""
    query = select(Notification)
    if status:
        query = query.where(Notification.status == status)
    order = (Notification.created_at.desc(), Notification.id.desc())
    return page_of(session, query, order, page, per_page)


def count_by_status(session: Session) -> dict[str, int]:
    counts = dict(
        session.exec(select(Notification.status, func.count()).group_by(Notification.status)).all()
    )
    return {status: counts.get(status, 0) for status in DeliveryStatus}


def retry(session: Session, message_id: int, *, actor, now: datetime | None = None) -> Notification:
    """Puts a message given up on back in the queue, due now, with its attempts counted from
    zero; the change is audited. Only a failed message can be retried (a pending one is still
    being tried, a sent one must not be sent twice)."""
    now = now or utcnow()
    message = session.get(Notification, message_id)
    if message is None:
        raise NotFound("Cette notification n'existe pas.")
    revived = session.execute(
        update(Notification)
        .where(Notification.id == message_id, Notification.status == DeliveryStatus.FAILED)
        .values(
            status=DeliveryStatus.PENDING,
            attempts=0,
            next_attempt_at=now,
            claimed_until=None,
        )
    ).rowcount
    if not revived:
        session.rollback()
        raise Conflict(
            "Seule une notification en échec peut être relancée ; "
            f"celle-ci est « {DeliveryStatus(message.status).label} »."
        )
    audit.record(
        session,
        actor=actor,
        action="notification.retried",
        target_type="notification",
        target_id=message_id,
        details={"channel": message.channel, "last_error": message.last_error[:200]},
    )
    session.refresh(message)
    return message


def retry_failed(session: Session, *, actor, now: datetime | None = None) -> int:
    """Every message given up on back in the queue at once (after an outage has been fixed)."""
    now = now or utcnow()
    some = session.exec(
        select(Notification.id)
        .where(Notification.status == DeliveryStatus.FAILED)
        .order_by(Notification.id)
        .limit(50)
    ).all()
    if not some:
        return 0
    revived = session.execute(
        update(Notification)
        .where(Notification.status == DeliveryStatus.FAILED)
        .values(status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=now, claimed_until=None)
    ).rowcount
    audit.record(
        session,
        actor=actor,
        action="notification.retried",
        target_type="notification",
        details={"count": revived, "first_ids": list(some)},
    )
    return revived
