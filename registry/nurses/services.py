"""Nurse registry services: enrolment, updates and status transitions, each audited.

The same functions serve the API, the pages, the CSV import and the command line.
"""

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from registry import accounts, audit
from registry.accounts import Role
from registry.errors import Conflict, ErrorCollector, NotFound, invalid
from registry.geo import GeocodeQuery, Geocoder, GeocodeResult, GeocodingFailed
from registry.nurses.models import (
    AvailabilityWindow,
    Nurse,
    NurseLanguage,
    NurseSectorCommune,
    NurseSkill,
    NurseStatus,
)
from registry.nurses.schema import PracticeInput, WindowInput
from registry.text import one_line
from registry.timeutil import utcnow

TRANSITIONS = {
    NurseStatus.PENDING: {NurseStatus.ACTIVE, NurseStatus.WITHDRAWN},
    NurseStatus.ACTIVE: {NurseStatus.SUSPENDED, NurseStatus.WITHDRAWN},
    NurseStatus.SUSPENDED: {NurseStatus.ACTIVE, NurseStatus.WITHDRAWN},
    NurseStatus.WITHDRAWN: set(),
}
REASON_REQUIRED = {NurseStatus.SUSPENDED, NurseStatus.WITHDRAWN}
SCALAR_FIELDS = (
    "rpps",
    "am_number",
    "first_name",
    "last_name",
    "phone",
    "email",
    "mountain",
    "max_visits_per_day",
)


@dataclass
class NurseDetails:
    nurse: Nurse
    sector_communes: list[str]
    skills: list[str]
    languages: list[str]
    availability: list[AvailabilityWindow]


def get_nurse(session: Session, nurse_id: int) -> Nurse:
    nurse = session.get(Nurse, nurse_id)
    if nurse is None:
        raise NotFound(f"Infirmier·e n° {nurse_id} introuvable.")
    return nurse


def enroll_nurse(
    session: Session,
    values: dict[str, Any],
    *,
    geocoder: Geocoder,
    actor: object,
    status: NurseStatus = NurseStatus.PENDING,
) -> Nurse:
    """Creates the nurse and her account (role nurse). Without a password, the account cannot
    sign in until she chooses one through the password-reset link."""
    _refuse_duplicate_rpps(session, values["rpps"])
    if accounts.find_by_email(session, values["email"]):
        raise Conflict(f"Un compte existe déjà pour {values['email']}.")
    place = geocode_practice(geocoder, values["practice"])
    try:
        # A savepoint: a concurrent enrolment of the same RPPS or e-mail ends in a clean 409.
        with session.begin_nested():
            user = accounts.create_user(
                session,
                email=values["email"],
                role=Role.NURSE,
                password=values.get("password"),
                name=f"{values['first_name']} {values['last_name']}",
                actor=actor,
            )
            nurse = Nurse(user_id=user.id, **{k: values[k] for k in SCALAR_FIELDS if k in values})
            _place(nurse, values["practice"], place)
            session.add(nurse)
            session.flush()
    except IntegrityError as error:
        raise Conflict("Ce RPPS ou cette adresse e-mail vient d'être inscrit.") from error
    _replace_lists(session, nurse, values)
    audit.record(
        session,
        actor=actor,
        action="nurse.enrolled",
        target_type="nurse",
        target_id=nurse.id,
        details={"rpps": nurse.rpps, "user_id": user.id},
    )
    if status != NurseStatus.PENDING:
        change_status(session, nurse, status, actor=actor)
    return nurse


