"""Bulk enrolment from the URPS's CSV list: idempotent on RPPS, one report line per row.

Each row is written in its own savepoint: a bad row is reported with its line number and
leaves nothing behind, good rows are kept.
"""

import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, select

from registry import audit
from registry.errors import DomainError, ValidationFailed, invalid
from registry.geo import Geocoder
from registry.nurses import services
from registry.nurses.models import Nurse, NurseStatus
from registry.nurses.schema import parse_nurse_input

MAX_ROWS = 20_000
COLUMNS = (
    "rpps",
    "am_number",
    "last_name",
    "first_name",
    "phone",
    "email",
    "street",
    "postal_code",
    "commune",
    "radius_km",
    "sector_communes",
    "mountain",
    "skills",
    "languages",
    "max_visits_per_day",
)
REQUIRED_COLUMNS = ("rpps", "am_number", "last_name", "first_name", "phone", "email", "postal_code")
# The French headings a URPS spreadsheet is likely to carry.
ALIASES = {
    "n_am": "am_number",
    "numero_am": "am_number",
    "nom": "last_name",
    "prenom": "first_name",
    "telephone": "phone",
    "mail": "email",
    "adresse": "street",
    "code_postal": "postal_code",
    "rayon_km": "radius_km",
    "communes_secteur": "sector_communes",
    "montagne": "mountain",
    "competences": "skills",
    "langues": "languages",
    "visites_max_jour": "max_visits_per_day",
}
TRUE_WORDS = {"1", "oui", "o", "true", "vrai", "yes", "x"}
FALSE_WORDS = {"", "0", "non", "n", "false", "faux", "no"}


@dataclass
class RowReport:
    line: int
    rpps: str
    outcome: str  # created, updated, unchanged or refused
    messages: list[str] = field(default_factory=list)


@dataclass
class ImportReport:
    rows: list[RowReport] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(1 for row in self.rows if row.outcome == outcome)

    @property
    def summary(self) -> dict[str, int]:
        return {o: self.count(o) for o in ("created", "updated", "unchanged", "refused")}


def import_nurses(
    session: Session,
    content: bytes,
    *,
    geocoder: Geocoder,
    commune_exists,
    validate: bool,
    actor: object,
) -> ImportReport:
    """Creates or updates one nurse per row; the caller commits."""
    reader = _reader(_decode(content))
    report = ImportReport()
    seen: dict[str, int] = {}
    status = NurseStatus.ACTIVE if validate else NurseStatus.PENDING
    for row in reader:
        line = reader.line_num
        if len(report.rows) >= MAX_ROWS:
            invalid("file", f"Le fichier dépasse {MAX_ROWS} lignes : découpez-le.")
        if not any((value or "").strip() for value in row.values()):
            continue
        rpps = (row.get("rpps") or "").strip()
        if rpps in seen:
            report.rows.append(
                RowReport(line, rpps, "refused", [f"RPPS déjà présent ligne {seen[rpps]}."])
            )
            continue
        seen[rpps] = line
        report.rows.append(_import_row(session, row, line, geocoder, commune_exists, status, actor))
    audit.record(
        session, actor=actor, action="nurse.imported", target_type="nurse", details=report.summary
    )
    return report


def _import_row(session, row, line, geocoder, commune_exists, status, actor) -> RowReport:
    rpps = (row.get("rpps") or "").strip()
    try:
        with session.begin_nested():
            values = parse_nurse_input(
                _as_document(row), partial=False, commune_exists=commune_exists
            )
            existing = session.exec(select(Nurse).where(Nurse.rpps == values["rpps"])).first()
            if existing is None:
                services.enroll_nurse(
                    session, values, geocoder=geocoder, actor=actor, status=status
                )
                return RowReport(line, values["rpps"], "created")
            values.pop(
                "email", None
            )  # the login of an existing account is not the list's to change
            changed = services.update_nurse(
                session, existing, values, geocoder=geocoder, actor=actor
            )
            return RowReport(line, values["rpps"], "updated" if changed else "unchanged", changed)
    except ValidationFailed as error:
        messages = [f"{e.field} : {e.message}" for e in error.errors]
        return RowReport(line, rpps, "refused", messages)
    except DomainError as error:
        return RowReport(line, rpps, "refused", [error.detail])


def _decode(content: bytes) -> str:
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Spreadsheets saved "CSV (séparateur : point-virgule)" on Windows are in cp1252.
        return content.decode("cp1252")


def _reader(text: str) -> csv.DictReader:
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") >= first_line.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    headings = [_heading(name) for name in (reader.fieldnames or [])]
    missing = [name for name in REQUIRED_COLUMNS if name not in headings]
    if missing:
        expected = ", ".join(COLUMNS)
        invalid(
            "file", f"Colonnes manquantes : {', '.join(missing)}. Colonnes attendues : {expected}."
        )
    reader.fieldnames = headings
    return reader


def _heading(name: str) -> str:
    plain = unicodedata.normalize("NFKD", name or "").encode("ascii", "ignore").decode()
    key = re.sub(r"[^a-z0-9]+", "_", plain.strip().lower()).strip("_")
    return ALIASES.get(key, key)


def _as_document(row: dict[str, str]) -> dict[str, Any]:
    """The row in the API's input shape, so the same validation applies."""

    def cell(name: str) -> str:
        return (row.get(name) or "").strip()

    document: dict[str, Any] = {
        name: cell(name)
        for name in ("rpps", "am_number", "last_name", "first_name", "phone", "email")
    }
    document["practice"] = {
        "street": cell("street"),
        "postal_code": cell("postal_code"),
        "commune": cell("commune"),
    }
    radius = cell("radius_km").replace(",", ".")
    document["sector"] = {
        "radius_km": _number(radius, "radius_km") if radius else None,
        "communes": _words(cell("sector_communes")),
    }
    mountain = cell("mountain").lower()
    if mountain not in TRUE_WORDS | FALSE_WORDS:
        invalid("mountain", f"« {mountain} » : indiquez oui ou non.")
    document["mountain"] = mountain in TRUE_WORDS
    document["skills"] = _words(cell("skills"))
    document["languages"] = _words(cell("languages")) or ["fr"]
    if cell("max_visits_per_day"):
        document["max_visits_per_day"] = int(_number(cell("max_visits_per_day"), "max_visits"))
    return document


def _words(text: str) -> list[str]:
    return [word for word in re.split(r"[\s,|/]+", text) if word]


def _number(text: str, name: str) -> float:
    try:
        return float(text)
    except ValueError:
        invalid(name, f"« {text} » n'est pas un nombre.")
