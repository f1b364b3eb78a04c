"""Offers and the nurse's answers: accept, decline, let expire, hand back, reschedule.

Exactly one nurse ever holds a request. Accepting is two conditional updates in one transaction
(the offer from live to accepted while unexpired, then the request from offered to accepted with
no holder); a concurrent accept, decline or expiry finds its condition false and is refused, and
the partial unique index on offers refuses a second holding offer whatever happens."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, select

from registry import audit
from registry.errors import Conflict, NotFound, invalid
from registry.nurses.models import Nurse, NurseStatus
from registry.requests.models import RequestStatus, VisitRequest
from registry.requests.services import transition_if
from registry.text import one_line
from registry.timeutil import utcnow
from registry.visits import late_yes
from registry.visits.holding import HELD_STATUSES, check_appointment, holder_values
from registry.visits.models import REFUSED_STATUSES, DeclineReason, Offer, OfferStatus

S = RequestStatus
PLANNER = "planificateur"


@dataclass(frozen=True)
class OfferRules:
    """Dated rules a deployment may tune (configuration)."""

    expiry: timedelta = timedelta(minutes=30)
    # The patient's usual nurse is given longer to answer, as the incumbents do.
    usual_nurse_expiry: timedelta = timedelta(hours=2)
    plan_time_limit: float = 5.0


def create_offer(
    session: Session,
    request: VisitRequest,
    nurse: Nurse,
    *,
    start: datetime,
    end: datetime,
    distance_km: float,
    reason: str,
    rules: OfferRules,
    now: datetime,
) -> Offer | None:
    """Offers the request to the nurse, if it is still waiting for one; None when another pass
    got there first."""
    usual = bool(request.usual_nurse_rpps) and request.usual_nurse_rpps == nurse.rpps
    expiry = rules.usual_nurse_expiry if usual else rules.expiry
    current = request.status
    if current not in (S.RECEIVED, S.UNASSIGNED):
        return None
    if not transition_if(
        session,
        request.id,
        current,
        S.OFFERED,
        actor=PLANNER,
        reason=f"proposée à {nurse.full_name}",
        values={"unassigned_reason": "", "unassigned_code": None},
    ):
        return None
    offer = Offer(
        request_id=request.id,
        nurse_id=nurse.id,
        planned_start=start,
        planned_end=end,
        distance_km=round(distance_km, 1),
        usual_nurse=usual,
        reason=reason[:500],
        created_at=now,
        expires_at=min(now + expiry, request.due_at),
    )
    session.add(offer)
    session.flush()
    audit.record(
        session,
        actor=PLANNER,
        action="offer.created",
        target_type="offer",
        target_id=offer.id,
        details={"request": request.id, "nurse": nurse.id, "expires_at": str(offer.expires_at)},
    )
    return offer


def offer_of_nurse(session: Session, offer_id: int, nurse: Nurse) -> Offer:
    """The nurse's own offer; another nurse's is as unknown as a missing one (404)."""
    offer = session.get(Offer, offer_id)
    if offer is None or offer.nurse_id != nurse.id:
        raise NotFound(f"Proposition n° {offer_id} introuvable.")
    return offer


def live_offers(session: Session, nurse: Nurse, now: datetime) -> list[tuple[Offer, VisitRequest]]:
    """The nurse's offers still waiting for her answer, the soonest to expire first."""
    rows = session.exec(
        select(Offer, VisitRequest)
        .join(VisitRequest, VisitRequest.id == Offer.request_id)
        .where(
            Offer.nurse_id == nurse.id,
            Offer.status == OfferStatus.LIVE,
            Offer.expires_at > now,
        )
        .order_by(Offer.expires_at, Offer.id)
    )
    return list(rows)


def _refuse_unless_live(offer: Offer, now: datetime) -> None:
    if offer.status == OfferStatus.LIVE and offer.expires_at <= now:
        raise Conflict("Cette proposition a expiré : la visite est proposée à quelqu'un d'autre.")
    if offer.status != OfferStatus.LIVE:
        label = OfferStatus(offer.status).label.lower()
        raise Conflict(f"Cette proposition n'attend plus de réponse (elle est {label}).")


