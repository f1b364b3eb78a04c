"""The steering indicators, per day or week and over the whole period, for the platform or one
department (and one CPAM for its staff): requests, visits and the 24 h rate, the times from
consent, what went unassigned or cancelled and why, the nurses' answers and load, km, tests,
CTAI referrals and amounts billed. Every figure is an SQL aggregate on indexed columns."""

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session

from billing.models import BillingRecord
from registry.geo.communes import commune_directory
from registry.nurses.models import Nurse
from registry.requests.models import OPEN_STATUSES, RequestStatus, VisitRequest
from registry.visits.models import DECLINE_LABELS, Offer, OfferStatus, VisitReport
from steering.sql import as_day, percentiles, seconds_between, week_start

S = RequestStatus
DAY_SECONDS = 86_400
# A millisecond of slack for the noise of julianday() arithmetic on SQLite.
SLACK_SECONDS = 0.001
PARIS = ZoneInfo("Europe/Paris")
ALL = "all"
# Time from consent to visit, in hours: the distribution's classes (upper bounds included).
DELAY_CLASSES = ((0, 6), (6, 12), (12, 24), (24, 48), (48, None))


class Granularity(StrEnum):
    DAY = "day"
    WEEK = "week"

    @property
    def label(self) -> str:
        return {Granularity.DAY: "jour", Granularity.WEEK: "semaine"}[self]


@dataclass(frozen=True)
class Filters:
    """Local days `start` to `end` inclusive; `department` and `cpam_code` narrow the scope
    (CPAM staff always carry their own)."""

    start: date
    end: date
    department: str | None = None
    cpam_code: str | None = None
    granularity: Granularity = Granularity.WEEK


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
    cancel_reasons: list[tuple[str, int]] = field(default_factory=list)
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


def compute(session: Session, filters: Filters, *, now: datetime) -> Indicators:
    # Keyed by the day or Monday the SQL names; the first and last weeks cut to the period.
    figures = {
        start: Figures(*clip((start, end), filters)) for start, end in period_starts(filters)
    }
    total = Figures(filters.start, filters.end)
    # A constant expression (PostgreSQL refuses a bare literal in GROUP BY).
    whole = sa.cast(sa.literal_column(f"'{ALL}'"), sa.String)
    for bucket, target in (
        (_bucket_of(filters), lambda value: figures[as_day(value)]),
        (lambda _column: whole, lambda _value: total),
    ):
        _requests(session, filters, bucket, target, now)
        _times(session, filters, bucket, target)
        _offers(session, filters, bucket, target)
        _visits(session, filters, bucket, target)
        _billed(session, filters, bucket, target)
    _enrolled(session, filters, [*figures.values(), total])
    indicators = Indicators(filters, list(figures.values()), total)
    _reasons(session, filters, indicators)
    _delays(session, filters, indicators)
    _load(session, filters, indicators)
    if filters.department is None:
        indicators.departments = by_department(session, filters, now=now)
    return indicators


def by_department(session: Session, filters: Filters, *, now: datetime) -> dict[str, Figures]:
    """The whole period's figures of each department that had a request, visit or bill in it,
    by department code: the same queries, grouped by the department instead of the day."""
    found: dict[str, Figures] = {}

    def target(code) -> Figures:
        return found.setdefault(code, Figures(filters.start, filters.end))

    department_of = {
        VisitRequest: VisitRequest.department,
        VisitReport: VisitRequest.department,  # its queries join the request
        BillingRecord: BillingRecord.department,
    }

    def bucket(column):
        return department_of[column.class_]

    _requests(session, filters, bucket, target, now)
    _times(session, filters, bucket, target)
    _offers(session, filters, bucket, target)
    _visits(session, filters, bucket, target)
    _billed(session, filters, bucket, target)
    enrolled = session.execute(
        sa.select(Nurse.department, sa.func.count())
        .where(
            Nurse.validated_at.is_not(None),
            Nurse.validated_at < day_end(filters.end, zone_of(None)),
            Nurse.department.in_(list(found)),
        )
        .group_by(Nurse.department)
    )
    for code, count in enrolled:
        found[code].nurses_enrolled = count
    return dict(sorted(found.items()))


