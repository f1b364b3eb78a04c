"""Visit-request input (API JSON, the agent's form, CSV rows) parsed and validated field by
field, every error named by its field path, in French."""

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from registry.errors import ErrorCollector
from registry.identifiers import normalise_phone, validate_nir, validate_rpps
from registry.nurses.models import LANGUAGE_LABELS
from registry.nurses.schema import boolean_field, parse_address, string_field, text_field

REQUIRED = ("nir", "first_name", "last_name", "birth_date", "phone", "address")
PRIORITIES = ("normal", "high")
TEST_KINDS = ("tag", "pcr")
# Times of day a patient may prefer, as local hours [start, end).
TIMES_OF_DAY = {"morning": (8, 12), "afternoon": (12, 18), "evening": (18, 21)}
TIME_OF_DAY_LABELS = {"morning": "Matin", "afternoon": "Après-midi", "evening": "Soir"}
MAX_HOUSEHOLD = 30
# An agent's clock and the server's may differ a little; a consent "now" is never refused.
CLOCK_SKEW = timedelta(minutes=2)
PARIS = ZoneInfo("Europe/Paris")


def parse_request_input(data: Any, *, now: datetime) -> dict[str, Any]:
    """Validated values keyed by field name. Raises ValidationFailed listing every error."""
    errors = ErrorCollector()
    if not isinstance(data, dict):
        errors.add("", "Le corps de la requête doit être un objet JSON.")
        errors.raise_if_any()
    for name in data:
        if name not in _PARSERS:
            errors.add(name, "Champ inconnu.")
    for name in REQUIRED:
        if data.get(name) in (None, ""):
            errors.add(name, "Ce champ est obligatoire.")
    values: dict[str, Any] = {}
    for name, parse in _PARSERS.items():
        if data.get(name) in (None, ""):
            continue
        try:
            values[name] = parse(data[name], errors, now)
        except ValueError as error:
            errors.add(name, str(error))
    errors.raise_if_any()
    values.setdefault("consent_at", now)
    values.setdefault("languages", ["fr"])
    values.setdefault("household_size", 1)
    values.setdefault("household_tests", [])
    tested = sum(test["count"] for test in values["household_tests"])
    if tested > values["household_size"]:
        errors.add("household_tests", "Plus de personnes à tester que de personnes au foyer.")
    errors.raise_if_any()
    return values


def skills_needed(household_tests: list[dict[str, Any]]) -> list[str]:
    return sorted({test["kind"] for test in household_tests if test["count"] > 0})


def _birth_date(value: Any, _errors, now: datetime) -> date:
    try:
        born = date.fromisoformat(string_field(value))
    except ValueError as error:
        raise ValueError(f"Date de naissance « {value} » invalide (AAAA-MM-JJ).") from error
    if born > now.date() or born.year < 1890:
        raise ValueError("La date de naissance n'est pas plausible.")
    return born


def parse_instant(value: Any) -> datetime:
    """An ISO 8601 instant; without an offset it is read as Paris time."""
    try:
        moment = datetime.fromisoformat(string_field(value))
    except ValueError as error:
        raise ValueError(f"« {value} » n'est pas une date-heure ISO 8601.") from error
    return moment if moment.tzinfo else moment.replace(tzinfo=PARIS)


def _consent(value: Any, _errors, now: datetime) -> datetime:
    consent = parse_instant(value)
    if consent > now + CLOCK_SKEW:
        raise ValueError("Le consentement ne peut pas être dans le futur.")
    return consent


def _household_size(value: Any, _errors, _now) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_HOUSEHOLD:
        raise ValueError(f"Nombre de personnes au foyer : un entier de 1 à {MAX_HOUSEHOLD}.")
    return value


def _household_tests(value: Any, errors: ErrorCollector, _now) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise ValueError("Une liste de {kind, count} est attendue.")
    tests: dict[str, int] = {}
    for index, item in enumerate(value):
        kind = item.get("kind") if isinstance(item, dict) else None
        count = item.get("count") if isinstance(item, dict) else None
        if kind not in TEST_KINDS:
            errors.add(f"household_tests[{index}]", "kind vaut « tag » ou « pcr ».")
        elif isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 30:
            errors.add(f"household_tests[{index}]", "count : un entier de 1 à 30.")
        else:
            tests[kind] = tests.get(kind, 0) + count
    return [{"kind": kind, "count": count} for kind, count in sorted(tests.items())]


