"""Billing pages shared by nurses (their own records) and CPAM staff (their CPAM's): the list with
its filters and exports, a record, its correction, and the monthly statement."""

from collections.abc import Callable
from dataclasses import dataclass

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select as sa_select

from app.billing_forms import CorrectionForm
from app.billing_params import (
    csv_response,
    month_of,
    nurse_filter,
    records_query,
    wants_french,
)
from app.db import begin_write, get_session
from app.pagination import Page, requested_page
from billing import exports, records
from billing.models import BillingRecord, RecordKind
from billing.reconciliation import expected_ik_km
from billing.types import french
from registry.errors import ValidationFailed
from registry.nurses.models import Nurse
from registry.paging import page_of
from registry.timeutil import utcnow

PER_PAGE = 25


@dataclass(frozen=True)
class Scope:
    """Whose records a page shows: one nurse's, or one CPAM's."""

    prefix: str  # the blueprint: "nurse" or "cpam"
    nurse: Nurse | None = None
    cpam_code: str | None = None

    def url(self, name: str, **values) -> str:
        return url_for(f"{self.prefix}.billing_{name}", **values)


def add_routes(blueprint: Blueprint, scope: Callable[[], Scope]) -> None:
    """The billing pages on `blueprint` (under /billing), for the records `scope()` names."""
    routes = (
        ("", "list", lambda: list_page(scope()), ["GET"]),
        ("/<int:record_id>", "detail", lambda record_id: detail_page(scope(), record_id), ["GET"]),
        (
            "/<int:record_id>/correct",
            "correct",
            lambda record_id: correct(scope(), record_id),
            ["POST"],
        ),
        ("/statement", "statement", lambda: statement_page(scope()), ["GET"]),
        ("/records.csv", "csv", lambda: csv_export(scope()), ["GET"]),
    )
    for path, name, view, methods in routes:
        blueprint.add_url_rule(f"/billing{path}", f"billing_{name}", view, methods=methods)


def _filters(scope: Scope):
    nurse_id = scope.nurse.id if scope.nurse else nurse_filter(request.args)
    return records_query(request.args, nurse_id=nurse_id, cpam_code=scope.cpam_code)


def list_page(scope: Scope):
    db = get_session()
    try:
        query, period = _filters(scope)
    except ValidationFailed as error:
        flash(" ".join(e.message for e in error.errors), "error")
        return redirect(scope.url("list"))
    page = requested_page()
    rows, total = page_of(db, query, records.ORDER, page, PER_PAGE)
    credits = {
        credit.cancels_id
        for credit in db.exec(
            records.search(cpam_code=scope.cpam_code).where(
                BillingRecord.cancels_id.in_([r.id for r in rows])
            )
        )
    }
    nurses = _nurses(scope)
    return render_template(
        "billing/list.html",
        scope=scope,
        rows=rows,
        cancelled=credits,
        numbers=records.numbers_of(db, [r.cancels_id for r in rows if r.cancels_id]),
        page=Page(page, PER_PAGE, total),
        amount=records.total_billed(db, query),
        period=period,
        nurses=nurses,
        month=utcnow().date().strftime("%Y-%m"),
    )


def _nurses(scope: Scope) -> list[tuple[int, str]]:
    """The nurses CPAM staff may filter on: those with a record of their CPAM."""
    if scope.nurse is not None:
        return []
    rows = get_session().exec(
        sa_select(BillingRecord.nurse_id, BillingRecord.nurse_name, BillingRecord.nurse_rpps)
        .where(BillingRecord.cpam_code == scope.cpam_code)
        .distinct()
        .order_by(BillingRecord.nurse_name, BillingRecord.nurse_rpps)
    )
    # Two nurses may share a name: the RPPS tells them apart.
    return [(nurse_id, f"{name} ({rpps})") for nurse_id, name, rpps in rows]
    return list(rows)


def _record(scope: Scope, record_id: int) -> BillingRecord:
    return records.record_for(
        get_session(), record_id, nurse=scope.nurse, cpam_code=scope.cpam_code
    )


def detail_page(scope: Scope, record_id: int, form: CorrectionForm | None = None, status=200):
    db = get_session()
    record = _record(scope, record_id)
    records.read_record(db, record, actor=current_user, purpose="page")
    db.commit()
    credit = records.credit_of(db, record.id) if record.kind == RecordKind.INVOICE else None
    form = form or CorrectionForm(ik_km=record.ik_declared_km)
    page = render_template(
        "billing/detail.html",
        scope=scope,
        record=record,
        lines=records.lines_of(db, record.id),
        credit=credit,
        replacement=records.replacement_of(db, record.id),
        numbers=records.numbers_of(db, [record.cancels_id, record.replaces_id]),
        status=exports.status_of(record, credit),
        status_labels=exports.STATUS_LABELS,
        expected_ik=expected_ik_km(record),
        form=form,
    )
    return page, status


def correct(scope: Scope, record_id: int):
    form = CorrectionForm()
    if not form.validate_on_submit():
        return detail_page(scope, record_id, form, 422)
    db = get_session()
    begin_write(db)
    try:
        _credit, replacement = records.correct(
            db,
            record_id,
            declared_km=form.ik_km.data,
            reason=form.reason.data,
            actor=current_user,
            nurse=scope.nurse,
            cpam_code=scope.cpam_code,
        )
    except ValidationFailed as error:
        db.rollback()
        form.ik_km.errors = [e.message for e in error.errors if e.field == "ik_km"]
        form.reason.errors = [e.message for e in error.errors if e.field == "reason"]
        return detail_page(scope, record_id, form, 422)
    db.commit()
    amount = french(replacement.total)
    flash(
        f"Facture annulée par un avoir ; nouvelle facture n° {replacement.number} ({amount} €).",
        "success",
    )
    return redirect(scope.url("detail", record_id=replacement.id))


def statement_page(scope: Scope):
    db = get_session()
    try:
        month = month_of(request.args, utcnow().date())
        nurse = scope.nurse or db.get(Nurse, nurse_filter(request.args) or 0)
    except ValidationFailed as error:
        flash(" ".join(e.message for e in error.errors), "error")
        return redirect(scope.url("list"))
    if nurse is None:
        abort(404)
    statement = exports.statement(db, nurse.id, month)
    if scope.cpam_code:
        statement = exports.Statement(
            statement.month,
            [r for r in statement.records if r.cpam_code == scope.cpam_code],
            statement.lines,
        )
    ids = [record.id for record in statement.records]
    records.read_records(db, ids, actor=current_user, purpose="statement")
    db.commit()
    return render_template(
        "billing/statement.html",
        scope=scope,
        nurse=nurse,
        statement=statement,
        now=utcnow(),
        numbers=records.numbers_of(db, [r.cancels_id for r in statement.records if r.cancels_id]),
    )


def csv_export(scope: Scope):
    query, _period = _filters(scope)
    french = wants_french(request.args)
    db = get_session()
    rows, lines = exports.records_with_lines(db, query)
    records.read_records(db, [row.id for row in rows], actor=current_user, purpose="csv")
    db.commit()
    text = exports.to_csv(exports.csv_rows(rows, lines), exports.CSV_COLUMNS, french=french)
    suffix = "-fr" if french else ""
    return csv_response(text, f"factures-vdsi{suffix}.csv")
