"""The nurse's visits on her phone: her offers to answer in one tap, the visits she holds (the
patient's identity, tap to call, the map), the report, and her history."""

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from app import notify
from app.blueprints.nurse import _own_nurse, blueprint
from app.db import begin_write, get_session
from app.forms import ConfirmForm
from app.jobs.scheduler import plan_soon
from app.visit_forms import DECLINE_CHOICES, AppointmentForm, DeclineForm, ReasonForm, ReportForm
from billing import records as billing_records
from billing.reconciliation import latest_classes
from registry.errors import ValidationFailed
from registry.requests.minimised import offer_summary
from registry.requests.services import read_patient
from registry.timeutil import utcnow
from registry.visits import late_yes, offers, queries, reports
from registry.visits.reports import SYMPTOMS


@blueprint.get("/offers")
def offers_page():
    db = get_session()
    nurse = _own_nurse()
    now = utcnow()

    def summarised(pairs):
        return [
            (
                offer,
                offer_summary(
                    req,
                    practice_lat=nurse.practice_latitude,
                    practice_lon=nurse.practice_longitude,
                ),
            )
            for offer, req in pairs
        ]

    return render_template(
        "nurse/offers.html",
        rows=summarised(offers.live_offers(db, nurse, now)),
        late_rows=summarised(late_yes.late_offers(db, nurse, now)),
        upcoming=queries.upcoming_visits(db, nurse),
        now=now,
        accept_form=ConfirmForm(prefix="accept"),
        decline_form=DeclineForm(prefix="decline"),
        decline_choices=DECLINE_CHOICES,
    )


@blueprint.post("/offers/<int:offer_id>/accept")
def accept(offer_id: int):
    db = get_session()
    nurse = _own_nurse()
    if not ConfirmForm(prefix="accept").validate_on_submit():
        flash("Le formulaire a expiré : rechargez la page.", "error")
        return redirect(url_for("nurse.offers_page"))
    begin_write(db)
    visit = offers.accept_offer(db, offer_id, nurse, actor=current_user)
    notify.offers_taken(db, visit, late_yes.withdrawn_by_late_yes(db, visit.id))
    db.commit()
    flash("Visite acceptée : voici le patient.", "success")
    return redirect(url_for("nurse.visit_page", request_id=visit.id))


@blueprint.post("/offers/<int:offer_id>/decline")
def decline(offer_id: int):
    db = get_session()
    nurse = _own_nurse()
    form = DeclineForm(prefix="decline")
    if form.validate_on_submit():
        begin_write(db)
        offers.decline_offer(
            db,
            offer_id,
            nurse,
            request.form.get("reason", ""),
            actor=current_user,
            note=form.note.data or "",
        )
        db.commit()
        plan_soon()
        flash("Proposition déclinée : elle part vers une autre infirmière.", "success")
    return redirect(url_for("nurse.offers_page"))


@blueprint.get("/visits")
def visits_page():
    db = get_session()
    nurse = _own_nurse()
    page = max(request.args.get("page", 1, type=int), 1)
    rows, total = queries.visit_history(db, nurse, page=page)
    bills = billing_records.status_by_request(db, [row.id for row in rows])
    return render_template(
        "nurse/visits.html",
        rows=rows,
        total=total,
        page=page,
        bills=bills,
        claims=latest_classes(db, [bill.id for bill in bills.values()]),
    )


def _local(moment: datetime | None, timezone: str) -> datetime | None:
    return moment.astimezone(ZoneInfo(timezone)) if moment else None


@blueprint.get("/visits/<int:request_id>")
def visit_page(request_id: int, forms: dict | None = None, status: int = 200):
    db = get_session()
    nurse = _own_nurse()
    visit = offers.held_visit(db, request_id, nurse)
    read_patient(db, visit, actor=current_user, purpose="page")
    db.commit()
    forms = forms or {}
    appointment = forms.get("appointment") or AppointmentForm(
        prefix="appointment",
        appointment_at=_local(visit.appointment_at, visit.timezone).replace(tzinfo=None)
        if visit.appointment_at
        else None,
    )
    return (
        render_template(
            "nurse/visit.html",
            visit=visit,
            report=reports.report_of(db, visit.id),
            appointment_local=_local(visit.appointment_at, visit.timezone),
            due_local=_local(visit.due_at, visit.timezone),
            appointment_form=appointment,
            hand_back_form=forms.get("hand_back") or ReasonForm(prefix="hand_back"),
            unreachable_form=forms.get("unreachable") or ReasonForm(prefix="unreachable"),
            symptoms=SYMPTOMS,
        ),
        status,
    )


def _in_zone(local: datetime, timezone: str) -> datetime:
    """A time typed in the form, read in the patient's zone."""
    return local.replace(tzinfo=ZoneInfo(timezone))


