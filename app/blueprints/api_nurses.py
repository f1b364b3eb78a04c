"""JSON API for the nurse registry: enrolment, reading, updates and status changes."""

from flask import g, jsonify, request, url_for

from app.blueprints.api import blueprint, checked, json_body, roles
from app.db import get_session
from app.geocoding import geocoder
from app.pagination import requested_page, requested_per_page
from registry.accounts import Role
from registry.errors import ErrorCollector, NotFound, PermissionDenied, invalid
from registry.geo.communes import commune_directory
from registry.identifiers import INSEE_CODE, INSEE_EXPECTED
from registry.nurses import services
from registry.nurses.models import Nurse, NurseStatus, Skill
from registry.nurses.queries import list_nurses
from registry.nurses.schema import parse_nurse_input
from registry.nurses.services import NurseDetails

MANAGERS = (Role.COORDINATOR, Role.ADMIN)
# What a nurse may not change on her own record: her identifiers are checked by the URPS.
LOCKED_FOR_NURSE = ("rpps", "am_number")


def nurse_document(details: NurseDetails) -> dict:
    nurse = details.nurse
    return {
        "id": nurse.id,
        "status": nurse.status,
        "status_reason": nurse.status_reason,
        "rpps": nurse.rpps,
        "am_number": nurse.am_number,
        "first_name": nurse.first_name,
        "last_name": nurse.last_name,
        "phone": nurse.phone,
        "email": nurse.email,
        "practice": {
            "street": nurse.practice_street,
            "postal_code": nurse.practice_postal_code,
            "commune": nurse.practice_commune,
            "insee": nurse.practice_insee,
            "lat": nurse.practice_latitude,
            "lon": nurse.practice_longitude,
            "precision": nurse.practice_precision,
        },
        "department": nurse.department,
        "overseas": nurse.overseas,
        "timezone": nurse.timezone,
        "sector": {"communes": details.sector_communes, "radius_km": nurse.sector_radius_km},
        "mountain": nurse.mountain,
        "skills": details.skills,
        "languages": details.languages,
        "max_visits_per_day": nurse.max_visits_per_day,
        "availability": [_window_document(w) for w in details.availability],
        "created_at": nurse.created_at.isoformat(),
        "validated_at": nurse.validated_at.isoformat() if nurse.validated_at else None,
    }


def _window_document(window) -> dict:
    document = {}
    if window.weekday is not None:
        document["weekday"] = window.weekday
    else:
        document["date"] = window.on_date.isoformat()
    if window.start_time is not None:
        document["start"] = window.start_time.strftime("%H:%M")
        document["end"] = window.end_time.strftime("%H:%M")
    if window.unavailable:
        document["unavailable"] = True
    return document


def _commune_exists(insee: str) -> bool:
    return commune_directory().get(insee) is not None


def _visible_nurse(nurse_id: int) -> Nurse:
    """The nurse, if the caller manages the registry or is that nurse (else 404, not 403, so
    ids cannot be probed)."""
    nurse = services.get_nurse(get_session(), nurse_id)
    if g.api_user.role == Role.NURSE and nurse.user_id != g.api_user.id:
        raise NotFound(f"Infirmier·e n° {nurse_id} introuvable.")
    return nurse


@blueprint.post("/nurses")
@roles(*MANAGERS)
def create_nurse():
    db = get_session()
    values = parse_nurse_input(
        json_body(), partial=False, commune_exists=_commune_exists, require_password=True
    )
    nurse = services.enroll_nurse(db, values, geocoder=geocoder(), actor=g.api_user)
    db.commit()
    response = jsonify(nurse_document(services.details_of(db, nurse)))
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_nurse", nurse_id=nurse.id)
    return response


@blueprint.get("/nurses")
@roles(*MANAGERS)
def list_nurses_endpoint():
    errors = ErrorCollector()
    status = request.args.get("status", "")
    if status and status not in NurseStatus.__members__.values():
        errors.add("status", f"Statut inconnu. Valeurs : {', '.join(NurseStatus)}.")
    insee = request.args.get("insee", "").strip().upper()
    if insee and not INSEE_CODE.fullmatch(insee):
        errors.add("insee", INSEE_EXPECTED)
    skill = request.args.get("skill", "")
    if skill and skill not in Skill.__members__.values():
        errors.add("skill", f"Compétence inconnue. Valeurs : {', '.join(Skill)}.")
    errors.raise_if_any()
    page, per_page = requested_page(), requested_per_page()
    db = get_session()
    rows, total = list_nurses(
        db,
        status=status,
        insee_codes=[insee] if insee else None,
        skill=skill,
        page=page,
        per_page=per_page,
    )
    return jsonify(
        items=[nurse_document(details) for details in services.details_of_many(db, rows)],
        page=page,
        per_page=per_page,
        total=total,
    )


@blueprint.get("/nurses/<int:nurse_id>")
@roles(*MANAGERS, Role.NURSE)
def get_nurse(nurse_id: int):
    return jsonify(nurse_document(services.details_of(get_session(), _visible_nurse(nurse_id))))


@blueprint.patch("/nurses/<int:nurse_id>")
@roles(*MANAGERS, Role.NURSE)
def update_nurse(nurse_id: int):
    db = get_session()
    nurse = _visible_nurse(nurse_id)
    body = json_body()
    if g.api_user.role == Role.NURSE and isinstance(body, dict):
        locked = [name for name in LOCKED_FOR_NURSE if name in body]
        if locked:
            fields = ", ".join(locked)
            raise PermissionDenied(f"Seule la coordination peut modifier ces champs : {fields}.")
    if isinstance(body, dict) and "password" in body:
        invalid("password", "Le mot de passe se change par « Mot de passe oublié ».")
    values = parse_nurse_input(body, partial=True, commune_exists=_commune_exists)
    services.update_nurse(db, nurse, values, geocoder=geocoder(), actor=g.api_user)
    db.commit()
    return jsonify(nurse_document(services.details_of(db, nurse)))


def _status_change(nurse_id: int, target: NurseStatus):
    db = get_session()
    nurse = services.get_nurse(db, nurse_id)
    body = request.get_json(silent=True) if request.is_json else None
    reason = checked(body).get("reason", "") if isinstance(body, dict) else ""
    services.change_status(db, nurse, target, reason=str(reason), actor=g.api_user)
    db.commit()
    return jsonify(nurse_document(services.details_of(db, nurse)))


@blueprint.post("/nurses/<int:nurse_id>/validate")
@roles(*MANAGERS)
def validate_nurse(nurse_id: int):
    return _status_change(nurse_id, NurseStatus.ACTIVE)


@blueprint.post("/nurses/<int:nurse_id>/suspend")
@roles(*MANAGERS)
def suspend_nurse(nurse_id: int):
    return _status_change(nurse_id, NurseStatus.SUSPENDED)


@blueprint.post("/nurses/<int:nurse_id>/reactivate")
@roles(*MANAGERS)
def reactivate_nurse(nurse_id: int):
    return _status_change(nurse_id, NurseStatus.ACTIVE)


@blueprint.post("/nurses/<int:nurse_id>/withdraw")
@roles(*MANAGERS)
def withdraw_nurse(nurse_id: int):
    return _status_change(nurse_id, NurseStatus.WITHDRAWN)
