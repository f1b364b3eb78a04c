"""Self-enrolment of a liberal nurse, on her phone; the URPS validates it afterwards."""

from flask import Blueprint, flash, redirect, render_template, url_for

from app.auth import client_ip
from app.db import get_session
from app.forms import NurseEnrolmentForm
from app.geocoding import geocoder
from app.nurse_forms import capabilities_document, show_errors
from registry.errors import DomainError, ValidationFailed
from registry.geo.communes import commune_directory
from registry.nurses import services
from registry.nurses.schema import parse_nurse_input

blueprint = Blueprint("enrolment", __name__)


@blueprint.route("/enrol", methods=["GET", "POST"])
def enrol():
    form = NurseEnrolmentForm()
    if form.validate_on_submit():
        db = get_session()
        try:
            document = _document(form)
            values = parse_nurse_input(
                document,
                partial=False,
                commune_exists=lambda code: commune_directory().get(code) is not None,
                require_password=True,
            )
            services.enroll_nurse(
                db, values, geocoder=geocoder(), actor=f"auto-inscription ({client_ip()})"
            )
        except ValidationFailed as error:
            db.rollback()
            show_errors(form, error)
        except DomainError as error:
            db.rollback()
            flash(error.detail, "error")
        else:
            db.commit()
            flash(
                "Inscription enregistrée. La coordination URPS va la vérifier ; vous pouvez déjà "
                "vous connecter pour renseigner vos disponibilités.",
                "success",
            )
            return redirect(url_for("auth.login"))
    refused = form.is_submitted() and any(field.errors for field in form)
    return render_template("enrolment/enrol.html", form=form), 422 if refused else 200


def _document(form: NurseEnrolmentForm) -> dict:
    return {
        "first_name": form.first_name.data,
        "last_name": form.last_name.data,
        "rpps": form.rpps.data,
        "am_number": form.am_number.data,
        "phone": form.phone.data,
        "email": form.email.data,
        "password": form.password.data,
        "practice": {
            "street": form.street.data or "",
            "postal_code": form.postal_code.data,
            "commune": form.commune.data,
        },
        **capabilities_document(form, geocoder()),
    }
