"""The CPAM billing staff's pages: the nurses who bill, the bills of their CPAM (list, record,
correction, monthly statement, exports)."""

from flask import Blueprint, render_template
from flask_login import current_user

from app.auth import restrict_to
from app.blueprints.billing_pages import Scope, add_routes
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


add_routes(blueprint, lambda: Scope("cpam", cpam_code=current_user.cpam_code))
