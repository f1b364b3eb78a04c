"""The tracing agent's pages, used at a desk while on the phone with the patient: booking a
visit, following the CPAM's requests, cancelling one."""

import secrets

from flask import (
    Blueprint,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user

from app import notify
from app.auth import restrict_to
from app.db import begin_write, get_session
from app.forms import CancelRequestForm
from app.geocoding import commune_choices, commune_geocoder, geocoder
from app.jobs.scheduler import plan_soon
from app.pagination import Page, requested_page
from app.request_form import (
    OTHER_LANGUAGES,
    TIMES_OF_DAY,
    FormErrors,
    now_local,
    request_body,
)
from app.rules import booking_rules
from app.views import local_time
from registry.accounts import Role
from registry.errors import Conflict, DomainError, ValidationFailed
from registry.geo.communes import commune_directory
from registry.nurses.models import LANGUAGE_LABELS, Nurse
from registry.nurses.queries import active_nurses_by_commune
from registry.requests import queries, services
from registry.requests.models import RequestStatus
from registry.requests.schema import TIME_OF_DAY_LABELS
from registry.requests.services import TRANSITIONS
from registry.timeutil import utcnow

blueprint = Blueprint("agent", __name__)
restrict_to(blueprint, Role.AGENT)

PER_PAGE = 25
SEARCH_KEY = "agent_search"
STATUS_FILTERS = [
    ("open", "En cours"),
    ("at_risk", "À risque ou en retard"),
    *[(status.value, status.label) for status in RequestStatus],
    ("all", "Toutes"),
]


@blueprint.get("/")
def home():
    criteria = _list_criteria()
    rules = booking_rules()
    now = utcnow()
    page = requested_page()
    db = get_session()
    rows, total = queries.requests_of_cpam(
        db,
        current_user,
        criteria=criteria,
        now=now,
        at_risk_before=rules.at_risk_before,
        page=page,
        per_page=PER_PAGE,
    )
    db.commit()
    context = {
        "requests": rows,
        "risks": {
            row.id: queries.risk_of(row, now=now, at_risk_before=rules.at_risk_before)
            for row in rows
        },
        "page": Page(page, PER_PAGE, total),
        "now": now,
    }
    if request.args.get("partial"):
        return render_template("agent/_requests_table.html", **context)
    return render_template(
        "agent/requests.html",
        **context,
        criteria=criteria,
        mine=bool(request.args.get("mine")),
        status_filters=STATUS_FILTERS,
    )


@blueprint.post("/")
def search():
    """The search box. What an agent searches for is a patient's name or NIR: it is kept in her
    session, never in the URL, where it would stay in the browser's history and reach the logs
    of every proxy on the way. The URL says only that a search applies (`search=1`, kept by the
    pager and the live refresh): the list reached any other way, from the menu or another tab,
    is the whole list, and the search is forgotten."""
    text = "" if request.form.get("clear") else (request.form.get("q") or "").strip()[:100]
    filters = {name: request.form[name] for name in ("status", "mine") if request.form.get(name)}
    if text:
        session[SEARCH_KEY] = text
        filters["search"] = "1"
    else:
        session.pop(SEARCH_KEY, None)
    return redirect(url_for("agent.home", **filters))


def _search_text() -> str:
    if request.args.get("search"):
        return session.get(SEARCH_KEY, "")
    if SEARCH_KEY in session:
        session.pop(SEARCH_KEY)
    return ""


def _list_criteria() -> queries.RequestFilter:
    status = request.args.get("status", "open")
    if status not in {value for value, _label in STATUS_FILTERS}:
        status = "open"
    return queries.RequestFilter(
        status="" if status == "all" else status,
        text=_search_text(),
        agent_id=current_user.id if request.args.get("mine") else None,
    )


@blueprint.get("/requests/new")
def new_request():
    commune_directory()  # loaded now, once per process, so the first autocomplete is instant
    return _booking_page(request.args, FormErrors())


@blueprint.post("/requests/new")
def book():
    wants_json = request.accept_mimetypes.best == "application/json"
    db = get_session()
    begin_write(db)
    try:
        visit, _created = services.book_request(
            db,
            request_body(request.form),
            client=current_user,
            geocoder=geocoder(),
            rules=booking_rules(),
            idempotency_key=request.form.get("idempotency_key") or None,
        )
    except ValidationFailed as error:
        db.rollback()
        if wants_json:
            return jsonify(errors=FormErrors.of(error.errors, request.form).as_json()), 422
        return _booking_page(request.form, FormErrors.of(error.errors, request.form), status=422)
    except DomainError as error:
        db.rollback()
        if wants_json:
            return jsonify(conflict=_conflict(error)), error.status
        return _booking_page(request.form, FormErrors(), conflict=_conflict(error), status=409)
    db.commit()
    plan_soon()
    url = url_for("agent.request_detail", request_id=visit.id)
    flash(f"Demande n° {visit.id} enregistrée : visite avant le {_due(visit)}.", "success")
    if wants_json:
        return jsonify(id=visit.id, url=url), 201
    return redirect(url)


@blueprint.post("/requests/check")
def check():
    """The form's inline validation: what booking would refuse now, storing nothing."""
    db = get_session()
    errors, conflict = services.check_booking(
        db,
        request_body(request.form),
        client=current_user,
        geocoder=commune_geocoder(),
        rules=booking_rules(),
    )
    db.rollback()
    return jsonify(
        errors=FormErrors.of(errors, request.form).as_json(),
        conflict=_conflict(conflict) if conflict else None,
    )


def _conflict(error: DomainError) -> dict:
    existing = error.extra.get("existing_id") if isinstance(error, Conflict) else None
    return {
        "detail": error.detail,
        "url": url_for("agent.request_detail", request_id=existing) if existing else None,
    }


def _booking_page(values, errors: FormErrors, *, conflict: dict | None = None, status=200):
    return render_template(
        "agent/request_new.html",
        values=values,
        errors=errors,
        conflict=conflict,
        idempotency_key=values.get("idempotency_key") or secrets.token_urlsafe(16),
        now_local=now_local(),
        other_languages=OTHER_LANGUAGES,
        times_of_day=TIMES_OF_DAY,
    ), status


@blueprint.get("/communes")
def communes():
    """Commune autocomplete for the booking form, by name or postal code."""
    text = request.args.get("q", "").strip()[:100]
    if len(text) < 2:
        return jsonify(items=[])
    return jsonify(items=commune_choices(text, limit=8))


@blueprint.get("/requests/<int:request_id>")
def request_detail(request_id: int):
    db = get_session()
    visit = services.request_for(db, request_id, current_user, purpose="page")
    db.commit()
    return render_template(
        "agent/request_detail.html",
        can_cancel=RequestStatus.CANCELLED in TRANSITIONS[RequestStatus(visit.status)],
        times_of_day=TIME_OF_DAY_LABELS,
        language_labels=LANGUAGE_LABELS,
        **progress_of(db, visit),
    )


@blueprint.get("/requests/<int:request_id>/status")
def request_status(request_id: int):
    """The request's progress alone (no patient data), refreshed in place on its page."""
    db = get_session()
    visit = services.status_for(db, request_id, current_user)
    return render_template("agent/_request_status.html", **progress_of(db, visit))


def progress_of(db, visit) -> dict:
    return {
        "visit": visit,
        "history": services.history_of(db, visit.id),
        "nurse": db.get(Nurse, visit.nurse_id) if visit.nurse_id else None,
        "risk": queries.risk_of(visit, now=utcnow(), at_risk_before=booking_rules().at_risk_before),
        "status_label": lambda value: RequestStatus(value).label if value else "—",
    }


@blueprint.route("/requests/<int:request_id>/cancel", methods=["GET", "POST"])
def cancel(request_id: int):
    db = get_session()
    if request.method == "POST":
        begin_write(db)
    visit = services.request_for(db, request_id, current_user, purpose="cancel")
    if RequestStatus.CANCELLED not in TRANSITIONS[RequestStatus(visit.status)]:
        db.commit()
        flash(
            f"La demande n° {visit.id} est « {visit.status_label} » : "
            "elle ne peut plus être annulée.",
            "error",
        )
        return redirect(url_for("agent.request_detail", request_id=request_id))
    form = CancelRequestForm()
    if form.validate_on_submit():
        try:
            told = services.cancel_request(db, visit, form.reason.data, actor=current_user)
            for nurse_id in told:
                notify.visit_cancelled(db, visit, nurse_id)
        except ValidationFailed as error:
            form.reason.errors = [e.message for e in error.errors]
        except DomainError as error:
            db.rollback()
            flash(error.detail, "error")
            return redirect(url_for("agent.request_detail", request_id=request_id))
        else:
            db.commit()
            flash(f"Demande n° {visit.id} annulée.", "success")
            return redirect(url_for("agent.request_detail", request_id=request_id))
    db.commit()
    status = 422 if form.errors else 200
    return render_template("agent/request_cancel.html", visit=visit, form=form), status


@blueprint.get("/coverage")
def coverage():
    return render_template("agent/coverage.html", coverage=active_nurses_by_commune(get_session()))


def _due(visit) -> str:
    return local_time(visit.due_at, visit.timezone)
