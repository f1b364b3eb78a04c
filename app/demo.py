"""Demonstration data: a realistic department (Ariège) with nurses on real communes, their
sectors, skills and weekly hours, and one account per role. Deterministic, loaded only once,
through the same services as real enrolments."""

import random
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session

from app import demo_billing
from registry import accounts
from registry.accounts import Role
from registry.geo import Commune
from registry.geo.commune_geocoder import CommuneGeocoder
from registry.geo.communes import commune_directory
from registry.geo.distance import great_circle_km
from registry.identifiers import luhn_check_digit, nir_key
from registry.nurses import services
from registry.nurses.models import NurseStatus
from registry.nurses.schema import parse_nurse_input
from registry.requests.services import BookingRules, book_request, cancel_request
from registry.timeutil import utcnow

DEMO_PASSWORD = "Demo-VDSI-2021!"  # noqa: S105 (printed for the demonstration on purpose)
DEPARTMENT = "09"
CPAM_CODE = "091"  # the CPAM of Ariège
NURSE_EMAIL = "infirmiere@demo.vdsi.fr"
DEMO_ACCOUNTS = [
    (Role.ADMIN, "admin@demo.vdsi.fr", "Alice Administratrice"),
    (Role.AGENT, "agent@demo.vdsi.fr", "Bruno Enquêteur (CPAM 091)"),
    (Role.CPAM, "cpam@demo.vdsi.fr", "Chantal Facturation (CPAM 091)"),
    (Role.COORDINATOR, "coordination@demo.vdsi.fr", "Denis Coordinateur (URPS Occitanie)"),
    (Role.NURSE, NURSE_EMAIL, "Élodie Martin"),
]
ACTIVE_NURSES = 60
DEMO_REQUESTS = 12
PENDING_NURSES = 4
ACTOR = "démonstration"
ENROLMENT_START = date(2021, 1, 11)
PARIS = ZoneInfo("Europe/Paris")

FIRST_NAMES = [
    "Camille",
    "Sophie",
    "Julie",
    "Marie",
    "Laura",
    "Émilie",
    "Nathalie",
    "Céline",
    "Aurélie",
    "Sandrine",
    "Isabelle",
    "Claire",
    "Pauline",
    "Manon",
    "Léa",
    "Sarah",
    "Thomas",
    "Nicolas",
    "Julien",
    "Maxime",
    "Pierre",
    "Hélène",
    "Mathilde",
    "Audrey",
    "Karine",
]
LAST_NAMES = [
    "Martin",
    "Bernard",
    "Dubois",
    "Durand",
    "Lefebvre",
    "Moreau",
    "Laurent",
    "Simon",
    "Michel",
    "Garcia",
    "Roux",
    "Fournier",
    "Girard",
    "Bonnet",
    "Dupont",
    "Lambert",
    "Fontaine",
    "Rousseau",
    "Vincent",
    "Blanc",
    "Faure",
    "Mercier",
    "Guerin",
    "Boyer",
    "Garnier",
    "Chevalier",
    "Rey",
    "Pujol",
    "Baqué",
    "Soulé",
    "Cazals",
    "Estrade",
    "Galy",
    "Rouch",
]
STREETS = [
    "rue de la République",
    "avenue de Foix",
    "place du Marché",
    "rue des Pyrénées",
    "chemin de la Fontaine",
    "rue Victor Hugo",
    "allée des Platanes",
    "route de Toulouse",
]
# Weekly patterns: (weekdays, [(start, end), …]), in the practice's local time. Liberal nurses
# mostly work a morning and an evening round, some every day of the week.
WEEKLY_PATTERNS = [
    ((0, 1, 2, 3, 4, 5, 6), [("07:00", "12:00"), ("17:00", "20:30")]),
    ((0, 1, 2, 3, 4, 5), [("07:30", "12:30"), ("16:30", "19:30")]),
    ((0, 1, 2, 3, 4), [("13:30", "18:30")]),
    ((0, 2, 4, 6), [("08:00", "19:00")]),
    ((1, 3, 5, 6), [("09:00", "12:00"), ("14:00", "20:00")]),
]
SKILL_ODDS = {"tag": 0.7, "pcr": 0.4, "vaccination": 0.3}
EXTRA_LANGUAGES = ["en", "es", "ar", "oc", "pt"]


def load_demo(session: Session) -> bool:
    """Loads the data set into the session; False when it is already there."""
    if accounts.find_by_email(session, DEMO_ACCOUNTS[0][1]):
        return False
    users = {}
    for role, email, name in DEMO_ACCOUNTS:
        if role != Role.NURSE:
            users[role] = accounts.create_user(
                session,
                email=email,
                role=role,
                password=DEMO_PASSWORD,
                name=name,
                actor=ACTOR,
                cpam_code=CPAM_CODE if role in (Role.AGENT, Role.CPAM) else None,
            )
    directory = commune_directory()
    communes = sorted(directory.in_department(DEPARTMENT), key=lambda c: -c.population)[:60]
    geocoder = CommuneGeocoder(directory)
    rng = random.Random(2021)
    used_emails = {email for _role, email, _name in DEMO_ACCOUNTS}
    for index in range(ACTIVE_NURSES + PENDING_NURSES):
        document = _nurse_document(rng, index, communes, used_emails)
        values = parse_nurse_input(
            document, partial=False, commune_exists=lambda code: directory.get(code) is not None
        )
        status = NurseStatus.ACTIVE if index < ACTIVE_NURSES else NurseStatus.PENDING
        nurse = services.enroll_nurse(
            session, values, geocoder=geocoder, actor=ACTOR, status=status
        )
        if status == NurseStatus.ACTIVE:
            # The demo's registry was formed in January 2021, before its history of visits.
            day = ENROLMENT_START + timedelta(days=index % 19)
            nurse.created_at = nurse.validated_at = datetime.combine(
                day, time(9), PARIS
            ).astimezone(UTC)
    session.flush()
    demo_billing.load_history(
        session, users[Role.AGENT], communes, geocoder, (FIRST_NAMES, LAST_NAMES), STREETS
    )
    _book_requests(session, users[Role.AGENT], communes, geocoder, rng)
    return True