def period_starts(filters: Filters) -> list[tuple[date, date]]:
    """The days or whole ISO weeks (Monday to Sunday) the period touches."""
    periods, day = [], filters.start
    while day <= filters.end:
        if filters.granularity == Granularity.DAY:
            start, end = day, day
        else:
            start = day - timedelta(days=day.weekday())
            end = start + timedelta(days=6)
        periods.append((start, end))
        day = end + timedelta(days=1)
    return periods


def clip(period: tuple[date, date], filters: Filters) -> tuple[date, date]:
    """The part of a day or week inside the period."""
    return max(period[0], filters.start), min(period[1], filters.end)


def _bucket_of(filters: Filters):
    """The expression that names a row's period, from its day column."""
    if filters.granularity == Granularity.DAY:
        return lambda column: column
    return week_start


def _request_scope(filters: Filters) -> list:
    where = [VisitRequest.consent_day.between(filters.start, filters.end)]
    if filters.department:
        where.append(VisitRequest.department == filters.department)
    if filters.cpam_code:
        where.append(VisitRequest.cpam_code == filters.cpam_code)
    return where


def _place_scope(filters: Filters) -> list:
    where = []
    if filters.department:
        where.append(VisitRequest.department == filters.department)
    if filters.cpam_code:
        where.append(VisitRequest.cpam_code == filters.cpam_code)
    return where


def _requests(session, filters, bucket, target, now) -> None:
    key = bucket(VisitRequest.consent_day).label("bucket")
    elapsed = seconds_between(
        sa.literal(now.astimezone(UTC), type_=VisitRequest.consent_at.type),
        VisitRequest.consent_at,
    )
    within = (
        seconds_between(VisitReport.visited_at, VisitRequest.consent_at)
        <= DAY_SECONDS + SLACK_SECONDS
    )
    gone = VisitRequest.status.in_((S.CANCELLED, S.REFUSED_BY_PATIENT))
    counted = sa.and_(~gone, sa.or_(VisitReport.id.is_not(None), elapsed > DAY_SECONDS))
    rows = session.execute(
        sa.select(
            key,
            VisitRequest.status,
            sa.func.count(),
            sa.func.sum(sa.case((counted, 1), else_=0)),
            sa.func.sum(sa.case((within, 1), else_=0)),
            sa.func.sum(sa.case((VisitRequest.escalated_at.is_not(None), 1), else_=0)),
        )
        .outerjoin(VisitReport, VisitReport.request_id == VisitRequest.id)
        .where(*_request_scope(filters))
        .group_by(key, VisitRequest.status)
    )
    for bucket_value, status, count, counted_n, within_n, escalated in rows:
        figures = target(bucket_value)
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
        if status in OPEN_STATUSES:
            figures.open += count


def _times(session, filters, bucket, target) -> None:
    key = bucket(VisitRequest.consent_day)
    scope = _request_scope(filters)
    accepted = seconds_between(Offer.answered_at, VisitRequest.consent_at) / 60.0
    rows = percentiles(
        session,
        key,
        accepted,
        [
            *scope,
            Offer.request_id == VisitRequest.id,
            Offer.status == OfferStatus.ACCEPTED,
        ],
        (50, 90),
    )
    for bucket_value, values in rows.items():
        figures = target(bucket_value)
        figures.acceptance_median_minutes = values.get(50)
        figures.acceptance_p90_minutes = values.get(90)
    visited = seconds_between(VisitReport.visited_at, VisitRequest.consent_at) / 60.0
    rows = percentiles(
        session, key, visited, [*scope, VisitReport.request_id == VisitRequest.id], (50, 90)
    )
    for bucket_value, values in rows.items():
        figures = target(bucket_value)
        figures.visit_median_minutes = values.get(50)
        figures.visit_p90_minutes = values.get(90)


