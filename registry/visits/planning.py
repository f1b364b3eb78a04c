"""The planning pass: expired offers closed, then every request waiting for a nurse planned with
the matching engine, around the visits already accepted or offered, and offered to the nurse it
chose; a request no nurse can make before its due time is marked unassigned, with the reason.

The pass reads the registry into the engine's plain data and writes its answer back as offers;
it is idempotent (a request offered meanwhile is skipped) and can run again at any time."""

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import Session, or_, select

from matching.explain import SHORT_LABELS
from matching.model import Fixed, Instance, Params
from matching.model import Nurse as PlanNurse
from matching.model import Request as PlanRequest
from matching.solver import solve
from registry.nurses.availability import open_intervals
from registry.nurses.eligibility import local_days, search_box, widest_radius, windows_of
from registry.nurses.models import (
    Nurse,
    NurseLanguage,
    NurseSectorCommune,
    NurseSkill,
    NurseStatus,
)
from registry.requests.models import RequestStatus, VisitRequest
from registry.requests.services import transition_if
from registry.timeutil import utcnow
from registry.visits.models import Offer, OfferStatus
from registry.visits.offers import PLANNER, OfferRules, create_offer, expire_offers, refused_nurses

S = RequestStatus
WAITING = (S.RECEIVED, S.UNASSIGNED)
PRIORITY = {"normal": 0, "high": 1}
# The unassigned code of a request whose due time passed before any pass could place it.
OVERDUE = "overdue"
# Radius used for a nurse who serves only the communes of her list.
NO_RADIUS = 0.0


@dataclass
class PlanSummary:
    """What a pass did. Its text (logged by the scheduler) gives counts: the requests and
    offers it holds are left out, as a request's text would name its patient."""

    expired: int = 0
    waiting: int = 0
    offered: list[Offer] = field(default_factory=list, repr=False)
    unassigned: Counter = field(default_factory=Counter)  # reason -> requests
    overdue: int = 0
    seconds: float = 0.0
    # Requests that have just become unassigned: to tell agents and coordinators.
    flagged: list[VisitRequest] = field(default_factory=list, repr=False)

    def describe(self) -> str:
        parts = [
            f"{self.waiting} demande(s) en attente",
            f"{len(self.offered)} proposition(s) envoyée(s)",
            f"{self.expired} proposition(s) expirée(s)",
        ]
        if self.unassigned:
            reasons = ", ".join(
                f"{n} × {SHORT_LABELS.get(reason, reason)}"
                for reason, n in self.unassigned.most_common()
            )
            parts.append(f"sans infirmière : {reasons}")
        if self.overdue:
            parts.append(f"{self.overdue} échéance(s) dépassée(s)")
        return " ; ".join(parts) + f" (en {self.seconds:.2f} s)".replace(".", ",")


def plan_pass(session: Session, *, rules: OfferRules, now: datetime | None = None) -> PlanSummary:
    """One pass; the caller commits. Offers made are in `summary.offered` (to notify)."""
    now = now or utcnow()
    summary = PlanSummary(expired=expire_offers(session, now))
    waiting = list(
        session.exec(
            select(VisitRequest)
            .where(VisitRequest.status.in_(WAITING))
            .order_by(VisitRequest.due_at, VisitRequest.id)
        )
    )
    summary.overdue = _close_overdue(session, [r for r in waiting if r.due_at <= now], summary)
    waiting = [r for r in waiting if r.due_at > now]
    summary.waiting = len(waiting)
    if not waiting:
        return summary
    horizon = max(r.due_at for r in waiting)
    nurses = _nurses_around(session, waiting)
    held = _held_visits(session, [n.id for n in nurses], now, horizon)
    instance, nurse_rows = _instance(session, waiting, nurses, held, now, horizon)
    solution = solve(instance, Params(time_limit=rules.plan_time_limit))
    summary.seconds = solution.seconds
    requests = {str(r.id): r for r in waiting}
    for assignment in solution.assignments:
        request = requests.get(assignment.request)
        if request is None:
            continue  # an accepted or offered visit kept where it was
        offer = create_offer(
            session,
            request,
            nurse_rows[assignment.nurse],
            start=assignment.start,
            end=assignment.end,
            distance_km=assignment.distance_km,
            reason=assignment.reason,
            rules=rules,
            now=now,
        )
        if offer is not None:
            summary.offered.append(offer)
    for left in solution.unassigned:
        request = requests.get(left.request)
        if request is None:
            continue
        summary.unassigned[left.reason] += 1
        if _mark_unassigned(session, request, left.reason, left.detail):
            summary.flagged.append(request)
    return summary


