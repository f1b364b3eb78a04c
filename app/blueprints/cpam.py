"""The CPAM billing staff's pages: the nurses who bill, the bills of their CPAM (list, record,
correction, monthly statement, exports)."""

from flask import Blueprint, render_template
from flask_login import current_user

from app.auth import restrict_to
from app.blueprints.billing_pages import (
    Scope,
    correct,
    csv_export,
    detail_page,
    list_page,
    statement_page,
)
from app.db import get_session
from app.pagination import Page, requested_page
from registry.accounts import Role
from registry.nurses.models import NurseStatus
from registry.nurses.queries import list_nurses

blueprint = Blueprint("cpam", __name__)
restrict_to(blueprint, Role.CPAM)

PER_PAGE = 25


@blueprint.get("/")
def home():
    page = requested_page()
    nurses, total = list_nurses(
        get_session(), status=NurseStatus.ACTIVE, page=page, per_page=PER_PAGE
    )
    return render_template("cpam/home.html", nurses=nurses, page=Page(page, PER_PAGE, total))


def _scope() -> Scope:
    return Scope("cpam", cpam_code=current_user.cpam_code)


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
