"""Reading a CPAM claims extract: what nurses actually billed, one line per act, grouped into
claims (same n° AM, NIR and day of care). A file with one malformed line is refused whole, with
every malformed line named."""

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from registry.csv_files import decode_text, delimiter_of, heading, read_csv
from registry.errors import FieldError, ValidationFailed, invalid
from registry.identifiers import validate_am_number, validate_nir

COLUMNS = (
    "num_am",
    "nir",
    "date_soins",
    "code_acte",
    "coefficient",
    "montant",
    "montant_rembourse",
)
REQUIRED = ("num_am", "nir", "date_soins", "code_acte", "montant")
COLUMN_LABELS = {
    "num_am": "n° AM de l'infirmier·e",
    "nir": "NIR du patient",
    "date_soins": "date des soins (JJ/MM/AAAA)",
    "code_acte": "code de l'acte (AMI, MCI, IFD, IK, F…)",
    "coefficient": "coefficient (ou km pour les IK)",
    "montant": "montant facturé (€)",
    "montant_rembourse": "montant remboursé (€)",
}
# Headings other extracts are known to use for the same columns.
ALIASES = {
    "numero_am": "num_am",
    "n_am": "num_am",
    "numero_ps": "num_am",
    "num_ps": "num_am",
    "nir_patient": "nir",
    "numero_securite_sociale": "nir",
    "date_de_soins": "date_soins",
    "date_acte": "date_soins",
    "acte": "code_acte",
    "code": "code_acte",
    "coef": "coefficient",
    "quantite": "coefficient",
    "montant_facture": "montant",
    "montant_rembourse_amo": "montant_rembourse",
    "rembourse": "montant_rembourse",
}
MAX_LINES = 50_000
CODE = re.compile(r"^[A-Z][A-Z0-9_]{0,7}$")
NEEDS_COEFFICIENT = {"AMI", "IK"}


@dataclass
class ClaimLine:
    line: int
    code: str
    coefficient: Decimal | None
    amount: Decimal
    paid: Decimal | None

    def document(self) -> dict:
        return {
            "line": self.line,
            "code": self.code,
            "coefficient": None if self.coefficient is None else str(self.coefficient),
            "montant": str(self.amount),
            "montant_rembourse": None if self.paid is None else str(self.paid),
        }


@dataclass
class Claim:
    num_am: str
    nir: str
    care_date: date
    lines: list[ClaimLine] = field(default_factory=list)

    @property
    def first_line(self) -> int:
        return self.lines[0].line

    @property
    def amount(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal("0.00"))

    @property
    def paid(self) -> Decimal | None:
        paid = [line.paid for line in self.lines if line.paid is not None]
        return sum(paid, Decimal("0.00")) if paid else None

    @property
    def ik_km(self) -> Decimal:
        return sum(
            (line.coefficient or Decimal(0) for line in self.lines if line.code == "IK"),
            Decimal(0),
        )


@dataclass(frozen=True)
class ClaimFile:
    claims: list[Claim]
    line_count: int
    sha256: str

    @property
    def claims_sha256(self) -> str:
        """The claims' fingerprint, whatever the file's layout: the same acts billed for the
        same patients on the same days give the same fingerprint."""
        canonical = sorted(
            f"{c.num_am}|{c.nir}|{c.care_date.isoformat()}|{line.code}|{line.coefficient}|"
            f"{line.amount}|{line.paid}"
            for c in self.claims
            for line in c.lines
        )
        return hashlib.sha256("\n".join(canonical).encode()).hexdigest()

    @property
    def period(self) -> tuple[date, date]:
        days = [claim.care_date for claim in self.claims]
        return min(days), max(days)


class ClaimFileRefused(ValidationFailed):
    """Malformed lines: nothing of the file is imported."""


