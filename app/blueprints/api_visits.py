"""JSON API for nurses: their live offers and answers, the visits they hold (the patient's
identity only once accepted), the report, the unreachable patient, the hand-back."""

from datetime import datetime

from flask import g, jsonify, request

from app import notify
from app.blueprints.api import blueprint, json_body, roles
from app.blueprints.api_requests import address_document
from app.db import begin_write, get_session
from app.jobs.scheduler import plan_soon
from registry.accounts import Role
from registry.errors import NotFound, invalid
from registry.nurses.models import Nurse
from registry.nurses.queries import nurse_of_user
from registry.requests.minimised import offer_summary
from registry.requests.services import read_patient
from registry.timeutil import utcnow
from registry.visits import late_yes, offers, reports
from registry.visits.models import Offer
from registry.visits.reports import aware_instant, report_of


def token_nurse() -> Nurse:
    """The nurse record of the token's account (404 when it has none)."""
    nurse = nurse_of_user(get_session(), g.api_user.id)
    if nurse is None:
        raise NotFound("Aucune fiche d'infirmier·e n'est rattachée à ce compte.")
    return nurse


def offer_document(offer: Offer, visit, nurse) -> dict:
    summary = offer_summary(
        visit, practice_lat=nurse.practice_latitude, practice_lon=nurse.practice_longitude
    )
    return {
        "id": offer.id,
        "request_id": visit.id,
        "status": offer.status,
        "commune": summary.commune,
        "insee": summary.insee,
        "distance_km": summary.distance_km,
        "due_at": summary.due_at.isoformat(),
        "planned_start": offer.planned_start.isoformat(),
        "planned_end": offer.planned_end.isoformat(),
        "expires_at": offer.expires_at.isoformat(),
        "household_size": summary.household_size,
        "skills_needed": summary.skills_needed,
        "languages": summary.languages,
        "priority": summary.priority,
        "usual_nurse": offer.usual_nurse,
    }


def visit_document(visit) -> dict:
    report = report_of(get_session(), visit.id)
    return {
        "id": visit.id,
        "status": visit.status,
        "appointment_at": visit.appointment_at.isoformat() if visit.appointment_at else None,
        "due_at": visit.due_at.isoformat(),
        "follow_up_at": visit.follow_up_at.isoformat(),
        "patient": {
            "first_name": visit.first_name,
            "last_name": visit.last_name,
            "birth_date": visit.birth_date.isoformat(),
            "phone": visit.phone,
            "address": address_document(visit),
            "location": {"lat": visit.latitude, "lon": visit.longitude},
        },
        "languages": visit.languages,
        "household_size": visit.household_size,
        "household_tests": visit.household_tests,
        "notes": visit.notes,
        "report": None
        if report is None
        else {
            "visited_at": report.visited_at.isoformat(),
            "clinical": report.clinical,
            "isolation_feasible": report.isolation_feasible,
            "social_needs": report.social_needs,
            "ctai_referral": report.ctai_referral,
            "gp_informed": report.gp_informed,
            "household_tests": report.household_tests,
            "vaccination_offered": report.vaccination_offered,
            "ik_km": str(report.ik_km) if report.ik_km is not None else None,
        },
    }


def _appointment(body) -> datetime | None:
    value = body.get("appointment_at") if isinstance(body, dict) else None
    if value is None:
        return None
    try:
        return aware_instant(value)
    except ValueError as error:
        invalid("appointment_at", str(error))


def _optional_body():
    return json_body() if request.get_data() else {}


@blueprint.get("/offers")
@roles(Role.NURSE)
def list_offers():
    db = get_session()
    nurse = token_nurse()
    rows = offers.live_offers(db, nurse, utcnow())
    return jsonify(items=[offer_document(offer, visit, nurse) for offer, visit in rows])


@blueprint.post("/offers/<int:offer_id>/accept")
@roles(Role.NURSE)
def accept_offer(offer_id: int):
    db = get_session()
    nurse = token_nurse()
    appointment = _appointment(_optional_body())
    begin_write(db)
    visit = offers.accept_offer(db, offer_id, nurse, actor=g.api_user, appointment_at=appointment)
    notify.offers_taken(db, visit, late_yes.withdrawn_by_late_yes(db, visit.id))
    read_patient(db, visit, actor=g.api_user, purpose="api")
    db.commit()
    return jsonify(visit_document(visit))


@blueprint.post("/offers/<int:offer_id>/decline")
@roles(Role.NURSE)
def decline_offer(offer_id: int):
    db = get_session()
    nurse = token_nurse()
    body = json_body()
    if not isinstance(body, dict):
        invalid("reason", "Indiquez le motif (unavailable, too_far ou other).")
    begin_write(db)
    offer = offers.decline_offer(
        db,
        offer_id,
        nurse,
        str(body.get("reason", "")),
        actor=g.api_user,
        note=str(body.get("note", "") or ""),
    )
    db.commit()
    plan_soon()
    return jsonify(id=offer.id, status=offer.status, reason=offer.answer_reason)


@blueprint.get("/visits/<int:request_id>")
@roles(Role.NURSE)
def get_visit(request_id: int):
    db = get_session()
    visit = offers.held_visit(db, request_id, token_nurse())
    read_patient(db, visit, actor=g.api_user, purpose="api")
    db.commit()
    return jsonify(visit_document(visit))


@blueprint.post("/visits/<int:request_id>/report")
@roles(Role.NURSE)
def report_visit(request_id: int):
    db = get_session()
    nurse = token_nurse()
    body = json_body()
    begin_write(db)
    reports.file_report(db, request_id, nurse, body, actor=g.api_user)
    visit = offers.held_visit(db, request_id, nurse)
    read_patient(db, visit, actor=g.api_user, purpose="api")  # the answer names the patient
    db.commit()
    response = jsonify(visit_document(visit))
    response.status_code = 201
    return response


@blueprint.post("/visits/<int:request_id>/unreachable")
@roles(Role.NURSE)
def visit_unreachable(request_id: int):
    db = get_session()
    nurse = token_nurse()
    body = json_body()
    reason = body.get("reason", "") if isinstance(body, dict) else ""
    begin_write(db)
    visit = reports.mark_unreachable(db, request_id, nurse, str(reason), actor=g.api_user)
    read_patient(db, visit, actor=g.api_user, purpose="api")
    db.commit()
    return jsonify(visit_document(visit))


@blueprint.post("/visits/<int:request_id>/hand-back")
@roles(Role.NURSE)
def hand_back_visit(request_id: int):
    db = get_session()
    nurse = token_nurse()
    body = json_body()
    reason = body.get("reason", "") if isinstance(body, dict) else ""
    begin_write(db)
    visit = offers.hand_back(db, request_id, nurse, str(reason), actor=g.api_user)
    db.commit()
    plan_soon()
    return jsonify(id=visit.id, status=visit.status)


@blueprint.post("/visits/<int:request_id>/appointment")
@roles(Role.NURSE)
def reschedule_visit(request_id: int):
    db = get_session()
    nurse = token_nurse()
    appointment = _appointment(json_body())
    if appointment is None:
        invalid("appointment_at", "Indiquez la nouvelle heure du rendez-vous.")
    begin_write(db)
    visit = offers.reschedule(db, request_id, nurse, appointment, actor=g.api_user)
    read_patient(db, visit, actor=g.api_user, purpose="api")
    db.commit()
    return jsonify(visit_document(visit))