def _offers(session, filters, bucket, target) -> None:
    key = bucket(VisitRequest.consent_day).label("bucket")
    rows = session.execute(
        sa.select(
            key,
            Offer.status,
            sa.func.count(),
            sa.func.count(sa.distinct(Offer.nurse_id)),
        )
        .join(VisitRequest, VisitRequest.id == Offer.request_id)
        .where(*_request_scope(filters))
        .group_by(key, Offer.status)
    )
    for bucket_value, status, count, _nurses in rows:
        figures = target(bucket_value)
        figures.offers += count
        if status in (OfferStatus.ACCEPTED, OfferStatus.HANDED_BACK):
            figures.offers_accepted += count
        elif status == OfferStatus.DECLINED:
            figures.offers_declined += count
        elif status == OfferStatus.EXPIRED:
            figures.offers_expired += count
    answered = (OfferStatus.ACCEPTED, OfferStatus.DECLINED, OfferStatus.HANDED_BACK)
    rows = session.execute(
        sa.select(key, sa.func.count(sa.distinct(Offer.nurse_id)))
        .join(VisitRequest, VisitRequest.id == Offer.request_id)
        .where(*_request_scope(filters), Offer.status.in_(answered))
        .group_by(key)
    )
    for bucket_value, nurses in rows:
        target(bucket_value).nurses_answering = nurses


def _visit_scope(filters: Filters) -> list:
    return [VisitReport.visit_day.between(filters.start, filters.end), *_place_scope(filters)]


def _visits(session, filters, bucket, target) -> None:
    key = bucket(VisitReport.visit_day).label("bucket")
    holder = sa.and_(
        Offer.request_id == VisitReport.request_id,
        Offer.nurse_id == VisitReport.nurse_id,
        Offer.status == OfferStatus.ACCEPTED,
    )
    rows = session.execute(
        sa.select(
            key,
            sa.func.count(),
            sa.func.sum(VisitReport.tested_count),
            sa.func.sum(sa.case((VisitReport.ctai_referral, 1), else_=0)),
            sa.func.sum(Offer.distance_km),
            sa.func.count(Offer.id),
            sa.func.count(sa.distinct(VisitReport.nurse_id)),
        )
        .join(VisitRequest, VisitRequest.id == VisitReport.request_id)
        .outerjoin(Offer, holder)
        .where(*_visit_scope(filters))
        .group_by(key)
    )
    for bucket_value, visits, tested, ctai, km, km_visits, nurses in rows:
        figures = target(bucket_value)
        figures.visits = visits
        figures.tested = tested or 0
        figures.ctai_referrals = ctai or 0
        figures.km_total = float(km or 0)
        figures.km_visits = km_visits
        figures.nurses_visiting = nurses


def _billed(session, filters, bucket, target) -> None:
    key = bucket(BillingRecord.care_date).label("bucket")
    where = [BillingRecord.care_date.between(filters.start, filters.end)]
    if filters.department:
        where.append(BillingRecord.department == filters.department)
    if filters.cpam_code:
        where.append(BillingRecord.cpam_code == filters.cpam_code)
    # Credits carry negative totals: the sum is what remains billed.
    rows = session.execute(
        sa.select(key, sa.func.sum(BillingRecord.total)).where(*where).group_by(key)
    )
    for bucket_value, amount in rows:
        target(bucket_value).billed = amount if amount is not None else Decimal("0.00")


def day_end(day: date, zone: ZoneInfo = PARIS) -> datetime:
    """The first instant after the local day."""
    return datetime.combine(day + timedelta(days=1), time(), zone).astimezone(UTC)


def zone_of(department: str | None) -> ZoneInfo:
    """The zone a department lives in (Paris for the platform as a whole)."""
    communes = commune_directory().in_department(department) if department else []
    return ZoneInfo(communes[0].timezone) if communes else PARIS


