"""The tariff catalogue for admins: every dated value with its source, and revaluations (a new
dated row: values already applied are never edited)."""

from flask import flash, redirect, render_template, url_for
from flask_login import current_user

from app.billing_forms import RevaluationForm
from app.blueprints.admin import blueprint
from app.db import begin_write, get_session
from billing import catalogue
from billing.models import Zone
from registry.errors import Conflict, ValidationFailed


def _choices(rows) -> list[tuple[str, str]]:
    seen: dict[str, str] = {}
    for row in rows:
        seen.setdefault(f"{row.code}|{row.zone}", f"{row.label} · {Zone(row.zone).label}")
    return sorted(seen.items(), key=lambda choice: choice[1])


@blueprint.route("/tariffs", methods=["GET", "POST"])
def tariffs():
    db = get_session()
    history = catalogue.tariff_history(db)
    form = RevaluationForm()
    form.tariff.choices = _choices(history)
    status = 200
    if form.validate_on_submit():
        code, zone = form.tariff.data.split("|", 1)
        begin_write(db)
        try:
            row = catalogue.revalue(
                db,
                code=code,
                zone=zone,
                value=form.value.data,
                valid_from=form.valid_from.data,
                source=form.source.data,
                actor=current_user,
            )
        except ValidationFailed as error:
            db.rollback()
            form.value.errors = [e.message for e in error.errors if e.field == "value"]
            form.source.errors = [e.message for e in error.errors if e.field == "source"]
            status = 422
        except Conflict as error:
            db.rollback()
            form.valid_from.errors = [error.detail]
            status = 409
        else:
            db.commit()
            flash(
                f"{row.code} ({Zone(row.zone).label}) : {str(row.value).replace('.', ',')} € "
                f"à partir du {row.valid_from:%d/%m/%Y}.",
                "success",
            )
            return redirect(url_for("admin.tariffs"))
    elif form.is_submitted():
        status = 422
    return (
        render_template(
            "admin/tariffs.html",
            form=form,
            tariffs=catalogue.tariff_history(db),
            acts=catalogue.act_history(db),
            zones={zone.value: zone.label for zone in Zone},
        ),
        status,
    )
