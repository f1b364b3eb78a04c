"""The agent's batch booking: a CSV extract of the tracing tool's cases, each row booked with the
API's rules, and the report of what became of every row."""

import csv
import io

from flask import Response, render_template
from flask_login import current_user

from app.blueprints.agent import blueprint
from app.db import begin_write, get_session
from app.forms import RequestImportForm
from app.geocoding import geocoder
from app.jobs.scheduler import plan_soon
from app.rules import booking_rules
from registry.accounts import User
from registry.errors import ValidationFailed
from registry.requests import csv_import


@blueprint.route("/requests/import", methods=["GET", "POST"])
def import_requests():
    form = RequestImportForm()
    report = None
    if form.validate_on_submit():
        db = get_session()
        begin_write(db)
        try:
            report = csv_import.import_requests(
                db,
                form.file.data.read(),
                client=db.get(User, current_user.id),
                geocoder=geocoder(),
                rules=booking_rules(),
            )
        except ValidationFailed as error:
            db.rollback()
            form.file.errors = [e.message for e in error.errors]
        else:
            db.commit()
            plan_soon()
    page = render_template(
        "agent/import.html", form=form, report=report, columns=csv_import.COLUMNS
    )
    return page, 422 if form.file.errors else 200


@blueprint.get("/requests/import/template.csv")
def import_template():
    body = io.StringIO()
    writer = csv.writer(body, delimiter=";", lineterminator="\n")
    writer.writerow(csv_import.COLUMNS)
    return Response(
        # The BOM lets Excel open the accents right.
        body.getvalue().encode("utf-8-sig"),
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=modele-demandes-vdsi.csv"},
    )
