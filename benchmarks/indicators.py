"""Benchmark of the steering indicators on a year of data: 110 000 requests over France in waves
(100 000 visited), their offers, reports and bills, 3 500 nurses; `compute()` timed for the
platform, a department, a CPAM and 90 days by day, and the coordinator's page end to end.

    python -m benchmarks.indicators [--requests N] [--nurses N] [--runs R] [--database-url URL]

Without --database-url it runs on a temporary SQLite file, and also on PostgreSQL when
BENCH_DATABASE_URL is set. A PostgreSQL database is wiped first, so it must be named on purpose:
--database-url needs --wipe. Rows go in by Core bulk inserts; bills get no billing_line rows
(the indicators read only the records' totals). Prints the timings, then the plan of every query
`compute()` sends; the exit status is 1 when a target is missed.
"""

import argparse
import math
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
import traceback
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session

from app import create_app
from app.config import Settings
from app.db import make_engine, upgrade
from benchmarks.eligibility import nurse_row
from billing.catalogue import shipped_catalogue
from billing.models import BillingCounter, BillingRecord, RecordKind, Zone
from billing.pricing import TENTH, VisitFacts, price_visit, total_of
from billing.records import EXONERATION, PRESCRIBER_NAME, PRESCRIBER_NUMBER
from matching.travel import great_circle_km, great_circle_km_many
from registry import accounts
from registry.accounts import Role, User
from registry.geo.communes import commune_directory
from registry.nurses.models import Nurse, NurseStatus
from registry.requests.models import RequestStatus as S
from registry.requests.models import VisitRequest
from registry.timeutil import monday_of
from registry.visits.models import DeclineReason, Offer, OfferStatus, VisitReport
from steering.indicators import Filters, Granularity, compute

YEAR = date(2021, 1, 1)
DAYS = 365
NOW = datetime(2022, 1, 15, 12, tzinfo=UTC)
# (day of the year, spread in days, height): the waves of 2021 and the start of the fifth.
WAVES = ((15, 20, 0.5), (100, 18, 1.0), (222, 15, 0.6), (350, 14, 1.3))
# Outcomes per 110 requests.
OUTCOMES = {S.BILLED: 100, S.CANCELLED: 4, S.REFUSED_BY_PATIENT: 2, S.UNASSIGNED: 2.5}
OUTCOMES[S.UNREACHABLE] = 110 - sum(OUTCOMES.values())
CANCEL_REASONS = ("Patient hospitalisé", "Patient parti de son domicile", "Doublon", "Erreur")
# (the planner's code, its sentence)
UNASSIGNED_REASONS = (
    ("no window before due time", "Aucune infirmière disponible avant l'échéance"),
    ("no nurse speaking the language", "Aucune infirmière ne parle la langue du patient"),
    ("no eligible nurse", "Aucune infirmière dans le secteur"),
)
HOUSEHOLDS = ((1, 2, 3, 4, 5, 6), (30, 28, 18, 14, 7, 3))
CHUNK = 5_000
TARGET_SECONDS = 1.0
PASSWORD = secrets.token_urlsafe(16)
PAGE = "/coordinator/indicators"


def wave(day: int) -> float:
    weekday = (YEAR + timedelta(days=day)).weekday()
    height = 0.12 + sum(h * math.exp(-(((day - c) / s) ** 2) / 2) for c, s, h in WAVES)
    return height * (0.6 if weekday == 6 else 1.0)


def cpam_of(department: str) -> str:
    """One CPAM per department, numbered like the caisses: department and a 1 (971… as is)."""
    return department if len(department) == 3 else f"{department}1"


@dataclass
class Place:
    """A nurse's practice, for choosing the nurses nearest a patient."""

    index: int
    nurse_id: int
    insee: str
    latitude: float
    longitude: float
    validated_at: datetime | None