def accept_offer(
    session: Session,
    offer_id: int,
    nurse: Nurse,
    *,
    actor: object,
    appointment_at: datetime | None = None,
    now: datetime | None = None,
) -> VisitRequest:
    """The nurse takes the visit, at the planned time or at the one she gives (before its due
    time). Refused (409) when the offer was answered, or the request is held by another nurse;
    an expired offer is still taken while nobody holds its visit (`late_yes`)."""
    now = now or utcnow()
    offer = offer_of_nurse(session, offer_id, nurse)
    if nurse.status != NurseStatus.ACTIVE:
        raise Conflict(
            "Votre inscription n'est pas active (suspendue ou retirée) : vous ne pouvez pas "
            "accepter de visite."
        )
    if offer.status == OfferStatus.EXPIRED or (
        offer.status == OfferStatus.LIVE and offer.expires_at <= now
    ):
        return late_yes.accept_late(
            session, offer, nurse, actor=actor, appointment_at=appointment_at, now=now
        )
    _refuse_unless_live(offer, now)
    request = session.get(VisitRequest, offer.request_id)
    appointment = appointment_at or max(offer.planned_start, now)
    check_appointment(appointment, request, now)
    won = session.execute(
        update(Offer)
        .where(Offer.id == offer.id, Offer.status == OfferStatus.LIVE, Offer.expires_at > now)
        .values(status=OfferStatus.ACCEPTED, answered_at=now)
    ).rowcount
    held = won == 1 and transition_if(
        session,
        request.id,
        S.OFFERED,
        S.ACCEPTED,
        actor=actor,
        reason=f"acceptée par {nurse.full_name}",
        values=holder_values(nurse, request, appointment, now),
    )
    if not held:
        session.rollback()
        raise Conflict("Cette visite vient d'être prise ou la proposition n'est plus valable.")
    session.refresh(offer)
    audit.record(
        session,
        actor=actor,
        action="offer.accepted",
        target_type="offer",
        target_id=offer.id,
        details={"request": request.id, "appointment_at": appointment.isoformat()},
    )
    return request


def decline_offer(
    session: Session,
    offer_id: int,
    nurse: Nurse,
    reason: str,
    *,
    actor: object,
    note: str = "",
    now: datetime | None = None,
) -> Offer:
    """The nurse says no; the request waits for the next planning pass, without her."""
    now = now or utcnow()
    if reason not in DeclineReason.__members__.values():
        choices = ", ".join(f"{r.value} ({r.label.lower()})" for r in DeclineReason)
        invalid("reason", f"Motif inconnu. Valeurs : {choices}.")
    offer = offer_of_nurse(session, offer_id, nurse)
    _refuse_unless_live(offer, now)
    note = one_line(note)
    closed = _close_offer(session, offer, OfferStatus.DECLINED, now, reason=reason, note=note)
    if not closed:
        session.rollback()
        raise Conflict("Cette proposition n'attend plus de réponse.")
    transition_if(
        session,
        offer.request_id,
        S.OFFERED,
        S.RECEIVED,
        actor=actor,
        reason=f"déclinée par {nurse.full_name} : {DeclineReason(reason).label.lower()}",
    )
    audit.record(
        session,
        actor=actor,
        action="offer.declined",
        target_type="offer",
        target_id=offer.id,
        details={"request": offer.request_id, "reason": reason},
    )
    return offer


def expire_offers(session: Session, now: datetime | None = None) -> int:
    """Offers past their expiry: closed, their requests back to waiting. Idempotent."""
    now = now or utcnow()
    due = session.exec(
        select(Offer).where(Offer.status == OfferStatus.LIVE, Offer.expires_at <= now)
    ).all()
    expired = 0
    for offer in due:
        if not _close_offer(session, offer, OfferStatus.EXPIRED, now):
            continue  # answered meanwhile
        expired += 1
        transition_if(
            session,
            offer.request_id,
            S.OFFERED,
            S.RECEIVED,
            actor=PLANNER,
            reason="proposition expirée sans réponse",
        )
        audit.record(
            session,
            actor=PLANNER,
            action="offer.expired",
            target_type="offer",
            target_id=offer.id,
            details={"request": offer.request_id},
        )
    return expired


