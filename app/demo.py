"""Demonstration data: a realistic department (Ariège) with nurses on real communes and one
account per role. Deterministic, and loaded only once."""

import csv
import random
from pathlib import Path

from sqlmodel import Session

from registry import accounts
from registry.accounts import Role
from registry.identifiers import luhn_check_digit
from registry.nurses import Nurse, NurseStatus
from registry.timeutil import utcnow

DEMO_PASSWORD = "Demo-VDSI-2021!"  # noqa: S105 (printed for the demonstration on purpose)
DEMO_ACCOUNTS = [
    (Role.ADMIN, "admin@demo.vdsi.fr", "Alice Administratrice"),
    (Role.AGENT, "agent@demo.vdsi.fr", "Bruno Enquêteur (CPAM 091)"),
    (Role.CPAM, "cpam@demo.vdsi.fr", "Chantal Facturation (CPAM 091)"),
    (Role.COORDINATOR, "coordination@demo.vdsi.fr", "Denis Coordinateur (URPS Occitanie)"),
    (Role.NURSE, "infirmiere@demo.vdsi.fr", "Élodie Martin"),
]
ACTIVE_NURSES = 60
PENDING_NURSES = 4
COMMUNES_FILE = Path(__file__).parent / "demo_data" / "communes_ariege.csv"

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
    "Florence",
    "Karine",
    "Valérie",
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
    "Andre",
    "Mercier",
    "Guerin",
    "Boyer",
    "Garnier",
    "Chevalier",
    "Sanchez",
    "Rey",
    "Pujol",
    "Baqué",
    "Soulé",
    "Cazals",
    "Estrade",
    "Galy",
    "Rouch",
]


def load_communes() -> list[dict[str, str]]:
    with COMMUNES_FILE.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _luhn_number(rng: random.Random, prefix: str, length: int) -> str:
    payload = prefix + "".join(rng.choice("0123456789") for _ in range(length - len(prefix) - 1))
    return payload + luhn_check_digit(payload)


def load_demo(session: Session) -> bool:
    """Loads the data set into the session; False when it is already there."""
    if accounts.find_by_email(session, DEMO_ACCOUNTS[0][1]):
        return False
    actor = "démonstration"
    for role, email, name in DEMO_ACCOUNTS:
        accounts.create_user(
            session, email=email, role=role, password=DEMO_PASSWORD, name=name, actor=actor
        )
    rng = random.Random(2021)
    communes = load_communes()
    weights = [int(commune["population"]) ** 0.7 for commune in communes]
    used_emails = {email for _role, email, _name in DEMO_ACCOUNTS}
    for index in range(ACTIVE_NURSES + PENDING_NURSES):
        commune = communes[1] if index == 0 else rng.choices(communes, weights)[0]
        if index == 0:
            first_name, last_name = "Élodie", "Martin"
            email = DEMO_ACCOUNTS[-1][1]
            user = accounts.find_by_email(session, email)
        else:
            first_name, last_name = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            email = _unique_email(first_name, last_name, used_emails)
            user = accounts.create_user(
                session,
                email=email,
                role=Role.NURSE,
                password=DEMO_PASSWORD,
                name=f"{first_name} {last_name}",
                actor=actor,
            )
        active = index < ACTIVE_NURSES
        session.add(
            Nurse(
                user_id=user.id,
                rpps=_luhn_number(rng, "1000", 11),
                am_number=_luhn_number(rng, "091", 9),
                first_name=first_name,
                last_name=last_name,
                phone="+336" + "".join(rng.choice("0123456789") for _ in range(8)),
                email=email,
                practice_commune_insee=commune["insee"],
                practice_commune_name=commune["name"],
                practice_postal_code=commune["postal_code"],
                practice_latitude=float(commune["latitude"]),
                practice_longitude=float(commune["longitude"]),
                status=NurseStatus.ACTIVE if active else NurseStatus.PENDING,
                validated_at=utcnow() if active else None,
            )
        )
    session.flush()
    return True


def _unique_email(first_name: str, last_name: str, used: set[str]) -> str:
    base = f"{first_name}.{last_name}".lower()
    base = base.translate(str.maketrans("éèêëàâäîïôöûüç", "eeeeaaaiioouuc"))
    email, suffix = f"{base}@demo.vdsi.fr", 2
    while email in used:
        email, suffix = f"{base}{suffix}@demo.vdsi.fr", suffix + 1
    used.add(email)
    return email