class Population:
    """The data set, built chunk by chunk in the order of consent (ids grow with time)."""

    def __init__(self, requests: int, nurses: int, rng: random.Random) -> None:
        self.rng = rng
        self.communes = list(commune_directory())
        self.weights = [max(c.population, 1) for c in self.communes]
        self.request_count, self.nurse_count = requests, nurses
        self.catalogue = shipped_catalogue()
        self.counters: dict[int, int] = defaultdict(int)
        self.offer_id = self.report_id = self.bill_id = 0
        self.nearest: dict[str, list[Place]] = {}
        self.days_weights = [wave(day) for day in range(DAYS)]

    def populate(self, connection: sa.Connection) -> dict[str, int]:
        clients = self._users_and_nurses(connection)
        episodes = self._episodes()
        counts = defaultdict(int)
        for first in range(0, len(episodes), CHUNK):
            rows = defaultdict(list)
            for offset, episode in enumerate(episodes[first : first + CHUNK]):
                self._episode(first + offset + 1, *episode, clients, rows)
            for table in (VisitRequest, Offer, VisitReport, BillingRecord):
                name = table.__tablename__
                if rows[name]:
                    connection.execute(table.__table__.insert(), rows[name])
                counts[name] += len(rows[name])
        counters = [{"nurse_id": n, "last_number": k} for n, k in sorted(self.counters.items())]
        connection.execute(BillingCounter.__table__.insert(), counters)
        counts["nurse"] = len(self.places)
        return dict(counts)

    def _users_and_nurses(self, connection: sa.Connection) -> dict[str, int]:
        rng, now = self.rng, datetime(2020, 3, 1, tzinfo=UTC)
        first_user = (connection.execute(sa.select(sa.func.max(User.id))).scalar() or 0) + 1
        by_department = defaultdict(list)
        for commune, weight in zip(self.communes, self.weights, strict=True):
            by_department[commune.department].append((commune, weight))
        departments = sorted(by_department)
        # One nurse in every department at least, the others where people live.
        homes = [
            rng.choices(*zip(*by_department[d], strict=True))[0] for d in departments
        ] + rng.choices(self.communes, self.weights, k=self.nurse_count - len(departments))
        users, nurses, self.places = [], [], []
        for index, home in enumerate(homes):
            user_id, nurse_id = first_user + index, index + 1
            validated, status = self._validation(rng)
            users.append(_user(user_id, f"idel{index}@bench.fr", Role.NURSE, None, now))
            nurses.append(_nurse(index, user_id, home, validated, status, rng))
            self.places.append(
                Place(
                    index,
                    nurse_id,
                    home.insee,
                    nurses[-1]["practice_latitude"],
                    nurses[-1]["practice_longitude"],
                    validated,
                )
            )
        clients = {}
        for offset, department in enumerate(departments):
            user_id = first_user + len(homes) + offset
            cpam = cpam_of(department)
            users.append(_user(user_id, f"si-{cpam}@bench.fr", Role.AGENT, cpam, now))
            clients[cpam] = user_id
        connection.execute(User.__table__.insert(), users)
        connection.execute(Nurse.__table__.insert(), nurses)
        self.by_department = defaultdict(list)
        for place, home in zip(self.places, homes, strict=True):
            self.by_department[home.department].append(place)
        return clients

    def _validation(self, rng: random.Random) -> tuple[datetime | None, str]:
        draw = rng.random()
        if draw < 0.04:
            return None, NurseStatus.PENDING
        if draw < 0.55:
            day = date(2020, 4, 1) + timedelta(days=rng.randrange(275))
        else:
            day = YEAR + timedelta(days=rng.choices(range(DAYS), self.days_weights)[0])
        status = rng.choices(
            (NurseStatus.ACTIVE, NurseStatus.SUSPENDED, NurseStatus.WITHDRAWN), (93, 4, 3)
        )[0]
        return datetime(day.year, day.month, day.day, 9, tzinfo=UTC), status

    def _episodes(self) -> list[tuple]:
        """(consent instant, local day, commune, outcome) of every request, in consent order."""
        rng, n = self.rng, self.request_count
        days = rng.choices(range(DAYS), self.days_weights, k=n)
        communes = rng.choices(self.communes, self.weights, k=n)
        episodes = []
        for day_index, commune in zip(days, communes, strict=True):
            day = YEAR + timedelta(days=day_index)
            local = datetime(day.year, day.month, day.day, 8, tzinfo=ZoneInfo(commune.timezone))
            at = (local + timedelta(minutes=rng.randrange(12 * 60))).astimezone(UTC)
            episodes.append((at, day, commune))
        episodes.sort(key=lambda e: (e[0], e[2].insee))
        outcomes = []
        for outcome, share in OUTCOMES.items():
            outcomes += [outcome] * round(n * share / 110)
        outcomes = (outcomes + [S.BILLED] * n)[:n]
        rng.shuffle(outcomes)
        return [(*e, o) for e, o in zip(episodes, outcomes, strict=True)]

    def _nearest(self, commune) -> list[Place]:
        """The eight practices of the department nearest the commune."""
        if commune.insee not in self.nearest:
            places = self.by_department[commune.department]
            km = great_circle_km_many(
                commune.latitude,
                commune.longitude,
                [p.latitude for p in places],
                [p.longitude for p in places],
            )
            order = sorted(range(len(places)), key=lambda i: (km[i], places[i].nurse_id))
            self.nearest[commune.insee] = [places[i] for i in order[:8]]
        return self.nearest[commune.insee]

    def _episode(self, request_id, consent_at, day, commune, outcome, clients, rows) -> None:
        rng = self.rng
        nearest = self._nearest(commune)
        ready = [p for p in nearest if p.validated_at and p.validated_at < consent_at] or nearest
        holder = rng.choice(ready[:4])
        latitude = commune.latitude + rng.uniform(-0.01, 0.01)
        longitude = commune.longitude + rng.uniform(-0.01, 0.01)
        km = great_circle_km(holder.latitude, holder.longitude, latitude, longitude)
        visited = outcome == S.BILLED
        # The patient was out, or refused at the door: a nurse held the visit.
        held = outcome in (S.BILLED, S.UNREACHABLE, S.REFUSED_BY_PATIENT)
        # Hours from consent to the visit (or the planned one), minutes to the acceptance.
        hours = rng.choices(
            (rng.uniform(2, 12), rng.uniform(12, 24), rng.uniform(24, 48), rng.uniform(48, 72)),
            (55, 35, 8, 2),
        )[0]
        visit_at = consent_at + timedelta(hours=hours)
        refusals = rng.choices((0, 1, 2, 3), (60, 25, 10, 5))[0]
        if outcome == S.UNASSIGNED:
            refusals = rng.randint(2, 4)
        accepted_minutes = min(refusals * 35 + rng.lognormvariate(math.log(25), 0.8), hours * 50)
        request = _request(request_id, commune, consent_at, day, clients, rng)
        request.update(latitude=latitude, longitude=longitude, status=outcome)
        if held:
            request.update(
                nurse_id=holder.nurse_id,
                appointment_at=visit_at,
                accepted_minutes=accepted_minutes,
            )
        if visited:
            request["visit_minutes"] = hours * 60
        if outcome in (S.CANCELLED, S.REFUSED_BY_PATIENT):
            request["cancel_reason"] = (
                rng.choice(CANCEL_REASONS) if outcome == S.CANCELLED else "Refus du patient"
            )
        if outcome == S.UNASSIGNED:
            request["unassigned_code"], request["unassigned_reason"] = rng.choice(
                UNASSIGNED_REASONS
            )
        if outcome == S.UNASSIGNED or (hours > 18 and rng.random() < 0.3):
            request["escalated_at"] = request["due_at"] - timedelta(hours=6)
        request["status_changed_at"] = visit_at if held else consent_at + timedelta(hours=3)
        rows["visit_request"].append(request)
        others = [p for p in nearest if p is not holder]
        for round_ in range(min(refusals, len(others))):
            created = consent_at + timedelta(minutes=5 + 35 * round_)
            rows["offer"].append(
                self._offer(request_id, others[round_], latitude, longitude, created, visit_at)
            )
        if held:
            answered = consent_at + timedelta(minutes=accepted_minutes)
            offer = self._offer(request_id, holder, latitude, longitude, answered, visit_at)
            offer.update(
                status=OfferStatus.ACCEPTED,
                created_at=answered - timedelta(minutes=rng.uniform(1, 25)),
                answered_at=answered,
                answer_reason="",
                distance_km=round(km * 1.3, 1),
            )
            rows["offer"].append(offer)
        if visited:
            self._visit(request, holder, visit_at, km, rows)

    def _offer(self, request_id, place, latitude, longitude, created, visit_at) -> dict:
        self.offer_id += 1
        declined = self.rng.random() < 0.6
        km = great_circle_km(place.latitude, place.longitude, latitude, longitude)
        reason = self.rng.choice(list(DeclineReason)) if declined else ""
        return {
            "id": self.offer_id,
            "request_id": request_id,
            "nurse_id": place.nurse_id,
            "status": OfferStatus.DECLINED if declined else OfferStatus.EXPIRED,
            "planned_start": visit_at,
            "planned_end": visit_at + timedelta(minutes=40),
            "distance_km": round(km * 1.3, 1),
            "usual_nurse": False,
            "reason": "Infirmière la plus proche disponible",
            "created_at": created,
            "expires_at": created + timedelta(minutes=30),
            "answered_at": created + timedelta(minutes=self.rng.uniform(2, 29))
            if declined
            else None,
            "answer_reason": reason,
            "answer_note": "",
        }

    def _visit(self, request: dict, place: Place, visited_at: datetime, km: float, rows) -> None:
        rng = self.rng
        self.report_id += 1
        size = request["household_size"]
        tested = size - 1 if rng.random() < 0.7 else rng.randint(0, size - 1)
        visit_day = visited_at.astimezone(ZoneInfo(request["timezone"])).date()
        rows["visit_report"].append(
            {
                "id": self.report_id,
                "request_id": request["id"],
                "nurse_id": place.nurse_id,
                "visited_at": visited_at,
                "visit_day": visit_day,
                "visit_week": monday_of(visit_day),
                "tested_count": tested,
                "distance_km": round(km * 1.3, 1),
                "clinical": {"temperature_c": round(rng.uniform(36.5, 39.0), 1), "spo2": 97},
                "isolation_feasible": rng.random() < 0.92,
                "social_needs": "",
                "ctai_referral": rng.random() < 0.07,
                "gp_informed": rng.random() < 0.5,
                "household_tests": [{"kind": "tag", "count": tested, "positives": 0}]
                if tested
                else [],
                "vaccination_offered": rng.random() < 0.3,
                "ik_km": None,
                "created_at": visited_at + timedelta(minutes=45),
            }
        )
        self.bill_id += 1
        self.counters[place.nurse_id] += 1
        estimate = Decimal(str(km)).quantize(TENTH, rounding=ROUND_HALF_UP)
        zone = Zone.DROM if request["overseas"] else Zone.METROPOLE
        same_commune = place.insee == request["insee"]
        facts = VisitFacts(
            visit_day,
            request["department"],
            zone,
            estimate,
            same_commune,
            False,
            {"TAG": tested} if tested else {},
        )
        rows["billing_record"].append(
            {
                "id": self.bill_id,
                "nurse_id": place.nurse_id,
                "number": self.counters[place.nurse_id],
                "kind": RecordKind.INVOICE,
                "request_id": request["id"],
                "report_id": self.report_id,
                "cancels_id": None,
                "replaces_id": None,
                "reason": "",
                "cpam_code": request["cpam_code"],
                "nurse_rpps": f"{place.index:011d}",
                "nurse_am_number": "291991198",
                "nurse_name": f"Nom{place.index} Prénom",
                "patient_nir": request["nir"],
                "patient_last_name": request["last_name"],
                "patient_first_name": request["first_name"],
                "patient_birth_date": request["birth_date"],
                "commune": request["address_commune"],
                "insee": request["insee"],
                "department": request["department"],
                "zone": zone,
                "cared_at": visited_at,
                "care_date": visit_day,
                "prescriber_name": PRESCRIBER_NAME,
                "prescriber_number": PRESCRIBER_NUMBER,
                "exoneration": EXONERATION,
                "third_party": True,
                "total": total_of(price_visit(facts, self.catalogue)),
                "patient_share": Decimal("0.00"),
                "mountain": False,
                "same_commune": same_commune,
                "ik_estimate_km": estimate,
                "ik_declared_km": None,
                "issued_at": visited_at + timedelta(minutes=45),
                "issued_by": f"Nom{place.index} Prénom",
            }
        )


