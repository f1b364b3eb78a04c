"""The URPS coordinator's pages: enrolments, validation, the registry and its CSV import, and
the follow-up of visits (requests no nurse holds in time, visits unreported at J+4)."""

import re

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.auth import restrict_to
from app.db import begin_write, get_session
from app.forms import ConfirmForm, NurseImportForm, StatusChangeForm
from app.geocoding import geocoder
from app.jobs.scheduler import plan_soon
from app.pagination import Page, requested_page
from app.rules import booking_rules
from registry import audit
from registry.accounts import Role
from registry.errors import DomainError, ValidationFailed
from registry.geo.communes import commune_directory
from registry.nurses import services
from registry.nurses.csv_import import COLUMNS, import_nurses
from registry.nurses.models import LANGUAGE_LABELS, SKILL_LABELS, NurseStatus, Skill
from registry.nurses.queries import count_by_status, list_nurses
from registry.requests.models import RequestStatus
from registry.timeutil import utcnow
from registry.visits.queries import awaiting_a_nurse, unreported_visits

blueprint = Blueprint("coordinator", __name__)
restrict_to(blueprint, Role.COORDINATOR)

PER_PAGE = 25
# Which status each action leads to, and its button label.
ACTIONS = {
    "validate": (NurseStatus.ACTIVE, "Valider l'inscription"),
    "refuse": (NurseStatus.WITHDRAWN, "Refuser l'inscription"),
    "suspend": (NurseStatus.SUSPENDED, "Suspendre"),
    "reactivate": (NurseStatus.ACTIVE, "Réactiver"),
    "withdraw": (NurseStatus.WITHDRAWN, "Retirer du registre"),
}
ACTIONS_BY_STATUS = {
    NurseStatus.PENDING: ["validate", "refuse"],
    NurseStatus.ACTIVE: ["suspend", "withdraw"],
    NurseStatus.SUSPENDED: ["reactivate", "withdraw"],
    NurseStatus.WITHDRAWN: [],
}


@blueprint.get("/")
def home():
    db = get_session()
    pending, total = list_nurses(db, status=NurseStatus.PENDING, page=1, per_page=PER_PAGE)
    now = utcnow()
    _rows, awaiting = awaiting_a_nurse(
        db, now=now, at_risk_before=booking_rules().at_risk_before, per_page=1
    )
    _rows, unreported = unreported_visits(db, now=now, per_page=1)
    return render_template(
        "coordinator/home.html",
        counts=count_by_status(db),
        pending=pending,
        pending_total=total,
        awaiting=awaiting,
        unreported=unreported,
    )


def _communes_matching(text: str) -> list[str] | None:
    """INSEE codes for a commune filter typed as an INSEE code, a postal code or a name."""
    text = text.strip()
    if not text:
        return None
    directory = commune_directory()
    if directory.get(text.upper()):
        return [text.upper()]
    if text.isdigit() and len(text) == 5:
        return [commune.insee for commune in directory.by_postal_code(text)]
    return [commune.insee for commune in directory.search(text, limit=20)]


@blueprint.get("/nurses")
def nurses():
    status = request.args.get("status", "")
    if status not in NurseStatus.__members__.values():
        status = ""
    skill = request.args.get("skill", "")
    if skill not in Skill.__members__.values():
        skill = ""
    commune = request.args.get("commune", "")[:100]
    page = requested_page()
    rows, total = list_nurses(
        get_session(),
        status=status,
        insee_codes=_communes_matching(commune),
        skill=skill,
        page=page,
        per_page=PER_PAGE,
    )
    return render_template(
        "coordinator/nurses.html",
        nurses=rows,
        status=status,
        skill=skill,
        commune=commune,
        statuses=list(NurseStatus),
        skills=list(Skill),
        page=Page(page, PER_PAGE, total),
    )


@blueprint.get("/nurses/<int:nurse_id>")
def nurse_detail(nurse_id: int, submitted: StatusChangeForm | None = None, status: int = 200):
    db = get_session()
    details = services.details_of(db, services.get_nurse(db, nurse_id))
    # One form per action, each with its own field ids; the submitted one keeps its errors.
    actions = []
    for name in ACTIONS_BY_STATUS[NurseStatus(details.nurse.status)]:
        target, label = ACTIONS[name]
        form = submitted if submitted and submitted._prefix == f"{name}-" else None
        actions.append((name, target, label, form or StatusChangeForm(prefix=name)))
    return render_template(
        "coordinator/nurse_detail.html",
        details=details,
        actions=actions,
        commune_name=lambda code: getattr(commune_directory().get(code), "name", code),
        skill_labels=SKILL_LABELS,
        language_labels=LANGUAGE_LABELS,
    ), status


