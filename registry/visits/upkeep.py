"""The recurring checks: requests close to their due time with no nurse (escalated once), visits
not reported by the follow-up date (J+4), and the retention purge that replaces a closed
request's patient identity by a pseudonym while keeping what billing needs."""

import hashlib
import hmac
from datetime import date, datetime, timedelta

from sqlalchemy import delete, update
from sqlmodel import Session, select

from registry import audit
from registry.geo.cache import GeocodeCacheEntry
from registry.geo.communes import commune_directory
from registry.requests.models import RequestEvent, RequestStatus, VisitRequest
from registry.visits.models import Offer, VisitReport

S = RequestStatus
NOT_YET_HELD = (S.RECEIVED, S.OFFERED, S.UNASSIGNED)
CLOSED = (S.VISITED, S.BILLED, S.CANCELLED, S.REFUSED_BY_PATIENT, S.UNREACHABLE)
SYSTEM = "système"


def escalate_at_risk(session: Session, now: datetime, before: timedelta) -> list[VisitRequest]:
    """Requests not accepted `before` their due time, not escalated yet: stamped, returned to
    be announced to agents and coordinators."""
    rows = list(
        session.exec(
            select(VisitRequest).where(
                VisitRequest.status.in_(NOT_YET_HELD),
                VisitRequest.due_at <= now + before,
                VisitRequest.escalated_at.is_(None),
            )
        )
    )
    for request in rows:
        request.escalated_at = now
        session.add(request)
        audit.record(
            session,
            actor=SYSTEM,
            action="visit_request.escalated",
            target_type="visit_request",
            target_id=request.id,
            details={"status": request.status, "due_at": request.due_at.isoformat()},
        )
    return rows


def unreported_at_follow_up(session: Session, now: datetime) -> list[VisitRequest]:
    """Accepted visits with no report at their follow-up date (J+4), not flagged yet: stamped,
    returned to remind their nurse."""
    rows = list(
        session.exec(
            select(VisitRequest).where(
                VisitRequest.status == S.ACCEPTED,
                VisitRequest.follow_up_at <= now,
                VisitRequest.follow_up_flagged_at.is_(None),
            )
        )
    )
    for request in rows:
        request.follow_up_flagged_at = now
        session.add(request)
    return rows


def purge_identities(
    session: Session, now: datetime, retention: timedelta, secret: str, limit: int = 500
) -> int:
    """Closed requests older than the retention period lose the patient's identity: name,
    phone, street and notes are erased, the NIR replaced by a keyed pseudonym (the same patient
    keeps the same one, so counts stay right), the birth date kept to its year, the home's
    point moved to its commune's. The words people wrote about the visit go too (reasons in its
    history, the nurses' notes on its offers, the social needs of its report), and the
    addresses the geocoding cache keeps from that long ago. The commune, dates, status, the
    report's findings and everything billing needs remain. Idempotent; `limit` at most, by id."""
    rows = list(
        session.exec(
            select(VisitRequest)
            .where(
                VisitRequest.status.in_(CLOSED),
                VisitRequest.status_changed_at <= now - retention,
                VisitRequest.pseudonymised_at.is_(None),
            )
            .order_by(VisitRequest.id)
            .limit(limit)
        )
    )
    for request in rows:
        request.nir = pseudonym(request.nir, secret)
        request.first_name = ""
        request.last_name = ""
        request.phone = ""
        request.address_street = ""
        request.notes = ""
        request.cancel_reason = ""  # the agent's words may tell the patient's circumstances
        request.birth_date = date(request.birth_date.year, 1, 1)
        # A street-level point is the home itself: the commune's is all the map needs.
        commune = commune_directory().get(request.insee)
        if commune is not None:
            request.latitude, request.longitude = commune.latitude, commune.longitude
        request.pseudonymised_at = now
        session.add(request)
    ids = [request.id for request in rows]
    if ids:
        session.execute(
            update(RequestEvent).where(RequestEvent.request_id.in_(ids)).values(reason="")
        )
        session.execute(update(Offer).where(Offer.request_id.in_(ids)).values(answer_note=""))
        session.execute(
            update(VisitReport).where(VisitReport.request_id.in_(ids)).values(social_needs="")
        )
    session.execute(
        delete(GeocodeCacheEntry).where(GeocodeCacheEntry.created_at <= now - retention)
    )
    if rows:
        audit.record(
            session,
            actor=SYSTEM,
            action="visit_request.pseudonymised",
            target_type="visit_request",
            details={"count": len(rows), "ids": [r.id for r in rows][:50]},
        )
    return len(rows)


def pseudonym(nir: str, secret: str) -> str:
    """« P » and 14 hex digits of an HMAC of the NIR: stable, not reversible without the key."""
    digest = hmac.new(secret.encode(), nir.encode(), hashlib.sha256).hexdigest()
    return "P" + digest[:14]
