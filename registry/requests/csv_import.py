"""Visit requests booked in bulk from a CSV extract of the tracing tool, one report line per row.

Each row becomes the API's input document and goes through `book_request` in its own savepoint,
so the same rules apply and a refused or duplicate row leaves nothing behind.
"""

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlmodel import Session

from registry import audit
from registry.accounts import User
from registry.csv_files import FALSE_WORDS, TRUE_WORDS, read_csv, row_message, words
from registry.errors import Conflict, ErrorCollector, ValidationFailed
from registry.geo import Geocoder
from registry.requests.schema import MAX_HOUSEHOLD, parse_request_input
from registry.requests.services import BookingRules, book_request
from registry.timeutil import utcnow

# About 4 ms a row on SQLite, which holds its write lock for the whole file.
MAX_ROWS = 2000
# The order of the template file: CPAM scripts write it, so it only ever grows at the end.
COLUMNS = (
    "nir",
    "last_name",
    "first_name",
    "birth_date",
    "phone",
    "street",
    "postal_code",
    "commune",
    "languages",
    "household_size",
    "tag_count",
    "pcr_count",
    "consent_at",
    "preferred_times",
    "usual_nurse_rpps",
    "priority",
    "vulnerable",
    "language_barrier",
    "notes",
    "external_ref",
)
REQUIRED_COLUMNS = (
    "nir",
    "last_name",
    "first_name",
    "birth_date",
    "phone",
    "postal_code",
    "commune",
)
# The French headings a tracing-tool export or an agent's spreadsheet is likely to carry.
ALIASES = {
    "numero_securite_sociale": "nir",
    "nom": "last_name",
    "prenom": "first_name",
    "date_naissance": "birth_date",
    "date_de_naissance": "birth_date",
    "telephone": "phone",
    "tel": "phone",
    "adresse": "street",
    "code_postal": "postal_code",
    "ville": "commune",
    "langues": "languages",
    "personnes_foyer": "household_size",
    "taille_foyer": "household_size",
    "tests_tag": "tag_count",
    "tests_pcr": "pcr_count",
    "consentement": "consent_at",
    "date_consentement": "consent_at",
    "moments_preferes": "preferred_times",
    "rpps_infirmier_habituel": "usual_nurse_rpps",
    "rpps_infirmiere_habituelle": "usual_nurse_rpps",
    "priorite": "priority",
    "barriere_langue": "language_barrier",
    "barriere_linguistique": "language_barrier",
    "remarques": "notes",
    "reference": "external_ref",
}
FIELD_NAMES = {
    "": "ligne",
    "nir": "NIR",
    "last_name": "nom",
    "first_name": "prénom",
    "birth_date": "date de naissance",
    "phone": "téléphone",
    "address": "adresse",
    "address.street": "adresse",
    "address.postal_code": "code postal",
    "address.commune": "commune",
    "languages": "langues",
    "household_size": "personnes au foyer",
    "household_tests": "tests du foyer",
    "tag_count": "tests antigéniques",
    "pcr_count": "tests PCR",
    "consent_at": "consentement",
    "preferred_times": "moments préférés",
    "usual_nurse_rpps": "RPPS de l'infirmier·e habituel·le",
    "priority": "priorité",
    "vulnerable": "personne vulnérable",
    "language_barrier": "barrière de la langue",
    "notes": "remarques",
    "external_ref": "référence",
}
OUTCOMES = ("created", "duplicate", "refused")
TIMES = {"matin": "morning", "apres_midi": "afternoon", "soir": "evening"}
PRIORITIES = {
    "normal": "normal",
    "normale": "normal",
    "high": "high",
    "haute": "high",
    "prioritaire": "high",
}
FRENCH_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
FRENCH_INSTANT = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})\s+(\d{1,2})[:h](\d{2})(?::(\d{2}))?")


@dataclass
class RequestRowReport:
    line: int
    name: str
    outcome: str  # created, duplicate or refused
    request_id: int | None = None  # the new request, or the one this row duplicates
    messages: list[str] = field(default_factory=list)


@dataclass
class RequestImportReport:
    rows: list[RequestRowReport] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(1 for row in self.rows if row.outcome == outcome)

    @property
    def summary(self) -> dict[str, int]:
        return {outcome: self.count(outcome) for outcome in OUTCOMES}


def import_requests(
    session: Session,
    content: bytes,
    *,
    client: User,
    geocoder: Geocoder,
    rules: BookingRules,
    now: datetime | None = None,
) -> RequestImportReport:
    """Books one visit request per row for the client's CPAM; the caller commits. A file that
    cannot be read or lacks a required column raises ValidationFailed on `file`."""
    headings, rows = read_csv(
        content, columns=COLUMNS, required=REQUIRED_COLUMNS, aliases=ALIASES, max_rows=MAX_ROWS
    )
    # One instant for the whole file: an empty consent means "when the file was imported".
    now = now or utcnow()
    report = RequestImportReport(ignored_columns=sorted(headings - set(COLUMNS) - {""}))
    for line, row in rows:
        report.rows.append(_book_row(session, line, row, client, geocoder, rules, now))
    audit.record(
        session,
        actor=client,
        action="visit_request.imported",
        target_type="visit_request",
        details=report.summary,
    )
    return report


