"""Reading the indicators' filters from a query string, the same way for pages, exports and the
API: the period (by default the eight weeks up to the latest request), the department, the
granularity; CPAM staff always see their own CPAM's requests."""

from datetime import date, timedelta

import sqlalchemy as sa
from sqlmodel import Session
from werkzeug.datastructures import MultiDict

from registry.errors import ErrorCollector
from registry.geo.departments import department_names
from registry.requests.models import VisitRequest
from registry.timeutil import monday_of
from steering.indicators import Filters, Granularity

DEFAULT_WEEKS = 8
MAX_DAYS = {Granularity.WEEK: 731, Granularity.DAY: 92}


# The first day the platform could hold (the scheme began in January 2021).
EARLIEST = date(2020, 1, 1)


def latest_day(session: Session, cpam_code: str | None, today: date) -> date:
    """The day of the latest request in scope, or today when there is none: the default period
    then shows data, even in a demonstration of 2021."""
    query = sa.select(sa.func.max(VisitRequest.consent_day))
    if cpam_code:
        query = query.where(VisitRequest.cpam_code == cpam_code)
    return session.execute(query).scalar() or today


def last_complete_week(day: date, today: date) -> date:
    """The week of `day`, or the one before while that week is still going on: a report
    compares whole weeks."""
    return day - timedelta(days=7) if monday_of(day) == monday_of(today) else day


def day_of(args: MultiDict, name: str, errors: ErrorCollector, *, today: date) -> date | None:
    """A day of the query string (AAAA-MM-JJ), between 2020 and a year from today."""
    text = (args.get(name) or "").strip()
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        errors.add(name, f"« {text} » n'est pas une date (AAAA-MM-JJ attendu).")
        return None
    latest = today + timedelta(days=366)
    if not EARLIEST <= day <= latest:
        errors.add(
            name,
            f"Le {day.strftime('%d/%m/%Y')} est hors des dates possibles (du "
            f"{EARLIEST.strftime('%d/%m/%Y')} au {latest.strftime('%d/%m/%Y')}).",
        )
        return None
    return day


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
    start = day_of(args, "from", errors, today=today)
    end = day_of(args, "to", errors, today=today)
    errors.raise_if_any()
    if start and end and start > end:
        errors.add("to", "La fin de la période précède son début.")
        errors.raise_if_any()
    if end is None:
        end = latest_day(session, cpam_code, today)
        if start and start > end:
            end = max(start, today)
    start = start or (monday_of(end) - timedelta(weeks=DEFAULT_WEEKS - 1))
    if (end - start).days + 1 > MAX_DAYS[granularity]:
        errors.add(
            "to",
            f"Période trop longue pour un affichage par {granularity.label} : "
            f"{MAX_DAYS[granularity]} jours au plus.",
        )
    errors.raise_if_any()
    return Filters(start, end, department, cpam_code, granularity)