def update_nurse(
    session: Session, nurse: Nurse, values: dict[str, Any], *, geocoder: Geocoder, actor: object
) -> list[str]:
    """Applies the given fields only; lists (sector, skills, languages, availability) are
    replaced as a whole when given. Returns the names of the fields that changed."""
    if "rpps" in values and values["rpps"] != nurse.rpps:
        _refuse_duplicate_rpps(session, values["rpps"])
    changed = [k for k in SCALAR_FIELDS if k in values and getattr(nurse, k) != values[k]]
    if "email" in changed:
        user = session.get(accounts.User, nurse.user_id)
        accounts.change_email(session, user, values["email"], actor=actor)
    for name in changed:
        setattr(nurse, name, values[name])
    if "practice" in values:
        before = _practice_fields(nurse)
        _place(nurse, values["practice"], geocode_practice(geocoder, values["practice"]))
        if _practice_fields(nurse) != before:
            changed.append("practice")
    changed += _replace_lists(session, nurse, values)
    if changed:
        nurse.updated_at = utcnow()
        session.add(nurse)
        audit.record(
            session,
            actor=actor,
            action="nurse.updated",
            target_type="nurse",
            target_id=nurse.id,
            details={"fields": changed},
        )
    return changed


def change_status(
    session: Session, nurse: Nurse, target: str, *, reason: str = "", actor: object
) -> Nurse:
    """The one way a nurse's status changes: checks the transition, stamps it, audits it."""
    current = NurseStatus(nurse.status)
    if target not in NurseStatus.__members__.values():
        raise Conflict(f"Statut inconnu : « {target} ».")
    target = NurseStatus(target)
    if target not in TRANSITIONS[current]:
        raise Conflict(f"Impossible de passer de « {current.label} » à « {target.label} ».")
    reason = one_line(reason)
    if target in REASON_REQUIRED and not reason:
        invalid("reason", "Indiquez le motif de ce changement de statut.")
    nurse.status = target
    nurse.status_reason = reason
    nurse.updated_at = utcnow()
    if target == NurseStatus.ACTIVE and nurse.validated_at is None:
        nurse.validated_at = nurse.updated_at
    session.add(nurse)
    audit.record(
        session,
        actor=actor,
        action="nurse.status_changed",
        target_type="nurse",
        target_id=nurse.id,
        details={"from": current.value, "to": target.value, "reason": reason},
    )
    return nurse


def geocode_practice(
    geocoder: Geocoder, practice: PracticeInput, *, field_prefix: str = "practice"
) -> GeocodeResult:
    """The address's point; a failure is a ValidationFailed on `field_prefix.<part>`."""
    try:
        return geocoder.geocode(
            GeocodeQuery(
                street=practice.street, postal_code=practice.postal_code, commune=practice.commune
            )
        )
    except GeocodingFailed as failure:
        errors = ErrorCollector()
        suggestions = [suggestion.label for suggestion in failure.suggestions]
        errors.add(f"{field_prefix}.{failure.field}", failure.message, suggestions)
        errors.raise_if_any()
        raise


def details_of(session: Session, nurse: Nurse) -> NurseDetails:
    return details_of_many(session, [nurse])[0]


def details_of_many(session: Session, nurses: list[Nurse]) -> list[NurseDetails]:
    """Each nurse with her lists, in four queries whatever the number of nurses."""
    ids = [nurse.id for nurse in nurses]
    grouped: dict[str, dict[int, list]] = {}
    for name, model, column, order in (
        ("sector", NurseSectorCommune, NurseSectorCommune.insee, NurseSectorCommune.insee),
        ("skills", NurseSkill, NurseSkill.skill, NurseSkill.skill),
        ("languages", NurseLanguage, NurseLanguage.language, NurseLanguage.language),
    ):
        rows = session.exec(
            select(model.nurse_id, column).where(model.nurse_id.in_(ids)).order_by(order)
        )
        grouped[name] = defaultdict(list)
        for nurse_id, value in rows:
            grouped[name][nurse_id].append(value)
    windows = defaultdict(list)
    for window in session.exec(
        select(AvailabilityWindow)
        .where(AvailabilityWindow.nurse_id.in_(ids))
        .order_by(
            AvailabilityWindow.on_date.is_not(None),
            AvailabilityWindow.weekday,
            AvailabilityWindow.on_date,
            AvailabilityWindow.start_time,
        )
    ):
        windows[window.nurse_id].append(window)
    return [
        NurseDetails(
            nurse=nurse,
            sector_communes=grouped["sector"][nurse.id],
            skills=grouped["skills"][nurse.id],
            languages=grouped["languages"][nurse.id],
            availability=windows[nurse.id],
        )
        for nurse in nurses
    ]


