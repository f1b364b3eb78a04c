"""Who is told what, on which channels: the deployment's side of the outbox (its channels, its
links); the texts themselves are in `registry.visits.messages`."""

from flask import current_app
from sqlmodel import Session, select

from app.config import Settings
from app.mail import smtp_sender
from registry.accounts import Role, User
from registry.notifications.channels import ConsoleSender, SmsGatewaySender
from registry.notifications.outbox import Recipient, Sender, enqueue
from registry.nurses.models import Nurse
from registry.requests.models import VisitRequest
from registry.visits import messages
from registry.visits.models import Offer


def senders(settings: Settings) -> dict[str, Sender]:
    found: dict[str, Sender] = {"console": ConsoleSender()}
    if settings.mail_backend == "smtp":
        found["email"] = smtp_sender(settings)
    else:
        found["email"] = ConsoleSender()
    if settings.sms_gateway_url:
        found["sms"] = SmsGatewaySender(settings.sms_gateway_url, settings.sms_gateway_key)
    return found


def _settings() -> Settings:
    return current_app.config["SETTINGS"]


def _link(path: str) -> str:
    return _settings().public_base_url + path


def _nurse_recipient(session: Session, nurse: Nurse) -> Recipient:
    user = session.get(User, nurse.user_id)
    return Recipient(user.id if user else None, user.email if user else nurse.email, nurse.phone)


def _staff(session: Session, request: VisitRequest) -> list[tuple[Recipient, str]]:
    """The agent who booked the request and the active coordinators, each with the page where
    they can act on it."""
    users = session.exec(
        select(User).where(User.active, User.role == Role.COORDINATOR).order_by(User.id)
    ).all()
    follow_up = _link(f"/coordinator/visits?list=waiting&department={request.department}")
    staff = [(Recipient(u.id, u.email), follow_up) for u in users]
    agent = session.get(User, request.agent_id) if request.agent_id else None
    if agent is not None and agent.active:
        staff.insert(0, (Recipient(agent.id, agent.email), _link(f"/agent/requests/{request.id}")))
    return staff


def _tell_nurse(session: Session, nurse: Nurse, key: str, message: tuple[str, str]) -> None:
    subject, body = message
    enqueue(
        session,
        key=key,
        to=_nurse_recipient(session, nurse),
        subject=subject,
        body=body,
        channels=_settings().notification_channels,
    )


def offers_made(session: Session, offers: list[Offer]) -> None:
    for offer in offers:
        request = session.get(VisitRequest, offer.request_id)
        message = messages.offer_message(request, _link("/nurse/offers"))
        _tell_nurse(session, session.get(Nurse, offer.nurse_id), f"offer:{offer.id}", message)


def requests_flagged(session: Session, requests: list[VisitRequest], event: str) -> None:
    """Unassigned or at-risk requests, told to the booking agent and the coordinators."""
    compose = messages.unassigned_message if event == "unassigned" else messages.at_risk_message
    for request in requests:
        for recipient, link in _staff(session, request):
            subject, body = compose(request, link)
            enqueue(
                session,
                key=f"{event}:{request.id}:{recipient.user_id}",
                to=recipient,
                subject=subject,
                body=body,
                channels=_settings().notification_channels,
            )


def follow_ups_due(session: Session, requests: list[VisitRequest]) -> None:
    for request in requests:
        message = messages.follow_up_message(request, _link(f"/nurse/visits/{request.id}"))
        _tell_nurse(
            session, session.get(Nurse, request.nurse_id), f"follow-up:{request.id}", message
        )


def visit_cancelled(session: Session, request: VisitRequest, nurse_id: int) -> None:
    message = messages.cancelled_message(request, _link("/nurse/visits"))
    _tell_nurse(session, session.get(Nurse, nurse_id), f"cancelled:{request.id}", message)


def offers_taken(session: Session, request: VisitRequest, nurse_ids: list[int]) -> None:
    """The nurses whose live offer a late yes of another nurse withdrew."""
    message = messages.taken_message(request, _link("/nurse/offers"))
    for nurse_id in nurse_ids:
        _tell_nurse(
            session, session.get(Nurse, nurse_id), f"taken:{request.id}:{nurse_id}", message
        )
