"""Visit-request services: booking (idempotent, one open request per patient), the one function
that moves a request through its lifecycle, cancellation, and reads scoped to the agent's CPAM.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from registry import audit
from registry.accounts import User
from registry.errors import (
    Conflict,
    ErrorCollector,
    FieldError,
    NotFound,
    PermissionDenied,
    ValidationFailed,
    invalid,
)
from registry.geo import Geocoder
from registry.identifiers import validate_nir
from registry.nurses.schema import parse_address
from registry.nurses.services import geocode_practice
from registry.requests.models import (
    OPEN_STATUSES,
    RequestEvent,
    RequestStatus,
    VisitRequest,
)
from registry.requests.schema import parse_request_input, skills_needed, windows_for_times
from registry.text import one_line
from registry.timeutil import local_day, monday_of, utcnow
from registry.visits.models import HOLDING_STATUSES, Offer, OfferStatus

S = RequestStatus
TRANSITIONS = {
    # Straight to accepted when a nurse says yes after her offer expired (a late yes).
    S.RECEIVED: {S.OFFERED, S.ACCEPTED, S.UNASSIGNED, S.CANCELLED, S.REFUSED_BY_PATIENT},
    # Back to received when an offer is declined or expires, or the nurse hands it back.
    S.OFFERED: {S.ACCEPTED, S.RECEIVED, S.UNASSIGNED, S.CANCELLED, S.REFUSED_BY_PATIENT},
    S.ACCEPTED: {S.VISITED, S.RECEIVED, S.UNREACHABLE, S.CANCELLED, S.REFUSED_BY_PATIENT},
    S.UNASSIGNED: {S.OFFERED, S.ACCEPTED, S.RECEIVED, S.CANCELLED, S.REFUSED_BY_PATIENT},
    S.VISITED: {S.BILLED},
    S.BILLED: set(),
    S.CANCELLED: set(),
    S.REFUSED_BY_PATIENT: set(),
    S.UNREACHABLE: set(),
}
REASON_REQUIRED = {S.CANCELLED, S.REFUSED_BY_PATIENT, S.UNREACHABLE}


@dataclass(frozen=True)
class BookingRules:
    """Dated rules a deployment may tune (configuration)."""

    due_after: timedelta = timedelta(hours=24)
    follow_up_after: timedelta = timedelta(days=4)
    revisit_block: timedelta = timedelta(days=14)
    # A request not yet accepted this close to its due time is flagged to agents.
    at_risk_before: timedelta = timedelta(hours=6)


def body_hash(body: Any) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def book_request(
    session: Session,
    body: Any,
    *,
    client: User,
    geocoder: Geocoder,
    rules: BookingRules,
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> tuple[VisitRequest, bool]:
    """The booked request and whether it was created now (False: a replay of the same key)."""
    now = now or utcnow()
    if not client.cpam_code:
        raise PermissionDenied("Ce compte n'est rattaché à aucune CPAM : il ne peut pas réserver.")
    if idempotency_key is not None and len(idempotency_key) > 200:
        invalid("Idempotency-Key", "La clé d'idempotence fait 200 caractères au plus.")
    fingerprint = body_hash(body)
    replay = _replay(session, client, idempotency_key, fingerprint)
    if replay is not None:
        return replay, False
    values = parse_request_input(body, now=now)
    _refuse_unless_replay(session, values, client, idempotency_key, fingerprint, rules, now)
    place = geocode_practice(geocoder, values["address"], field_prefix="address")
    request = _new_request(values, place, client, idempotency_key, fingerprint, rules)
    try:
        with session.begin_nested():
            session.add(request)
            session.flush()
    except IntegrityError as error:
        # A concurrent booking won the race: answer as if it had come first.
        replay = _refuse_unless_replay(
            session, values, client, idempotency_key, fingerprint, rules, now
        )
        if replay is not None:
            return replay, False
        raise Conflict("Une demande identique vient d'être enregistrée.") from error
    _record(session, request, None, S.RECEIVED, actor=client, reason="")
    audit.record(
        session,
        actor=client,
        action="visit_request.created",
        target_type="visit_request",
        target_id=request.id,
        details={"cpam": request.cpam_code, "insee": request.insee},
    )
    return request, True


def check_booking(
    session: Session,
    body: dict,
    *,
    client: User,
    geocoder: Geocoder,
    rules: BookingRules,
    now: datetime | None = None,
) -> tuple[list[FieldError], Conflict | None]:
    """What booking this body would refuse, storing nothing, so the form can tell the agent as
    she types: the invalid fields, the commune not found, and, as soon as the NIR is valid, a
    request the patient already has."""
    now = now or utcnow()
    errors: list[FieldError] = []
    try:
        parse_request_input(body, now=now)
    except ValidationFailed as error:
        errors = list(error.errors)
    address_errors = ErrorCollector()
    address = parse_address(body.get("address") or {}, address_errors, "address")
    if not address_errors.errors and not any(e.field.startswith("address") for e in errors):
        try:
            geocode_practice(geocoder, address, field_prefix="address")
        except ValidationFailed as error:
            errors.extend(error.errors)
    conflict = None
    if not any(e.field in ("nir", "external_ref") for e in errors):
        known = {
            "nir": validate_nir(str(body.get("nir", ""))),
            "external_ref": body.get("external_ref"),
        }
        try:
            _refuse_duplicates(session, known, client.cpam_code, rules, now)
        except Conflict as found:
            conflict = found
    return errors, conflict


def _replay(session, client, key, fingerprint) -> VisitRequest | None:
    if key is None:
        return None
    existing = session.exec(
        select(VisitRequest).where(
            VisitRequest.client_id == client.id, VisitRequest.idempotency_key == key
        )
    ).first()
    if existing is not None and existing.request_hash != fingerprint:
        raise Conflict(
            "Cette clé d'idempotence a déjà servi pour une autre demande.",
            existing_id=existing.id,
        )
    return existing


def _refuse_unless_replay(session, values, client, key, fingerprint, rules, now):
    """Refuse a duplicate patient or reference, unless a concurrent call with the same key has
    just committed this very request: then that request is the answer."""
    try:
        _refuse_duplicates(session, values, client.cpam_code, rules, now)
    except Conflict:
        replay = _replay(session, client, key, fingerprint)
        if replay is None:
            raise
        return replay
    return _replay(session, client, key, fingerprint)


def _refuse_duplicates(session, values, cpam_code, rules, now) -> None:
    if values.get("external_ref"):
        same_ref = session.exec(
            select(VisitRequest.id).where(
                VisitRequest.cpam_code == cpam_code,
                VisitRequest.external_ref == values["external_ref"],
            )
        ).first()
        if same_ref is not None:
            raise Conflict(
                f"La référence {values['external_ref']} est déjà utilisée.", existing_id=same_ref
            )
    open_request = session.exec(
        select(VisitRequest.id, VisitRequest.cpam_code).where(
            VisitRequest.nir == values["nir"], VisitRequest.status.in_(OPEN_STATUSES)
        )
    ).first()
    if open_request is not None:
        _refuse_patient("Une demande est déjà en cours pour ce patient", open_request, cpam_code)
    recent_visit = session.exec(
        select(VisitRequest.id, VisitRequest.cpam_code).where(
            VisitRequest.nir == values["nir"],
            VisitRequest.status.in_((S.VISITED, S.BILLED)),
            VisitRequest.status_changed_at >= now - rules.revisit_block,
        )
    ).first()
    if recent_visit is not None:
        days = rules.revisit_block.days
        _refuse_patient(
            f"Ce patient a été visité il y a moins de {days} jours", recent_visit, cpam_code
        )


def _refuse_patient(message: str, existing, cpam_code: str):
    """A conflict pointing to the existing request; another CPAM's request is named by its
    CPAM only, since this agent may not open it."""
    request_id, owner = existing
    if owner != cpam_code:
        raise Conflict(f"{message} (demande de la CPAM {owner}).")
    raise Conflict(f"{message} (demande n° {request_id}).", existing_id=request_id)


def _new_request(values, place, client, key, fingerprint, rules) -> VisitRequest:
    address = values["address"]
    consent = values["consent_at"]
    return VisitRequest(
        cpam_code=client.cpam_code,
        agent_id=client.id,
        client_id=client.id,
        idempotency_key=key,
        request_hash=fingerprint,
        external_ref=values.get("external_ref"),
        nir=values["nir"],
        first_name=values["first_name"],
        last_name=values["last_name"],
        birth_date=values["birth_date"],
        phone=values["phone"],
        address_street=address.street,
        address_postal_code=place.postal_code or address.postal_code,
        address_commune=place.commune,
        insee=place.insee,
        latitude=place.latitude,
        longitude=place.longitude,
        department=place.department,
        overseas=place.overseas,
        timezone=place.timezone,
        languages=values["languages"],
        household_size=values["household_size"],
        household_tests=values["household_tests"],
        skills_needed=skills_needed(values["household_tests"]),
        preferred_windows=_preferred_windows(values, place, rules),
        preferred_times=values.get("preferred_times", []),
        usual_nurse_rpps=values.get("usual_nurse_rpps"),
        priority=values.get("priority", "normal"),
        vulnerable=values.get("vulnerable", False),
        language_barrier=values.get("language_barrier", False),
        notes=values.get("notes", ""),
        consent_at=consent,
        consent_day=local_day(consent, place.timezone),
        consent_week=monday_of(local_day(consent, place.timezone)),
        due_at=consent + rules.due_after,
        follow_up_at=consent + rules.follow_up_after,
    )


def _preferred_windows(values, place, rules) -> list[dict[str, str]]:
    """Explicit windows, then those the preferred times of day give before the due time."""
    consent = values["consent_at"]
    derived = windows_for_times(
        values.get("preferred_times", []),
        consent,
        consent + rules.due_after,
        ZoneInfo(place.timezone),
    )
    return values.get("preferred_windows", []) + derived


def transition(
    session: Session, request: VisitRequest, target: str, *, actor: object, reason: str = ""
) -> VisitRequest:
    """The one way a request changes status: checks the move, stamps it, records its history
    and the audit log. An illegal move is a Conflict (409)."""
    current = RequestStatus(request.status)
    target = RequestStatus(target)
    if target not in TRANSITIONS[current]:
        raise Conflict(
            f"Une demande « {current.label} » ne peut pas passer à « {target.label} ».",
            current_status=current.value,
        )
    reason = one_line(reason)
    if target in REASON_REQUIRED and not reason:
        invalid("reason", "Indiquez le motif.")
    request.status = target
    request.status_changed_at = utcnow()
    if target == S.CANCELLED:
        request.cancel_reason = reason
    session.add(request)
    _record_move(session, request, current, target, actor=actor, reason=reason)
    return request


def transition_if(
    session: Session,
    request_id: int,
    current: str,
    target: str,
    *,
    actor: object,
    reason: str = "",
    values: dict[str, Any] | None = None,
) -> bool:
    """Moves the request from `current` to `target` only if the database still holds it in
    `current` when it applies the change (a conditional UPDATE: of two concurrent callers, one
    moves it, the other is told False). `values` are set in the same statement. The move is
    recorded in the history and the audit log when it happens."""
    current, target = RequestStatus(current), RequestStatus(target)
    if target not in TRANSITIONS[current]:
        raise ValueError(f"illegal transition {current} -> {target}")
    reason = one_line(reason)
    moved = session.execute(
        update(VisitRequest)
        .where(VisitRequest.id == request_id, VisitRequest.status == current)
        .values(status=target, status_changed_at=utcnow(), **(values or {}))
    ).rowcount
    if moved != 1:
        return False
    request = session.get(VisitRequest, request_id)
    session.refresh(request)
    _record_move(session, request, current, target, actor=actor, reason=reason)
    return True


def _record_move(session, request, current, target, *, actor, reason) -> None:
    """A status change in the request's history, with its reason, and in the audit log,
    without: a reason may name the patient, and the audit log outlives the retention purge."""
    _record(session, request, current, target, actor=actor, reason=reason)
    audit.record(
        session,
        actor=actor,
        action="visit_request.status_changed",
        target_type="visit_request",
        target_id=request.id,
        details={"from": current.value, "to": target.value},
    )


def cancel_request(
    session: Session, request: VisitRequest, reason: str, *, actor: object
) -> list[int]:
    """Cancels the request; an offer waiting for an answer, or accepted, is withdrawn. Returns
    the nurses whose offer or visit it was, to tell them."""
    request.accepted_minutes = None  # no one holds it any more
    transition(session, request, S.CANCELLED, actor=actor, reason=reason)
    holding = (Offer.request_id == request.id, Offer.status.in_(HOLDING_STATUSES))
    nurses = list(session.exec(select(Offer.nurse_id).where(*holding)))
    session.execute(
        update(Offer).where(*holding).values(status=OfferStatus.WITHDRAWN, answered_at=utcnow())
    )
    return nurses


def _record(session, request, current, target, *, actor, reason) -> None:
    session.add(
        RequestEvent(
            request_id=request.id,
            actor_label=getattr(actor, "email", None) or str(actor),
            from_status=current.value if current else None,
            to_status=target.value,
            reason=reason,
        )
    )


def request_for(session: Session, request_id: int, reader: User, *, purpose: str) -> VisitRequest:
    """The request, if the reader's CPAM booked it (else 404: ids cannot be probed). The read of
    a patient's identity is audited."""
    request = status_for(session, request_id, reader)
    read_patient(session, request, actor=reader, purpose=purpose)
    return request


def status_for(session: Session, request_id: int, reader: User) -> VisitRequest:
    """The request under the same rule as `request_for`, but not audited: for callers that
    show its progress (status, dates, history) and nothing of the patient."""
    request = session.get(VisitRequest, request_id)
    if request is None or request.cpam_code != reader.cpam_code:
        raise NotFound(f"Demande n° {request_id} introuvable.")
    return request


def read_patient(session: Session, request: VisitRequest, *, actor: object, purpose: str) -> None:
    """Every display of a patient's identity, to an agent or a nurse, is in the audit log."""
    audit.record(
        session,
        actor=actor,
        action="visit_request.read",
        target_type="visit_request",
        target_id=request.id,
        details={"purpose": purpose},
    )


def history_of(session: Session, request_id: int) -> list[RequestEvent]:
    return list(
        session.exec(
            select(RequestEvent)
            .where(RequestEvent.request_id == request_id)
            .order_by(RequestEvent.at, RequestEvent.id)
        )
    )