def _refuse_duplicate_rpps(session: Session, rpps: str) -> None:
    if session.exec(select(Nurse.id).where(Nurse.rpps == rpps)).first() is not None:
        raise Conflict(
            f"Le RPPS {rpps} est déjà inscrit. S'il s'agit du vôtre, utilisez « Mot de passe "
            "oublié » ou contactez la coordination URPS."
        )


def _place(nurse: Nurse, practice: PracticeInput, place: GeocodeResult) -> None:
    nurse.practice_street = practice.street
    nurse.practice_postal_code = place.postal_code or practice.postal_code
    nurse.practice_commune = place.commune
    nurse.practice_insee = place.insee
    nurse.practice_latitude = place.latitude
    nurse.practice_longitude = place.longitude
    nurse.practice_precision = place.precision
    nurse.department = place.department
    nurse.overseas = place.overseas
    nurse.timezone = place.timezone


def _practice_fields(nurse: Nurse) -> tuple:
    return (
        nurse.practice_street,
        nurse.practice_postal_code,
        nurse.practice_insee,
        nurse.practice_latitude,
        nurse.practice_longitude,
    )


def _replace_lists(session: Session, nurse: Nurse, values: dict[str, Any]) -> list[str]:
    """Replaces the lists present in `values` that differ from what is stored; returns the
    names of those that changed."""
    current = details_of(session, nurse)
    changed = []
    if "sector_communes" in values or "sector_radius_km" in values:
        communes = values.get("sector_communes", [])
        radius = values.get("sector_radius_km")
        if set(communes) != set(current.sector_communes) or radius != nurse.sector_radius_km:
            nurse.sector_radius_km = radius
            rows = [NurseSectorCommune(nurse_id=nurse.id, insee=code) for code in communes]
            _replace(session, NurseSectorCommune, nurse.id, rows)
            changed.append("sector")
    if "skills" in values and set(values["skills"]) != set(current.skills):
        rows = [NurseSkill(nurse_id=nurse.id, skill=skill) for skill in values["skills"]]
        _replace(session, NurseSkill, nurse.id, rows)
        changed.append("skills")
    if "languages" in values and set(values["languages"]) != set(current.languages):
        rows = [NurseLanguage(nurse_id=nurse.id, language=code) for code in values["languages"]]
        _replace(session, NurseLanguage, nurse.id, rows)
        changed.append("languages")
    if "availability" in values:
        stored = {_window_input(row) for row in current.availability}
        if set(values["availability"]) != stored:
            rows = [_window_row(nurse.id, window) for window in values["availability"]]
            _replace(session, AvailabilityWindow, nurse.id, rows)
            changed.append("availability")
    return changed


def _replace(session: Session, model: type, nurse_id: int, rows: list) -> None:
    session.exec(sa.delete(model).where(model.nurse_id == nurse_id))
    session.add_all(rows)
    session.flush()


def _window_input(row: AvailabilityWindow) -> WindowInput:
    return WindowInput(row.weekday, row.on_date, row.start_time, row.end_time, row.unavailable)


def _window_row(nurse_id: int, window: WindowInput) -> AvailabilityWindow:
    return AvailabilityWindow(
        nurse_id=nurse_id,
        weekday=window.weekday,
        on_date=window.on_date,
        start_time=window.start,
        end_time=window.end,
        unavailable=window.unavailable,
    )


def add_availability(
    session: Session, nurse: Nurse, window: WindowInput, *, actor: object
) -> AvailabilityWindow:
    row = _window_row(nurse.id, window)
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="nurse.availability_added",
        target_type="nurse",
        target_id=nurse.id,
        details={"window": window.describe()},
    )
    return row


def remove_availability(session: Session, nurse: Nurse, window_id: int, *, actor: object) -> None:
    row = session.get(AvailabilityWindow, window_id)
    if row is None or row.nurse_id != nurse.id:
        raise NotFound("Ce créneau n'existe pas.")
    session.delete(row)
    audit.record(
        session,
        actor=actor,
        action="nurse.availability_removed",
        target_type="nurse",
        target_id=nurse.id,
        details={"window_id": window_id},
    )