def _close_offer(session, offer: Offer, status: str, now, *, reason="", note="") -> bool:
    closed = session.execute(
        update(Offer)
        .where(Offer.id == offer.id, Offer.status == OfferStatus.LIVE)
        .values(status=status, answered_at=now, answer_reason=reason, answer_note=note)
    ).rowcount
    if closed:
        session.refresh(offer)
    return closed == 1


def held_visit(session: Session, request_id: int, nurse: Nurse) -> VisitRequest:
    """A visit the nurse holds, or held (visited, unreachable, billed); anything else is 404,
    so a nurse never learns of a patient she has not accepted."""
    request = session.get(VisitRequest, request_id)
    if request is None or request.nurse_id != nurse.id or request.status not in HELD_STATUSES:
        raise NotFound(f"Visite n° {request_id} introuvable.")
    return request


def end_held_visit(
    session: Session, request_id: int, target: str, *, actor: object, reason: str, values=None
) -> None:
    """Moves an accepted visit on (reported, unreachable, handed back); a concurrent change
    got there first → 409, and nothing of this transaction is kept."""
    if not transition_if(
        session, request_id, S.ACCEPTED, target, actor=actor, reason=reason, values=values
    ):
        session.rollback()
        raise Conflict("Cette visite vient de changer d'état ; rechargez la page.")


def hand_back(
    session: Session,
    request_id: int,
    nurse: Nurse,
    reason: str,
    *,
    actor: object,
    now: datetime | None = None,
) -> VisitRequest:
    """The nurse gives an accepted visit back before its appointment; it is planned again,
    without her."""
    now = now or utcnow()
    request = held_visit(session, request_id, nurse)
    reason = one_line(reason)
    if not reason:
        invalid("reason", "Indiquez pourquoi vous rendez cette visite.")
    if request.status != S.ACCEPTED:
        raise Conflict("Cette visite est close : elle ne peut plus être rendue.")
    if request.appointment_at and request.appointment_at <= now:
        raise Conflict(
            "L'heure du rendez-vous est passée : déposez le compte rendu ou déclarez le patient "
            "injoignable."
        )
    end_held_visit(
        session,
        request.id,
        S.RECEIVED,
        actor=actor,
        reason=f"rendue par {nurse.full_name} : {reason}",
        values={"nurse_id": None, "appointment_at": None, "accepted_minutes": None},
    )
    session.execute(
        update(Offer)
        .where(Offer.request_id == request.id, Offer.status == OfferStatus.ACCEPTED)
        .values(status=OfferStatus.HANDED_BACK, answered_at=now, answer_note=reason)
    )
    audit.record(
        session,
        actor=actor,
        action="visit.handed_back",
        target_type="visit_request",
        target_id=request.id,
        # Her words stay in the history and on the offer, which the retention purge erases;
        # the audit log is never erased, so it keeps only who did what, when.
        details={"nurse": nurse.id},
    )
    return request


def reschedule(
    session: Session,
    request_id: int,
    nurse: Nurse,
    appointment_at: datetime,
    *,
    actor: object,
    now: datetime | None = None,
) -> VisitRequest:
    """The nurse moves her appointment, within the visit's due time."""
    now = now or utcnow()
    request = held_visit(session, request_id, nurse)
    if request.status != S.ACCEPTED:
        raise Conflict("Cette visite est close : son heure ne peut plus changer.")
    check_appointment(appointment_at, request, now)
    previous = request.appointment_at
    request.appointment_at = appointment_at
    session.add(request)
    audit.record(
        session,
        actor=actor,
        action="visit.rescheduled",
        target_type="visit_request",
        target_id=request.id,
        details={
            "from": previous.isoformat() if previous else None,
            "to": appointment_at.isoformat(),
        },
    )
    return request


def refused_nurses(session: Session, request_ids: list[int]) -> dict[int, set[int]]:
    """For each request, the nurses not to ask again (declined, let expire, handed back)."""
    refused: dict[int, set[int]] = {}
    if not request_ids:
        return refused
    rows = session.exec(
        select(Offer.request_id, Offer.nurse_id).where(
            Offer.request_id.in_(request_ids), Offer.status.in_(REFUSED_STATUSES)
        )
    )
    for request_id, nurse_id in rows:
        refused.setdefault(request_id, set()).add(nurse_id)
    return refused
