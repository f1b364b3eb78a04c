"""Reconciling what nurses billed to the Assurance Maladie (a CPAM claims extract) with what the
platform requested, saw done and billed: every claim gets a class, and every platform bill of the
period that no claim covers is reported as not billed."""

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import Session, func, select

from billing.claims import Claim, ClaimFile
from billing.models import BillingRecord, ClaimImport, Classification, ReconciliationItem
from billing.pricing import ik_km
from billing.records import current_invoices
from billing.types import french
from registry import audit
from registry.errors import Conflict, NotFound
from registry.nurses.models import Nurse
from registry.requests.models import RequestStatus, VisitRequest

C = Classification
# Declared km "far above" the estimate: more than a quarter above it and 2 km more (a road is
# longer than the great circle, and a detour of a few km is ordinary).
IK_RATIO = Decimal("1.25")
IK_SLACK_KM = Decimal(2)
# The classes in which a claim stands for a platform bill: a later claim for it is a duplicate.
COVERING = (C.MATCHED, C.AMOUNT_MISMATCH, C.IK_ABOVE_ESTIMATE)
ANOMALIES = tuple(c for c in Classification if c != C.MATCHED)


@dataclass
class Context:
    """What the platform knows about the patients and nurses of the file, read once."""

    nurses: dict[str, set[int]]  # n° AM → nurse ids
    records: dict[str, list[BillingRecord]]  # NIR → current invoices
    held: dict[tuple[str, int], VisitRequest]  # (NIR, nurse) → a visit accepted, not reported
    claimed: set[int]  # records a claim already stands for


def import_claims(
    session: Session, claim_file: ClaimFile, *, cpam_code: str, filename: str, actor, mapping=None
) -> ClaimImport:
    """Classifies and stores the file's claims in one transaction. The same file twice is a
    409 (checked first, and enforced by a unique index for two imports at the same time)."""
    fingerprint = claim_file.claims_sha256
    _refuse_if_imported(session, claim_file)
    start, end = claim_file.period
    batch = ClaimImport(
        cpam_code=cpam_code,
        filename=(filename or "extraction.csv")[:255],
        sha256=claim_file.sha256,
        claims_sha256=fingerprint,
        imported_by=getattr(actor, "email", None) or str(actor),
        line_count=claim_file.line_count,
        claim_count=len(claim_file.claims),
        period_from=start,
        period_to=end,
        mapping=dict(mapping or {}),
    )
    session.add(batch)
    try:
        session.flush()
    except sa.exc.IntegrityError as error:
        # Another import of the same claims committed meanwhile: named as if it had come first.
        session.rollback()
        _refuse_if_imported(session, claim_file)
        raise Conflict("Ce fichier vient d'être importé par ailleurs.") from error
    context = _context(session, claim_file.claims)
    items = [_classify(claim, context) for claim in claim_file.claims]
    items += _not_billed(session, cpam_code, start, end, context.claimed)
    for item in items:
        item.import_id = batch.id
        session.add(item)
    batch.counts = {c.value: 0 for c in Classification} | Counter(i.classification for i in items)
    session.add(batch)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="claims.imported",
        target_type="claim_import",
        target_id=batch.id,
        details={"file": batch.filename, "claims": batch.claim_count, "counts": batch.counts},
    )
    return batch


def _refuse_if_imported(session: Session, claim_file: ClaimFile) -> None:
    """A 409 naming the import that already holds this file or these claims."""
    existing = session.exec(
        select(ClaimImport).where(
            (ClaimImport.sha256 == claim_file.sha256)
            | (ClaimImport.claims_sha256 == claim_file.claims_sha256)
        )
    ).first()
    if existing is None:
        return
    when = f"le {existing.imported_at:%d/%m/%Y} (import n° {existing.id}, « {existing.filename} »)"
    if existing.sha256 == claim_file.sha256:
        message = f"Ce fichier a déjà été importé {when} : il n'est pas importé deux fois."
    else:
        message = (
            f"Ces facturations ont déjà été importées {when}, dans un fichier de présentation "
            "différente : elles ne sont pas importées deux fois."
        )
    raise Conflict(message, import_id=existing.id)


