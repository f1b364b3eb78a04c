"""The texts of the notifications: a commune, a time, a count, and a link; never a patient's
name, address or phone."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from registry.requests.models import VisitRequest
from registry.timeutil import utcnow


def local_time(moment: datetime, timezone: str, now: datetime | None = None) -> str:
    """« 18 h 30 » today, « demain 18 h 30 », else « le 26/11 à 18 h 30 »: in the patient's
    time zone, as the message is read when it arrives."""
    zone = ZoneInfo(timezone)
    local = moment.astimezone(zone)
    today = (now or utcnow()).astimezone(zone).date()
    time = f"{local.hour} h {local.minute:02d}"
    if local.date() == today:
        return time
    if local.date() == today + timedelta(days=1):
        return f"demain {time}"
    return f"le {local:%d/%m} à {time}"


def offer_message(request: VisitRequest, link: str) -> tuple[str, str]:
    due = local_time(request.due_at, request.timezone)
    subject = f"Nouvelle visite proposée à {request.address_commune}, à faire avant {due}"
    return subject, f"{subject}.\nRépondre : {link}"


def unassigned_message(request: VisitRequest, link: str) -> tuple[str, str]:
    subject = f"Visite sans infirmière à {request.address_commune} (demande n° {request.id})"
    return subject, f"{subject}. Raison : {request.unassigned_reason}\nVoir : {link}"


def at_risk_message(request: VisitRequest, link: str) -> tuple[str, str]:
    due = local_time(request.due_at, request.timezone)
    subject = (
        f"Visite non acceptée à {request.address_commune}, échéance à {due} "
        f"(demande n° {request.id})"
    )
    return subject, f"{subject}.\nVoir : {link}"


def follow_up_message(request: VisitRequest, link: str) -> tuple[str, str]:
    subject = f"Compte rendu attendu : visite à {request.address_commune} (n° {request.id})"
    return subject, f"{subject}. Le suivi J+4 est atteint.\nDéposer le compte rendu : {link}"


def cancelled_message(request: VisitRequest, link: str) -> tuple[str, str]:
    subject = f"Visite annulée à {request.address_commune} (n° {request.id})"
    return subject, f"{subject}.\nVos visites : {link}"


def taken_message(request: VisitRequest, link: str) -> tuple[str, str]:
    subject = f"Visite à {request.address_commune} prise par une autre infirmière"
    return (
        subject,
        f"{subject} : la proposition est retirée, rien à faire.\nVos propositions : {link}",
    )
