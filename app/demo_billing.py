"""The demonstration's billing history: six weeks of VDSI visits in Ariège in February and March
2021, taken through the real offer, acceptance and report services (so each has its bill), and
the sample CPAM claims extract that goes with them (one case of each reconciliation class)."""

import random
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from billing.models import BillingRecord
from billing.records import current_invoices, lines_of
from billing.types import french, to_cents
from registry.accounts import User
from registry.geo.distance import great_circle_km
from registry.identifiers import nir_key
from registry.nurses.models import Nurse, NurseSkill, NurseStatus
from registry.requests.services import BookingRules, book_request
from registry.visits.offers import OfferRules, accept_offer, create_offer
from registry.visits.reports import file_report

PARIS = ZoneInfo("Europe/Paris")
FIRST_DAY = date(2021, 2, 1)
DAYS = 42  # to Sunday 14 March 2021
SAMPLE_WEEK = (date(2021, 3, 1), date(2021, 3, 7))
HEADER = "num_am;nir;date_soins;code_acte;coefficient;montant;montant_rembourse"


def load_history(session: Session, agent: User, communes, geocoder, names, streets) -> int:
    """Books, offers, accepts and reports the history's visits; returns how many."""
    rng = random.Random(1921)
    nurses = list(
        session.exec(
            select(Nurse).where(Nurse.status == NurseStatus.ACTIVE).order_by(Nurse.id)
        ).all()
    )
    skills = {(row.nurse_id, row.skill) for row in session.exec(select(NurseSkill)).all()}
    count = 0
    for offset in range(DAYS):
        day = FIRST_DAY + timedelta(days=offset)
        for _ in range(rng.randint(2, 4)):
            # The demonstration nurse (Foix) makes about one visit in four.
            nurse = nurses[0] if rng.random() < 0.25 else rng.choice(nurses[1:])
            near = [
                c
                for c in communes
                if great_circle_km(
                    nurse.practice_latitude, nurse.practice_longitude, c.latitude, c.longitude
                )
                < 15
            ]
            same = next(c for c in communes if c.insee == nurse.practice_insee)
            commune = same if rng.random() < 0.6 or not near else rng.choice(near)
            count += 1
            _visit(
                session, agent, nurse, commune, day, rng, geocoder, names, streets, skills, count
            )
    return count


def _visit(session, agent, nurse, commune, day, rng, geocoder, names, streets, skills, serial):
    first_names, last_names = names
    consent = datetime.combine(day, time(rng.randint(8, 13), rng.choice([0, 15, 30, 45])), PARIS)
    born = date(1940 + rng.randrange(60), rng.randint(1, 12), 15)
    body = f"{rng.choice('12')}{born.year % 100:02d}{born.month:02d}09"
    body += f"{rng.randint(1, 990):03d}{500 + serial:03d}"
    tests = []
    if (nurse.id, "tag") in skills and rng.random() < 0.35:
        tests.append({"kind": "tag", "count": rng.randint(1, 3), "positives": rng.randint(0, 1)})
    document = {
        "nir": body + nir_key(body),
        "first_name": rng.choice(first_names),
        "last_name": rng.choice(last_names),
        "birth_date": born.isoformat(),
        "phone": f"06{rng.randint(10, 89)}{rng.randrange(10**6):06d}",
        "address": {
            "street": f"{rng.randint(1, 40)} {rng.choice(streets)}",
            "postal_code": commune.postal_codes[0],
            "commune": commune.name,
        },
        "household_size": 3,
        "household_tests": [{"kind": t["kind"], "count": t["count"]} for t in tests],
        "consent_at": consent.isoformat(),
        "external_ref": f"HIST-{serial:04d}",
    }
    request, _ = book_request(
        session, document, client=agent, geocoder=geocoder, rules=BookingRules()
    )
    offered = consent + timedelta(minutes=rng.randint(5, 40))
    visit_at = offered + timedelta(hours=rng.randint(2, 5))
    distance = great_circle_km(
        nurse.practice_latitude, nurse.practice_longitude, request.latitude, request.longitude
    )
    offer = create_offer(
        session,
        request,
        nurse,
        start=visit_at,
        end=visit_at + timedelta(minutes=40),
        distance_km=distance,
        reason="historique de démonstration",
        rules=OfferRules(),
        now=offered,
    )
    user = session.get(User, nurse.user_id)
    accept_offer(
        session, offer.id, nurse, actor=user, now=offered + timedelta(minutes=rng.randint(2, 20))
    )
    declared = None
    if commune.insee != nurse.practice_insee and rng.random() < 0.3:
        declared = f"{distance * rng.uniform(1.05, 1.2):.1f}"
    file_report(
        session,
        request.id,
        nurse,
        {
            "visited_at": visit_at.isoformat(),
            "clinical": {"temperature_c": round(rng.uniform(36.5, 39.0), 1), "spo2": 96},
            "isolation_feasible": rng.random() < 0.9,
            "household_tests": tests,
            "ik_km": declared,
        },
        actor=user,
    )


