"""The steering indicators are exact on a seeded data set: every figure is counted again here in
plain Python from the rows read back, with the local days, weeks and nearest-rank percentiles
worked out by hand, and compared field by field with `compute()`."""

import math
import shutil
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from app.db import load_reference_data, make_engine
from billing.models import BillingRecord
from registry.nurses.models import Nurse
from registry.requests.models import VisitRequest
from registry.visits.models import Offer, VisitReport
from steering.details import unassigned_label
from steering.indicators import Figures, Filters, Granularity, compute
from tests.conftest import BACKENDS
from tests.indicator_data import NOW, PARIS, DataSet, seed

FIRST, LAST = date(2021, 3, 15), date(2021, 4, 4)  # Monday to Sunday: three whole weeks
WEEKS = Filters(FIRST, LAST)
DAYS = Filters(FIRST, LAST, granularity=Granularity.DAY)
GONE = ("cancelled", "refused_by_patient")
OPEN = ("received", "offered", "accepted", "unassigned")
DECLINE_LABELS = {"unavailable": "Pas disponible", "too_far": "Trop loin", "other": "Autre raison"}
DELAY_LABELS = ["0 à 6 h", "6 à 12 h", "12 à 24 h", "24 à 48 h", "plus de 48 h"]
GUADELOUPE = "America/Guadeloupe"


@pytest.fixture(scope="module", params=BACKENDS)
def seeded(request, tmp_path_factory) -> Iterator[tuple[Session, DataSet]]:
    """One data set per database for the whole module, the tests only reading it (the fresh
    database conftest's `database_url` gives each test, made once)."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("indicators") / "indicators.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("postgres_migrated")
    engine = make_engine(url)
    if request.param == "postgresql":
        with engine.begin() as connection:
            tables = [t for t in sa.inspect(connection).get_table_names() if t != "alembic_version"]
            connection.execute(sa.text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        load_reference_data(engine)
    with Session(engine, expire_on_commit=False) as db:
        data = seed(db)
        db.rollback()
        yield db, data
    engine.dispose()


@pytest.fixture(scope="module")
def rows(seeded) -> "Rows":
    return Rows.read(seeded[0])


@dataclass
class Rows:
    """Every row the indicators are made of, as the database holds them."""

    requests: list[VisitRequest]
    offers: list[Offer]
    reports: list[VisitReport]
    bills: list[BillingRecord]
    nurses: list[Nurse]

    @classmethod
    def read(cls, db: Session) -> "Rows":
        return cls(
            *(
                list(db.exec(select(model)))
                for model in (VisitRequest, Offer, VisitReport, BillingRecord, Nurse)
            )
        )

    def request(self, request_id: int) -> VisitRequest:
        return next(r for r in self.requests if r.id == request_id)

    def report_of(self, request_id: int) -> VisitReport | None:
        return next((v for v in self.reports if v.request_id == request_id), None)


# The independent count.


def local_day(instant: datetime, zone: str) -> date:
    return instant.astimezone(ZoneInfo(zone)).date()


def consent_day(request: VisitRequest) -> date:
    return local_day(request.consent_at, request.timezone)


def hours(later: datetime, earlier: datetime) -> float:
    return (later - earlier).total_seconds() / 3600


def nearest_rank(values: list[float], percent: int) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(percent * len(ordered) / 100), 1) - 1]


def minutes_percentile(values: list[float], percent: int) -> float | None:
    value = nearest_rank(values, percent)
    return None if value is None else round(value, 1)


def periods(filters: Filters) -> list[tuple[date, date]]:
    """Each day, or each ISO week (Monday to Sunday) the filters' days touch."""
    days = [
        filters.start + timedelta(days=n) for n in range((filters.end - filters.start).days + 1)
    ]
    if filters.granularity == Granularity.DAY:
        return [(day, day) for day in days]
    mondays = sorted({day - timedelta(days=day.isocalendar().weekday - 1) for day in days})
    return [(monday, monday + timedelta(days=6)) for monday in mondays]


def in_place(request: VisitRequest, filters: Filters) -> bool:
    return (filters.department in (None, request.department)) and (
        filters.cpam_code in (None, request.cpam_code)
    )


def within(day: date, start: date, end: date, filters: Filters) -> bool:
    return max(start, filters.start) <= day <= min(end, filters.end)


def requests_of(rows: Rows, filters: Filters, start: date, end: date) -> list[VisitRequest]:
    return [
        r
        for r in rows.requests
        if in_place(r, filters) and within(consent_day(r), start, end, filters)
    ]