def _context(session: Session, claims: list[Claim]) -> Context:
    nirs = {claim.nir for claim in claims}
    nurses: dict[str, set[int]] = defaultdict(set)
    numbers = {claim.num_am for claim in claims}
    for nurse_id, number in session.exec(
        select(Nurse.id, Nurse.am_number).where(Nurse.am_number.in_(numbers))
    ):
        nurses[number].add(nurse_id)
    records: dict[str, list[BillingRecord]] = defaultdict(list)
    for record in session.exec(current_invoices().where(BillingRecord.patient_nir.in_(nirs))):
        records[record.patient_nir].append(record)
    held = {
        (request.nir, request.nurse_id): request
        for request in session.exec(
            select(VisitRequest).where(
                VisitRequest.nir.in_(nirs), VisitRequest.status == RequestStatus.ACCEPTED
            )
        )
    }
    record_ids = [r.id for rows in records.values() for r in rows]
    claimed = set(
        session.exec(
            select(ReconciliationItem.record_id).where(
                ReconciliationItem.record_id.in_(record_ids),
                ReconciliationItem.classification.in_([c.value for c in COVERING]),
            )
        )
    )
    return Context(dict(nurses), dict(records), held, claimed)


def expected_ik_km(record: BillingRecord) -> Decimal:
    """The km the platform's own estimate of the distance would have billed."""
    if record.ik_estimate_km is None:
        return Decimal(0)
    return ik_km(record.ik_estimate_km, mountain=record.mountain, same_commune=record.same_commune)


def _classify(claim: Claim, context: Context) -> ReconciliationItem:
    nurse_ids = context.nurses.get(claim.num_am, set())
    item = ReconciliationItem(
        classification=C.MATCHED,
        num_am=claim.num_am,
        nir=claim.nir,
        care_date=claim.care_date,
        nurse_id=min(nurse_ids) if nurse_ids else None,
        claimed_amount=claim.amount,
        paid_amount=claim.paid,
        claimed_ik_km=claim.ik_km,
        first_line=claim.first_line,
        lines=[line.document() for line in claim.lines],
    )
    own = [r for r in context.records.get(claim.nir, []) if r.nurse_id in nurse_ids]
    if not own:
        held = next(
            (context.held[(claim.nir, n)] for n in nurse_ids if (claim.nir, n) in context.held),
            None,
        )
        if held is not None:
            item.request_id, item.insee, item.commune = held.id, held.insee, held.address_commune
            return _as(item, C.CLAIM_BEFORE_VISIT, "Visite acceptée mais pas encore faite.")
        if not nurse_ids:
            detail = "N° AM inconnu de la plateforme."
        elif context.records.get(claim.nir):
            detail = "Ce patient a été visité par une autre infirmière de la plateforme."
        else:
            detail = "Aucune demande de visite de la plateforme pour ce patient."
        return _as(item, C.CLAIM_WITHOUT_REQUEST, detail)
    record = next((r for r in own if r.care_date == claim.care_date), None)
    if record is None:
        record = min(own, key=lambda r: abs((r.care_date - claim.care_date).days))
        _link(item, record)
        if claim.care_date < record.care_date:
            return _as(item, C.CLAIM_BEFORE_VISIT, f"Visite faite le {record.care_date:%d/%m/%Y}.")
        return _as(
            item,
            C.DUPLICATE_CLAIM,
            f"Une seule VDSI par patient index : visite du {record.care_date:%d/%m/%Y}.",
        )
    _link(item, record)
    if record.id in context.claimed:
        return _as(item, C.DUPLICATE_CLAIM, "Cette visite a déjà été facturée.")
    context.claimed.add(record.id)
    expected = expected_ik_km(record)
    if claim.ik_km > expected * IK_RATIO + IK_SLACK_KM:
        return _as(
            item,
            C.IK_ABOVE_ESTIMATE,
            f"{french(claim.ik_km)} km facturés pour {french(expected)} km estimés.",
        )
    if claim.amount != record.total:
        return _as(
            item,
            C.AMOUNT_MISMATCH,
            f"{french(claim.amount)} € facturés pour {french(record.total)} € attendus.",
        )
    return item