def _enrolled(session, filters, all_figures: list[Figures]) -> None:
    """Nurses validated by the end of each period's last local day, in one query of one count
    per period: in the department, or for a CPAM in the departments it booked visits in."""
    where = [Nurse.validated_at.is_not(None)]
    if filters.department:
        where.append(Nurse.department == filters.department)
    if filters.cpam_code:
        booked_in = sa.select(VisitRequest.department).where(*_request_scope(filters))
        where.append(Nurse.department.in_(booked_in.distinct()))
    zone = zone_of(filters.department)
    ends = [day_end(figures.end, zone) for figures in all_figures]
    counts = session.execute(
        sa.select(
            *[
                sa.func.sum(sa.case((Nurse.validated_at < end, 1), else_=0)).label(f"e{index}")
                for index, end in enumerate(ends)
            ]
        ).where(*where)
    ).one()
    for figures, count in zip(all_figures, counts, strict=True):
        figures.nurses_enrolled = count or 0


def _top(session, column, where, limit: int = 10) -> list[tuple[str, int]]:
    rows = session.execute(
        sa.select(column, sa.func.count().label("n"))
        .where(*where)
        .group_by(column)
        .order_by(sa.desc("n"), column)
        .limit(limit)
    )
    return [(reason or "(sans motif)", count) for reason, count in rows]


def _reasons(session, filters, indicators: Indicators) -> None:
    scope = _request_scope(filters)
    indicators.unassigned_reasons = _top(
        session, VisitRequest.unassigned_reason, [*scope, VisitRequest.status == S.UNASSIGNED]
    )
    indicators.cancel_reasons = _top(
        session, VisitRequest.cancel_reason, [*scope, VisitRequest.status == S.CANCELLED]
    )
    declined = _top(
        session,
        Offer.answer_reason,
        [*scope, Offer.request_id == VisitRequest.id, Offer.status == OfferStatus.DECLINED],
    )
    labels = {reason.value: label for reason, label in DECLINE_LABELS.items()}
    indicators.decline_reasons = [(labels.get(code, code), n) for code, n in declined]


def delay_label(low: int, high: int | None) -> str:
    return f"plus de {low} h" if high is None else f"{low} à {high} h"


def _delays(session, filters, indicators: Indicators) -> None:
    # Upper bounds included, as in the 24 h share: a visit at exactly 24 h is within 24 h.
    seconds = seconds_between(VisitReport.visited_at, VisitRequest.consent_at)
    classes = sa.case(
        *[
            (seconds <= high * 3600 + SLACK_SECONDS, index)
            for index, (_low, high) in enumerate(DELAY_CLASSES)
            if high is not None
        ],
        else_=len(DELAY_CLASSES) - 1,
    ).label("class")
    rows = dict(
        session.execute(
            sa.select(classes, sa.func.count())
            .join(VisitRequest, VisitRequest.id == VisitReport.request_id)
            .where(*_request_scope(filters))
            .group_by(classes)
        ).all()
    )
    indicators.delay_classes = [
        (delay_label(low, high), rows.get(index, 0))
        for index, (low, high) in enumerate(DELAY_CLASSES)
    ]


def _load(session, filters, indicators: Indicators) -> None:
    per_nurse = (
        sa.select(VisitReport.nurse_id, sa.func.count().label("visits"))
        .join(VisitRequest, VisitRequest.id == VisitReport.request_id)
        .where(*_visit_scope(filters))
        .group_by(VisitReport.nurse_id)
        .subquery()
    )
    rows = session.execute(
        sa.select(per_nurse.c.visits, sa.func.count())
        .group_by(per_nurse.c.visits)
        .order_by(per_nurse.c.visits)
    ).all()
    indicators.load = [(visits, nurses) for visits, nurses in rows]
    counts = Counter(dict(indicators.load))
    values = sorted(counts.elements())
    if values:
        indicators.load_median = float(nearest_rank(values, 50))
        indicators.load_p90 = float(nearest_rank(values, 90))
        indicators.load_max = values[-1]


def nearest_rank(sorted_values: list, percent: int):
    """The nearest-rank percentile: the value at rank ⌈p·n/100⌉ (1-based)."""
    rank = (len(sorted_values) * percent + 99) // 100
    return sorted_values[max(rank, 1) - 1]
