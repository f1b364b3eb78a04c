"""The nurse's bills: the records issued for her visits, a record, its correction, her monthly
statement and exports."""

from app.blueprints.billing_pages import (
    Scope,
    correct,
    csv_export,
    detail_page,
    list_page,
    statement_page,
)
from app.blueprints.nurse import _own_nurse, blueprint


def _scope() -> Scope:
    return Scope("nurse", nurse=_own_nurse())


@blueprint.get("/billing")
def billing_list():
    return list_page(_scope())


@blueprint.get("/billing/<int:record_id>")
def billing_detail(record_id: int):
    return detail_page(_scope(), record_id)


@blueprint.post("/billing/<int:record_id>/correct")
def billing_correct(record_id: int):
    return correct(_scope(), record_id)


@blueprint.get("/billing/statement")
def billing_statement():
    return statement_page(_scope())


@blueprint.get("/billing/records.csv")
def billing_csv():
    return csv_export(_scope())
