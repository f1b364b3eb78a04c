"""The tracing agent's pages, used at a desk while on the phone with the patient."""

from flask import Blueprint, render_template

from app.auth import restrict_to
from app.db import get_session
from registry.accounts import Role
from registry.nurses.queries import active_nurses_by_commune

blueprint = Blueprint("agent", __name__)
restrict_to(blueprint, Role.AGENT)


@blueprint.get("/")
def home():
    coverage = active_nurses_by_commune(get_session())
    return render_template("agent/home.html", coverage=coverage)