def _link(item: ReconciliationItem, record: BillingRecord) -> None:
    item.record_id, item.request_id = record.id, record.request_id
    item.insee, item.commune = record.insee, record.commune
    item.expected_amount = record.total
    item.expected_ik_km = expected_ik_km(record)


def _as(item: ReconciliationItem, classification: Classification, detail: str):
    item.classification = classification
    item.detail = detail
    return item


def _not_billed(
    session: Session, cpam_code: str, start: date, end: date, claimed: set[int]
) -> list[ReconciliationItem]:
    """The CPAM's platform bills of the file's period that no claim stands for."""
    records = session.exec(
        current_invoices().where(
            BillingRecord.cpam_code == cpam_code,
            BillingRecord.care_date >= start,
            BillingRecord.care_date <= end,
        )
    )
    return [
        ReconciliationItem(
            classification=C.VISIT_NOT_BILLED,
            num_am=record.nurse_am_number,
            nir=record.patient_nir,
            care_date=record.care_date,
            nurse_id=record.nurse_id,
            record_id=record.id,
            request_id=record.request_id,
            insee=record.insee,
            commune=record.commune,
            expected_amount=record.total,
            expected_ik_km=expected_ik_km(record),
            detail="Aucune facturation reçue pour cette visite.",
        )
        for record in records
        if record.id not in claimed
    ]


@dataclass(frozen=True)
class ItemFilters:
    classification: str = ""
    start: date | None = None
    end: date | None = None
    nurse_id: int | None = None
    insee: str = ""


def items_query(import_id: int, filters: ItemFilters):
    query = select(ReconciliationItem).where(ReconciliationItem.import_id == import_id)
    if filters.classification:
        query = query.where(ReconciliationItem.classification == filters.classification)
    if filters.start:
        query = query.where(ReconciliationItem.care_date >= filters.start)
    if filters.end:
        query = query.where(ReconciliationItem.care_date <= filters.end)
    if filters.nurse_id:
        query = query.where(ReconciliationItem.nurse_id == filters.nurse_id)
    if filters.insee:
        query = query.where(ReconciliationItem.insee == filters.insee)
    return query


ITEM_ORDER = (ReconciliationItem.care_date, ReconciliationItem.id)


@dataclass(frozen=True)
class ClassTotal:
    classification: Classification
    count: int
    claimed: Decimal
    expected: Decimal


def totals_by_class(session: Session, import_id: int, filters: ItemFilters) -> list[ClassTotal]:
    """Count and amounts per class, in the catalogue's order (SQL aggregates)."""
    base = items_query(import_id, ItemFilters(**{**filters.__dict__, "classification": ""}))
    rows = base.subquery()
    grouped = session.exec(
        select(
            rows.c.classification,
            func.count(),
            func.sum(rows.c.claimed_amount),
            func.sum(rows.c.expected_amount),
        ).group_by(rows.c.classification)
    ).all()
    found = {row[0]: row for row in grouped}
    zero = Decimal("0.00")
    return [
        ClassTotal(
            c,
            found[c][1] if c in found else 0,
            found[c][2] or zero if c in found else zero,
            found[c][3] or zero if c in found else zero,
        )
        for c in Classification
    ]


def imports_of(session: Session, cpam_code: str) -> list[ClaimImport]:
    return list(
        session.exec(
            select(ClaimImport)
            .where(ClaimImport.cpam_code == cpam_code)
            .order_by(ClaimImport.imported_at.desc())
        ).all()
    )


