"""Nurse input as clients send it (API JSON, forms, CSV rows): parsed and validated field by field
into plain values, every error named by its field path, in French."""

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, time
from typing import Any

from registry.accounts import normalise_email
from registry.errors import ErrorCollector
from registry.identifiers import normalise_phone, validate_am_number, validate_rpps
from registry.nurses.models import LANGUAGE_LABELS, WEEKDAY_LABELS, Skill
from registry.passwords import password_problems

MAX_RADIUS_KM = 100.0
MAX_VISITS_PER_DAY = 30
INSEE_PATTERN = re.compile(r"^(\d{5}|2[AB]\d{3})$")
# Patients and practices there resolve to an arrondissement, never to the city as a whole.
CITIES_BY_ARRONDISSEMENT = {
    "75056": "Paris : 75101 à 75120",
    "69123": "Lyon : 69381 à 69389",
    "13055": "Marseille : 13201 à 13216",
}
TIME_PATTERN = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True)
class WindowInput:
    weekday: int | None = None
    on_date: date | None = None
    start: time | None = None
    end: time | None = None
    unavailable: bool = False

    def describe(self) -> str:
        when = WEEKDAY_LABELS[self.weekday] if self.weekday is not None else f"le {self.on_date}"
        hours = f" {self.start:%H:%M}–{self.end:%H:%M}" if self.start and self.end else ""
        return f"{'absence ' if self.unavailable else ''}{when}{hours}"


@dataclass(frozen=True)
class PracticeInput:
    street: str
    postal_code: str
    commune: str


REQUIRED_ON_CREATE = ("rpps", "am_number", "first_name", "last_name", "phone", "email", "practice")


def parse_nurse_input(
    data: Any,
    *,
    partial: bool,
    commune_exists: Callable[[str], bool],
    require_password: bool = False,
) -> dict[str, Any]:
    """Validated values keyed by field name; only the fields present when `partial`.

    Raises ValidationFailed listing every invalid field.
    """
    errors = ErrorCollector()
    if not isinstance(data, dict):
        errors.add("", "Le corps de la requête doit être un objet JSON.")
        errors.raise_if_any()
    values: dict[str, Any] = {}
    for name in data:
        if name not in _FIELD_PARSERS and name != "password":
            errors.add(name, "Champ inconnu.")
    if not partial:
        for name in REQUIRED_ON_CREATE:
            if data.get(name) in (None, ""):
                errors.add(name, "Ce champ est obligatoire.")
        if require_password and not data.get("password"):
            errors.add("password", "Ce champ est obligatoire.")
    for name, parser in _FIELD_PARSERS.items():
        if data.get(name) in (None, ""):
            continue
        try:
            values.update(parser(data[name], errors, commune_exists))
        except ValueError as error:
            errors.add(name, str(error))
    if "password" in data and data["password"] not in (None, ""):
        password = data["password"]
        if not isinstance(password, str):
            errors.add("password", "Le mot de passe doit être une chaîne de caractères.")
        else:
            for problem in password_problems(password, str(data.get("email", ""))):
                errors.add("password", problem)
            values["password"] = password
    if not partial:
        values.setdefault("languages", ["fr"])
    errors.raise_if_any()
    return values


def text_field(value: Any, label: str, max_length: int) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{label} doit être une chaîne de caractères.")
    value = " ".join(value.split())
    if not value:
        raise ValueError("Ce champ est obligatoire.")
    if len(value) > max_length:
        raise ValueError(f"{label} ne doit pas dépasser {max_length} caractères.")
    return value


def string_field(value: Any) -> str:
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise ValueError("Valeur attendue : une chaîne de caractères.")
    return str(value)


def _simple(name: str, convert: Callable[[Any], Any]):
    def parse(value: Any, _errors: ErrorCollector, _exists) -> dict[str, Any]:
        return {name: convert(value)}

    return parse


def parse_address(value: Any, errors: ErrorCollector, prefix: str) -> PracticeInput:
    """An address {street, postal_code, commune}; errors are named `prefix.part`."""
    if not isinstance(value, dict):
        raise ValueError("L'adresse doit être un objet {street, postal_code, commune}.")
    street = value.get("street") or ""
    if not isinstance(street, str) or len(street) > 200:
        errors.add(f"{prefix}.street", "L'adresse doit être un texte de 200 caractères au plus.")
    postal_code = str(value.get("postal_code") or "").strip()
    if not postal_code:
        errors.add(f"{prefix}.postal_code", "Le code postal est obligatoire.")
    elif not re.fullmatch(r"\d{5}", postal_code):
        errors.add(f"{prefix}.postal_code", "Le code postal doit comporter 5 chiffres.")
    commune = value.get("commune") or ""
    if not isinstance(commune, str) or len(commune) > 100:
        errors.add(f"{prefix}.commune", "La commune doit être un texte de 100 caractères au plus.")
    return PracticeInput(" ".join(str(street).split()), postal_code, " ".join(str(commune).split()))


def _practice(value: Any, errors: ErrorCollector, _exists) -> dict[str, Any]:
    return {"practice": parse_address(value, errors, "practice")}


