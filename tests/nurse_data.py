"""Valid nurse documents for tests, with identifiers that pass their check digits."""

import itertools

from registry.identifiers import luhn_check_digit

_serial = itertools.count(1)


def rpps(number: int | None = None) -> str:
    payload = f"1000{number if number is not None else next(_serial):06d}"
    return payload + luhn_check_digit(payload)


def am_number(number: int = 1234) -> str:
    payload = f"091{number:05d}"
    return payload + luhn_check_digit(payload)


def nurse_document(**overrides) -> dict:
    serial = next(_serial)
    document = {
        "rpps": rpps(serial),
        "am_number": am_number(serial),
        "first_name": "Élodie",
        "last_name": f"Martin{serial}",
        "phone": "06 12 34 56 78",
        "email": f"idel{serial}@exemple.fr",
        "password": "Un-mot-de-passe-solide-2021",
        "practice": {"street": "12 rue du Palais", "postal_code": "09000", "commune": "Foix"},
        "sector": {"communes": [], "radius_km": 15},
        "mountain": False,
        "skills": ["tag"],
        "languages": ["fr"],
        "max_visits_per_day": 6,
        "availability": [{"weekday": 0, "start": "14:00", "end": "18:00"}],
    }
    document.update(overrides)
    return document
