"""Billing records: issued when a visit report is filed, numbered per nurse without gaps, never
changed afterwards; a correction is a credit that cancels the record and a new record that
replaces it."""

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import aliased
from sqlmodel import Session, select, update

from billing.catalogue import catalogue_of
from billing.models import BillingCounter, BillingLine, BillingRecord, RecordKind, Zone
from billing.pricing import TENTH, PricedLine, VisitFacts, parse_km, price_visit, total_of
from registry import audit
from registry.errors import Conflict, NotFound, invalid
from registry.geo.distance import great_circle_km
from registry.nurses.models import Nurse
from registry.requests.models import RequestStatus, VisitRequest
from registry.requests.services import transition_if
from registry.text import one_line
from registry.visits.models import VisitReport

# The fictitious prescriber and the exoneration every VDSI bill names (PRODUCT §5).
PRESCRIBER_NAME = "ISOLEMENT COVID"
PRESCRIBER_NUMBER = "291991198"
EXONERATION = "EXO DIV 3"
ZERO = Decimal("0.00")


def facts_of(
    request: VisitRequest,
    nurse: Nurse,
    *,
    cared_at: datetime,
    declared_km: Decimal | None,
    tests: dict[str, int],
) -> VisitFacts:
    estimate = estimated_km(request, nurse)
    return VisitFacts(
        care_date=care_date(request, cared_at),
        department=request.department,
        zone=Zone.DROM if request.overseas else Zone.METROPOLE,
        distance_km=declared_km if declared_km is not None else estimate,
        same_commune=request.insee == nurse.practice_insee,
        mountain=nurse.mountain,
        tests=tests,
    )


def estimated_km(request: VisitRequest, nurse: Nurse) -> Decimal:
    """The great-circle distance from the practice to the patient's home, to 0.1 km."""
    km = great_circle_km(
        nurse.practice_latitude, nurse.practice_longitude, request.latitude, request.longitude
    )
    return Decimal(str(km)).quantize(TENTH, rounding=ROUND_HALF_UP)


def care_date(request: VisitRequest, cared_at: datetime) -> date:
    """The day of care where it took place: it decides the tariff and the Sunday majoration."""
    return cared_at.astimezone(ZoneInfo(request.timezone)).date()


def tests_by_act(report: VisitReport | None) -> dict[str, int]:
    """People of the household tested during the visit, by act (PCR, TAG)."""
    tests: dict[str, int] = {}
    for test in report.household_tests if report else []:
        act = str(test["kind"]).upper()
        tests[act] = tests.get(act, 0) + int(test["count"])
    return tests


def issue_for_report(
    session: Session, request: VisitRequest, report: VisitReport, nurse: Nurse, *, actor: object
) -> BillingRecord:
    """The bill of a reported visit; the request becomes `billed`. A second bill for the same
    request is refused by the database (one VDSI per index patient episode)."""
    facts = facts_of(
        request,
        nurse,
        cared_at=report.visited_at,
        declared_km=report.ik_km,
        tests=tests_by_act(report),
    )
    lines = price_visit(facts, catalogue_of(session))
    record = _issue(
        session,
        request_id=request.id,
        copied=_copied_facts(request),
        nurse=nurse,
        report_id=report.id,
        cared_at=report.visited_at,
        facts=facts,
        estimate=estimated_km(request, nurse),
        declared=report.ik_km,
        lines=lines,
        actor=actor,
    )
    transition_if(
        session,
        request.id,
        RequestStatus.VISITED,
        RequestStatus.BILLED,
        actor=actor,
        reason=f"facture n° {record.number} émise ({record.total} €)",
    )
    return record


# What a record keeps of the request (its own name: the request's), so that it outlives the
# request's pseudonymisation.
COPIED = {
    "cpam_code": "cpam_code",
    "patient_nir": "nir",
    "patient_last_name": "last_name",
    "patient_first_name": "first_name",
    "patient_birth_date": "birth_date",
    "commune": "address_commune",
    "insee": "insee",
    "department": "department",
}


def _copied_facts(request: VisitRequest) -> dict:
    return {name: getattr(request, source) for name, source in COPIED.items()}