def _user(user_id, email, role, cpam_code, now) -> dict:
    return {
        "id": user_id,
        "email": email,
        "name": email.split("@")[0],
        "role": role,
        "password_hash": "-",
        "active": True,
        "cpam_code": cpam_code,
        "session_nonce": "x",
        "created_at": now,
        "last_login_at": None,
    }


def _nurse(index, user_id, home, validated, status, rng) -> dict:
    """The eligibility benchmark's nurse row, with an id, a status and a validation date."""
    created = (validated or datetime(2021, 6, 1, tzinfo=UTC)) - timedelta(days=rng.randint(1, 6))
    row = nurse_row(index, user_id, home, created, rng)
    row.update(id=index + 1, status=status, updated_at=validated or created, validated_at=validated)
    return row


def _request(request_id, commune, consent_at, day, clients, rng) -> dict:
    cpam = cpam_of(commune.department)
    return {
        "id": request_id,
        "cpam_code": cpam,
        "agent_id": None,
        "client_id": clients[cpam],
        "idempotency_key": None,
        "request_hash": f"{request_id:064x}",
        "external_ref": None,
        "nir": f"{1 + request_id % 2}{request_id:012d}00",
        "first_name": "Prénom",
        "last_name": f"Patient{request_id}",
        "birth_date": date(1935 + rng.randrange(70), 1 + rng.randrange(12), 1 + rng.randrange(28)),
        "phone": "+33600000000",
        "address_street": "",
        "address_postal_code": commune.postal_codes[0] if commune.postal_codes else "",
        "address_commune": commune.name,
        "insee": commune.insee,
        "department": commune.department,
        "overseas": commune.overseas,
        "timezone": commune.timezone,
        "languages": ["fr"],
        "household_size": rng.choices(*HOUSEHOLDS)[0],
        "household_tests": [],
        "skills_needed": ["tag"],
        "preferred_windows": [],
        "preferred_times": [],
        "usual_nurse_rpps": None,
        "priority": "high" if rng.random() < 0.15 else "normal",
        "vulnerable": rng.random() < 0.1,
        "language_barrier": False,
        "notes": "",
        "consent_at": consent_at,
        "consent_day": day,
        "consent_week": monday_of(day),
        "accepted_minutes": None,
        "visit_minutes": None,
        "due_at": consent_at + timedelta(hours=24),
        "follow_up_at": consent_at + timedelta(days=4),
        "cancel_reason": "",
        "created_at": consent_at,
        "nurse_id": None,
        "appointment_at": None,
        "unassigned_reason": "",
        "unassigned_code": None,
        "escalated_at": None,
        "follow_up_flagged_at": None,
        "pseudonymised_at": None,
    }