def visits_of(
    rows: Rows, filters: Filters, start: date, end: date
) -> list[tuple[VisitReport, VisitRequest]]:
    found = []
    for report in rows.reports:
        request = rows.request(report.request_id)
        day = local_day(report.visited_at, request.timezone)
        if in_place(request, filters) and within(day, start, end, filters):
            found.append((report, request))
    return found


def expected_figures(rows: Rows, filters: Filters, start: date, end: date) -> dict:
    requests = requests_of(rows, filters, start, end)
    visits = visits_of(rows, filters, start, end)
    return {
        # A week the period cuts is shown from and to the days it keeps.
        "start": max(start, filters.start),
        "end": min(end, filters.end),
        **request_figures(rows, requests),
        **offer_figures(rows, requests),
        **visit_figures(rows, visits),
        **money_and_nurses(rows, filters, start, end),
    }


def request_figures(rows: Rows, requests: list[VisitRequest]) -> dict:
    statuses = Counter(r.status for r in requests)
    reported = {r.id: rows.report_of(r.id) for r in requests}
    counted = [
        r
        for r in requests
        if r.status not in GONE and (reported[r.id] or hours(NOW, r.consent_at) > 24)
    ]
    to_visit = [hours(v.visited_at, r.consent_at) * 60 for r in requests if (v := reported[r.id])]
    in_24h = [minutes for minutes in to_visit if minutes <= 24 * 60]
    return {
        "requests": len(requests),
        "cancelled": statuses["cancelled"],
        "refused_by_patient": statuses["refused_by_patient"],
        "unassigned": statuses["unassigned"],
        "unreachable": statuses["unreachable"],
        # Open and waiting, apart from those already counted as without a nurse.
        "open": sum(statuses[s] for s in OPEN if s != "unassigned"),
        "escalated": sum(1 for r in requests if r.escalated_at is not None),
        "counted": len(counted),
        "visited_within_24h": len(in_24h),
        "share_within_24h": len(in_24h) / len(counted) if counted else None,
        "visit_median_minutes": minutes_percentile(to_visit, 50),
        "visit_p90_minutes": minutes_percentile(to_visit, 90),
    }


def offer_figures(rows: Rows, requests: list[VisitRequest]) -> dict:
    consent = {r.id: r.consent_at for r in requests}
    offers = [o for o in rows.offers if o.request_id in consent]
    by_status = Counter(o.status for o in offers)
    acceptance = [
        hours(o.answered_at, consent[o.request_id]) * 60 for o in offers if o.status == "accepted"
    ]
    answering = {o.nurse_id for o in offers if o.status in ("accepted", "declined", "handed_back")}
    return {
        "acceptance_median_minutes": minutes_percentile(acceptance, 50),
        "acceptance_p90_minutes": minutes_percentile(acceptance, 90),
        "offers": len(offers),
        "offers_accepted": by_status["accepted"] + by_status["handed_back"],
        "offers_declined": by_status["declined"],
        "offers_expired": by_status["expired"],
        "nurses_answering": len(answering),
    }


def visit_figures(rows: Rows, visits: list[tuple[VisitReport, VisitRequest]]) -> dict:
    holders = [
        o
        for report, _request in visits
        for o in rows.offers
        if (o.request_id, o.nurse_id, o.status) == (report.request_id, report.nurse_id, "accepted")
    ]
    km_total = sum(o.distance_km for o in holders)
    nurses = len({report.nurse_id for report, _request in visits})
    return {
        "visits": len(visits),
        "km_total": round(km_total, 6),
        "km_visits": len(holders),
        "km_per_visit": round(km_total / len(holders), 6) if holders else None,
        # The same relative may take both kinds of test: never more people than the household.
        "tested": sum(
            min(sum(test["count"] for test in report.household_tests), request.household_size)
            for report, request in visits
        ),
        "ctai_referrals": sum(1 for report, _request in visits if report.ctai_referral),
        "nurses_visiting": nurses,
        "visits_per_nurse": len(visits) / nurses if nurses else None,
    }


def money_and_nurses(rows: Rows, filters: Filters, start: date, end: date) -> dict:
    bills = [
        b
        for b in rows.bills
        if in_place(rows.request(b.request_id), filters)
        and within(b.care_date, start, end, filters)
    ]
    # By the end of the last day shown, in the department's zone (Paris for the platform); for a
    # CPAM, in the departments it booked requests in over the period.
    zone = ZoneInfo(GUADELOUPE) if filters.department == "971" else PARIS
    enrolled_by = datetime.combine(min(end, filters.end) + timedelta(days=1), time(), zone)
    booked_in = {
        r.department
        for r in requests_of(rows, filters, filters.start, filters.end)
        if filters.cpam_code
    }
    enrolled = [
        n
        for n in rows.nurses
        if n.validated_at is not None
        and n.validated_at < enrolled_by
        and filters.department in (None, n.department)
        and (not filters.cpam_code or n.department in booked_in)
    ]
    return {
        "billed": sum((b.total for b in bills), Decimal("0.00")),
        "nurses_enrolled": len(enrolled),
    }


