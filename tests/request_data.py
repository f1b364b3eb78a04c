"""Valid visit-request documents for tests, with NIRs that pass their key."""

import itertools

from registry.identifiers import nir_key

_serial = itertools.count(1)


def nir(number: int | None = None) -> str:
    body = f"18505{'09'}{number if number is not None else next(_serial):06d}"
    return body + nir_key(body)


def request_document(**overrides) -> dict:
    document = {
        "nir": nir(),
        "first_name": "Jeanne",
        "last_name": "Dupont",
        "birth_date": "1985-05-12",
        "phone": "06 98 76 54 32",
        "address": {"street": "4 rue de la Préfecture", "postal_code": "09000", "commune": "Foix"},
        "languages": ["fr"],
        "household_size": 3,
        "household_tests": [{"kind": "tag", "count": 2}],
    }
    document.update(overrides)
    return document