@dataclass
class Row:
    case: str
    backend: str
    rows: int
    median: float
    max: float
    verdict: str


@dataclass
class Plan:
    backend: str
    case: str
    query: str
    milliseconds: float
    indexes: list[str]
    scans: list[str]
    text: str


YEAR_END = YEAR + timedelta(days=DAYS - 1)
CASES = {
    "platform, year, weekly": Filters(YEAR, YEAR_END),
    "department 59, year, weekly": Filters(YEAR, YEAR_END, department="59"),
    "CPAM 751, year, weekly": Filters(YEAR, YEAR_END, cpam_code="751"),
    "platform, 90 days, daily": Filters(
        date(2021, 3, 1), date(2021, 5, 29), granularity=Granularity.DAY
    ),
}
PAGES = {
    "page, platform, year": ("platform, year, weekly", f"?from={YEAR}&to={YEAR_END}"),
    "page, department 59, year": (
        "department 59, year, weekly",
        f"?from={YEAR}&to={YEAR_END}&department=59",
    ),
}
PLANNED = ("platform, year, weekly", "department 59, year, weekly", "CPAM 751, year, weekly")


def timed(call, runs: int) -> tuple[float, float]:
    """Median and max seconds of `runs` calls, after one warm-up call."""
    call()
    seconds = []
    for _ in range(runs):
        began = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - began)
    return statistics.median(seconds), max(seconds)


