"""Bulk enrolment from the URPS's CSV list: idempotent on RPPS, one report line per row.

Each row is written in its own savepoint: a bad row is reported with its line number and
leaves nothing behind, good rows are kept.
"""

import math
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, select

from registry import audit
from registry.csv_files import FALSE_WORDS, TRUE_WORDS, read_csv, row_message, words
from registry.errors import DomainError, ValidationFailed, invalid
from registry.geo import Geocoder
from registry.identifiers import validate_rpps
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


DEFAULT_RADIUS_KM = 15
FIELD_NAMES = {
    "rpps": "RPPS",
    "am_number": "n° AM",
    "last_name": "nom",
    "first_name": "prénom",
    "phone": "téléphone",
    "email": "e-mail",
    "practice": "adresse du cabinet",
    "practice.street": "adresse",
    "practice.postal_code": "code postal",
    "practice.commune": "commune",
    "sector": "secteur",
    "sector.radius_km": "rayon",
    "sector.communes": "communes du secteur",
    "mountain": "montagne",
    "skills": "compétences",
    "languages": "langues",
    "max_visits_per_day": "visites par jour",
}


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
    """Creates or updates one nurse per row; the caller commits. Columns absent from the file
    leave the matching fields of existing nurses as they are."""
    headings, rows = read_csv(
        content, columns=COLUMNS, required=REQUIRED_COLUMNS, aliases=ALIASES, max_rows=MAX_ROWS
    )
    report = ImportReport()
    seen: dict[str, int] = {}
    for line, row in rows:
        rpps = (row.get("rpps") or "").strip()
        if None in row:
            report.rows.append(RowReport(line, rpps, "refused", ["Trop de colonnes."]))
        elif rpps and rpps in seen:
            report.rows.append(
                RowReport(line, rpps, "refused", [f"RPPS déjà présent ligne {seen[rpps]}."])
            )
        else:
            seen.setdefault(rpps, line)
            row_import = _RowImport(session, geocoder, commune_exists, validate, actor)
            report.rows.append(row_import.run(line, row, headings))
    audit.record(
        session, actor=actor, action="nurse.imported", target_type="nurse", details=report.summary
    )
    return report


@dataclass
class _RowImport:
    session: Session
    geocoder: Geocoder
    commune_exists: object
    validate: bool
    actor: object

    def run(self, line: int, row: dict[str, str], headings: set[str]) -> RowReport:
        rpps = (row.get("rpps") or "").strip()
        try:
            with self.session.begin_nested():
                return self._write(line, row, headings)
        except ValidationFailed as error:
            return RowReport(
                line, rpps, "refused", [row_message(e, FIELD_NAMES) for e in error.errors]
            )
        except DomainError as error:
            return RowReport(line, rpps, "refused", [error.detail])

    def _write(self, line: int, row: dict[str, str], headings: set[str]) -> RowReport:
        rpps = validate_rpps_cell(row.get("rpps") or "")
        existing = self.session.exec(select(Nurse).where(Nurse.rpps == rpps)).first()
        if existing is None:
            return self._create(line, row, headings)
        document = _as_document(row, headings)
        document.pop("email", None)  # the sign-in address is not the list's to change
        stored = {"street": existing.practice_street, "commune": existing.practice_commune}
        for part, value in stored.items():
            if "practice" in document and part not in headings:
                document["practice"][part] = value
        if "sector" in document:
            current = services.details_of(self.session, existing)
            document["sector"].setdefault("radius_km", existing.sector_radius_km)
            document["sector"].setdefault("communes", current.sector_communes)
        values = parse_nurse_input(document, partial=True, commune_exists=self.commune_exists)
        changed = services.update_nurse(
            self.session, existing, values, geocoder=self.geocoder, actor=self.actor
        )
        if self.validate and existing.status == NurseStatus.PENDING:
            services.change_status(self.session, existing, NurseStatus.ACTIVE, actor=self.actor)
            changed.append("status")
        outcome = "updated" if changed else "unchanged"
        return RowReport(line, rpps, outcome, [FIELD_NAMES.get(name, name) for name in changed])

    def _create(self, line: int, row: dict[str, str], headings: set[str]) -> RowReport:
        document = _as_document(row, headings)
        notes = []
        sector = document.setdefault("sector", {})
        if sector.get("radius_km") is None and not sector.get("communes"):
            sector["radius_km"] = DEFAULT_RADIUS_KM
            notes.append(f"rayon par défaut : {DEFAULT_RADIUS_KM} km")
        document.setdefault("languages", ["fr"])
        values = parse_nurse_input(document, partial=False, commune_exists=self.commune_exists)
        status = NurseStatus.ACTIVE if self.validate else NurseStatus.PENDING
        services.enroll_nurse(
            self.session, values, geocoder=self.geocoder, actor=self.actor, status=status
        )
        return RowReport(line, values["rpps"], "created", notes)


def validate_rpps_cell(value: str) -> str:
    try:
        return validate_rpps(value)
    except ValueError as error:
        invalid("rpps", str(error))


def _as_document(row: dict[str, str], headings: set[str]) -> dict[str, Any]:
    """The row in the API's input shape, with only the columns the file has, so the same
    validation applies."""

    def cell(name: str) -> str:
        return (row.get(name) or "").strip()

    document: dict[str, Any] = {
        name: cell(name)
        for name in ("rpps", "am_number", "last_name", "first_name", "phone", "email")
        if name in headings
    }
    if headings & {"street", "postal_code", "commune"}:
        document["practice"] = {
            "street": cell("street"),
            "postal_code": cell("postal_code"),
            "commune": cell("commune"),
        }
    sector: dict[str, Any] = {}
    if "radius_km" in headings:
        radius = cell("radius_km").replace(",", ".")
        sector["radius_km"] = _number(radius, "sector.radius_km") if radius else None
    if "sector_communes" in headings:
        sector["communes"] = words(cell("sector_communes"))
    if sector:
        document["sector"] = sector
    if "mountain" in headings:
        mountain = cell("mountain").lower()
        if mountain not in TRUE_WORDS | FALSE_WORDS:
            invalid("mountain", f"« {mountain} » : indiquez oui ou non.")
        document["mountain"] = mountain in TRUE_WORDS
    for name in ("skills", "languages"):
        if name in headings:
            document[name] = words(cell(name))
    if "max_visits_per_day" in headings and cell("max_visits_per_day"):
        if not cell("max_visits_per_day").isdecimal():
            invalid("max_visits_per_day", "Indiquez un nombre entier de visites.")
        document["max_visits_per_day"] = int(cell("max_visits_per_day")[:3])
    return document


def _number(text: str, name: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        invalid(name, f"« {text} » n'est pas un nombre.")
    return value
