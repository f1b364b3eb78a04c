"""The nurse's pages, used on a phone between two visits."""

from flask import Blueprint, render_template
from flask_login import current_user

from app.auth import restrict_to
from app.db import get_session
from registry.accounts import Role
from registry.nurses import nurse_of_user

blueprint = Blueprint("nurse", __name__)
restrict_to(blueprint, Role.NURSE)


@blueprint.get("/")
def home():
    nurse = nurse_of_user(get_session(), current_user.id)
    return render_template("nurse/home.html", nurse=nurse)
