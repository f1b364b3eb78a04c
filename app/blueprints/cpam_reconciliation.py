"""Reconciliation for CPAM staff: import a claims extract (columns mapped when its layout
differs), see each import's claims by class with filters and drill-down, export the anomalies,
and follow visits, amounts and the anomaly rate week by week."""

import json

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlmodel import select

from app.billing_forms import ClaimImportForm, mapping_fields
from app.billing_params import csv_response, nurse_filter, period_of, wants_french
from app.blueprints.agent import progress_of
from app.blueprints.cpam import blueprint
from app.db import begin_write, get_session
from app.pagination import Page, requested_page
from billing import claims
from billing import reconciliation as service
from billing.exports import to_csv
from billing.models import BillingRecord, Classification, ReconciliationItem
from billing.reconciliation import ItemFilters
from registry.errors import Conflict, ValidationFailed
from registry.paging import page_of
from registry.requests.services import request_for
from registry.visits.reports import report_of

PER_PAGE = 50
ANOMALY_COLUMNS = (
    "classe",
    "libelle",
    "date_soins",
    "num_am",
    "nir",
    "commune",
    "insee",
    "montant_facture",
    "montant_rembourse",
    "montant_attendu",
    "km_ik_factures",
    "km_ik_estimes",
    "ligne",
    "facture",
    "demande",
    "detail",
)


@blueprint.route("/reconciliation", methods=["GET", "POST"])
def reconciliation():
    db = get_session()
    form = ClaimImportForm()
    headings: list[str] = []
    line_errors: list[str] = []
    status = 200
    if form.validate_on_submit():
        content = form.file.data.read()
        mapping = claims.mapping_from_fields(request.form)
        begin_write(db)
        try:
            parsed = claims.parse_claims(content, mapping)
            batch = service.import_claims(
                db,
                parsed,
                cpam_code=current_user.cpam_code,
                filename=form.file.data.filename,
                actor=current_user,
                mapping=mapping,
            )
        except ValidationFailed as error:
            db.rollback()
            status = 422
            if any(e.field == "file" and "Colonnes manquantes" in e.message for e in error.errors):
                headings = claims.headings_of(content)
            if isinstance(error, claims.ClaimFileRefused):
                form.file.errors = [error.detail]
                line_errors = [e.message for e in error.errors]
            else:
                form.file.errors = [e.message for e in error.errors]
        except Conflict as error:
            db.rollback()
            status = 409
            form.file.errors = [error.detail]
        else:
            db.commit()
            flash(
                f"Import n° {batch.id} : {batch.claim_count} facturation(s) rapprochée(s).",
                "success",
            )
            return redirect(url_for("cpam.reconciliation_import", import_id=batch.id))
    elif request.method == "POST":
        status = 422
    try:
        period = period_of(request.args)
    except ValidationFailed as error:
        flash(" ".join(e.message for e in error.errors), "error")
        return redirect(url_for("cpam.reconciliation"))
    weeks = service.weekly(db, current_user.cpam_code, period.start, period.end)
    page = render_template(
        "cpam/reconciliation.html",
        form=form,
        imports=service.imports_of(db, current_user.cpam_code),
        headings=headings,
        mapping_fields=mapping_fields(),
        chosen=claims.mapping_from_fields(request.form),
        line_errors=line_errors,
        weeks=weeks,
        charts=_charts(weeks),
        columns=claims.COLUMNS,
    )
    return page, status


def _charts(weeks) -> dict[str, str]:
    labels = [week.monday.strftime("%d/%m") for week in weeks]
    return {
        "visits": json.dumps(
            {
                "type": "bar",
                "labels": labels,
                "datasets": [{"label": "Visites facturées", "data": [w.visits for w in weeks]}],
            }
        ),
        "amounts": json.dumps(
            {
                "type": "line",
                "labels": labels,
                "datasets": [{"label": "Montant (€)", "data": [float(w.amount) for w in weeks]}],
            }
        ),
        "anomalies": json.dumps(
            {
                "type": "line",
                "labels": labels,
                "percent": True,
                "datasets": [
                    {
                        "label": "Taux d'anomalies",
                        "data": [w.anomaly_rate for w in weeks],
                        "spanGaps": True,
                    }
                ],
            }
        ),
    }


def _filters() -> ItemFilters:
    period = period_of(request.args)
    shown = request.args.get("class", "")
    if shown and shown not in Classification.__members__.values():
        shown = ""
    return ItemFilters(
        classification=shown,
        start=period.start,
        end=period.end,
        nurse_id=nurse_filter(request.args),
        insee=(request.args.get("insee") or "").strip(),
    )


@blueprint.get("/reconciliation/<int:import_id>")
def reconciliation_import(import_id: int):
    db = get_session()
    batch = service.import_for(db, import_id, current_user.cpam_code)
    try:
        filters = _filters()
    except ValidationFailed as error:
        flash(" ".join(e.message for e in error.errors), "error")
        return redirect(url_for("cpam.reconciliation_import", import_id=import_id))
    page = requested_page()
    items, total = page_of(
        db,
        service.items_query(import_id, filters),
        service.ITEM_ORDER,
        page,
        PER_PAGE,
    )
    nurses = service.nurses_of_import(db, import_id)
    service.read_items(db, batch, actor=current_user, purpose="page")
    db.commit()
    return render_template(
        "cpam/reconciliation_import.html",
        batch=batch,
        totals=service.totals_by_class(db, import_id, filters),
        items=items,
        page=Page(page, PER_PAGE, total),
        filters=filters,
        nurses=nurses,
        classes=list(Classification),
    )


@blueprint.get("/reconciliation/<int:import_id>/anomalies.csv")
def reconciliation_anomalies(import_id: int):
    db = get_session()
    batch = service.import_for(db, import_id, current_user.cpam_code)
    items = service.anomalies(db, import_id, _filters())
    service.read_items(db, batch, actor=current_user, purpose="csv")
    db.commit()
    french = wants_french(request.args)
    text = to_csv((anomaly_row(item) for item in items), ANOMALY_COLUMNS, french=french)
    return csv_response(text, f"anomalies-import-{import_id}{'-fr' if french else ''}.csv")


def anomaly_row(item: ReconciliationItem) -> dict:
    return {
        "classe": item.classification,
        "libelle": item.classification_label,
        "date_soins": item.care_date,
        "num_am": item.num_am,
        "nir": item.nir,
        "commune": item.commune,
        "insee": item.insee,
        "montant_facture": item.claimed_amount,
        "montant_rembourse": item.paid_amount,
        "montant_attendu": item.expected_amount,
        "km_ik_factures": item.claimed_ik_km,
        "km_ik_estimes": item.expected_ik_km,
        "ligne": item.first_line,
        "facture": item.record_id,
        "demande": item.request_id,
        "detail": item.detail,
    }


@blueprint.get("/requests/<int:request_id>")
def request_detail(request_id: int):
    """The request and the visit behind a bill or an anomaly: who booked it when, its progress,
    the report's billing facts (not its clinical content), and its bills."""
    db = get_session()
    visit = request_for(db, request_id, current_user, purpose="reconciliation")
    db.commit()
    return render_template(
        "cpam/request_detail.html",
        report=report_of(db, visit.id),
        bills=db.exec(
            select(BillingRecord)
            .where(BillingRecord.request_id == visit.id)
            .order_by(BillingRecord.number)
        ).all(),
        **progress_of(db, visit),
    )