def _issue(
    session: Session,
    *,
    request_id: int,
    copied: dict,
    nurse: Nurse,
    report_id: int | None,
    cared_at: datetime,
    facts: VisitFacts,
    estimate: Decimal,
    declared: Decimal | None,
    lines: list[PricedLine],
    actor: object,
    replaces: BillingRecord | None = None,
    reason: str = "",
) -> BillingRecord:
    record = BillingRecord(
        nurse_id=nurse.id,
        number=next_number(session, nurse.id),
        kind=RecordKind.INVOICE,
        request_id=request_id,
        report_id=report_id,
        replaces_id=replaces.id if replaces else None,
        reason=reason,
        nurse_rpps=nurse.rpps,
        nurse_am_number=nurse.am_number,
        nurse_name=f"{nurse.last_name} {nurse.first_name}",
        zone=facts.zone,
        cared_at=cared_at,
        care_date=facts.care_date,
        prescriber_name=PRESCRIBER_NAME,
        prescriber_number=PRESCRIBER_NUMBER,
        exoneration=EXONERATION,
        third_party=True,
        total=total_of(lines),
        patient_share=ZERO,
        mountain=facts.mountain,
        same_commune=facts.same_commune,
        ik_estimate_km=estimate,
        ik_declared_km=declared,
        issued_by=_actor_label(actor),
        **copied,
    )
    session.add(record)
    session.flush()
    _add_lines(session, record, lines)
    audit.record(
        session,
        actor=actor,
        action="billing_record.issued",
        target_type="billing_record",
        target_id=record.id,
        details={"request": request_id, "number": record.number, "total": str(record.total)},
    )
    return record


def _add_lines(session: Session, record: BillingRecord, lines: list[PricedLine]) -> None:
    for position, line in enumerate(lines, start=1):
        session.add(BillingLine(record_id=record.id, position=position, **line.__dict__))
    session.flush()


def next_number(session: Session, nurse_id: int) -> int:
    """The nurse's next record number, taken in the transaction that issues the record: a
    rolled-back record gives its number back, and two concurrent records queue on the
    counter's row, so numbers never skip nor repeat."""
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    session.execute(
        insert(BillingCounter)
        .values(nurse_id=nurse_id, last_number=0)
        .on_conflict_do_nothing(index_elements=["nurse_id"])
    )
    return session.execute(
        update(BillingCounter)
        .where(BillingCounter.nurse_id == nurse_id)
        .values(last_number=BillingCounter.last_number + 1)
        .returning(BillingCounter.last_number)
    ).scalar_one()


def _actor_label(actor: object) -> str:
    return getattr(actor, "email", None) or str(actor)


def lines_of(session: Session, record_id: int) -> list[BillingLine]:
    return list(
        session.exec(
            select(BillingLine)
            .where(BillingLine.record_id == record_id)
            .order_by(BillingLine.position)
        ).all()
    )


def numbers_of(session: Session, record_ids: list[int | None]) -> dict[int, int]:
    """The numbers (per nurse) of records known by their ids: what people read on a bill."""
    ids = [record_id for record_id in record_ids if record_id]
    if not ids:
        return {}
    rows = session.exec(
        select(BillingRecord.id, BillingRecord.number).where(BillingRecord.id.in_(ids))
    )
    return dict(rows.all())


def credit_of(session: Session, record_id: int) -> BillingRecord | None:
    return session.exec(select(BillingRecord).where(BillingRecord.cancels_id == record_id)).first()


def replacement_of(session: Session, record_id: int) -> BillingRecord | None:
    return session.exec(select(BillingRecord).where(BillingRecord.replaces_id == record_id)).first()


# Built once: an ORM alias costs more to build than the query that uses it (about 1 ms, a sixth of
# the nurse's list of visits when it was built per call).
_CREDIT = aliased(BillingRecord, name="credit")


def current_invoices():
    """Invoices no credit has cancelled: what the platform stands by."""
    cancelled = select(_CREDIT.id).where(_CREDIT.cancels_id == BillingRecord.id).exists()
    return select(BillingRecord).where(BillingRecord.kind == RecordKind.INVOICE, ~cancelled)


def current_record(session: Session, request_id: int) -> BillingRecord | None:
    return session.exec(current_invoices().where(BillingRecord.request_id == request_id)).first()


