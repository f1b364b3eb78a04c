"""The URPS coordinator's pages: enrolments and coverage of the territory."""

from flask import Blueprint, render_template, request

from app.auth import restrict_to
from app.db import get_session
from app.pagination import Page, requested_page
from registry.accounts import Role
from registry.nurses import NurseStatus, count_by_status, list_nurses

blueprint = Blueprint("coordinator", __name__)
restrict_to(blueprint, Role.COORDINATOR)

PER_PAGE = 25


@blueprint.get("/")
def home():
    db = get_session()
    pending, _total = list_nurses(db, status=NurseStatus.PENDING, page=1, per_page=PER_PAGE)
    return render_template("coordinator/home.html", counts=count_by_status(db), pending=pending)


@blueprint.get("/nurses")
def nurses():
    status = request.args.get("status", "")
    if status not in NurseStatus.__members__.values():
        status = ""
    page = requested_page()
    rows, total = list_nurses(get_session(), status=status, page=page, per_page=PER_PAGE)
    return render_template(
        "coordinator/nurses.html",
        nurses=rows,
        status=status,
        statuses=list(NurseStatus),
        page=Page(page, PER_PAGE, total),
    )