def _close_overdue(session: Session, overdue: list[VisitRequest], summary: PlanSummary) -> int:
    closed = 0
    for request in overdue:
        if request.status == S.RECEIVED and transition_if(
            session,
            request.id,
            S.RECEIVED,
            S.UNASSIGNED,
            actor=PLANNER,
            reason="échéance dépassée sans infirmière",
            values={
                "unassigned_reason": "Échéance dépassée sans infirmière.",
                "unassigned_code": OVERDUE,
            },
        ):
            closed += 1
            summary.flagged.append(request)
    return closed


def _mark_unassigned(session: Session, request: VisitRequest, code: str, detail: str) -> bool:
    """Records why; True when the request has just become unassigned."""
    detail = detail[:200]
    if request.status == S.RECEIVED:
        return transition_if(
            session,
            request.id,
            S.RECEIVED,
            S.UNASSIGNED,
            actor=PLANNER,
            reason=detail,
            values={"unassigned_reason": detail, "unassigned_code": code},
        )
    if (request.unassigned_reason, request.unassigned_code) != (detail, code):
        request.unassigned_reason, request.unassigned_code = detail, code
        session.add(request)
    return False


def _nurses_around(session: Session, waiting: list[VisitRequest]) -> list[Nurse]:
    """Active nurses whose practice lies in the box around the waiting requests, widened by the
    largest radius, and those listing one of their communes."""
    radius = widest_radius(session)
    lats = [r.latitude for r in waiting]
    lons = [r.longitude for r in waiting]
    widest_lat = max(abs(min(lats)), abs(max(lats)))
    d_lat, d_lon = search_box(widest_lat, radius)
    in_box = select(Nurse.id).where(
        Nurse.status == NurseStatus.ACTIVE,
        Nurse.practice_latitude.between(min(lats) - d_lat, max(lats) + d_lat),
        Nurse.practice_longitude.between(min(lons) - d_lon, max(lons) + d_lon),
    )
    listing = select(NurseSectorCommune.nurse_id).where(
        NurseSectorCommune.insee.in_({r.insee for r in waiting})
    )
    return list(
        session.exec(
            select(Nurse)
            .where(
                Nurse.status == NurseStatus.ACTIVE,
                or_(Nurse.id.in_(in_box), Nurse.id.in_(listing)),
            )
            .order_by(Nurse.id)
        )
    )


@dataclass(frozen=True)
class _Held:
    request: VisitRequest
    nurse_id: int
    start: datetime


def _held_visits(session, nurse_ids: list[int], now, horizon) -> list[_Held]:
    """Visits those nurses hold or are offered, still to come before the horizon: the plan
    works around them."""
    held = []
    accepted = session.exec(
        select(VisitRequest).where(
            VisitRequest.status == S.ACCEPTED,
            VisitRequest.nurse_id.in_(nurse_ids),
            VisitRequest.appointment_at >= now,
            VisitRequest.appointment_at <= horizon,
        )
    )
    held += [_Held(r, r.nurse_id, r.appointment_at) for r in accepted]
    offered = session.exec(
        select(Offer, VisitRequest)
        .join(VisitRequest, VisitRequest.id == Offer.request_id)
        .where(
            Offer.status == OfferStatus.LIVE,
            Offer.nurse_id.in_(nurse_ids),
            Offer.planned_start <= horizon,
        )
    )
    held += [_Held(r, o.nurse_id, max(o.planned_start, now)) for o, r in offered]
    return held