def verdict(median: float) -> str:
    return "met" if median < TARGET_SECONDS else "MISSED"


def measure(engine: sa.Engine, backend: str, runs: int) -> tuple[list[Row], dict[str, int]]:
    rows, scoped = [], {}
    for case, filters in CASES.items():
        with Session(engine) as session:
            scoped[case] = compute(session, filters, now=NOW).total.requests

        def call(filters=filters):
            # As the pages read them: on two connections at once.
            with Session(engine) as session:
                compute(session, filters, now=NOW, second_session=lambda: Session(engine))

        progress(f"{backend}: {case}, {runs} runs")
        median, longest = timed(call, runs)
        progress(f"{backend}: {case}: median {median:.3f} s")
        rows.append(Row(case, backend, scoped[case], median, longest, verdict(median)))
    return rows, scoped


def measure_pages(url: str, backend: str, runs: int, scoped: dict[str, int]) -> list[Row]:
    """The coordinator's page through Flask's test client, signed in as a coordinator."""
    app = create_app(Settings(env="test", database_url=url, secret_key=secrets.token_hex(16)))
    with Session(app.extensions["engine"]) as session:
        accounts.create_user(
            session,
            email="coordination@bench.fr",
            role=Role.COORDINATOR,
            password=PASSWORD,
            name="Coordination",
            actor="benchmark",
            cpam_code=None,
        )
        session.commit()
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token"')[1].split('value="')[1].split('"')[0]
    answer = client.post(
        "/login",
        data={"email": "coordination@bench.fr", "password": PASSWORD, "csrf_token": token},
    )
    if answer.status_code != 302:
        raise SystemExit(f"{backend}: the coordinator could not sign in ({answer.status_code})")
    routes = {rule.rule for rule in app.url_map.iter_rules()}
    pages = {name: (scoped[case], PAGE + query) for name, (case, query) in PAGES.items()}
    if PAGE not in routes:
        progress(f"{backend}: no {PAGE} in the URL map yet; timing the coordinator's home")
        pages = {f"coordinator home ({PAGE} absent)": (0, "/coordinator/")}
    rows = []
    for name, (count, path) in pages.items():
        failure = _failure(client, path)
        if failure:
            progress(f"{backend}: GET {path}: {failure}")
            rows.append(Row(name, backend, count, math.nan, math.nan, failure))
            continue
        progress(f"{backend}: {name}, {runs} runs")
        median, longest = timed(lambda path=path: client.get(path), runs)
        progress(f"{backend}: {name}: median {median:.3f} s")
        rows.append(Row(name, backend, count, median, longest, verdict(median)))
    app.extensions["engine"].dispose()
    return rows