def _sector(value: Any, errors: ErrorCollector, exists: Callable[[str], bool]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError("Le secteur doit être un objet {communes, radius_km}.")
    result: dict[str, Any] = {"sector_communes": [], "sector_radius_km": None}
    radius = value.get("radius_km")
    if radius is not None:
        if isinstance(radius, bool) or not isinstance(radius, int | float):
            errors.add("sector.radius_km", "Le rayon doit être un nombre de kilomètres.")
        elif not 0 < radius <= MAX_RADIUS_KM:
            errors.add(
                "sector.radius_km", f"Le rayon doit être compris entre 0 et {MAX_RADIUS_KM:g} km."
            )
        else:
            result["sector_radius_km"] = float(radius)
    communes = value.get("communes") or []
    if not isinstance(communes, list):
        errors.add("sector.communes", "Les communes du secteur sont une liste de codes INSEE.")
        communes = []
    for index, code in enumerate(communes):
        code = str(code).strip().upper()
        if not INSEE_PATTERN.match(code):
            errors.add(f"sector.communes[{index}]", f"« {code} » n'est pas un code INSEE.")
        elif code in CITIES_BY_ARRONDISSEMENT:
            errors.add(
                f"sector.communes[{index}]",
                f"{code} : indiquez les arrondissements ({CITIES_BY_ARRONDISSEMENT[code]}).",
            )
        elif not exists(code):
            errors.add(f"sector.communes[{index}]", f"Commune {code} inconnue.")
        elif code not in result["sector_communes"]:
            result["sector_communes"].append(code)
    if not communes and radius is None:
        errors.add("sector", "Indiquez un rayon autour du cabinet et/ou une liste de communes.")
    return result


def _choices(name: str, allowed: dict[str, str] | type, label: str):
    def parse(value: Any, errors: ErrorCollector, _exists) -> dict[str, Any]:
        if not isinstance(value, list):
            raise ValueError(f"{label} : une liste est attendue.")
        known = set(allowed) if isinstance(allowed, dict) else {m.value for m in allowed}
        chosen: list[str] = []
        for index, item in enumerate(value):
            code = str(item).strip().lower()
            if code not in known:
                options = ", ".join(sorted(known))
                errors.add(f"{name}[{index}]", f"« {item} » inconnu. Valeurs : {options}.")
            elif code not in chosen:
                chosen.append(code)
        return {name: chosen}

    return parse


def boolean_field(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("Valeur attendue : true ou false.")
    return value


def _max_visits(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("Le nombre maximum de visites par jour doit être un entier.")
    if not 1 <= value <= MAX_VISITS_PER_DAY:
        raise ValueError(
            f"Le nombre de visites par jour doit être entre 1 et {MAX_VISITS_PER_DAY}."
        )
    return value


def _availability(value: Any, errors: ErrorCollector, _exists) -> dict[str, Any]:
    if not isinstance(value, list):
        raise ValueError("Les disponibilités sont une liste de créneaux.")
    windows = []
    for index, item in enumerate(value):
        try:
            windows.append(parse_window(item))
        except ValueError as error:
            errors.add(f"availability[{index}]", str(error))
    return {"availability": windows}


def parse_window(item: Any) -> WindowInput:
    """One availability item: weekly {weekday, start, end}, dated {date, start, end}, or an
    absence {date, unavailable: true} (optionally with start and end for part of the day)."""
    if not isinstance(item, dict):
        raise ValueError("Un créneau est un objet {weekday|date, start, end}.")
    weekday, on_date = item.get("weekday"), item.get("date")
    if (weekday is None) == (on_date is None):
        raise ValueError("Un créneau a soit un jour de semaine (weekday), soit une date (date).")
    if weekday is not None and (
        isinstance(weekday, bool) or not isinstance(weekday, int) or not 0 <= weekday <= 6
    ):
        raise ValueError("weekday va de 0 (lundi) à 6 (dimanche).")
    parsed_date = None
    if on_date is not None:
        try:
            parsed_date = date.fromisoformat(str(on_date))
        except ValueError as error:
            raise ValueError(f"Date « {on_date} » invalide (format AAAA-MM-JJ).") from error
    unavailable = item.get("unavailable", False)
    if not isinstance(unavailable, bool):
        raise ValueError("unavailable vaut true ou false.")
    if unavailable and parsed_date is None:
        raise ValueError("Une absence porte sur une date, pas sur un jour de semaine.")
    start, end = _clock(item.get("start"), "start"), _clock(item.get("end"), "end")
    if (start is None) != (end is None) or (start is None and not unavailable):
        raise ValueError("Un créneau a une heure de début (start) et de fin (end), « HH:MM ».")
    if start is not None and end <= start:
        raise ValueError(f"Le créneau se termine ({end:%H:%M}) avant de commencer ({start:%H:%M}).")
    return WindowInput(weekday, parsed_date, start, end, unavailable)


def _clock(value: Any, name: str) -> time | None:
    if value is None or value == "":
        return None
    match = TIME_PATTERN.match(str(value))
    if not match:
        raise ValueError(f"Heure {name} « {value} » invalide (format HH:MM, 00:00 à 23:59).")
    return time(int(match.group(1)), int(match.group(2)))


_FIELD_PARSERS = {
    "rpps": _simple("rpps", lambda v: validate_rpps(string_field(v))),
    "am_number": _simple("am_number", lambda v: validate_am_number(string_field(v))),
    "first_name": _simple("first_name", lambda v: text_field(v, "Le prénom", 100)),
    "last_name": _simple("last_name", lambda v: text_field(v, "Le nom", 100)),
    "phone": _simple("phone", lambda v: normalise_phone(string_field(v))),
    "email": _simple("email", lambda v: normalise_email(string_field(v))),
    "practice": _practice,
    "sector": _sector,
    "mountain": _simple("mountain", boolean_field),
    "skills": _choices("skills", Skill, "Compétences"),
    "languages": _choices("languages", LANGUAGE_LABELS, "Langues"),
    "max_visits_per_day": _simple("max_visits_per_day", _max_visits),
    "availability": _availability,
}
