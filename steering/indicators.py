"""The steering indicators, per day or week and over the whole period, for the platform or one
department (and one CPAM for its staff): requests, visits and the 24 h rate, the times from
consent, what went unassigned or cancelled and why, the nurses' answers and load, km, tests,
CTAI referrals and amounts billed. Every figure is an SQL aggregate on indexed columns: each
table is read once, grouped by period (and department), and the rows add up into the periods,
the whole period and the departments."""

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import Session

from billing.models import BillingRecord
from registry.requests.models import OPEN_STATUSES, RequestStatus, VisitRequest
from registry.timeutil import monday_of
from registry.visits.models import Offer, OfferStatus, VisitReport
from steering.details import delays, enrolled, enrolled_by_department, load, reasons
from steering.scope import Filters, Granularity, request_scope, visit_scope
from steering.sql import as_day, percentiles, week_start

S = RequestStatus
DAY_SECONDS = 86_400
ALL = "all"


@dataclass
class Figures:
    """One period's figures (a day, a week, or the whole period)."""

    start: date
    end: date
    requests: int = 0
    cancelled: int = 0
    refused_by_patient: int = 0
    unassigned: int = 0
    unreachable: int = 0
    open: int = 0
    escalated: int = 0
    # Requests whose outcome is known: not cancelled nor refused, visited or past 24 h.
    counted: int = 0
    visited_within_24h: int = 0
    acceptance_median_minutes: float | None = None
    acceptance_p90_minutes: float | None = None
    visit_median_minutes: float | None = None
    visit_p90_minutes: float | None = None
    offers: int = 0
    offers_accepted: int = 0
    offers_declined: int = 0
    offers_expired: int = 0
    visits: int = 0
    km_total: float = 0.0
    km_visits: int = 0
    tested: int = 0
    ctai_referrals: int = 0
    billed: Decimal = Decimal("0.00")
    nurses_enrolled: int = 0
    nurses_answering: int = 0
    nurses_visiting: int = 0

    @property
    def share_within_24h(self) -> float | None:
        return self.visited_within_24h / self.counted if self.counted else None

    @property
    def km_per_visit(self) -> float | None:
        return self.km_total / self.km_visits if self.km_visits else None

    @property
    def visits_per_nurse(self) -> float | None:
        return self.visits / self.nurses_visiting if self.nurses_visiting else None


@dataclass
class Indicators:
    filters: Filters
    periods: list[Figures]
    total: Figures
    unassigned_reasons: list[tuple[str, int]] = field(default_factory=list)
    decline_reasons: list[tuple[str, int]] = field(default_factory=list)
    # (label, requests visited) per class of time from consent to visit.
    delay_classes: list[tuple[str, int]] = field(default_factory=list)
    # (visits in the period, nurses who did that many), fewest first.
    load: list[tuple[int, int]] = field(default_factory=list)
    load_median: float | None = None
    load_p90: float | None = None
    load_max: int = 0
    # The whole period's figures per department, when the platform is shown (no department).
    departments: dict[str, Figures] = field(default_factory=dict)


