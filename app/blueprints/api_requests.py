"""JSON API for visit requests: booking (idempotent), reading with history, listing, cancelling.
Agents see the requests of their own CPAM only."""

from flask import g, jsonify, request, url_for

from app import notify
from app.blueprints.api import blueprint, json_body, roles
from app.db import begin_write, get_session
from app.geocoding import geocoder
from app.jobs.scheduler import plan_soon
from app.pagination import requested_page, requested_per_page
from app.rules import booking_rules
from registry.accounts import Role
from registry.errors import invalid
from registry.requests import queries, services
from registry.requests.models import RequestEvent, RequestStatus, VisitRequest
from registry.timeutil import utcnow


def address_document(visit: VisitRequest) -> dict:
    return {
        "street": visit.address_street,
        "postal_code": visit.address_postal_code,
        "commune": visit.address_commune,
    }


def request_document(visit: VisitRequest, history: list[RequestEvent] | None = None) -> dict:
    document = {
        "id": visit.id,
        "status": visit.status,
        "cpam_code": visit.cpam_code,
        "external_ref": visit.external_ref,
        "nir": visit.nir,
        "first_name": visit.first_name,
        "last_name": visit.last_name,
        "birth_date": visit.birth_date.isoformat(),
        "phone": visit.phone,
        "address": address_document(visit),
        "location": {
            "lat": visit.latitude,
            "lon": visit.longitude,
            "insee": visit.insee,
            "commune": visit.address_commune,
            "department": visit.department,
        },
        "languages": visit.languages,
        "household_size": visit.household_size,
        "household_tests": visit.household_tests,
        "skills_needed": visit.skills_needed,
        "consent_at": visit.consent_at.isoformat(),
        "due_at": visit.due_at.isoformat(),
        "follow_up_at": visit.follow_up_at.isoformat(),
        "preferred_windows": visit.preferred_windows,
        "preferred_times": visit.preferred_times,
        "usual_nurse_rpps": visit.usual_nurse_rpps,
        "priority": visit.priority,
        "vulnerable": visit.vulnerable,
        "language_barrier": visit.language_barrier,
        "notes": visit.notes,
        "cancel_reason": visit.cancel_reason,
        "created_at": visit.created_at.isoformat(),
    }
    if history is not None:
        document["history"] = [
            {
                "at": event.at.isoformat(),
                "from_status": event.from_status,
                "to_status": event.to_status,
                "actor": event.actor_label,
                "reason": event.reason,
            }
            for event in history
        ]
    return document


@blueprint.post("/visit-requests")
@roles(Role.AGENT)
def create_visit_request():
    db = get_session()
    begin_write(db)
    visit, created = services.book_request(
        db,
        json_body(),
        client=g.api_user,
        geocoder=geocoder(),
        rules=booking_rules(),
        idempotency_key=request.headers.get("Idempotency-Key"),
    )
    db.commit()
    if created:
        plan_soon()
    response = jsonify(request_document(visit))
    response.status_code = 201 if created else 200
    response.headers["Location"] = url_for("api.get_visit_request", request_id=visit.id)
    return response


@blueprint.get("/visit-requests/<int:request_id>")
@roles(Role.AGENT)
def get_visit_request(request_id: int):
    db = get_session()
    visit = services.request_for(db, request_id, g.api_user, purpose="api")
    # Read in the transaction that audits the read: after its commit, a new one would be begun
    # (and the connection checked out and pinged again) for the history alone.
    document = request_document(visit, services.history_of(db, visit.id))
    db.commit()
    return jsonify(document)


@blueprint.get("/visit-requests")
@roles(Role.AGENT)
def list_visit_requests():
    status = request.args.get("status", "")
    if status and status not in RequestStatus.__members__.values():
        invalid("status", f"Statut inconnu. Valeurs : {', '.join(RequestStatus)}.")
    page, per_page = requested_page(), requested_per_page()
    db = get_session()
    rules = booking_rules()
    rows, total = queries.requests_of_cpam(
        db,
        g.api_user,
        criteria=queries.RequestFilter(status=status),
        now=utcnow(),
        at_risk_before=rules.at_risk_before,
        page=page,
        per_page=per_page,
    )
    db.commit()
    return jsonify(
        items=[request_document(row) for row in rows], page=page, per_page=per_page, total=total
    )


@blueprint.post("/visit-requests/<int:request_id>/cancel")
@roles(Role.AGENT)
def cancel_visit_request(request_id: int):
    db = get_session()
    visit = services.request_for(db, request_id, g.api_user, purpose="cancel")
    body = json_body()
    reason = body.get("reason", "") if isinstance(body, dict) else ""
    for nurse_id in services.cancel_request(db, visit, str(reason), actor=g.api_user):
        notify.visit_cancelled(db, visit, nurse_id)
    document = request_document(visit, services.history_of(db, visit.id))
    db.commit()
    return jsonify(document)