def top(counts: Counter, label=lambda value: value or "(sans motif)") -> list[tuple[str, int]]:
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:10]
    return [(label(value), n) for value, n in ordered]


def expected_breakdowns(rows: Rows, filters: Filters) -> dict:
    requests = requests_of(rows, filters, filters.start, filters.end)
    ids = {r.id for r in requests}
    classes = Counter()
    for request in requests:
        if report := rows.report_of(request.id):
            elapsed = hours(report.visited_at, request.consent_at)
            classes[next((i for i, high in enumerate((6, 12, 24, 48)) if elapsed <= high), 4)] += 1
    per_nurse = Counter(
        report.nurse_id for report, _r in visits_of(rows, filters, filters.start, filters.end)
    )
    loads = sorted(per_nurse.values())
    return {
        "unassigned_reasons": top(
            Counter(r.unassigned_code for r in requests if r.status == "unassigned"),
            label=unassigned_label,
        ),
        "decline_reasons": top(
            Counter(
                o.answer_reason
                for o in rows.offers
                if o.request_id in ids and o.status == "declined"
            ),
            label=lambda code: DECLINE_LABELS.get(code, code),
        ),
        "delay_classes": [(label, classes[i]) for i, label in enumerate(DELAY_LABELS)],
        "load": sorted(Counter(loads).items()),
        "load_median": None if not loads else float(nearest_rank(loads, 50)),
        "load_p90": None if not loads else float(nearest_rank(loads, 90)),
        "load_max": max(loads, default=0),
    }


# What compute() says, in the same shape.


def figures_of(figures: Figures) -> dict:
    found = asdict(figures)
    found["km_total"] = round(found["km_total"], 6)
    found["share_within_24h"] = figures.share_within_24h
    km = figures.km_per_visit
    found["km_per_visit"] = None if km is None else round(km, 6)
    found["visits_per_nurse"] = figures.visits_per_nurse
    return found


def differences(found: dict, wanted: dict) -> dict:
    return {
        name: (found.get(name), value) for name, value in wanted.items() if found.get(name) != value
    }


def assert_matches(db: Session, rows: Rows, filters: Filters) -> None:
    indicators = compute(db, filters, now=NOW)
    wanted = [expected_figures(rows, filters, start, end) for start, end in periods(filters)]
    assert [(f.start, f.end) for f in indicators.periods] == [
        (w["start"], w["end"]) for w in wanted
    ]
    for figures, expected in zip(indicators.periods, wanted, strict=True):
        assert differences(figures_of(figures), expected) == {}, figures.start
    total = expected_figures(rows, filters, filters.start, filters.end)
    assert differences(figures_of(indicators.total), total) == {}, "total"
    breakdowns = {name: getattr(indicators, name) for name in expected_breakdowns(rows, filters)}
    assert differences(breakdowns, expected_breakdowns(rows, filters)) == {}


# The comparisons.


def test_the_weekly_platform_figures_are_those_counted_from_the_rows(seeded, rows):
    assert_matches(seeded[0], rows, WEEKS)


def test_the_daily_platform_figures_are_those_counted_from_the_rows(seeded, rows):
    assert_matches(seeded[0], rows, DAYS)


@pytest.mark.parametrize("department", ["09", "31", "971"])
def test_a_department_counts_only_its_patients_bills_and_nurses(seeded, rows, department):
    for granularity in Granularity:
        assert_matches(seeded[0], rows, Filters(FIRST, LAST, department, granularity=granularity))


@pytest.mark.parametrize(("cpam_code", "department"), [("091", None), ("311", None), ("091", "31")])
def test_a_cpam_counts_the_requests_it_booked_wherever_the_patient_lives(
    seeded, rows, cpam_code, department
):
    for granularity in Granularity:
        filters = Filters(FIRST, LAST, department, cpam_code, granularity)
        assert_matches(seeded[0], rows, filters)


# The product's behaviour on the stories of the data set, by hand.


def on(db: Session, start: date, end: date | None = None, **scope):
    """The daily indicators from `start` to `end`, as of NOW."""
    filters = Filters(start, end or start, granularity=Granularity.DAY, **scope)
    return compute(db, filters, now=NOW)