@blueprint.post("/visits/<int:request_id>/appointment")
def reschedule(request_id: int):
    db = get_session()
    nurse = _own_nurse()
    visit = offers.held_visit(db, request_id, nurse)
    form = AppointmentForm(prefix="appointment")
    if form.validate_on_submit():
        try:
            begin_write(db)
            offers.reschedule(
                db,
                request_id,
                nurse,
                _in_zone(form.appointment_at.data, visit.timezone),
                actor=current_user,
            )
        except ValidationFailed as error:
            db.rollback()
            form.appointment_at.errors = [e.message for e in error.errors]
        else:
            db.commit()
            flash("Heure du rendez-vous enregistrée.", "success")
            return redirect(url_for("nurse.visit_page", request_id=request_id))
    return visit_page(request_id, forms={"appointment": form}, status=422)


@blueprint.post("/visits/<int:request_id>/hand-back")
def hand_back(request_id: int):
    db = get_session()
    nurse = _own_nurse()
    form = ReasonForm(prefix="hand_back")
    if form.validate_on_submit():
        begin_write(db)
        offers.hand_back(db, request_id, nurse, form.reason.data, actor=current_user)
        db.commit()
        plan_soon()
        flash("Visite rendue : elle est proposée à une autre infirmière.", "success")
        return redirect(url_for("nurse.offers_page"))
    return visit_page(request_id, forms={"hand_back": form}, status=422)


@blueprint.post("/visits/<int:request_id>/unreachable")
def unreachable(request_id: int):
    db = get_session()
    nurse = _own_nurse()
    form = ReasonForm(prefix="unreachable")
    if form.validate_on_submit():
        begin_write(db)
        reports.mark_unreachable(db, request_id, nurse, form.reason.data, actor=current_user)
        db.commit()
        flash("Patient déclaré injoignable.", "success")
        return redirect(url_for("nurse.visits_page"))
    return visit_page(request_id, forms={"unreachable": form}, status=422)


@blueprint.route("/visits/<int:request_id>/report", methods=["GET", "POST"])
def report_page(request_id: int):
    db = get_session()
    nurse = _own_nurse()
    visit = offers.held_visit(db, request_id, nurse)
    form = ReportForm()
    if request.method == "GET":
        # She usually files it just after the visit: now, or the appointment if it is past.
        now = utcnow().replace(second=0, microsecond=0)
        visited = min(visit.appointment_at, now) if visit.appointment_at else now
        form.visited_at.data = _local(visited, visit.timezone).replace(tzinfo=None)
    if form.validate_on_submit():
        try:
            begin_write(db)
            reports.file_report(
                db, request_id, nurse, _report_body(form, visit.timezone), actor=current_user
            )
        except ValidationFailed as error:
            db.rollback()
            for problem in error.errors:
                field = getattr(form, _FIELDS.get(problem.field, "visited_at"))
                field.errors = [*field.errors, problem.message]
        else:
            db.commit()
            flash("Compte rendu déposé : la visite est faite et facturée.", "success")
            return redirect(url_for("nurse.visits_page"))
    status = 422 if request.method == "POST" else 200
    read_patient(db, visit, actor=current_user, purpose="report")  # the page names the patient
    db.commit()
    page = render_template(
        "nurse/report.html",
        visit=visit,
        form=form,
        estimate=billing_records.estimated_km(visit, nurse),
        same_commune=visit.insee == nurse.practice_insee,
    )
    return page, status


# The service's field names, and the form field that shows their error.
_FIELDS = {
    "visited_at": "visited_at",
    "clinical.temperature_c": "temperature_c",
    "clinical.spo2": "spo2",
    "clinical.systolic": "systolic",
    "clinical.diastolic": "diastolic",
    "clinical.symptoms": "symptoms",
    "isolation_feasible": "isolation_feasible",
    "social_needs": "social_needs",
    "household_tests[0].count": "tag_count",
    "household_tests[0].positives": "tag_positives",
    "household_tests[1].count": "pcr_count",
    "ik_km": "ik_km",
}


def _report_body(form: ReportForm, timezone: str) -> dict:
    clinical = {
        name: float(value) if name == "temperature_c" else value
        for name in ("temperature_c", "spo2", "systolic", "diastolic")
        if (value := getattr(form, name).data) is not None
    }
    clinical["symptoms"] = form.symptoms.data or []
    tests = []
    if form.tag_count.data:
        tests.append(
            {"kind": "tag", "count": form.tag_count.data, "positives": form.tag_positives.data or 0}
        )
    if form.pcr_count.data:
        tests.append({"kind": "pcr", "count": form.pcr_count.data, "positives": 0})
    return {
        "visited_at": _in_zone(form.visited_at.data, timezone).isoformat(),
        "clinical": clinical,
        "isolation_feasible": bool(form.isolation_feasible.data),
        "social_needs": form.social_needs.data or "",
        "ctai_referral": bool(form.ctai_referral.data),
        "gp_informed": bool(form.gp_informed.data),
        "household_tests": tests,
        "vaccination_offered": bool(form.vaccination_offered.data),
        "ik_km": str(form.ik_km.data) if form.ik_km.data is not None else None,
    }
