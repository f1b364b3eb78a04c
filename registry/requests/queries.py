"""Reading visit requests as agents need them: their CPAM's list, filtered, soonest due first,
with a warning on those that risk missing their due time."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Session, func, or_, select

from registry import audit
from registry.accounts import User
from registry.requests.models import OPEN_STATUSES, RequestStatus, VisitRequest

S = RequestStatus
# Not yet in a nurse's hands: these are the ones that can still miss their due time unseen.
AWAITING_NURSE = (S.RECEIVED, S.OFFERED, S.UNASSIGNED)


class Risk(StrEnum):
    LATE = "late"
    AT_RISK = "at_risk"

    @property
    def label(self) -> str:
        return {
            Risk.LATE: "Échéance dépassée",
            Risk.AT_RISK: "Risque de dépassement",
        }[self]


def risk_of(request: VisitRequest, *, now: datetime, at_risk_before: timedelta) -> Risk | None:
    """LATE: still open after its due time. AT_RISK: no nurse has accepted it and the due time
    is near, or no nurse could be found at all."""
    if request.status not in OPEN_STATUSES:
        return None
    if request.due_at <= now:
        return Risk.LATE
    if request.status == S.UNASSIGNED:
        return Risk.AT_RISK
    if request.status in AWAITING_NURSE and request.due_at - now <= at_risk_before:
        return Risk.AT_RISK
    return None


@dataclass(frozen=True)
class RequestFilter:
    """status: one status, "open" (the default view), "at_risk", or "" for every request."""

    status: str = ""
    text: str = ""
    agent_id: int | None = None


def requests_of_cpam(
    session: Session,
    reader: User,
    *,
    criteria: RequestFilter = RequestFilter(),
    now: datetime,
    at_risk_before: timedelta,
    page: int = 1,
    per_page: int = 50,
) -> tuple[list[VisitRequest], int]:
    """A page of the reader's CPAM's requests, soonest due first; the listing is audited."""
    statement = select(VisitRequest).where(VisitRequest.cpam_code == reader.cpam_code)
    statement = _filtered(statement, criteria, now, at_risk_before)
    total = session.exec(select(func.count()).select_from(statement.subquery())).one()
    rows = list(
        session.exec(
            statement.order_by(VisitRequest.due_at, VisitRequest.id)
            .offset((page - 1) * per_page)
            .limit(per_page)
        )
    )
    if rows:
        audit.record(
            session,
            actor=reader,
            action="visit_request.listed",
            target_type="visit_request",
            details={"ids": [row.id for row in rows]},
        )
    return rows, total


def _filtered(statement, criteria: RequestFilter, now: datetime, at_risk_before: timedelta):
    if criteria.status == "open":
        statement = statement.where(VisitRequest.status.in_(OPEN_STATUSES))
    elif criteria.status == "at_risk":
        statement = statement.where(
            VisitRequest.status.in_(OPEN_STATUSES),
            or_(
                VisitRequest.due_at <= now,
                VisitRequest.status == S.UNASSIGNED,
                sa.and_(
                    VisitRequest.status.in_(AWAITING_NURSE),
                    VisitRequest.due_at <= now + at_risk_before,
                ),
            ),
        )
    elif criteria.status:
        statement = statement.where(VisitRequest.status == criteria.status)
    if criteria.agent_id is not None:
        statement = statement.where(VisitRequest.agent_id == criteria.agent_id)
    text = " ".join(criteria.text.split())
    if text:
        pattern = f"%{_escaped(text.lower())}%"
        statement = statement.where(
            or_(
                func.lower(VisitRequest.last_name).like(pattern, escape="\\"),
                func.lower(VisitRequest.first_name).like(pattern, escape="\\"),
                func.lower(VisitRequest.address_commune).like(pattern, escape="\\"),
                VisitRequest.address_postal_code == text,
                VisitRequest.nir == text.replace(" ", "").upper(),
                VisitRequest.external_ref == text,
                VisitRequest.id == (int(text) if text.isdecimal() and len(text) < 10 else -1),
            )
        )
    return statement


def _escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
