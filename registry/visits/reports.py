"""The visit report (what the VDSI is: clinical check, isolation, social needs, household tests)
and the other way a held visit ends, the patient who could not be reached."""

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, select

from billing.pricing import parse_km
from billing.records import issue_for_report
from registry import audit
from registry.errors import Conflict, ErrorCollector, invalid
from registry.nurses.models import Nurse
from registry.requests.models import RequestStatus, VisitRequest
from registry.text import one_line
from registry.timeutil import local_day, minutes_between, monday_of, utcnow
from registry.visits.models import Offer, OfferStatus, VisitReport
from registry.visits.offers import end_held_visit, held_visit

S = RequestStatus
SYMPTOMS = {
    "fever": "Fièvre",
    "cough": "Toux",
    "dyspnea": "Essoufflement",
    "anosmia": "Perte de l'odorat ou du goût",
    "headache": "Maux de tête",
    "fatigue": "Fatigue",
    "digestive": "Troubles digestifs",
}
TEST_KINDS = {"tag": "Test antigénique", "pcr": "Prélèvement RT-PCR"}
# (low, high) accepted for each measure; outside, a typing error is more likely than a patient.
MEASURES = {
    "temperature_c": (34.0, 43.0),
    "spo2": (50, 100),
    "systolic": (60, 260),
    "diastolic": (30, 160),
}


def parse_report(body: Any, request: VisitRequest, now: datetime) -> dict[str, Any]:
    """The report's values, or every invalid field at once (422)."""
    errors = ErrorCollector()
    if not isinstance(body, dict):
        invalid("body", "Le compte rendu doit être un objet JSON.")
    values: dict[str, Any] = {
        "visited_at": _instant(body.get("visited_at"), request, now, errors),
        "clinical": _clinical(body.get("clinical"), errors),
        "household_tests": _tests(body.get("household_tests"), request, errors),
        "ik_km": _km(body.get("ik_km"), errors),
    }
    feasible = body.get("isolation_feasible")
    if not isinstance(feasible, bool):
        errors.add("isolation_feasible", "Indiquez si l'isolement est possible (oui ou non).")
    values["isolation_feasible"] = feasible
    for flag in ("ctai_referral", "gp_informed", "vaccination_offered"):
        value = body.get(flag, False)
        if not isinstance(value, bool):
            errors.add(flag, "Oui ou non (true ou false) attendu.")
        values[flag] = value
    social = body.get("social_needs", "") or ""
    if not isinstance(social, str) or len(social) > 1000:
        errors.add("social_needs", "Un texte de 1 000 caractères au plus.")
    values["social_needs"] = one_line(str(social), limit=1000)
    errors.raise_if_any()
    return values


def aware_instant(value: object) -> datetime:
    """An ISO 8601 instant carrying its offset: a phone knows its zone, and a visit's time is
    read where it happened."""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError as error:
        raise ValueError("Date et heure illisibles (ISO 8601 attendu).") from error
    if moment.tzinfo is None:
        raise ValueError("Indiquez le fuseau horaire (par exemple +01:00).")
    return moment


def _instant(value, request: VisitRequest, now: datetime, errors) -> datetime | None:
    if not isinstance(value, str):
        errors.add("visited_at", "Indiquez l'heure de la visite (date et heure ISO 8601).")
        return None
    try:
        moment = aware_instant(value)
    except ValueError as error:
        errors.add("visited_at", str(error))
        return None
    if moment > now + timedelta(minutes=5):
        errors.add("visited_at", "La visite ne peut pas être dans le futur.")
    elif moment < request.consent_at - timedelta(minutes=1):  # forms give the minute only
        errors.add("visited_at", "La visite ne peut pas précéder le consentement du patient.")
    return moment


def _clinical(value, errors) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        errors.add("clinical", "Un objet est attendu (temperature_c, spo2, systolic…).")
        return {}
    clinical: dict[str, Any] = {}
    for name, (low, high) in MEASURES.items():
        measure = value.get(name)
        if measure is None:
            continue
        if isinstance(measure, bool) or not isinstance(measure, int | float):
            errors.add(f"clinical.{name}", "Un nombre est attendu.")
        elif not low <= measure <= high:
            errors.add(f"clinical.{name}", f"Valeur attendue entre {low} et {high}.")
        else:
            clinical[name] = measure
    symptoms = value.get("symptoms") or []
    known = isinstance(symptoms, list) and all(
        isinstance(s, str) and s in SYMPTOMS for s in symptoms
    )
    if not known:
        errors.add("clinical.symptoms", f"Symptômes possibles : {', '.join(SYMPTOMS)}.")
    else:
        clinical["symptoms"] = sorted(set(symptoms))
    pressure = (clinical.get("systolic"), clinical.get("diastolic"))
    if None not in pressure and pressure[1] >= pressure[0]:
        errors.add("clinical.diastolic", "La diastolique doit être inférieure à la systolique.")
    return clinical


