"""The indicators beyond the per-period figures: nurses enrolled by the end of each period and per
department, the reasons behind requests left without a nurse and declined offers, the time
from consent to visit by class, and the load per nurse."""

from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlmodel import Session

from matching.explain import SHORT_LABELS
from registry.nurses.models import Nurse
from registry.requests.models import RequestStatus, VisitRequest
from registry.visits.models import DECLINE_LABELS, Offer, OfferStatus, VisitReport
from registry.visits.planning import OVERDUE
from steering.scope import Filters, day_end, request_scope, visit_scope, zone_of

if TYPE_CHECKING:
    from steering.indicators import Figures, Indicators

S = RequestStatus
UNASSIGNED_LABELS = {**SHORT_LABELS, OVERDUE: "échéance dépassée avant toute proposition"}
# Time from consent to visit, in hours: the distribution's classes (upper bounds included).
DELAY_CLASSES = ((0, 6), (6, 12), (12, 24), (24, 48), (48, None))


def _nurse_scope(filters: Filters) -> list:
    """Validated nurses of the department, or for a CPAM of the departments it booked in."""
    where = [Nurse.validated_at.is_not(None)]
    if filters.department:
        where.append(Nurse.department == filters.department)
    if filters.cpam_code:
        booked_in = sa.select(VisitRequest.department).where(*request_scope(filters))
        where.append(Nurse.department.in_(booked_in.distinct()))
    return where


def enrolled(session: Session, filters: Filters, all_figures: "Iterable[Figures]") -> None:
    """Nurses validated by the end of each period's last local day, in one query of one count
    per period."""
    all_figures = list(all_figures)
    zone = zone_of(filters.department)
    counts = session.execute(
        sa.select(
            *[
                sa.func.sum(
                    sa.case((Nurse.validated_at < day_end(figures.end, zone), 1), else_=0)
                ).label(f"e{index}")
                for index, figures in enumerate(all_figures)
            ]
        ).where(*_nurse_scope(filters))
    ).one()
    for figures, count in zip(all_figures, counts, strict=True):
        figures.nurses_enrolled = count or 0


def enrolled_by_department(
    session: Session, filters: Filters, departments: "dict[str, Figures]"
) -> None:
    """Each department's nurses validated by the end of the period's last day there."""
    if not departments:
        return
    zones: dict[str, list[str]] = {}
    for code in departments:
        zones.setdefault(str(zone_of(code)), []).append(code)
    in_time = sa.or_(
        *[
            sa.and_(
                Nurse.department.in_(codes),
                Nurse.validated_at < day_end(filters.end, zone_of(codes[0])),
            )
            for codes in zones.values()
        ]
    )
    rows = session.execute(
        sa.select(Nurse.department, sa.func.count())
        .where(*_nurse_scope(filters), in_time)
        .group_by(Nurse.department)
    )
    for code, count in rows:
        departments[code].nurses_enrolled = count


def _ranked(session, column, where) -> list[tuple[str, int]]:
    rows = session.execute(
        sa.select(column, sa.func.count().label("n"))
        .where(*where)
        .group_by(column)
        .order_by(sa.desc("n"), column)
    )
    return list(rows)


def unassigned_label(code: str | None) -> str:
    return UNASSIGNED_LABELS.get(code or "", "motif non enregistré")


def reasons(session: Session, filters: Filters, indicators: "Indicators") -> None:
    """Every reason with its count, most frequent first: the planner's kind of reason for the
    requests left without a nurse, the nurse's for declined offers. (The agents' free-text
    reasons for cancelling can name a patient's circumstances: they stay on the request.)"""
    scope = request_scope(filters)
    unassigned = _ranked(
        session, VisitRequest.unassigned_code, [*scope, VisitRequest.status == S.UNASSIGNED]
    )
    indicators.unassigned_reasons = [(unassigned_label(code), n) for code, n in unassigned]
    declined = _ranked(
        session,
        Offer.answer_reason,
        [*scope, Offer.request_id == VisitRequest.id, Offer.status == OfferStatus.DECLINED],
    )
    labels = {reason.value: label for reason, label in DECLINE_LABELS.items()}
    indicators.decline_reasons = [
        (labels.get(code, code or "sans motif"), n) for code, n in declined
    ]


def delay_label(low: int, high: int | None) -> str:
    return f"plus de {low} h" if high is None else f"{low} à {high} h"


def delays(session: Session, filters: Filters, indicators: "Indicators") -> None:
    """The period's visited requests by class of time from consent; upper bounds included, as
    in the 24 h share: a visit at exactly 24 h is within 24 h."""
    minutes = VisitRequest.visit_minutes
    classes = sa.case(
        *[
            (minutes <= high * 60, index)
            for index, (_low, high) in enumerate(DELAY_CLASSES)
            if high is not None
        ],
        else_=len(DELAY_CLASSES) - 1,
    ).label("class")
    rows = dict(
        session.execute(
            sa.select(classes, sa.func.count())
            .where(*request_scope(filters), minutes.is_not(None))
            .group_by(classes)
        ).all()
    )
    indicators.delay_classes = [
        (delay_label(low, high), rows.get(index, 0))
        for index, (low, high) in enumerate(DELAY_CLASSES)
    ]


def load(session: Session, filters: Filters, indicators: "Indicators") -> None:
    """Visits per nurse who visited in the period: the histogram, median, p90 and maximum."""
    per_nurse = (
        sa.select(VisitReport.nurse_id, sa.func.count().label("visits"))
        .join(VisitRequest, VisitRequest.id == VisitReport.request_id)
        .where(*visit_scope(filters))
        .group_by(VisitReport.nurse_id)
        .subquery()
    )
    rows = session.execute(
        sa.select(per_nurse.c.visits, sa.func.count())
        .group_by(per_nurse.c.visits)
        .order_by(per_nurse.c.visits)
    ).all()
    indicators.load = [(visits, nurses) for visits, nurses in rows]
    values = sorted(Counter(dict(indicators.load)).elements())
    if values:
        indicators.load_median = float(nearest_rank(values, 50))
        indicators.load_p90 = float(nearest_rank(values, 90))
        indicators.load_max = values[-1]


def nearest_rank(sorted_values: list, percent: int):
    """The nearest-rank percentile: the value at rank ⌈p·n/100⌉ (1-based)."""
    rank = (len(sorted_values) * percent + 99) // 100
    return sorted_values[max(rank, 1) - 1]