def sample_claims(session: Session) -> str:
    """The claims extract of the week of 1–7 March 2021 as the CPAM would export it: what the
    nurses billed for the demonstration's visits, with one case of each anomaly."""
    week = _records(session, *SAMPLE_WEEK)
    following = _records(session, SAMPLE_WEEK[1] + timedelta(days=1), date(2021, 3, 14))
    mismatch, not_billed, duplicate, far = week[1], week[2], week[3], week[4]
    before = following[0]
    claims: list[tuple[date, list[str]]] = []
    for record in week:
        if record is not_billed:
            continue
        lines = _lines(session, record)
        if record is mismatch:
            lines = [_changed_amount(line, "IFD", "2,75") for line in lines]
        if record is far:
            lines = [line for line in lines if ";IK;" not in line]
            lines.append(_ik_line(record, (record.ik_estimate_km or Decimal(5)) * 4 + 12))
        claims.append((record.care_date, lines))
    again = duplicate.care_date + timedelta(days=1)
    claims.append((again, _lines(session, duplicate, day=again)))
    early = SAMPLE_WEEK[0] + timedelta(days=4)
    claims.append((early, _lines(session, before, day=early)))
    stranger = "2" + "6503" + "09" + "123" + "777"
    stranger += nir_key(stranger)
    when = SAMPLE_WEEK[0] + timedelta(days=2)
    am = week[0].nurse_am_number
    claims.append(
        (
            when,
            [
                f"{am};{stranger};{when:%d/%m/%Y};AMI;5,6;17,64;17,64",
                f"{am};{stranger};{when:%d/%m/%Y};MCI;;5,00;5,00",
                f"{am};{stranger};{when:%d/%m/%Y};IFD;;2,50;2,50",
            ],
        )
    )
    claims.sort(key=lambda claim: claim[0])
    return "\n".join([HEADER, *(line for _day, lines in claims for line in lines)]) + "\n"


def _records(session: Session, start: date, end: date) -> list[BillingRecord]:
    return list(
        session.exec(
            current_invoices()
            .where(BillingRecord.care_date >= start, BillingRecord.care_date <= end)
            .order_by(BillingRecord.care_date, BillingRecord.id)
        ).all()
    )


def _lines(session: Session, record: BillingRecord, day: date | None = None) -> list[str]:
    """One claim line per act billed: a test done for three people is three lines."""
    prefix = f"{record.nurse_am_number};{record.patient_nir};{(day or record.care_date):%d/%m/%Y}"
    out = []
    for line in lines_of(session, record.id):
        unit = line.amount / line.quantity
        coefficient = french(line.coefficient.normalize()) if line.coefficient is not None else ""
        out += [f"{prefix};{line.code};{coefficient};{french(unit)};{french(unit)}"] * line.quantity
    return out


def _changed_amount(line: str, code: str, amount: str) -> str:
    cells = line.split(";")
    if cells[3] == code:
        cells[5] = cells[6] = amount
    return ";".join(cells)


def _ik_line(record: BillingRecord, km: Decimal) -> str:
    """IK claimed on far more km than the platform's estimate allows."""
    km = km.quantize(Decimal(1))
    amount = french(to_cents(km * Decimal("0.35")))
    prefix = f"{record.nurse_am_number};{record.patient_nir};{record.care_date:%d/%m/%Y}"
    return f"{prefix};IK;{km};{amount};{amount}"
