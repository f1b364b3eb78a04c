"""The CPAM billing staff's pages."""

from flask import Blueprint, render_template

from app.auth import restrict_to
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