@blueprint.post("/nurses/<int:nurse_id>/<action>")
def change_status(nurse_id: int, action: str):
    if action not in ACTIONS:
        return nurse_detail(nurse_id, status=404)
    db = get_session()
    nurse = services.get_nurse(db, nurse_id)
    form = StatusChangeForm(prefix=action)
    if not form.validate_on_submit():
        return nurse_detail(nurse_id, submitted=form, status=422)
    target, _label = ACTIONS[action]
    try:
        services.change_status(db, nurse, target, reason=form.reason.data or "", actor=current_user)
    except ValidationFailed as error:
        form.reason.errors = [e.message for e in error.errors]
        return nurse_detail(nurse_id, submitted=form, status=422)
    except DomainError as error:
        flash(error.detail, "error")
        return redirect(url_for("coordinator.nurse_detail", nurse_id=nurse_id))
    db.commit()
    if target == NurseStatus.ACTIVE:
        plan_soon()  # she may take the requests no one could
    flash(f"{nurse.full_name} : {NurseStatus(nurse.status).label.lower()}.", "success")
    return redirect(url_for("coordinator.nurse_detail", nurse_id=nurse_id))


@blueprint.route("/import", methods=["GET", "POST"])
def import_csv():
    form = NurseImportForm()
    report = None
    if form.validate_on_submit():
        db = get_session()
        begin_write(db)
        try:
            report = import_nurses(
                db,
                form.file.data.read(),
                geocoder=geocoder(),
                commune_exists=lambda code: commune_directory().get(code) is not None,
                validate=form.activate.data,
                actor=current_user,
            )
        except ValidationFailed as error:
            db.rollback()
            form.file.errors = [e.message for e in error.errors]
        else:
            db.commit()
    return render_template("coordinator/import.html", form=form, report=report, columns=COLUMNS)


@blueprint.get("/import/template.csv")
def import_template():
    example = [
        "10003456786",
        "091234567",
        "Martin",
        "Élodie",
        "06 12 34 56 78",
        "elodie.martin@exemple.fr",
        "12 rue du Palais",
        "09000",
        "Foix",
        "15",
        "09225 09324",
        "non",
        "tag pcr",
        "fr en",
        "6",
    ]
    body = ";".join(COLUMNS) + "\n" + ";".join(example) + "\n"
    return Response(
        body.encode("utf-8-sig"),
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=modele-infirmieres.csv"},
    )


FOLLOW_UP_LISTS = {
    "waiting": "Demandes sans infirmière à temps",
    "unreported": "Visites non rapportées à J+4",
}


@blueprint.get("/visits")
def visits():
    shown = request.args.get("list", "waiting")
    if shown not in FOLLOW_UP_LISTS:
        shown = "waiting"
    department = request.args.get("department", "").strip().upper()[:3]
    if not re.fullmatch(r"\d[\dAB]\d?", department):
        department = ""
    page = requested_page()
    db = get_session()
    now = utcnow()
    if shown == "waiting":
        rows, total = awaiting_a_nurse(
            db,
            now=now,
            at_risk_before=booking_rules().at_risk_before,
            department=department,
            page=page,
            per_page=PER_PAGE,
        )
    else:
        rows, total = unreported_visits(
            db, now=now, department=department, page=page, per_page=PER_PAGE
        )
    return render_template(
        "coordinator/visits.html",
        rows=rows,
        shown=shown,
        lists=FOLLOW_UP_LISTS,
        department=department,
        now=now,
        statuses=RequestStatus,
        plan_form=ConfirmForm(),
        page=Page(page, PER_PAGE, total),
    )


@blueprint.post("/visits/plan")
def plan_now():
    """Runs a planning pass at once (after enrolling or reactivating nurses, say), and says
    what it did."""
    from app.jobs import tasks

    if not ConfirmForm().validate_on_submit():
        flash("Le formulaire a expiré ; rechargez la page.", "error")
        return redirect(url_for("coordinator.visits"))
    db = get_session()
    db.commit()  # the pass writes through sessions of its own
    summary = tasks.planning()
    begin_write(db)
    audit.record(
        db,
        actor=current_user,
        action="planning.requested",
        details={"ran": summary is not None},
    )
    db.commit()
    if summary is None:
        flash("Une planification est déjà en cours ; sa réponse arrive dans un instant.", "info")
    else:
        flash(f"Planification : {summary.describe()}.", "success")
    return redirect(url_for("coordinator.visits"))
