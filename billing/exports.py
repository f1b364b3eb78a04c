"""Billing records as outside systems read them: a JSON document, a CSV line per act (plain, or
`;` and decimal comma for French spreadsheets), and the monthly statement of a nurse."""

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlmodel import Session, select

from billing.models import BillingLine, BillingRecord, RecordKind
from billing.records import ZERO, credit_of, replacement_of
from billing.types import french as to_french

CSV_COLUMNS = (
    "record_id",
    "numero",
    "type",
    "annule",
    "remplace",
    "rpps",
    "num_am",
    "infirmier",
    "nir",
    "nom",
    "prenom",
    "date_naissance",
    "date_soins",
    "heure_soins",
    "commune",
    "insee",
    "prescripteur",
    "num_prescripteur",
    "exoneration",
    "tiers_payant",
    "acte",
    "code_acte",
    "libelle",
    "coefficient",
    "prix_unitaire",
    "quantite",
    "montant",
    "total_facture",
    "part_patient",
)
# A spreadsheet runs a cell starting with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def record_document(record: BillingRecord, lines: list[BillingLine], session: Session) -> dict:
    credit = credit_of(session, record.id) if record.kind == RecordKind.INVOICE else None
    replacement = replacement_of(session, record.id)
    return {
        "id": record.id,
        "number": record.number,
        "reference": record.reference,
        "kind": record.kind,
        "status": status_of(record, credit),
        "cancels": record.cancels_id,
        "replaces": record.replaces_id,
        "cancelled_by": credit.id if credit else None,
        "replaced_by": replacement.id if replacement else None,
        "reason": record.reason,
        "request_id": record.request_id,
        "nurse": {
            "id": record.nurse_id,
            "rpps": record.nurse_rpps,
            "am_number": record.nurse_am_number,
            "name": record.nurse_name,
        },
        "patient": {
            "nir": record.patient_nir,
            "last_name": record.patient_last_name,
            "first_name": record.patient_first_name,
            "birth_date": record.patient_birth_date.isoformat(),
        },
        "commune": record.commune,
        "insee": record.insee,
        "zone": record.zone,
        "cared_at": record.cared_at.isoformat(),
        "care_date": record.care_date.isoformat(),
        "prescriber": {"name": record.prescriber_name, "number": record.prescriber_number},
        "exoneration": record.exoneration,
        "third_party_payment": record.third_party,
        "ik": {
            "estimated_km": _text(record.ik_estimate_km),
            "declared_km": _text(record.ik_declared_km),
            "mountain": record.mountain,
        },
        "lines": [
            {
                "act": line.act,
                "code": line.code,
                "label": line.label,
                "coefficient": _text(line.coefficient),
                "unit_price": str(line.unit_price),
                "quantity": line.quantity,
                "amount": str(line.amount),
            }
            for line in lines
        ],
        "total": str(record.total),
        "amo_amount": str(record.amo_amount),
        "patient_share": str(record.patient_share),
        "issued_at": record.issued_at.isoformat(),
    }


def status_of(record: BillingRecord, credit: BillingRecord | None) -> str:
    if record.kind == RecordKind.CREDIT:
        return "credit"
    return "cancelled" if credit else "issued"


STATUS_LABELS = {"issued": "Émise", "cancelled": "Annulée (avoir émis)", "credit": "Avoir"}


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def lines_by_record(session: Session, record_ids: list[int]) -> dict[int, list[BillingLine]]:
    lines: dict[int, list[BillingLine]] = {record_id: [] for record_id in record_ids}
    if record_ids:
        rows = session.exec(
            select(BillingLine)
            .where(BillingLine.record_id.in_(record_ids))
            .order_by(BillingLine.record_id, BillingLine.position)
        )
        for line in rows:
            lines[line.record_id].append(line)
    return lines


def csv_rows(records: Iterable[BillingRecord], lines: dict[int, list[BillingLine]]):
    for record in records:
        for line in lines[record.id]:
            yield {
                "record_id": record.id,
                "numero": record.reference,
                "type": record.kind_label.lower(),
                "annule": record.cancels_id or "",
                "remplace": record.replaces_id or "",
                "rpps": record.nurse_rpps,
                "num_am": record.nurse_am_number,
                "infirmier": record.nurse_name,
                "nir": record.patient_nir,
                "nom": record.patient_last_name,
                "prenom": record.patient_first_name,
                "date_naissance": record.patient_birth_date,
                "date_soins": record.care_date,
                "heure_soins": record.cared_at,
                "commune": record.commune,
                "insee": record.insee,
                "prescripteur": record.prescriber_name,
                "num_prescripteur": record.prescriber_number,
                "exoneration": record.exoneration,
                "tiers_payant": "oui" if record.third_party else "non",
                "acte": line.act,
                "code_acte": line.code,
                "libelle": line.label,
                "coefficient": line.coefficient,
                "prix_unitaire": line.unit_price,
                "quantite": line.quantity,
                "montant": line.amount,
                "total_facture": record.total,
                "part_patient": record.patient_share,
            }


def to_csv(rows: Iterable[dict], columns: tuple[str, ...], *, french: bool) -> str:
    """CSV text: `,` and decimal point, or (french) `;`, decimal comma, dates JJ/MM/AAAA and a
    byte-order mark so that spreadsheets open it in UTF-8. Text cells a spreadsheet would run
    as a formula are neutralised with a leading apostrophe."""
    out = io.StringIO()
    if french:
        out.write("\ufeff")
    writer = csv.writer(out, delimiter=";" if french else ",", lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(name), french) for name in columns])
    return out.getvalue()


def _cell(value, french: bool) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return to_french(value) if french else str(value)
    if isinstance(value, date) and not hasattr(value, "hour"):
        return value.strftime("%d/%m/%Y") if french else value.isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    text = str(value)
    if isinstance(value, str) and text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


@dataclass(frozen=True)
class Statement:
    """A nurse's records for one month, for print."""

    month: date
    records: list[BillingRecord]
    lines: dict[int, list[BillingLine]]

    @property
    def total(self) -> Decimal:
        return sum((record.total for record in self.records), ZERO)

    @property
    def invoices(self) -> int:
        return sum(1 for record in self.records if record.kind == RecordKind.INVOICE)

    @property
    def credits(self) -> int:
        return sum(1 for record in self.records if record.kind == RecordKind.CREDIT)


def month_bounds(month: date) -> tuple[date, date]:
    start = month.replace(day=1)
    following = date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return start, date.fromordinal(following.toordinal() - 1)


def statement(session: Session, nurse_id: int, month: date) -> Statement:
    start, end = month_bounds(month)
    records = list(
        session.exec(
            select(BillingRecord)
            .where(
                BillingRecord.nurse_id == nurse_id,
                BillingRecord.care_date >= start,
                BillingRecord.care_date <= end,
            )
            .order_by(BillingRecord.number)
        ).all()
    )
    return Statement(start, records, lines_by_record(session, [r.id for r in records]))


def records_with_lines(session: Session, query) -> tuple[list[BillingRecord], dict]:
    records = list(session.exec(query.order_by(BillingRecord.care_date, BillingRecord.id)).all())
    return records, lines_by_record(session, [record.id for record in records])