def test_a_visit_after_24_hours_counts_against_the_24h_share(seeded):
    day = on(seeded[0], date(2021, 3, 17)).total
    assert (day.requests, day.counted, day.visited_within_24h, day.share_within_24h) == (1, 1, 0, 0)
    assert day.visit_median_minutes == 29 * 60
    assert (day.offers, day.offers_expired, day.offers_accepted) == (2, 1, 1)


def test_a_visit_at_exactly_24_hours_is_within_24_hours_in_the_share_and_its_class(seeded):
    indicators = on(seeded[0], date(2021, 3, 27))
    day = indicators.total
    assert (day.requests, day.counted, day.visited_within_24h, day.share_within_24h) == (2, 2, 2, 1)
    # Across the change to summer time, 24 h 30 on the clock are 23 h 30.
    assert (day.visit_median_minutes, day.visit_p90_minutes) == (23.5 * 60, 24 * 60)
    classes = dict(indicators.delay_classes)
    assert (classes["12 à 24 h"], classes["24 à 48 h"]) == (2, 0)


def test_a_request_younger_than_24_hours_is_not_counted_until_visited(seeded):
    overdue, young = on(seeded[0], date(2021, 4, 3), date(2021, 4, 4)).periods
    assert (overdue.requests, overdue.counted, overdue.visited_within_24h) == (1, 1, 0)
    assert (young.requests, young.open, young.counted, young.share_within_24h) == (1, 1, 0, None)


def test_cancelled_and_refused_requests_stay_out_of_the_24h_share(seeded):
    cancelled, refused = on(seeded[0], date(2021, 3, 18), date(2021, 3, 19)).periods
    assert (cancelled.requests, cancelled.cancelled, cancelled.counted) == (1, 1, 0)
    assert (cancelled.offers, cancelled.offers_accepted) == (1, 0)  # withdrawn
    assert (refused.requests, refused.refused_by_patient, refused.unassigned) == (2, 1, 1)
    # The request no nurse could reach is counted, unvisited, and was escalated.
    assert (refused.counted, refused.visited_within_24h, refused.escalated) == (1, 0, 1)


def test_a_visit_counts_on_its_day_even_for_a_request_consented_before_the_period(seeded):
    day = on(seeded[0], date(2021, 3, 15)).total
    assert (day.requests, day.visits, day.nurses_visiting) == (2, 2, 1)
    # The times from consent are those of the day's requests (5 h and 20 h), not the 62 h of
    # the visit to the request consented on the 12th.
    assert (day.visit_median_minutes, day.visit_p90_minutes) == (5 * 60, 20 * 60)


def test_an_overseas_request_and_its_visit_fall_on_their_own_local_day(seeded):
    db, data = seeded
    request = db.get(VisitRequest, data.requests["guadeloupe"].id)
    report = db.exec(select(VisitReport).where(VisitReport.request_id == request.id)).one()
    bill = db.exec(select(BillingRecord).where(BillingRecord.request_id == request.id)).one()
    # Sunday 21 at 21:00 and Monday 22 at 20:00 in Guadeloupe: Monday and Tuesday in Paris.
    assert request.consent_at.astimezone(PARIS).date() == date(2021, 3, 22)
    assert (request.consent_day, report.visit_day, bill.care_date) == (
        date(2021, 3, 21),
        date(2021, 3, 22),
        date(2021, 3, 22),
    )
    sunday, monday, tuesday = on(db, date(2021, 3, 21), date(2021, 3, 23), department="971").periods
    assert (sunday.requests, sunday.visits, sunday.visited_within_24h) == (1, 0, 1)
    assert (monday.requests, monday.visits, monday.billed) == (0, 1, bill.total)
    assert (tuesday.visits, tuesday.billed) == (0, 0)
    weeks = compute(db, Filters(FIRST, LAST, department="971"), now=NOW).periods
    assert [w.requests for w in weeks] == [1, 0, 1]


def test_a_visit_half_an_hour_after_midnight_counts_on_the_next_day(seeded):
    sunday, monday = on(seeded[0], date(2021, 3, 28), date(2021, 3, 29), department="31").periods
    assert (sunday.requests, sunday.visits, monday.requests, monday.visits) == (1, 0, 1, 2)


