"""The coordinator's capacity simulation: a form to start a run (it goes on in the background),
the run's page that follows its progress and shows the comparison table, and the small JSON
document the page polls."""

import threading

from flask import current_app, flash, jsonify, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, StringField

from app.blueprints.coordinator import blueprint
from app.cli_simulate import SCRATCH
from app.db import begin_write, get_session
from app.rules import booking_rules, offer_rules
from registry.errors import Conflict, ValidationFailed
from registry.geo.departments import department_label
from steering.simulation import parse_parameters, report, runs
from steering.simulation.models import RunStatus
from steering.simulation.params import SimulationParams


class SimulationForm(FlaskForm):
    """Every field is text: the service reads it (decimal comma, percentages) and says what is
    wrong, the same way for the page and the command line."""

    department = StringField("Département (code)")
    per_day = StringField("Demandes par jour (vide : la part du département du volume 2021)")
    days = StringField("Jours simulés", default=str(SimulationParams.days))
    seed = StringField("Graine du tirage", default=str(SimulationParams.seed))
    answer_rate = StringField("Part des infirmières qui répondent", default="0,8")
    answer_median_minutes = StringField("Délai médian de réponse (minutes)", default="20")
    decline_rate = StringField("Part des réponses qui sont des refus", default="0,2")
    target = StringField("Objectif dans les 24 h, pour chercher les infirmières à ajouter")
    policy = SelectField(
        "Politiques comparées",
        choices=[
            SelectChoice("both", "Plateforme et diffusion à toutes"),
            SelectChoice("platform", "Plateforme seule"),
            SelectChoice("broadcast", "Diffusion à toutes seule"),
        ],
    )


@blueprint.route("/simulation", methods=["GET", "POST"])
def simulation():
    form = SimulationForm()
    status = 200
    if form.validate_on_submit():
        try:
            params = parse_parameters(form.data)
            db = get_session()
            begin_write(db)
            run = runs.start_run(db, params, actor=current_user)
            db.commit()
        except ValidationFailed as error:
            status = 422
            for problem in error.errors:
                shown = getattr(form, problem.field, None)
                if shown is None:
                    flash(problem.message, "error")
                else:
                    shown.errors = [problem.message]
        except Conflict as error:
            get_session().rollback()
            status = 409
            flash(error.detail, "error")
        else:
            _execute_in_background(run.id, params)
            flash(f"Simulation n° {run.id} lancée.", "success")
            return redirect(url_for("coordinator.simulation_run", run_id=run.id))
    elif form.is_submitted():
        status = 422
        flash("Le formulaire a expiré ; rechargez la page.", "error")
    return render_template(
        "coordinator/simulation.html",
        form=form,
        runs=runs.recent_runs(get_session()),
        state_of=runs.state_of,
    ), status


def _execute_in_background(run_id: int, params: SimulationParams) -> None:
    thread = threading.Thread(
        target=runs.execute_run,
        args=(current_app.extensions["engine"], run_id, params),
        kwargs={"rules": offer_rules(), "booking": booking_rules(), "databases": SCRATCH},
        name=f"simulation-{run_id}",
        daemon=True,  # a run dies with its process; its page then says it was interrupted
    )
    thread.start()


@blueprint.get("/simulation/<int:run_id>")
def simulation_run(run_id: int):
    run = runs.get_run(get_session(), run_id)
    state = runs.state_of(run)
    result = run.result if state == RunStatus.DONE else None
    return render_template(
        "coordinator/simulation_run.html",
        run=run,
        department=department_label(run.department),
        state=state,
        result=result,
        introduction=report.introduction(result) if result else "",
        headings=report.headings(result) if result else [],
        rows=report.comparison(result) if result else [],
        capacity=report.capacity_lines(result) if result else [],
    )


@blueprint.get("/simulation/<int:run_id>/progress")
def simulation_progress(run_id: int):
    return jsonify(runs.progress_of(runs.get_run(get_session(), run_id)))