def compute(
    session: Session,
    filters: Filters,
    *,
    now: datetime,
    details: bool = True,
    by_department: bool = True,
    second_session: Callable[[], Session] | None = None,
) -> Indicators:
    """The period's figures; with `details`, also the reasons, the delays and the load, and
    with `by_department` (for the platform) the breakdown by department. Given
    `second_session` (a factory of read-only sessions), half of the queries run at the same
    time on a connection of their own: the figures then come from two snapshots a few
    milliseconds apart."""
    # Keyed by the day or Monday the SQL names; the first and last weeks cut to the period.
    figures = {
        start: Figures(*clip((start, end), filters)) for start, end in period_starts(filters)
    }
    total = Figures(filters.start, filters.end)
    indicators = Indicators(filters, list(figures.values()), total)
    departments: dict[str, Figures] | None = {} if details and filters.department is None else None

    def sinks(period, department=None) -> list[Figures]:
        """Where a row grouped by period (and department) adds up."""
        found = [figures[as_day(period)], total]
        if departments is not None and department is not None:
            found.append(departments.setdefault(department, Figures(filters.start, filters.end)))
        return found

    # Two lanes of about equal cost; each figure is written by one query only.
    lanes: tuple[list[Callable[[Session], None]], ...] = (
        [
            lambda db: _requests(db, filters, sinks, now),
            lambda db: _times(db, filters, figures, total),
            lambda db: enrolled(db, filters, [*figures.values(), total]),
        ],
        [
            lambda db: _offers(db, filters, figures, total),
            lambda db: _visits(db, filters, figures, total, departments),
            lambda db: _billed(db, filters, sinks),
        ],
    )
    if details:
        lanes[0].extend(
            [
                lambda db: reasons(db, filters, indicators),
                lambda db: delays(db, filters, indicators),
            ]
        )
        lanes[1].append(lambda db: load(db, filters, indicators))
    if second_session is None:
        _run(session, [*lanes[0], *lanes[1]])
    else:
        with ThreadPoolExecutor(max_workers=1) as pool:
            other = pool.submit(_run_apart, second_session, lanes[1])
            _run(session, lanes[0])
            other.result()
    if departments is not None:
        enrolled_by_department(session, filters, departments)
        indicators.departments = dict(sorted(departments.items()))
    return indicators


def _run(session: Session, queries) -> None:
    for query in queries:
        query(session)


def _run_apart(open_session: Callable[[], Session], queries) -> None:
    with open_session() as session:
        _run(session, queries)


def period_starts(filters: Filters) -> list[tuple[date, date]]:
    """The days or whole ISO weeks (Monday to Sunday) the period touches."""
    periods, day = [], filters.start
    while day <= filters.end:
        if filters.granularity == Granularity.DAY:
            start, end = day, day
        else:
            start = monday_of(day)
            end = start + timedelta(days=6)
        periods.append((start, end))
        day = end + timedelta(days=1)
    return periods


def clip(period: tuple[date, date], filters: Filters) -> tuple[date, date]:
    """The part of a day or week inside the period."""
    return max(period[0], filters.start), min(period[1], filters.end)


def _request_period(filters: Filters):
    """A request's day or week of consent: stored columns, grouped without date arithmetic."""
    if filters.granularity == Granularity.DAY:
        return VisitRequest.consent_day
    return VisitRequest.consent_week


def _visit_period(filters: Filters):
    if filters.granularity == Granularity.DAY:
        return VisitReport.visit_day
    return VisitReport.visit_week


WHOLE = sa.cast(sa.literal_column(f"'{ALL}'"), sa.String)  # PostgreSQL groups no bare literal


def _requests(session, filters, sinks, now) -> None:
    period = _request_period(filters).label("period")
    gone = VisitRequest.status.in_((S.CANCELLED, S.REFUSED_BY_PATIENT))
    past_24h = VisitRequest.consent_at <= sa.literal(
        now - timedelta(seconds=DAY_SECONDS), type_=VisitRequest.consent_at.type
    )
    counted = sa.and_(~gone, sa.or_(VisitRequest.visit_minutes.is_not(None), past_24h))
    within = VisitRequest.visit_minutes <= DAY_SECONDS / 60
    rows = session.execute(
        sa.select(
            period,
            VisitRequest.department,
            VisitRequest.status,
            sa.func.count(),
            sa.func.sum(sa.case((counted, 1), else_=0)),
            sa.func.sum(sa.case((within, 1), else_=0)),
            sa.func.sum(sa.case((VisitRequest.escalated_at.is_not(None), 1), else_=0)),
        )
        .where(*request_scope(filters))
        .group_by(period, VisitRequest.department, VisitRequest.status)
    )
    for key, department, status, count, counted_n, within_n, escalated in rows:
        for figures in sinks(key, department):
            figures.requests += count
            figures.counted += counted_n or 0
            figures.visited_within_24h += within_n or 0
            figures.escalated += escalated or 0
            if status == S.CANCELLED:
                figures.cancelled += count
            elif status == S.REFUSED_BY_PATIENT:
                figures.refused_by_patient += count
            elif status == S.UNASSIGNED:
                figures.unassigned += count
            elif status == S.UNREACHABLE:
                figures.unreachable += count
            elif status in OPEN_STATUSES:
                figures.open += count


