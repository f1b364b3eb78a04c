"""French identifiers: RPPS, billing number (n° AM), phone numbers. Each validator returns the
normalised value or raises ValueError with a French message a user can act on."""

import re

# A commune's INSEE code: five digits, or 2A/2B and three digits in Corsica.
INSEE_CODE = re.compile(r"\d{5}|2[AB]\d{3}")
INSEE_EXPECTED = "Code INSEE de 5 caractères attendu (ex. 09122, 2A004)."


def luhn_is_valid(digits: str) -> bool:
    """Luhn check over a string of digits, the last one being the check digit."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def luhn_check_digit(payload: str) -> str:
    """The digit that makes `payload + digit` pass the Luhn check."""
    for digit in "0123456789":
        if luhn_is_valid(payload + digit):
            return digit
    raise AssertionError("unreachable: one digit always completes a Luhn number")


def _digits_only(value: str) -> str:
    return re.sub(r"[\s.\-]", "", value or "")


def validate_rpps(value: str) -> str:
    digits = _digits_only(value)
    if not digits.isdigit() or len(digits) != 11:
        raise ValueError("Le numéro RPPS doit comporter exactement 11 chiffres.")
    if not luhn_is_valid(digits):
        raise ValueError("Le numéro RPPS est invalide (clé de contrôle incorrecte).")
    return digits


def validate_am_number(value: str) -> str:
    digits = _digits_only(value)
    if not digits.isdigit() or len(digits) != 9:
        raise ValueError("Le n° AM (numéro de facturation) doit comporter exactement 9 chiffres.")
    if not luhn_is_valid(digits):
        raise ValueError("Le n° AM est invalide (clé de contrôle incorrecte).")
    return digits


# Overseas departments have their own country calling codes (Guadeloupe +590, Martinique +596,
# Guyane +594, La Réunion +262, Mayotte +262); their national numbers start with 0590/0690, etc.
_OVERSEAS_PREFIXES = {
    "0590": "590",
    "0690": "590",
    "0691": "590",
    "0596": "596",
    "0696": "596",
    "0697": "596",
    "0594": "594",
    "0694": "594",
    "0262": "262",
    "0263": "262",
    "0692": "262",
    "0693": "262",
    "0269": "262",
    "0639": "262",
}


def normalise_phone(value: str) -> str:
    """A French phone number (national or international form) in E.164, e.g. +33612345678."""
    raw = re.sub(r"[\s.\-()]", "", value or "")
    if raw.startswith("00"):
        raw = "+" + raw[2:]
    if raw.startswith("+"):
        if not raw[1:].isdigit():
            raise ValueError("Le numéro de téléphone ne doit contenir que des chiffres.")
        if raw.startswith("+33"):
            national = raw[3:]
            if len(national) != 9 or national[0] == "0":
                raise ValueError("Un numéro français (+33) compte 9 chiffres après l'indicatif.")
            return raw
        if raw[1:4] in {"590", "594", "596", "262"} and len(raw) == 13:
            return raw
        raise ValueError("Seuls les numéros français (métropole et outre-mer) sont acceptés.")
    if not raw.isdigit() or len(raw) != 10 or raw[0] != "0":
        raise ValueError("Le numéro de téléphone doit comporter 10 chiffres (ex. 06 12 34 56 78).")
    if raw[1] == "0":
        raise ValueError("Le numéro de téléphone est invalide.")
    country = _OVERSEAS_PREFIXES.get(raw[:4], "33")
    return f"+{country}{raw[1:]}"


NIR_PATTERN = re.compile(r"^[1-478]\d{4}(\d{2}|2A|2B)\d{6}$")


def validate_nir(value: str) -> str:
    """A social security number (NIR): 13 characters and a 2-digit key, key = 97 - (number mod
    97), where Corsica's 2A and 2B count as 19 and 18."""
    raw = re.sub(r"[\s.\-]", "", value or "").upper()
    if len(raw) != 15:
        raise ValueError("Le NIR doit comporter 15 caractères (13 et une clé de 2 chiffres).")
    body, key = raw[:13], raw[13:]
    if not NIR_PATTERN.match(body) or not key.isdigit():
        raise ValueError("Le NIR est mal formé (sexe, année, mois, département, commune, rang).")
    number = int(body.replace("2A", "19").replace("2B", "18"))
    if 97 - number % 97 != int(key):
        raise ValueError("Le NIR est invalide (clé de contrôle incorrecte).")
    return raw


def nir_key(body: str) -> str:
    """The 2-digit key completing 13 NIR characters."""
    number = int(body.upper().replace("2A", "19").replace("2B", "18"))
    return f"{97 - number % 97:02d}"
