"""JSON API of billing: records (nurses their own, CPAM staff their CPAM's), their CSV export,
and the reconciliation imports of CPAM staff."""

import json

from flask import g, jsonify, request
from sqlmodel import select

from app.billing_params import csv_response, period_of, records_query, wants_french
from app.blueprints.api import blueprint, checked, roles
from app.blueprints.api_visits import token_nurse
from app.db import begin_write, get_session
from app.pagination import requested_page, requested_per_page
from billing import claims, exports, records
from billing import reconciliation as service
from billing.models import ClaimImport, Classification
from billing.reconciliation import ItemFilters
from registry.accounts import Role
from registry.errors import PermissionDenied, invalid
from registry.nurses.models import Nurse
from registry.paging import page_of


def _scope() -> dict:
    """The records the token's user may read: a nurse hers, CPAM staff their CPAM's."""
    user = g.api_user
    if user.role == Role.NURSE:
        return {"nurse": token_nurse()}
    return {"cpam_code": user.cpam_code}


def _query(scope: dict):
    query, _period = records_query(
        request.args, nurse_id=_nurse_filter(scope), cpam_code=scope.get("cpam_code")
    )
    return query


def _nurse_filter(scope: dict) -> int | None:
    """`nurse`: a nurse's id, or her RPPS (11 digits). A nurse may only name herself."""
    text = (request.args.get("nurse") or "").strip()
    own = scope.get("nurse")
    if not text:
        return own.id if own else None
    if not text.isdecimal() or len(text) > 11:
        invalid("nurse", "Identifiant ou RPPS (11 chiffres) de l'infirmier·e attendu.")
    db = get_session()
    if len(text) == 11:
        nurse = db.exec(select(Nurse).where(Nurse.rpps == text)).first()
    else:
        nurse = db.get(Nurse, int(text))
    nurse_id = nurse.id if nurse is not None else -1  # an unknown nurse has no records
    if own is not None and nurse_id != own.id:
        raise PermissionDenied("Vous ne pouvez consulter que vos propres factures.")
    return nurse_id


@blueprint.get("/billing/records")
@roles(Role.NURSE, Role.CPAM)
def list_records():
    db = get_session()
    scope = _scope()
    page, per_page = requested_page(), requested_per_page()
    rows, total = page_of(db, _query(scope), records.ORDER, page, per_page)
    lines = exports.lines_by_record(db, [row.id for row in rows])
    records.read_records(db, [row.id for row in rows], actor=g.api_user, purpose="api")
    db.commit()
    return jsonify(
        items=[exports.record_document(row, lines[row.id], db) for row in rows],
        page=page,
        per_page=per_page,
        total=total,
    )


@blueprint.get("/billing/records/<int:record_id>")
@roles(Role.NURSE, Role.CPAM)
def get_record(record_id: int):
    db = get_session()
    scope = _scope()
    record = records.record_for(
        db, record_id, nurse=scope.get("nurse"), cpam_code=scope.get("cpam_code")
    )
    records.read_record(db, record, actor=g.api_user, purpose="api")
    db.commit()
    return jsonify(exports.record_document(record, records.lines_of(db, record.id), db))


@blueprint.get("/billing/records.csv")
@roles(Role.NURSE, Role.CPAM)
def records_csv():
    french = wants_french(request.args)
    db = get_session()
    rows, lines = exports.records_with_lines(db, _query(_scope()))
    records.read_records(db, [row.id for row in rows], actor=g.api_user, purpose="api-csv")
    db.commit()
    text = exports.to_csv(exports.csv_rows(rows, lines), exports.CSV_COLUMNS, french=french)
    return csv_response(text, "factures-vdsi-fr.csv" if french else "factures-vdsi.csv")


def import_document(batch: ClaimImport) -> dict:
    return {
        "id": batch.id,
        "filename": batch.filename,
        "imported_at": batch.imported_at.isoformat(),
        "imported_by": batch.imported_by,
        "lines": batch.line_count,
        "claims": batch.claim_count,
        "period": {"from": batch.period_from.isoformat(), "to": batch.period_to.isoformat()},
        "counts": {c.value: batch.counts.get(c.value, 0) for c in Classification},
        "anomalies": sum(
            count for name, count in batch.counts.items() if name != Classification.MATCHED
        ),
    }


def _mapping() -> dict[str, str]:
    """The column mapping: a JSON object in field `mapping`, or `map_<column>` fields."""
    raw = request.form.get("mapping", "").strip()
    if raw:
        try:
            mapping = json.loads(raw)
        except ValueError:
            invalid("mapping", "Un objet JSON {colonne attendue: colonne du fichier} est attendu.")
        if not isinstance(mapping, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in mapping.items()
        ):
            invalid("mapping", "Un objet JSON {colonne attendue: colonne du fichier} est attendu.")
        return mapping
    return claims.mapping_from_fields(request.form)


@blueprint.post("/reconciliation/imports")
@roles(Role.CPAM)
def post_import():
    upload = request.files.get("file")
    if upload is None:
        invalid("file", "Joignez le fichier dans le champ multipart « file ».")
    mapping = checked({"file": upload.filename or "", "mapping": _mapping()})["mapping"]
    parsed = claims.parse_claims(upload.read(), mapping)
    db = get_session()
    begin_write(db)
    batch = service.import_claims(
        db,
        parsed,
        cpam_code=g.api_user.cpam_code,
        filename=upload.filename or "",
        actor=g.api_user,
        mapping=mapping,
    )
    db.commit()
    return jsonify(import_document(batch)), 201


@blueprint.get("/reconciliation/imports/<int:import_id>")
@roles(Role.CPAM)
def get_import(import_id: int):
    return jsonify(import_document(service.import_for(get_session(), import_id, _cpam())))


def _cpam() -> str:
    return g.api_user.cpam_code


@blueprint.get("/reconciliation/imports/<int:import_id>/anomalies")
@roles(Role.CPAM)
def get_anomalies(import_id: int):
    db = get_session()
    batch = service.import_for(db, import_id, _cpam())
    shown = request.args.get("class", "")
    if shown and shown not in Classification.__members__.values():
        invalid("class", f"Classe inconnue. Classes : {', '.join(Classification)}.")
    if shown == Classification.MATCHED:
        invalid("class", "« matched » n'est pas une anomalie.")
    period = period_of(request.args)
    filters = ItemFilters(classification=shown, start=period.start, end=period.end)
    query = service.anomalies_query(import_id, filters)
    page, per_page = requested_page(), requested_per_page()
    items, total = page_of(db, query, service.ITEM_ORDER, page, per_page)
    service.read_items(db, batch, actor=g.api_user, purpose="api")
    db.commit()
    return jsonify(
        items=[
            {
                "id": item.id,
                "classification": item.classification,
                "label": item.classification_label,
                "care_date": item.care_date.isoformat(),
                "num_am": item.num_am,
                "nir": item.nir,
                "commune": item.commune,
                "insee": item.insee,
                "claimed_amount": _text(item.claimed_amount),
                "paid_amount": _text(item.paid_amount),
                "expected_amount": _text(item.expected_amount),
                "claimed_ik_km": _text(item.claimed_ik_km),
                "expected_ik_km": _text(item.expected_ik_km),
                "line": item.first_line,
                "lines": item.lines,
                "record_id": item.record_id,
                "request_id": item.request_id,
                "nurse_id": item.nurse_id,
                "detail": item.detail,
            }
            for item in items
        ],
        page=page,
        per_page=per_page,
        total=total,
    )


def _text(value) -> str | None:
    return None if value is None else str(value)