def _failure(client, path: str) -> str:
    """Why the page cannot be timed (it fails while it is being written), or nothing."""
    try:
        status = client.get(path).status_code
    except Exception as error:  # the page's own error, reported in the table
        return f"FAILED ({type(error).__name__})"
    return "" if status == 200 else f"FAILED (HTTP {status})"


def _caller() -> str:
    """The steering function that sent the statement (steering/indicators.py or details.py)."""
    names = [
        f.name
        for f in traceback.extract_stack()
        if f.filename.endswith(("steering/indicators.py", "steering/details.py"))
        and not f.name.startswith("<")
        and f.name not in ("compute", "_run", "_run_apart")
    ]
    return names[-1] if names else "?"


def plans(engine: sa.Engine, backend: str) -> list[Plan]:
    """Every query `compute()` sends for the planned cases, with its plan and its time alone."""
    found = []
    for case in PLANNED:
        sent = []

        def listen(_connection, _cursor, statement, parameters, _context, _many, sent=sent):
            if statement.lstrip().upper().startswith(("SELECT", "WITH")):
                sent.append((_caller(), statement, parameters))

        sa.event.listen(engine, "before_cursor_execute", listen)
        try:
            with Session(engine) as session:
                compute(session, CASES[case], now=NOW)
        finally:
            sa.event.remove(engine, "before_cursor_execute", listen)
        names = defaultdict(int)
        for caller, statement, parameters in sent:
            name = caller + (" (total)" if "'all'" in statement else "")
            names[name] += 1
            if names[name] > 1:
                name += f" #{names[name]}"
            found.append(_plan(engine, backend, case, name, statement, parameters))
    return found


def _plan(engine, backend, case, name, statement, parameters) -> Plan:
    with engine.connect() as connection:
        explain = "EXPLAIN QUERY PLAN " if backend == "sqlite" else "EXPLAIN "
        lines = connection.exec_driver_sql(explain + statement, parameters).all()
        text = [row[-1] if backend == "sqlite" else row[0] for row in lines]
        seconds = []
        for _ in range(3):
            began = time.perf_counter()
            connection.exec_driver_sql(statement, parameters).all()
            seconds.append(time.perf_counter() - began)
    indexes, scans = [], []
    for line in text:
        words = line.replace("(", " ").split()
        for marker in ("INDEX", "using", "Index Scan on"):
            if marker in words:
                indexes.append(words[words.index(marker) + 1])
        # SQLite's SCAN of a subquery's rows (anon_1, subquery-3) reads no table.
        table_scan = line.startswith("SCAN") and "INDEX" not in line and "(" not in line
        if backend == "sqlite" and table_scan and not words[1].startswith("anon_"):
            scans.append(words[1])
        if "Seq Scan on" in line:
            scans.append(line.split("Seq Scan on")[1].split()[0])
    if backend != "sqlite":
        indexes += [line.split(" on ")[1].split()[0] for line in text if "Bitmap Index" in line]
    return Plan(
        backend,
        case,
        name,
        statistics.median(seconds) * 1000,
        sorted(set(indexes)),
        sorted(set(scans)),
        "\n".join(text),
    )