def test_a_credit_leaves_only_the_replacement_in_the_amounts_billed(seeded):
    db, data = seeded
    request_id = data.requests["handed_back"].id
    bills = db.exec(select(BillingRecord).where(BillingRecord.request_id == request_id)).all()
    original, credit, replacement = sorted(bills, key=lambda b: b.number)
    assert credit.total == -original.total and replacement.total > original.total
    assert {b.care_date for b in bills} == {date(2021, 3, 25)}
    thursday = on(db, date(2021, 3, 25), department="31").total
    assert (thursday.visits, thursday.billed) == (1, replacement.total)


def test_household_members_tested_never_exceed_the_household(seeded):
    # Three antigen tests and one RT-PCR sample in a household of three.
    day = on(seeded[0], date(2021, 3, 18)).total
    assert (day.visits, day.tested, day.ctai_referrals) == (1, 3, 0)
    assert day.km_per_visit == 17.6  # from Foix to Pamiers, the holding offer's distance


def test_nurses_are_enrolled_by_the_end_of_their_departments_day_of_validation(seeded):
    db, _data = seeded
    tuesday, wednesday = on(db, date(2021, 3, 16), date(2021, 3, 17)).periods
    assert (tuesday.nurses_enrolled, wednesday.nurses_enrolled) == (2, 4)
    # Validated on the 16th at 19:30 in Guadeloupe (23:30 UTC, the 17th at 00:30 in Paris):
    # enrolled on the 16th there.
    tuesday, wednesday = on(db, date(2021, 3, 16), date(2021, 3, 17), department="971").periods
    assert (tuesday.nurses_enrolled, wednesday.nurses_enrolled) == (1, 1)
    weeks = compute(db, WEEKS, now=NOW)
    assert [w.nurses_enrolled for w in weeks.periods] == [4, 5, 6]
    assert (weeks.total.nurses_enrolled, len(db.exec(select(Nurse)).all())) == (6, 7)  # 1 pending


def test_a_handed_back_offer_counts_as_accepted_and_acceptance_is_timed_to_the_last_nurse(
    seeded,
):
    day = on(seeded[0], date(2021, 3, 24), department="31").total
    assert (day.offers, day.offers_accepted, day.nurses_answering) == (2, 2, 2)
    # Accepted at 14:30 and handed back; accepted again at 15:10, 70 minutes after consent.
    assert day.acceptance_median_minutes == 70


def test_declines_cancellations_and_unassigned_requests_are_told_with_their_reasons(seeded):
    indicators = compute(seeded[0], WEEKS, now=NOW)
    assert (indicators.total.offers_declined, indicators.total.offers_expired) == (3, 1)
    assert indicators.decline_reasons == [("Pas disponible", 2), ("Trop loin", 1)]
    assert indicators.unassigned_reasons == [
        # Ax-les-Thermes, and the request both nurses of Ariège declined
        ("hors de toute zone d'intervention", 2),
        ("échéance dépassée avant toute proposition", 1),
    ]
    # The agent's own words for cancelling stay on the request.
    assert "Patient hospitalisé" not in repr(indicators)


def test_the_load_spreads_the_visits_over_the_nurses_who_visited(seeded):
    indicators = compute(seeded[0], WEEKS, now=NOW)
    # Foix 6, Toulouse 5, Pamiers and Guadeloupe 2 each, Muret 1.
    assert indicators.load == [(1, 1), (2, 2), (5, 1), (6, 1)]
    assert (indicators.load_median, indicators.load_p90, indicators.load_max) == (2, 6, 6)
    assert (indicators.total.visits, indicators.total.nurses_visiting) == (16, 5)
    assert indicators.total.visits_per_nurse == 16 / 5


CUT = Filters(date(2021, 3, 17), date(2021, 3, 29))  # Wednesday of week 1 to Monday of week 3


def test_a_week_cut_by_the_period_counts_only_the_days_shown(seeded):
    indicators = compute(seeded[0], CUT, now=NOW)
    assert [(p.requests, p.visits) for p in indicators.periods] == [(6, 2), (7, 6), (1, 2)]
    assert (indicators.total.requests, indicators.total.visits) == (14, 10)


def test_a_week_cut_by_the_period_counts_the_nurses_enrolled_by_its_last_day_shown(seeded):
    indicators = compute(seeded[0], CUT, now=NOW)
    assert indicators.periods[-1].nurses_enrolled == indicators.total.nurses_enrolled == 5


def test_the_figures_read_on_two_connections_at_once_are_the_same(seeded):
    db = seeded[0]
    for granularity in Granularity:
        filters = Filters(FIRST, LAST, granularity=granularity)
        alone = compute(db, filters, now=NOW)
        shared = compute(db, filters, now=NOW, second_session=lambda: Session(db.get_bind()))
        assert shared == alone
