"""Reads for the nurse's pages (the visits she holds, her history) and the coordinator's
follow-up lists (requests no nurse holds in time, visits unreported at J+4)."""

from datetime import datetime, timedelta

from sqlmodel import Session, or_, select

from registry.nurses.models import Nurse
from registry.paging import page_of
from registry.requests.models import RequestStatus, VisitRequest

S = RequestStatus
DONE = (S.VISITED, S.BILLED, S.UNREACHABLE)
AWAITING = (S.RECEIVED, S.OFFERED, S.UNASSIGNED)


def upcoming_visits(session: Session, nurse: Nurse) -> list[VisitRequest]:
    """Visits she has accepted and not yet reported, soonest appointment first."""
    return list(
        session.exec(
            select(VisitRequest)
            .where(VisitRequest.nurse_id == nurse.id, VisitRequest.status == S.ACCEPTED)
            .order_by(VisitRequest.appointment_at, VisitRequest.id)
        )
    )


def visit_history(
    session: Session, nurse: Nurse, page: int = 1, per_page: int = 20
) -> tuple[list[VisitRequest], int]:
    """Her visits, done or to do, newest first, a page of them and the total."""
    query = select(VisitRequest).where(
        VisitRequest.nurse_id == nurse.id, VisitRequest.status.in_((S.ACCEPTED, *DONE))
    )
    order = (VisitRequest.status_changed_at.desc(), VisitRequest.id.desc())
    return page_of(session, query, order, page, per_page)


def awaiting_a_nurse(
    session: Session,
    *,
    now: datetime,
    at_risk_before: timedelta,
    department: str = "",
    page: int = 1,
    per_page: int = 50,
) -> tuple[list[VisitRequest], int]:
    """Requests no nurse holds that need someone's attention: no nurse could be found, or the
    due time is near or past. Soonest due first. Rows carry no more than the commune (callers
    show no identity)."""
    query = select(VisitRequest).where(
        VisitRequest.status.in_(AWAITING),
        or_(
            VisitRequest.status == S.UNASSIGNED,
            VisitRequest.due_at <= now + at_risk_before,
        ),
    )
    if department:
        query = query.where(VisitRequest.department == department)
    return page_of(session, query, (VisitRequest.due_at, VisitRequest.id), page, per_page)


def unreported_visits(
    session: Session, *, now: datetime, department: str = "", page: int = 1, per_page: int = 50
) -> tuple[list[tuple[VisitRequest, Nurse]], int]:
    """Accepted visits still without a report at their follow-up date (J+4), with their nurse,
    oldest follow-up first."""
    query = (
        select(VisitRequest, Nurse)
        .join(Nurse, Nurse.id == VisitRequest.nurse_id)
        .where(VisitRequest.status == S.ACCEPTED, VisitRequest.follow_up_at <= now)
    )
    if department:
        query = query.where(VisitRequest.department == department)
    return page_of(session, query, (VisitRequest.follow_up_at, VisitRequest.id), page, per_page)
