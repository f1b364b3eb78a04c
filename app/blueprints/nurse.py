"""The nurse's pages, used on a phone between two visits: her status, her availability, her
sector and what she does."""

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user

from app.auth import restrict_to
from app.db import get_session
from app.forms import ConfirmForm, DatedWindowForm, NurseCapabilitiesForm, WeeklyWindowForm
from app.geocoding import geocoder
from app.nurse_forms import capabilities_document, show_errors
from registry.accounts import Role
from registry.errors import NotFound, ValidationFailed
from registry.geo.communes import commune_directory
from registry.nurses import services
from registry.nurses.models import Nurse
from registry.nurses.queries import nurse_of_user
from registry.nurses.schema import parse_nurse_input, parse_window

blueprint = Blueprint("nurse", __name__)
restrict_to(blueprint, Role.NURSE)


def _own_nurse() -> Nurse:
    nurse = nurse_of_user(get_session(), current_user.id)
    if nurse is None:
        raise NotFound("Aucune fiche d'infirmier·e n'est rattachée à votre compte.")
    return nurse


@blueprint.get("/")
def home():
    db = get_session()
    nurse = nurse_of_user(db, current_user.id)
    details = services.details_of(db, nurse) if nurse else None
    return render_template("nurse/home.html", nurse=nurse, details=details)


@blueprint.get("/profile")
def profile():
    db = get_session()
    details = services.details_of(db, _own_nurse())
    return _render_profile(details, _capabilities_form(details))


def _render_profile(details, capabilities_form, weekly=None, dated=None, status=200):
    return (
        render_template(
            "nurse/profile.html",
            details=details,
            capabilities_form=capabilities_form,
            weekly_form=weekly or WeeklyWindowForm(prefix="weekly"),
            dated_form=dated or DatedWindowForm(prefix="dated"),
            delete_form=ConfirmForm(),
            commune_label=_commune_label,
        ),
        status,
    )


def _commune_label(insee: str) -> str:
    commune = commune_directory().get(insee)
    if commune is None:
        return insee
    return f"{commune.postal_codes[0] if commune.postal_codes else ''} {commune.name}".strip()


def _capabilities_form(details) -> NurseCapabilitiesForm:
    nurse = details.nurse
    return NurseCapabilitiesForm(
        radius_km=nurse.sector_radius_km,
        sector_communes="\n".join(_commune_label(code) for code in details.sector_communes),
        skills=details.skills,
        languages=details.languages,
        max_visits_per_day=nurse.max_visits_per_day,
        mountain=nurse.mountain,
    )


@blueprint.post("/profile/capabilities")
def update_capabilities():
    db = get_session()
    nurse = _own_nurse()
    form = NurseCapabilitiesForm()
    if form.validate_on_submit():
        try:
            values = parse_nurse_input(
                capabilities_document(form, geocoder()),
                partial=True,
                commune_exists=lambda code: commune_directory().get(code) is not None,
            )
            services.update_nurse(db, nurse, values, geocoder=geocoder(), actor=current_user)
        except ValidationFailed as error:
            db.rollback()
            show_errors(form, error)
        else:
            db.commit()
            flash("Secteur et compétences enregistrés.", "success")
            return redirect(url_for("nurse.profile"))
    return _render_profile(services.details_of(db, nurse), form, status=422)


@blueprint.post("/profile/availability/weekly")
def add_weekly_window():
    form = WeeklyWindowForm(prefix="weekly")
    return _add_window(
        form,
        lambda: {
            "weekday": int(form.weekday.data),
            "start": form.start.data.strftime("%H:%M"),
            "end": form.end.data.strftime("%H:%M"),
        },
        weekly=form,
    )


@blueprint.post("/profile/availability/dated")
def add_dated_window():
    form = DatedWindowForm(prefix="dated")
    return _add_window(
        form,
        lambda: {
            "date": form.on_date.data.isoformat(),
            "start": form.start.data.strftime("%H:%M") if form.start.data else None,
            "end": form.end.data.strftime("%H:%M") if form.end.data else None,
            "unavailable": bool(form.unavailable.data),
        },
        dated=form,
    )


def _add_window(form, document, **forms):
    db = get_session()
    nurse = _own_nurse()
    if form.validate_on_submit():
        try:
            window = parse_window(document())
        except ValueError as error:
            form.end.errors = [*form.end.errors, str(error)]
        else:
            services.add_availability(db, nurse, window, actor=current_user)
            db.commit()
            flash(f"Disponibilité ajoutée : {window.describe()}.", "success")
            return redirect(url_for("nurse.profile") + "#disponibilites")
    details = services.details_of(db, nurse)
    return _render_profile(details, _capabilities_form(details), status=422, **forms)


@blueprint.post("/profile/availability/<int:window_id>/delete")
def delete_window(window_id: int):
    db = get_session()
    form = ConfirmForm()
    if form.validate_on_submit():
        services.remove_availability(db, _own_nurse(), window_id, actor=current_user)
        db.commit()
        flash("Créneau supprimé.", "success")
    return redirect(url_for("nurse.profile") + "#disponibilites")