def _windows(value: Any, errors: ErrorCollector, _now) -> list[dict[str, str]]:
    if not isinstance(value, list):
        raise ValueError("Une liste de créneaux {start, end} est attendue.")
    windows = []
    for index, item in enumerate(value):
        try:
            start, end = parse_instant(item.get("start")), parse_instant(item.get("end"))
        except (ValueError, AttributeError) as error:
            errors.add(f"preferred_windows[{index}]", str(error) or "Créneau invalide.")
            continue
        if end <= start:
            errors.add(f"preferred_windows[{index}]", "Le créneau se termine avant de commencer.")
        else:
            windows.append({"start": start.isoformat(), "end": end.isoformat()})
    return windows


def _times(value: Any, errors: ErrorCollector, _now) -> list[str]:
    if not isinstance(value, list):
        raise ValueError("Une liste parmi morning, afternoon, evening est attendue.")
    chosen = []
    for index, name in enumerate(value):
        if not isinstance(name, str) or name not in TIMES_OF_DAY:
            errors.add(
                f"preferred_times[{index}]", "Valeurs possibles : morning, afternoon, evening."
            )
        elif name not in chosen:
            chosen.append(name)
    return [name for name in TIMES_OF_DAY if name in chosen]


def windows_for_times(
    times: list[str], start: datetime, end: datetime, zone: ZoneInfo
) -> list[dict[str, str]]:
    """The preferred times of day as windows between consent and due, in the patient's zone."""
    windows = []
    day = start.astimezone(zone).date()
    while day <= end.astimezone(zone).date():
        for name in times:
            first, last = TIMES_OF_DAY[name]
            opens = datetime.combine(day, time(first), zone)
            closes = datetime.combine(day, time(last), zone)
            opens, closes = max(opens, start.astimezone(zone)), min(closes, end.astimezone(zone))
            if opens < closes:
                windows.append({"start": opens.isoformat(), "end": closes.isoformat()})
        day += timedelta(days=1)
    return windows


def _languages(value: Any, errors: ErrorCollector, _now) -> list[str]:
    if not isinstance(value, list):
        raise ValueError("Une liste de codes de langue est attendue (ex. fr, ar).")
    chosen = []
    for index, code in enumerate(value):
        code = str(code).strip().lower()
        if code not in LANGUAGE_LABELS:
            errors.add(f"languages[{index}]", f"Langue « {code} » inconnue.")
        elif code not in chosen:
            chosen.append(code)
    return chosen


def _choice(options: tuple[str, ...]):
    def parse(value: Any, _errors, _now) -> str:
        if value not in options:
            raise ValueError(f"Valeurs possibles : {', '.join(options)}.")
        return value

    return parse


def _plain(convert):
    def parse(value: Any, _errors, _now):
        return convert(value)

    return parse


def _notes(value: Any) -> str:
    if not isinstance(value, str) or len(value) > 1000:
        raise ValueError("Les notes sont un texte de 1000 caractères au plus.")
    return value.strip()


_PARSERS = {
    "nir": _plain(lambda v: validate_nir(string_field(v))),
    "first_name": _plain(lambda v: text_field(v, "Le prénom", 100)),
    "last_name": _plain(lambda v: text_field(v, "Le nom", 100)),
    "birth_date": _birth_date,
    "phone": _plain(lambda v: normalise_phone(string_field(v))),
    "address": lambda value, errors, _now: parse_address(value, errors, "address"),
    "languages": _languages,
    "household_size": _household_size,
    "household_tests": _household_tests,
    "consent_at": _consent,
    "preferred_windows": _windows,
    "preferred_times": _times,
    "usual_nurse_rpps": _plain(lambda v: validate_rpps(string_field(v))),
    "priority": _choice(PRIORITIES),
    "vulnerable": _plain(boolean_field),
    "language_barrier": _plain(boolean_field),
    "notes": _plain(_notes),
    "external_ref": _plain(lambda v: text_field(v, "La référence externe", 64)),
}