def _instance(session, waiting, nurses, held, now, horizon) -> tuple[Instance, dict[str, Nurse]]:
    ids = [n.id for n in nurses]
    skills, languages, communes = _lists(session, ids)
    rows = windows_of(session, ids, local_days({n.timezone for n in nurses}, now, horizon))
    windows = {n.id: open_intervals(rows.get(n.id, []), n.timezone, now, horizon) for n in nurses}
    # A held visit keeps its place when its time lies in one of its nurse's windows; otherwise
    # (hours changed since) it still takes one of her visits.
    fixed, loose = [], Counter()
    for h in held:
        if any(a <= h.start < b for a, b in windows[h.nurse_id]):
            fixed.append(h)
        else:
            loose[h.nurse_id] += 1
    plan_nurses = tuple(
        PlanNurse(
            id=str(n.id),
            lat=n.practice_latitude,
            lon=n.practice_longitude,
            radius_km=n.sector_radius_km if n.sector_radius_km is not None else NO_RADIUS,
            capacity=max(n.max_visits_per_day - loose[n.id], 0),
            windows=tuple(windows[n.id]),
            communes=frozenset(communes.get(n.id, ())),
            skills=frozenset(skills.get(n.id, ())),
            languages=frozenset(languages.get(n.id, ())),
        )
        for n in nurses
        if windows[n.id]
    )
    known = {n.id for n in plan_nurses}
    by_rpps = {n.rpps: str(n.id) for n in nurses}
    refused = refused_nurses(session, [r.id for r in waiting])
    plan_requests = [
        _plan_request(r, now, r.due_at, by_rpps, known, refused.get(r.id, set())) for r in waiting
    ]
    fixed = [h for h in fixed if str(h.nurse_id) in known]
    plan_requests += [
        _plan_request(h.request, h.start, h.start + timedelta(hours=4), {}, known, set())
        for h in fixed
    ]
    instance = Instance(
        now=now,
        nurses=plan_nurses,
        requests=tuple(plan_requests),
        fixed=tuple(Fixed(str(h.request.id), str(h.nurse_id), h.start) for h in fixed),
    )
    return instance, {str(n.id): n for n in nurses}


def _plan_request(request: VisitRequest, earliest, due, by_rpps, known, refused) -> PlanRequest:
    usual = by_rpps.get(request.usual_nurse_rpps or "")
    return PlanRequest(
        id=str(request.id),
        lat=request.latitude,
        lon=request.longitude,
        earliest=earliest,
        due=max(due, earliest + timedelta(minutes=1)),
        commune=request.insee,
        skills=frozenset(request.skills_needed),
        languages=frozenset(request.languages),
        preferred_nurse=usual if usual in known else None,
        priority=PRIORITY.get(request.priority, 0),
        excluded_nurses=frozenset(str(n) for n in refused),
    )


def _lists(session: Session, ids: list[int]) -> tuple[dict, dict, dict]:
    skills: dict[int, set[str]] = {}
    languages: dict[int, set[str]] = {}
    communes: dict[int, set[str]] = {}
    for offset in range(0, len(ids), 500):
        chunk = ids[offset : offset + 500]
        for nurse_id, skill in session.exec(
            select(NurseSkill.nurse_id, NurseSkill.skill).where(NurseSkill.nurse_id.in_(chunk))
        ):
            skills.setdefault(nurse_id, set()).add(skill)
        for nurse_id, language in session.exec(
            select(NurseLanguage.nurse_id, NurseLanguage.language).where(
                NurseLanguage.nurse_id.in_(chunk)
            )
        ):
            languages.setdefault(nurse_id, set()).add(language)
        for nurse_id, insee in session.exec(
            select(NurseSectorCommune.nurse_id, NurseSectorCommune.insee).where(
                NurseSectorCommune.nurse_id.in_(chunk)
            )
        ):
            communes.setdefault(nurse_id, set()).add(insee)
    return skills, languages, communes