def _tests(value, request: VisitRequest, errors) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list):
        errors.add("household_tests", "Une liste de {kind, count, positives} est attendue.")
        return []
    tests = []
    for index, item in enumerate(value):
        where = f"household_tests[{index}]"
        kind = item.get("kind") if isinstance(item, dict) else None
        if not isinstance(kind, str) or kind not in TEST_KINDS:
            errors.add(f"{where}.kind", f"Type de test : {', '.join(TEST_KINDS)}.")
            continue
        count, positives = item.get("count"), item.get("positives", 0)
        if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= 20:
            errors.add(f"{where}.count", "Nombre de personnes testées entre 1 et 20.")
            continue
        if count > request.household_size:
            errors.add(f"{where}.count", f"Le foyer compte {request.household_size} personne(s).")
            continue
        if not isinstance(positives, int) or isinstance(positives, bool):
            errors.add(f"{where}.positives", "Un nombre entier est attendu.")
            continue
        if not 0 <= positives <= count:
            errors.add(f"{where}.positives", "Entre 0 et le nombre de personnes testées.")
            continue
        tests.append({"kind": item["kind"], "count": count, "positives": positives})
    return tests


def _km(value, errors) -> Decimal | None:
    try:
        return parse_km(value)
    except ValueError as error:
        errors.add("ik_km", str(error))
        return None


def file_report(
    session: Session, request_id: int, nurse: Nurse, body: Any, *, actor: object
) -> VisitReport:
    """Files the report of a visit the nurse holds; the request becomes `visited`, its
    appointment the time the visit really took place, and its bill is issued (`billed`)."""
    now = utcnow()
    request = held_visit(session, request_id, nurse)
    if request.status != S.ACCEPTED:
        raise Conflict("Le compte rendu de cette visite est déjà déposé, ou la visite est close.")
    values = parse_report(body, request, now)
    end_held_visit(session, request.id, S.VISITED, actor=actor, reason="compte rendu déposé")
    holding = session.exec(
        select(Offer.distance_km).where(
            Offer.request_id == request.id,
            Offer.nurse_id == nurse.id,
            Offer.status == OfferStatus.ACCEPTED,
        )
    ).first()
    report = VisitReport(
        request_id=request.id,
        nurse_id=nurse.id,
        created_at=now,
        distance_km=holding,
        visit_day=local_day(values["visited_at"], request.timezone),
        visit_week=monday_of(local_day(values["visited_at"], request.timezone)),
        # The same relative may take both kinds of test: never more people than the household.
        tested_count=min(
            sum(test["count"] for test in values["household_tests"]), request.household_size
        ),
        **values,
    )
    session.add(report)
    session.execute(
        update(VisitRequest)
        .where(VisitRequest.id == request.id)
        .values(
            appointment_at=values["visited_at"],
            visit_minutes=minutes_between(values["visited_at"], request.consent_at),
        )
    )
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="visit.reported",
        target_type="visit_request",
        target_id=request.id,
        details={"report": report.id},
    )
    session.refresh(request)
    issue_for_report(session, request, report, nurse, actor=actor)
    return report


def mark_unreachable(
    session: Session, request_id: int, nurse: Nurse, reason: str, *, actor: object
) -> VisitRequest:
    """The nurse could not reach the patient: the visit ends, with her reason."""
    request = held_visit(session, request_id, nurse)
    if request.status != S.ACCEPTED:
        raise Conflict("Cette visite est close.")
    reason = one_line(reason)
    if not reason:
        invalid("reason", "Indiquez ce qui s'est passé (appels, passage sans réponse…).")
    end_held_visit(session, request.id, S.UNREACHABLE, actor=actor, reason=reason)
    return session.get(VisitRequest, request.id)


def report_of(session: Session, request_id: int) -> VisitReport | None:
    return session.exec(select(VisitReport).where(VisitReport.request_id == request_id)).first()
