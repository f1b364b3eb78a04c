"""Reading the indicators' filters from a query string, the same way for pages, exports and the
API: the period (by default the eight weeks up to the latest request), the department, the
granularity; CPAM staff always see their own CPAM's requests."""

from datetime import date, timedelta

import sqlalchemy as sa
from sqlmodel import Session
from werkzeug.datastructures import MultiDict

from app.billing_params import period_of
from registry.errors import ErrorCollector, ValidationFailed
from registry.geo.departments import department_names
from registry.requests.models import VisitRequest
from steering.indicators import Filters, Granularity

DEFAULT_WEEKS = 8
MAX_DAYS = {Granularity.WEEK: 731, Granularity.DAY: 92}


def latest_day(session: Session, cpam_code: str | None, today: date) -> date:
    """The day of the latest request in scope (not after today), or today when there is none:
    the default period then shows data, even in a demonstration of 2021."""
    query = sa.select(sa.func.max(VisitRequest.consent_day)).where(
        VisitRequest.consent_day <= today
    )
    if cpam_code:
        query = query.where(VisitRequest.cpam_code == cpam_code)
    return session.execute(query).scalar() or today


def week_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def filters_of(args: MultiDict, session: Session, *, cpam_code: str | None, today: date) -> Filters:
    """The filters the query string asks for; a bad value is a 422 naming the field."""
    errors = ErrorCollector()
    granularity_text = (args.get("granularity") or Granularity.WEEK.value).strip()
    try:
        granularity = Granularity(granularity_text)
    except ValueError:
        errors.add("granularity", "Granularité : « week » (semaine) ou « day » (jour).")
        granularity = Granularity.WEEK
    department = (args.get("department") or "").strip().upper() or None
    if department and department not in department_names():
        errors.add("department", f"« {department} » n'est pas un code de département (ex. 09).")
    try:
        period = period_of(args)
    except ValidationFailed as error:
        for field_error in error.errors:
            errors.add(field_error.field, field_error.message)
        errors.raise_if_any()
    errors.raise_if_any()
    end = period.end
    if end is None:
        end = latest_day(session, cpam_code, today)
        if period.start and period.start > end:
            end = max(period.start, today)
    start = period.start or (week_of(end) - timedelta(weeks=DEFAULT_WEEKS - 1))
    if (end - start).days + 1 > MAX_DAYS[granularity]:
        errors.add(
            "to",
            f"Période trop longue : {MAX_DAYS[granularity]} jours au plus par {granularity.label}.",
        )
    errors.raise_if_any()
    return Filters(start, end, department, cpam_code, granularity)
