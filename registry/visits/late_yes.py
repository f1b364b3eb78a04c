"""A nurse's late yes: her answer after her offer expired still takes the visit while nobody
holds it, before its due time and when it fits her day; the offer then live with another nurse
is withdrawn. The first yes wins, as on the incumbents' platforms, but among the nurses the
planner chose, nearest first, one at a time."""

from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, or_, select

from registry import audit
from registry.errors import Conflict
from registry.nurses.models import Nurse, NurseStatus
from registry.requests.models import RequestStatus, VisitRequest
from registry.requests.services import transition_if
from registry.timeutil import local_day
from registry.visits.holding import HELD_STATUSES, check_appointment, holder_values
from registry.visits.models import Offer, OfferStatus

S = RequestStatus
# A request nobody holds: waiting for the planner, or offered to another nurse who has not
# answered yet.
UNHELD = (S.RECEIVED, S.UNASSIGNED, S.OFFERED)


def accept_late(
    session: Session,
    offer: Offer,
    nurse: Nurse,
    *,
    actor: object,
    appointment_at: datetime | None,
    now: datetime,
) -> VisitRequest:
    """Her yes came after her offer expired: the visit is hers all the same while nobody holds
    it, the offer live with another nurse then withdrawn (the first yes wins, as on the
    incumbents' platforms, but only among the nurses the planner chose, nearest first); once
    another nurse has accepted, or the due time has passed, or when it no longer fits her day
    (her daily maximum, a visit she has accepted since at that time), it is refused.

    Rows are locked as every other answer and the expiry take them, offers before the request:
    her offer and the request's live ones first (so a planning pass expiring them is waited
    for, and what it offered meanwhile is seen), then the request by its conditional update,
    which decides between her and the live nurse answering at the same instant."""
    try:
        return _take_late(
            session, offer, nurse, actor=actor, appointment_at=appointment_at, now=now
        )
    except IntegrityError:  # a holding offer appeared all the same: the index refused a second
        session.rollback()
        raise Conflict("Cette visite vient d'être prise ; rechargez la page.") from None


def _take_late(session, offer, nurse, *, actor, appointment_at, now) -> VisitRequest:
    request = session.get(VisitRequest, offer.request_id)
    if request.due_at <= now:
        raise Conflict("Cette proposition a expiré et l'échéance de la visite est passée.")
    appointment = appointment_at or max(offer.planned_start, now)
    check_appointment(appointment, request, now)
    session.exec(
        select(Offer.id)
        .where(
            Offer.request_id == request.id,
            or_(Offer.id == offer.id, Offer.status == OfferStatus.LIVE),
        )
        .order_by(Offer.id)
        .with_for_update()
    ).all()
    session.refresh(offer)
    if offer.status not in (OfferStatus.EXPIRED, OfferStatus.LIVE):
        session.rollback()
        raise Conflict("Cette proposition n'est plus valable.")
    _check_her_day(session, nurse, request, appointment, offer.planned_end - offer.planned_start)
    withdrawn: list[tuple[int, int]] = []
    for _attempt in range(3):  # the request may move between waiting and offered meanwhile
        session.refresh(request)
        if request.status not in UNHELD:
            session.rollback()  # nothing of this answer is kept
            raise Conflict(
                "Cette proposition a expiré et la visite a été prise par une autre infirmière."
            )
        withdrawn += session.execute(
            update(Offer)
            .where(
                Offer.request_id == request.id,
                Offer.id != offer.id,
                Offer.status == OfferStatus.LIVE,
            )
            .values(status=OfferStatus.WITHDRAWN, answered_at=now)
            .returning(Offer.id, Offer.nurse_id)
        ).all()
        if transition_if(
            session,
            request.id,
            request.status,
            S.ACCEPTED,
            actor=actor,
            reason=f"acceptée par {nurse.full_name} après l'expiration de sa proposition",
            values=holder_values(nurse, request, appointment, now),
        ):
            break
    else:
        session.rollback()
        raise Conflict("Cette visite vient de changer d'état ; rechargez la page.")
    session.execute(
        update(Offer)
        .where(Offer.id == offer.id)
        .values(status=OfferStatus.ACCEPTED, answered_at=now)
    )
    session.refresh(offer)
    for withdrawn_id, other_nurse in withdrawn:
        audit.record(
            session,
            actor=actor,
            action="offer.withdrawn",
            target_type="offer",
            target_id=withdrawn_id,
            details={"request": request.id, "nurse": other_nurse, "taken_by_offer": offer.id},
        )
    audit.record(
        session,
        actor=actor,
        action="offer.accepted",
        target_type="offer",
        target_id=offer.id,
        details={"request": request.id, "appointment_at": appointment.isoformat(), "late": True},
    )
    return request