def _groupings(filters: Filters, period, figures, total, departments=None):
    """(key expression, where its rows go): each period, the whole period, each department."""
    found = [
        (period.label("key"), lambda key: figures[as_day(key)]),
        (WHOLE.label("key"), lambda _key: total),
    ]
    if departments is not None:
        found.append(
            (
                VisitRequest.department.label("key"),
                lambda code: departments.setdefault(code, Figures(filters.start, filters.end)),
            )
        )
    return found


def _times(session, filters, figures, total) -> None:
    """Medians and 90th percentiles from consent to acceptance and to visit, of each period
    and of the whole period, ranked in one scan."""
    found = percentiles(
        session,
        {"period": _request_period(filters), "whole": None},
        {"acceptance": VisitRequest.accepted_minutes, "visit": VisitRequest.visit_minutes},
        request_scope(filters),
        (50, 90),
    )
    for (measure, partition), buckets in found.items():
        for key, values in buckets.items():
            target = total if partition == "whole" else figures[as_day(key)]
            setattr(target, f"{measure}_median_minutes", values.get(50))
            setattr(target, f"{measure}_p90_minutes", values.get(90))


def _offers(session, filters, figures, total) -> None:
    """Offers of the period's requests by answer, and the nurses who answered one."""
    answered = Offer.status.in_(
        (OfferStatus.ACCEPTED, OfferStatus.DECLINED, OfferStatus.HANDED_BACK)
    )

    def counting(*statuses):
        return sa.func.sum(sa.case((Offer.status.in_(statuses), 1), else_=0))

    for key, target in _groupings(filters, _request_period(filters), figures, total):
        rows = session.execute(
            sa.select(
                key,
                sa.func.count(),
                counting(OfferStatus.ACCEPTED, OfferStatus.HANDED_BACK),
                counting(OfferStatus.DECLINED),
                counting(OfferStatus.EXPIRED),
                sa.func.count(sa.distinct(sa.case((answered, Offer.nurse_id)))),
            )
            .join(VisitRequest, VisitRequest.id == Offer.request_id)
            .where(*request_scope(filters))
            .group_by(key)
        )
        for value, offers, accepted, declined, expired, nurses in rows:
            found = target(value)
            found.offers, found.offers_accepted = offers, accepted
            found.offers_declined, found.offers_expired = declined, expired
            found.nurses_answering = nurses


def _visits(session, filters, figures, total, departments) -> None:
    """Visits of the period by day of visit: tests, CTAI, km of the holding offer, nurses."""
    groupings = _groupings(filters, _visit_period(filters), figures, total, departments)
    for key, target in groupings:
        rows = session.execute(
            sa.select(
                key,
                sa.func.count(),
                sa.func.sum(VisitReport.tested_count),
                sa.func.sum(sa.case((VisitReport.ctai_referral, 1), else_=0)),
                sa.func.sum(VisitReport.distance_km),
                sa.func.count(VisitReport.distance_km),
                sa.func.count(sa.distinct(VisitReport.nurse_id)),
            )
            .join(VisitRequest, VisitRequest.id == VisitReport.request_id)
            .where(*visit_scope(filters))
            .group_by(key)
        )
        for value, visits, tested, ctai, km, km_visits, nurses in rows:
            found = target(value)
            found.visits, found.tested, found.ctai_referrals = visits, tested or 0, ctai or 0
            found.km_total, found.km_visits = float(km or 0), km_visits
            found.nurses_visiting = nurses


def _billed(session, filters, sinks) -> None:
    day = BillingRecord.care_date
    period = (day if filters.granularity == Granularity.DAY else week_start(day)).label("period")
    where = [day.between(filters.start, filters.end)]
    if filters.department:
        where.append(BillingRecord.department == filters.department)
    if filters.cpam_code:
        where.append(BillingRecord.cpam_code == filters.cpam_code)
    # Credits carry negative totals: the sum is what remains billed.
    rows = session.execute(
        sa.select(period, BillingRecord.department, sa.func.sum(BillingRecord.total))
        .where(*where)
        .group_by(period, BillingRecord.department)
    )
    for key, department, amount in rows:
        for target in sinks(key, department):
            target.billed += amount if amount is not None else Decimal("0.00")