def _book_row(session, line, row, client, geocoder, rules, now) -> RequestRowReport:
    name = " ".join(f"{_cell(row, 'last_name')} {_cell(row, 'first_name')}".split())
    if None in row:
        return RequestRowReport(line, name, "refused", messages=["Trop de colonnes."])
    try:
        with session.begin_nested():
            document = _checked_document(row, now)
            visit, _created = book_request(
                session, document, client=client, geocoder=geocoder, rules=rules, now=now
            )
    except ValidationFailed as error:
        return RequestRowReport(
            line, name, "refused", messages=[row_message(e, FIELD_NAMES) for e in error.errors]
        )
    except Conflict as error:
        # Only a request of the client's own CPAM is pointed to (booking names others' by CPAM).
        existing = error.extra.get("existing_id")
        return RequestRowReport(line, name, "duplicate", existing, [error.detail])
    return RequestRowReport(line, name, "created", visit.id)


def _checked_document(row: dict[str, str], now: datetime) -> dict[str, Any]:
    """The row as the API's document. Cells that cannot be converted are refused together with
    whatever the API would refuse in the other cells, so the agent fixes the row once."""
    errors = ErrorCollector()
    document = _as_document(row, errors)
    if not errors.errors:
        return document
    unconverted = {error.field for error in errors.errors}
    # The API checks the tests against the household size: with either unknown, it cannot.
    if unconverted & {"household_size", "tag_count", "pcr_count"}:
        unconverted.add("household_tests")
    try:
        parse_request_input(document, now=now)
    except ValidationFailed as more:
        errors.errors += [e for e in more.errors if _field_root(e.field) not in unconverted]
    errors.raise_if_any()
    return document


def _as_document(row: dict[str, str], errors: ErrorCollector) -> dict[str, Any]:
    names = ("nir", "last_name", "first_name", "phone", "usual_nurse_rpps", "external_ref")
    document: dict[str, Any] = {name: _cell(row, name) for name in names if _cell(row, name)}
    if (row.get("notes") or "").strip():
        document["notes"] = row["notes"].strip()
    address = {part: _cell(row, part) for part in ("street", "postal_code", "commune")}
    if re.fullmatch(r"\d{4}", address["postal_code"]):
        # Spreadsheets read postal codes as numbers and drop the leading zero (09000 → 9000).
        address["postal_code"] = "0" + address["postal_code"]
    if any(address.values()):
        document["address"] = address
    converted = {}
    for column, convert in _CONVERTERS.items():
        text = _cell(row, column)
        if text:
            try:
                converted[column] = convert(text)
            except ValueError as error:
                errors.add(column, f"{error} (colonne {column}).")
    tests = [{"kind": kind, "count": converted.pop(f"{kind}_count", 0)} for kind in ("tag", "pcr")]
    if any(test["count"] for test in tests):
        document["household_tests"] = [test for test in tests if test["count"]]
    document.update(converted)
    return document


def _cell(row: dict[str, str], name: str) -> str:
    return " ".join((row.get(name) or "").split())


def _field_root(name: str) -> str:
    return name.split("[")[0].split(".")[0]


def _birth_date(text: str) -> str:
    french = FRENCH_DATE.fullmatch(text)
    try:
        if french:
            day, month, year = (int(part) for part in french.groups())
            return date(year, month, day).isoformat()
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise ValueError(f"« {text} » n'est pas une date (JJ/MM/AAAA ou AAAA-MM-JJ)") from None


def _instant(text: str) -> str:
    """ISO 8601 as the API takes it, or the French "JJ/MM/AAAA HH:MM"; both without an offset
    are Paris time (the API reads a naive instant so)."""
    french = FRENCH_INSTANT.fullmatch(text)
    try:
        if french:
            day, month, year, hour, minute, second = (int(p or 0) for p in french.groups())
            return datetime(year, month, day, hour, minute, second).isoformat()
        return datetime.fromisoformat(text).isoformat()
    except ValueError:
        message = f"« {text} » n'est pas une date et heure (JJ/MM/AAAA HH:MM ou ISO 8601)"
        raise ValueError(message) from None


def _integer(text: str) -> int:
    if not re.fullmatch(r"[0-9]{1,3}", text):
        raise ValueError(f"« {text} » n'est pas un nombre entier")
    return int(text)


def _test_count(text: str) -> int:
    count = _integer(text)
    if count > MAX_HOUSEHOLD:
        raise ValueError(f"{count} : au plus {MAX_HOUSEHOLD} personnes à tester")
    return count


def _languages(text: str) -> list[str]:
    return [code.lower() for code in words(text)]


def _times(text: str) -> list[str]:
    # "après-midi" (or "apres midi") is one word although it holds a hyphen or a space.
    plain = re.sub(r"apres[\s_-]*midi", "apres_midi", _plain(text))
    chosen = []
    for word in words(plain):
        code = TIMES.get(word, word)
        if code not in TIMES.values():
            raise ValueError(f"« {word} » : indiquez matin, après-midi ou soir")
        chosen.append(code)
    return chosen


def _priority(text: str) -> str:
    priority = PRIORITIES.get(_plain(text))
    if priority is None:
        raise ValueError(f"« {text} » : indiquez normale ou haute")
    return priority


def _yes_no(text: str) -> bool:
    answer = _plain(text)
    if answer not in TRUE_WORDS | FALSE_WORDS:
        raise ValueError(f"« {text} » : indiquez oui ou non")
    return answer in TRUE_WORDS


def _plain(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().strip().lower()


_CONVERTERS = {
    "birth_date": _birth_date,
    "languages": _languages,
    "household_size": _integer,
    "tag_count": _test_count,
    "pcr_count": _test_count,
    "consent_at": _instant,
    "preferred_times": _times,
    "priority": _priority,
    "vulnerable": _yes_no,
    "language_barrier": _yes_no,
}