def correct(
    session: Session,
    record_id: int,
    *,
    declared_km: object,
    reason: str,
    actor: object,
    nurse: Nurse | None = None,
    cpam_code: str | None = None,
) -> tuple[BillingRecord, BillingRecord]:
    """Cancels an invoice by a credit and issues its replacement, priced again with the km
    corrected (empty: the platform's estimate). Returns (credit, replacement)."""
    record = record_for(session, record_id, nurse=nurse, cpam_code=cpam_code)
    if record.kind != RecordKind.INVOICE:
        raise Conflict("Un avoir ne se corrige pas : corrigez la facture qu'il annule.")
    if credit_of(session, record.id) is not None:
        raise Conflict("Cette facture est déjà annulée ; corrigez celle qui la remplace.")
    reason = one_line(reason or "", limit=500)
    if not reason:
        invalid("reason", "Indiquez le motif de la correction.")
    try:
        declared = parse_km(declared_km)
    except ValueError as error:
        invalid("ik_km", str(error))
    holder = session.get(Nurse, record.nurse_id)
    report = session.get(VisitReport, record.report_id) if record.report_id else None
    estimate = record.ik_estimate_km
    # Priced again as first billed (same day, zone and mountain flag), but for the km.
    facts = VisitFacts(
        care_date=record.care_date,
        department=record.department,
        zone=record.zone,
        distance_km=declared if declared is not None else estimate,
        same_commune=record.same_commune,
        mountain=record.mountain,
        tests=tests_by_act(report),
    )
    lines = price_visit(facts, catalogue_of(session))
    credit = _credit(session, record, reason, actor)
    replacement = _issue(
        session,
        request_id=record.request_id,
        copied={name: getattr(record, name) for name in COPIED},
        nurse=holder,
        report_id=record.report_id,
        cared_at=record.cared_at,
        facts=facts,
        estimate=estimate,
        declared=declared,
        lines=lines,
        actor=actor,
        replaces=record,
        reason=reason,
    )
    return credit, replacement


def _credit(session: Session, record: BillingRecord, reason: str, actor: object) -> BillingRecord:
    values = record.model_dump(exclude={"id", "number", "kind", "replaces_id", "issued_at"})
    credit = BillingRecord(
        **values
        | {
            "number": next_number(session, record.nurse_id),
            "kind": RecordKind.CREDIT,
            "cancels_id": record.id,
            "total": -record.total,
            "reason": reason,
            "issued_by": _actor_label(actor),
        }
    )
    session.add(credit)
    session.flush()
    for line in lines_of(session, record.id):
        session.add(
            BillingLine(
                **line.model_dump(exclude={"id", "record_id", "amount"})
                | {"record_id": credit.id, "amount": -line.amount}
            )
        )
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="billing_record.credited",
        target_type="billing_record",
        target_id=record.id,
        details={"credit": credit.id, "number": credit.number, "reason": reason},
    )
    return credit


def record_for(
    session: Session, record_id: int, *, nurse: Nurse | None = None, cpam_code: str | None = None
) -> BillingRecord:
    """A record its reader may see: a nurse her own, CPAM staff their CPAM's (else 404)."""
    record = session.get(BillingRecord, record_id)
    if (
        record is None
        or (nurse is not None and record.nurse_id != nurse.id)
        or (cpam_code is not None and record.cpam_code != cpam_code)
    ):
        raise NotFound(f"Facture n° {record_id} introuvable.")
    return record


def read_record(session: Session, record: BillingRecord, *, actor: object, purpose: str) -> None:
    """A bill names the patient: every display of one is in the audit log."""
    audit.record(
        session,
        actor=actor,
        action="billing_record.read",
        target_type="billing_record",
        target_id=record.id,
        details={"purpose": purpose},
    )


def read_records(session: Session, record_ids: list[int], *, actor: object, purpose: str) -> None:
    """An export or a list of bills naming patients: one audit entry naming every record."""
    if record_ids:
        audit.record(
            session,
            actor=actor,
            action="billing_record.read",
            target_type="billing_record",
            target_id=record_ids[0] if len(record_ids) == 1 else "",
            details={"purpose": purpose, "records": record_ids[:1000], "count": len(record_ids)},
        )


def search(
    *,
    nurse_id: int | None = None,
    cpam_code: str | None = None,
    start: date | None = None,
    end: date | None = None,
    insee: str | None = None,
):
    """The query of records matching the filters (newest first once ordered by the caller)."""
    query = select(BillingRecord)
    if nurse_id is not None:
        query = query.where(BillingRecord.nurse_id == nurse_id)
    if cpam_code is not None:
        query = query.where(BillingRecord.cpam_code == cpam_code)
    if start is not None:
        query = query.where(BillingRecord.care_date >= start)
    if end is not None:
        query = query.where(BillingRecord.care_date <= end)
    if insee:
        query = query.where(BillingRecord.insee == insee)
    return query


ORDER = (BillingRecord.care_date.desc(), BillingRecord.id.desc())


def status_by_request(session: Session, request_ids: list[int]) -> dict[int, BillingRecord]:
    """The current invoice of each request that has one (for the nurse's list of visits)."""
    if not request_ids:
        return {}
    rows = session.exec(current_invoices().where(BillingRecord.request_id.in_(request_ids)))
    return {record.request_id: record for record in rows}


def total_billed(session: Session, query) -> Decimal:
    subquery = query.subquery()
    value = session.exec(select(func.sum(subquery.c.total))).one()
    return value if value is not None else ZERO