def _check_her_day(
    session: Session, nurse: Nurse, request: VisitRequest, appointment: datetime, length
) -> None:
    """A late yes takes a visit without the planner, who may have filled her day since: it must
    fit under her daily maximum and beside the visits she holds."""
    day = local_day(appointment, request.timezone)
    # Her visits within two days either way hold every one of that local day (25 h at most),
    # not her whole history.
    near = (appointment - timedelta(days=2), appointment + timedelta(days=2))
    held = session.exec(
        select(VisitRequest, Offer)
        .join(Offer, (Offer.request_id == VisitRequest.id) & (Offer.nurse_id == nurse.id))
        .where(
            VisitRequest.nurse_id == nurse.id,
            VisitRequest.status.in_(HELD_STATUSES),
            VisitRequest.appointment_at.between(*near),
            Offer.status == OfferStatus.ACCEPTED,
        )
    ).all()
    same_day = [(v, o) for v, o in held if local_day(v.appointment_at, v.timezone) == day]
    if len(same_day) >= nurse.max_visits_per_day:
        raise Conflict(
            f"Vous avez déjà {len(same_day)} visite(s) ce jour-là, votre maximum déclaré : "
            "cette visite reste pour une autre infirmière."
        )
    for visit, its_offer in same_day:
        start = visit.appointment_at
        end = start + (its_offer.planned_end - its_offer.planned_start)
        if start < appointment + length and appointment < end:
            raise Conflict(
                "Ce créneau chevauche une visite que vous avez acceptée : choisissez une autre "
                "heure, ou laissez cette visite à une autre infirmière."
            )


def withdrawn_by_late_yes(session: Session, request_id: int) -> list[int]:
    """The nurses whose live offer of this request a late yes withdrew as it took the visit
    (to tell them it is gone)."""
    answered = session.exec(
        select(Offer.answered_at).where(
            Offer.request_id == request_id, Offer.status == OfferStatus.ACCEPTED
        )
    ).first()
    if answered is None:
        return []
    return list(
        session.exec(
            select(Offer.nurse_id).where(
                Offer.request_id == request_id,
                Offer.status == OfferStatus.WITHDRAWN,
                Offer.answered_at == answered,
            )
        )
    )


def late_offers(session: Session, nurse: Nurse, now: datetime) -> list[tuple[Offer, VisitRequest]]:
    """The nurse's offers that expired without her answer while their visit is still free
    and due later: she may still accept them, the soonest due first."""
    if nurse.status != NurseStatus.ACTIVE:
        return []
    rows = session.exec(
        select(Offer, VisitRequest)
        .join(VisitRequest, VisitRequest.id == Offer.request_id)
        .where(
            Offer.nurse_id == nurse.id,
            or_(
                Offer.status == OfferStatus.EXPIRED,
                (Offer.status == OfferStatus.LIVE) & (Offer.expires_at <= now),
            ),
            VisitRequest.status.in_(UNHELD),
            VisitRequest.due_at > now,
        )
        .order_by(VisitRequest.due_at, Offer.id)
    )
    return list(rows)
