"""Reads for the nurse's pages: the visits she holds, and her history."""

from sqlmodel import Session, func, select

from registry.nurses.models import Nurse
from registry.requests.models import RequestStatus, VisitRequest

S = RequestStatus
DONE = (S.VISITED, S.BILLED, S.UNREACHABLE)


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
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(
        query.order_by(VisitRequest.status_changed_at.desc(), VisitRequest.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    return list(rows), total