def _book_requests(session, agent, communes, geocoder, rng: random.Random) -> None:
    """Open requests as an agent would have booked them over the last day, some close to their
    due time, and one cancelled, so the agent's list has something to show."""
    now = utcnow()
    for index in range(DEMO_REQUESTS):
        commune = communes[rng.randrange(len(communes))]
        born = date(1940 + rng.randrange(60), rng.randint(1, 12), 15)
        # The NIR agrees with the birth date: sex, year, month, then born in Ariège (09).
        body = f"{rng.choice('12')}{born.year % 100:02d}{born.month:02d}09"
        body += f"{rng.randint(1, 990):03d}{index + 1:03d}"
        tests = rng.choice([[], [{"kind": "tag", "count": 1}], [{"kind": "pcr", "count": 2}]])
        document = {
            "nir": body + nir_key(body),
            "first_name": rng.choice(FIRST_NAMES),
            "last_name": rng.choice(LAST_NAMES),
            "birth_date": born.isoformat(),
            "phone": _mobile(rng),
            "address": {
                "street": f"{rng.randint(1, 40)} {rng.choice(STREETS)}",
                "postal_code": commune.postal_codes[0],
                "commune": commune.name,
            },
            "household_size": 3,
            "household_tests": tests,
            "consent_at": (now - timedelta(minutes=rng.randint(10, 22 * 60))).isoformat(),
            "preferred_times": rng.sample(["morning", "afternoon", "evening"], rng.randint(0, 2)),
            "external_ref": f"DEMO-{index + 1:04d}",
        }
        visit, _ = book_request(
            session, document, client=agent, geocoder=geocoder, rules=BookingRules()
        )
    cancel_request(session, visit, "Patient hospitalisé (démonstration)", actor=agent)


def _nurse_document(rng: random.Random, index: int, communes: list[Commune], used: set[str]):
    if index == 0:
        home = next(c for c in communes if c.name == "Foix")
        first_name, last_name, email = "Élodie", "Martin", NURSE_EMAIL
    else:
        home = rng.choices(communes, [c.population**0.7 for c in communes])[0]
        first_name, last_name = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        email = _unique_email(first_name, last_name, used)
    return {
        "rpps": _luhn_number(rng, "1000", 11),
        "am_number": _luhn_number(rng, "091", 9),
        "first_name": first_name,
        "last_name": last_name,
        "phone": _mobile(rng),
        "email": email,
        "password": DEMO_PASSWORD,
        "practice": {
            "street": f"{rng.randint(1, 40)} {rng.choice(STREETS)}",
            "postal_code": home.postal_codes[0],
            "commune": home.name,
        },
        "sector": {
            "radius_km": rng.choice([8, 10, 12, 15, 20, 25]),
            "communes": _farther_communes(rng, home, communes),
        },
        # The Pyrenean valleys south of Foix are mountain areas for the IK tariff.
        "mountain": home.latitude < 42.93,
        "skills": [skill for skill, odds in SKILL_ODDS.items() if rng.random() < odds],
        "languages": ["fr", *rng.sample(EXTRA_LANGUAGES, rng.choice([0, 0, 0, 1, 2]))],
        "max_visits_per_day": rng.choice([4, 5, 6, 6, 8]),
        "availability": _availability(rng),
    }


def _farther_communes(rng: random.Random, home: Commune, communes: list[Commune]) -> list[str]:
    """Some nurses also serve a few communes beyond their radius (a valley, a usual round)."""
    if rng.random() > 0.3:
        return []
    farther = [
        c.insee
        for c in communes
        if 15 < great_circle_km(home.latitude, home.longitude, c.latitude, c.longitude) < 35
    ]
    return rng.sample(farther, min(len(farther), rng.randint(1, 3)))


def _mobile(rng: random.Random) -> str:
    """A metropolitan mobile number: 06 10 to 06 89 (06 90 to 06 97 are overseas numbers)."""
    return f"06{rng.randint(10, 89)}{rng.randrange(10**6):06d}"


def _availability(rng: random.Random) -> list[dict]:
    days, hours = rng.choice(WEEKLY_PATTERNS)
    windows = [{"weekday": day, "start": start, "end": end} for day in days for start, end in hours]
    soon = date.today() + timedelta(days=rng.randint(1, 7))
    if rng.random() < 0.2:
        windows.append({"date": soon.isoformat(), "unavailable": True})
    elif rng.random() < 0.1:
        windows.append({"date": soon.isoformat(), "start": "18:00", "end": "20:00"})
    return windows


def _luhn_number(rng: random.Random, prefix: str, length: int) -> str:
    payload = prefix + "".join(rng.choice("0123456789") for _ in range(length - len(prefix) - 1))
    return payload + luhn_check_digit(payload)


def _unique_email(first_name: str, last_name: str, used: set[str]) -> str:
    base = f"{first_name}.{last_name}".lower()
    base = base.translate(str.maketrans("éèêëàâäîïôöûüç", "eeeeaaaiioouuc"))
    email, suffix = f"{base}@demo.vdsi.fr", 2
    while email in used:
        email, suffix = f"{base}{suffix}@demo.vdsi.fr", suffix + 1
    used.add(email)
    return email
