"""Who holds a request: the statuses in which its nurse may open it, the appointment she may
give, and what the request records of her when she takes it (the live and the late accept)."""

from datetime import datetime, timedelta

from registry.errors import invalid
from registry.nurses.models import Nurse
from registry.requests.models import RequestStatus, VisitRequest
from registry.timeutil import minutes_between

S = RequestStatus
# The statuses in which a request's nurse may open it: she holds it, or held it.
HELD_STATUSES = (S.ACCEPTED, S.VISITED, S.BILLED, S.UNREACHABLE)


def check_appointment(appointment: datetime, request: VisitRequest, now: datetime) -> None:
    if appointment.tzinfo is None:
        invalid("appointment_at", "Indiquez l'heure avec son fuseau horaire.")
    if appointment < now - timedelta(minutes=5):
        invalid("appointment_at", "L'heure du rendez-vous est déjà passée.")
    if appointment > request.due_at:
        invalid("appointment_at", "Le rendez-vous doit avoir lieu avant l'échéance de la visite.")


def holder_values(
    nurse: Nurse, request: VisitRequest, appointment: datetime, now: datetime
) -> dict:
    """What the request records of the nurse who takes it."""
    return {
        "nurse_id": nurse.id,
        "appointment_at": appointment,
        "accepted_minutes": minutes_between(now, request.consent_at),
        "unassigned_reason": "",
        "unassigned_code": None,
    }