def prepare(url: str) -> sa.Engine:
    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    upgrade(engine)
    return engine


def generate(engine: sa.Engine, requests: int, nurses: int, seed: int) -> tuple[dict, float]:
    began = time.perf_counter()
    with engine.begin() as connection:
        counts = Population(requests, nurses, random.Random(seed)).populate(connection)
        if engine.dialect.name == "postgresql":
            # Rows came with their ids: the sequences go on after them.
            for model in (User, Nurse, VisitRequest, Offer, VisitReport, BillingRecord):
                table = model.__table__
                sequence = sa.func.pg_get_serial_sequence(table.name, "id")
                last = sa.select(sa.func.max(table.c.id)).scalar_subquery()
                connection.execute(sa.select(sa.func.setval(sequence, last)))
    seconds = time.perf_counter() - began
    if engine.dialect.name == "postgresql":
        # What autovacuum does after such a load; SQLite is left as the platform leaves it.
        with engine.begin() as connection:
            connection.execute(sa.text("ANALYZE"))
    return counts, seconds


def progress(message: str) -> None:
    print(f"… {message}", file=sys.stderr, flush=True)


def seconds(value: float) -> str:
    return "—" if math.isnan(value) else f"{value:.3f}"


def thousands(number: int) -> str:
    return f"{number:,}".replace(",", "\u202f")


def table(rows: list[Row]) -> str:
    lines = [
        "| case | backend | requests in scope | median s | max s | target | verdict |",
        "| --- | --- | ---: | ---: | ---: | --- | --- |",
    ]
    for r in rows:
        lines.append(
            f"| {r.case} | {r.backend} | {thousands(r.rows)} | {seconds(r.median)} "
            f"| {seconds(r.max)} "
            f"| < {TARGET_SECONDS:g} s | {r.verdict} |"
        )
    return "\n".join(lines)


def plan_table(found: list[Plan], full: bool) -> str:
    lines = [
        "| case | backend | query | ms alone | indexes used | full scans |",
        "| --- | --- | --- | ---: | --- | --- |",
    ]
    for p in found:
        lines.append(
            f"| {p.case} | {p.backend} | {p.query} | {p.milliseconds:.1f} "
            f"| {', '.join(p.indexes) or '—'} | {', '.join(p.scans) or '—'} |"
        )
        if full:
            lines.append("\n".join(f"    {line}" for line in p.text.splitlines()))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.indicators")
    parser.add_argument("--requests", type=int, default=110_000)
    parser.add_argument("--nurses", type=int, default=3_500)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=2021)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--wipe", action="store_true", help="allow wiping --database-url")
    parser.add_argument("--full-plans", action="store_true", help="print every plan whole")
    args = parser.parse_args(argv)
    if args.database_url and not args.wipe:
        parser.error("--database-url wipes that database: add --wipe to confirm")
    rows, found, loads = [], [], []
    with tempfile.TemporaryDirectory() as folder:
        if args.database_url:
            targets = [(args.database_url, args.database_url.split(":")[0].split("+")[0])]
        else:
            targets = [(f"sqlite:///{Path(folder) / 'bench.sqlite3'}", "sqlite")]
            if os.environ.get("BENCH_DATABASE_URL"):
                targets.append((os.environ["BENCH_DATABASE_URL"], "postgresql"))
        for url, backend in targets:
            engine = prepare(url)
            progress(f"{backend}: generating a year")
            counts, seconds = generate(engine, args.requests, args.nurses, args.seed)
            loads.append((backend, counts, seconds))
            case_rows, scoped = measure(engine, backend, args.runs)
            rows += case_rows
            rows += measure_pages(url, backend, args.runs, scoped)
            found += plans(engine, backend)
            engine.dispose()
    print("\nSteering indicators on a year of data")
    for backend, counts, seconds in loads:
        shape = ", ".join(f"{thousands(n)} {name}" for name, n in sorted(counts.items()))
        print(f"{backend}: generated in {seconds:.1f} s: {shape}")
    print()
    print(table(rows))
    print("\nThe queries of compute(), each run alone (median of 3)")
    print(plan_table(found, args.full_plans))
    return 0 if all(row.verdict == "met" for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
