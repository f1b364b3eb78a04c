"""The agent's booking form as the API's input document, so the page and the API share every
rule; and the API's error paths back to the form's fields."""

import re
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from werkzeug.datastructures import MultiDict

from registry.errors import FieldError
from registry.nurses.models import LANGUAGE_LABELS
from registry.requests.schema import TIME_OF_DAY_LABELS

PARIS = ZoneInfo("Europe/Paris")
TEXT_FIELDS = ("nir", "last_name", "first_name", "birth_date", "phone", "usual_nurse_rpps")
OPTIONAL_TEXT = ("usual_nurse_rpps", "notes", "external_ref")
OTHER_LANGUAGES = [(code, label) for code, label in LANGUAGE_LABELS.items() if code != "fr"]
TIMES_OF_DAY = list(TIME_OF_DAY_LABELS.items())
# Every field the page shows an error for; an error elsewhere is shown at the top.
FORM_FIELDS = (
    "nir",
    "last_name",
    "first_name",
    "birth_date",
    "phone",
    "address.street",
    "address.postal_code",
    "address.commune",
    "languages",
    "household_size",
    "household_tests",
    "consent_at",
    "preferred_times",
    "preferred_windows",
    "usual_nurse_rpps",
    "notes",
    "external_ref",
)


def request_body(form: MultiDict) -> dict:
    """The API document for what the agent typed; values the API would refuse are passed as
    typed so its messages name them."""

    def text(name: str) -> str:
        return (form.get(name) or "").strip()

    body: dict = {name: text(name) for name in TEXT_FIELDS}
    body["birth_date"] = _iso_date(body["birth_date"])
    body["address"] = {
        "street": text("address.street"),
        "postal_code": text("address.postal_code"),
        "commune": text("address.commune"),
    }
    languages = [code for code in ("fr",) if form.get("language_fr")]
    if text("other_language") and text("other_language") not in languages:
        languages.append(text("other_language"))
    body["languages"] = languages or ["fr"]
    body["household_size"] = _number(text("household_size"), default=1)
    body["household_tests"] = [
        {"kind": kind, "count": _number(text(f"{kind}_count"), default=0)}
        for kind in ("tag", "pcr")
        if text(f"{kind}_count") not in ("", "0")
    ]
    body["consent_at"] = _local_instant(text("consent_at"))
    body["preferred_times"] = form.getlist("preferred_times")
    start, end = text("window_start"), text("window_end")
    if start or end:
        body["preferred_windows"] = [{"start": _local_instant(start), "end": _local_instant(end)}]
    body["priority"] = "high" if form.get("priority") else "normal"
    body["vulnerable"] = bool(form.get("vulnerable"))
    body["language_barrier"] = bool(form.get("language_barrier"))
    for name in OPTIONAL_TEXT:
        body[name] = (form.get(name) or "").strip()
    return {name: value for name, value in body.items() if value not in ("", None)}


def _number(value: str, *, default: int) -> int | str:
    if not value:
        return default
    return int(value) if value.isdecimal() and len(value) < 4 else value


def _iso_date(value: str) -> str:
    """JJ/MM/AAAA, JJMMAAAA or AAAA-MM-JJ as AAAA-MM-JJ; anything else as typed, for the API's
    message."""
    match = re.fullmatch(r"(\d{1,2})[/.\- ](\d{1,2})[/.\- ](\d{4})|(\d{2})(\d{2})(\d{4})", value)
    if not match:
        return value
    day, month, year = (part for part in match.groups() if part is not None)
    return f"{year}-{month.zfill(2)}-{day.zfill(2)}"


def _local_instant(value: str) -> str:
    """A date and time typed by the agent (JJ/MM/AAAA HH:MM, or ISO) is Paris time."""
    if not value:
        return ""
    day, _, clock = value.strip().partition(" ")
    if clock:
        clock = clock.strip().replace("h", ":").rstrip(":")
        clock = clock if ":" in clock else f"{clock}:00"
        value = f"{_iso_date(day)}T{clock.zfill(5)}"
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    return (moment if moment.tzinfo else moment.replace(tzinfo=PARIS)).isoformat()


@dataclass
class FormErrors:
    """The API's errors, keyed by the form field that shows them."""

    by_field: dict[str, list[FieldError]] = field(default_factory=dict)

    @classmethod
    def of(cls, errors: list[FieldError], form: MultiDict) -> "FormErrors":
        result = cls()
        for error in errors:
            name = error.field.split("[", 1)[0]
            key = name if name in FORM_FIELDS else ""
            result.by_field.setdefault(key, []).append(_as_typed(key, error, form))
        return result

    def __getitem__(self, name: str) -> list[FieldError]:
        return self.by_field.get(name, [])

    def __bool__(self) -> bool:
        return bool(self.by_field)

    def as_json(self) -> list[dict]:
        return [
            {"field": key, "message": error.message, "suggestions": error.suggestions}
            for key, errors in self.by_field.items()
            for error in errors
        ]


# The API names the ISO formats; the agent typed French ones.
FORMAT_MESSAGES = {
    "birth_date": ("AAAA-MM-JJ", "Date de naissance « {} » invalide : tapez JJ/MM/AAAA."),
    "consent_at": ("ISO 8601", "« {} » n'est pas une date et heure : tapez JJ/MM/AAAA HH:MM."),
    "preferred_windows": (
        "ISO 8601",
        "Créneau invalide : tapez JJ/MM/AAAA HH:MM au début et à la fin.",
    ),
}


def _as_typed(key: str, error: FieldError, form: MultiDict) -> FieldError:
    marker, message = FORMAT_MESSAGES.get(key, (None, ""))
    if marker is None or marker not in error.message:
        return error
    return FieldError(error.field, message.format((form.get(key) or "").strip()))


def now_local() -> str:
    """Now as the agent types it, to the minute: the consent field's default."""
    return datetime.now(PARIS).strftime("%d/%m/%Y %H:%M")