def fingerprint(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def aliases_for(mapping: Mapping[str, str] | None) -> dict[str, str]:
    """The heading aliases with the columns chosen at upload: {our column: their heading}."""
    aliases = dict(ALIASES)
    for column, theirs in (mapping or {}).items():
        if column not in COLUMNS:
            invalid("mapping", f"Colonne inconnue « {column} ». Colonnes : {', '.join(COLUMNS)}.")
        if theirs and theirs.strip():
            aliases[heading(theirs, {})] = column
    return aliases


def mapping_from_fields(fields: Mapping[str, str]) -> dict[str, str]:
    """The mapping chosen in a form: one `map_<column>` field per column, empty when unmapped."""
    return {
        column: fields.get(f"map_{column}", "").strip()
        for column in COLUMNS
        if fields.get(f"map_{column}", "").strip()
    }


def headings_of(content: bytes) -> list[str]:
    """The first line's headings, for the column-mapping form."""
    text = decode_text(content)
    first = text.split("\n", 1)[0].strip("\r")
    return [cell.strip().strip('"') for cell in first.split(delimiter_of(text)) if cell.strip()]


def parse_claims(content: bytes, mapping: Mapping[str, str] | None = None) -> ClaimFile:
    if not content.strip():
        invalid("file", "Le fichier est vide.")
    _headings, rows = read_csv(
        content,
        columns=COLUMNS,
        required=REQUIRED,
        aliases=aliases_for(mapping),
        max_rows=MAX_LINES,
    )
    if not rows:
        invalid("file", "Le fichier ne contient aucune ligne de soins.")
    errors: list[FieldError] = []
    claims: dict[tuple[str, str, date], Claim] = {}
    for number, row in rows:
        parsed = _line(number, row, errors)
        if parsed is None:
            continue
        key, line = parsed
        claims.setdefault(key, Claim(*key)).lines.append(line)
    if errors:
        raise ClaimFileRefused(
            errors,
            detail=f"{len({e.field.split('.')[0] for e in errors})} ligne(s) mal formée(s) : "
            "le fichier n'a pas été importé. Corrigez-les et importez-le de nouveau.",
        )
    return ClaimFile(list(claims.values()), len(rows), fingerprint(content))


def _line(number: int, row: dict, errors: list[FieldError]):
    where = f"ligne {number}"
    before = len(errors)

    def refuse(column: str, message: str) -> None:
        errors.append(FieldError(f"{where}.{column}", f"Ligne {number}, {column} : {message}"))

    if None in row:
        refuse("file", "plus de cellules que de colonnes.")
    cell = {name: (row.get(name) or "").strip() for name in COLUMNS}
    try:
        num_am = validate_am_number(cell["num_am"])
    except ValueError as error:
        refuse("num_am", str(error))
    try:
        nir = validate_nir(cell["nir"])
    except ValueError as error:
        refuse("nir", str(error))
    care_date = _date(cell["date_soins"])
    if care_date is None:
        refuse("date_soins", f"« {cell['date_soins']} » n'est pas une date JJ/MM/AAAA.")
    code = cell["code_acte"].upper()
    if not CODE.match(code):
        refuse("code_acte", f"« {cell['code_acte']} » n'est pas un code d'acte (AMI, MCI, IFD…).")
    coefficient = _decimal(cell["coefficient"])
    if cell["coefficient"] and (coefficient is None or not 0 < coefficient <= 1000):
        refuse("coefficient", f"« {cell['coefficient']} » n'est pas un coefficient positif.")
    elif code in NEEDS_COEFFICIENT and coefficient is None:
        refuse("coefficient", f"un acte {code} a un coefficient (ou des km pour les IK).")
    amount = _decimal(cell["montant"])
    if amount is None or abs(amount) > 10_000 or amount != round(amount, 2):
        refuse("montant", f"« {cell['montant']} » n'est pas un montant en euros (ex. 17,64).")
    paid = _decimal(cell["montant_rembourse"])
    if cell["montant_rembourse"] and (paid is None or abs(paid) > 10_000):
        refuse("montant_rembourse", f"« {cell['montant_rembourse']} » n'est pas un montant.")
    if len(errors) > before:
        return None
    return (num_am, nir, care_date), ClaimLine(number, code, coefficient, amount, paid)


def _date(text: str) -> date | None:
    for pattern in ("%d/%m/%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return None


def _decimal(text: str) -> Decimal | None:
    if not text:
        return None
    try:
        value = Decimal(text.replace("\u00a0", "").replace(" ", "").replace(",", "."))
    except InvalidOperation:
        return None
    return value if value.is_finite() else None