def import_for(session: Session, import_id: int, cpam_code: str) -> ClaimImport:
    batch = session.get(ClaimImport, import_id)
    if batch is None or batch.cpam_code != cpam_code:
        raise NotFound(f"Import n° {import_id} introuvable.")
    return batch


def read_items(session: Session, batch: ClaimImport, *, actor: object, purpose: str) -> None:
    """An import's claims name patients (their NIR): every display of them is audited."""
    audit.record(
        session,
        actor=actor,
        action="claim_import.read",
        target_type="claim_import",
        target_id=batch.id,
        details={"purpose": purpose},
    )


@dataclass(frozen=True)
class Week:
    monday: date
    visits: int
    amount: Decimal
    claims: int
    anomalies: int

    @property
    def anomaly_rate(self) -> float | None:
        """None for a week no import covers: no claims, so no rate (not 0 %)."""
        return self.anomalies / self.claims if self.claims else None


def weekly(session: Session, cpam_code: str, start: date | None, end: date | None) -> list[Week]:
    """Visits billed, amounts, and the share of anomalies among reconciled items, per week of
    care: aggregated per day by the database, folded into weeks here (at most a few hundred
    days)."""
    records = current_invoices().where(BillingRecord.cpam_code == cpam_code)
    items = (
        select(ReconciliationItem)
        .join(ClaimImport, ClaimImport.id == ReconciliationItem.import_id)
        .where(ClaimImport.cpam_code == cpam_code)
    )
    if start:
        records = records.where(BillingRecord.care_date >= start)
        items = items.where(ReconciliationItem.care_date >= start)
    if end:
        records = records.where(BillingRecord.care_date <= end)
        items = items.where(ReconciliationItem.care_date <= end)
    bills = records.subquery()
    weeks: dict[date, list] = defaultdict(lambda: [0, Decimal("0.00"), 0, 0])
    for day, count, amount in session.exec(
        select(bills.c.care_date, func.count(), func.sum(bills.c.total)).group_by(bills.c.care_date)
    ):
        week = weeks[_monday(day)]
        week[0] += count
        week[1] += amount or 0
    reconciled = items.subquery()
    anomaly = sa.case((reconciled.c.classification != C.MATCHED.value, 1), else_=0)
    for day, count, anomalies in session.exec(
        select(reconciled.c.care_date, func.count(), func.sum(anomaly)).group_by(
            reconciled.c.care_date
        )
    ):
        week = weeks[_monday(day)]
        week[2] += count
        week[3] += int(anomalies or 0)
    return [Week(monday, *weeks[monday]) for monday in sorted(weeks)]


def _monday(day) -> date:
    if not isinstance(day, date):
        day = date.fromisoformat(str(day))
    return day - timedelta(days=day.weekday())


def anomalies_query(import_id: int, filters: ItemFilters):
    return items_query(import_id, filters).where(
        ReconciliationItem.classification != C.MATCHED.value
    )


def anomalies(session: Session, import_id: int, filters: ItemFilters) -> list[ReconciliationItem]:
    query = anomalies_query(import_id, filters)
    return list(session.exec(query.order_by(*ITEM_ORDER)).all())


def nurses_of_import(session: Session, import_id: int) -> list[tuple[int, str]]:
    """The nurses the import's items name, for its filter."""
    return list(
        session.exec(
            select(Nurse.id, Nurse.last_name + " " + Nurse.first_name)
            .join(ReconciliationItem, ReconciliationItem.nurse_id == Nurse.id)
            .where(ReconciliationItem.import_id == import_id)
            .distinct()
            .order_by(Nurse.id)
        ).all()
    )


def latest_classes(session: Session, record_ids: list[int]) -> dict[int, Classification]:
    """What the latest reconciliation said of each record (for the nurse's list of visits)."""
    if not record_ids:
        return {}
    rows = session.exec(
        select(ReconciliationItem.record_id, ReconciliationItem.classification)
        .where(ReconciliationItem.record_id.in_(record_ids))
        .order_by(ReconciliationItem.id)
    )
    return {record_id: Classification(value) for record_id, value in rows}
