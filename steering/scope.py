"""What the indicators are asked for: the period, its granularity, the department and the CPAM;
the rows each kind of figure reads, and the zone whose days a department counts in."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from registry.geo.communes import commune_directory
from registry.requests.models import VisitRequest
from registry.visits.models import VisitReport

PARIS = ZoneInfo("Europe/Paris")


class Granularity(StrEnum):
    DAY = "day"
    WEEK = "week"

    @property
    def label(self) -> str:
        return {Granularity.DAY: "jour", Granularity.WEEK: "semaine"}[self]


@dataclass(frozen=True)
class Filters:
    """Local days `start` to `end` inclusive; `department` and `cpam_code` narrow the scope
    (CPAM staff always carry their own)."""

    start: date
    end: date
    department: str | None = None
    cpam_code: str | None = None
    granularity: Granularity = Granularity.WEEK


def place_scope(filters: Filters) -> list:
    where = []
    if filters.department:
        where.append(VisitRequest.department == filters.department)
    if filters.cpam_code:
        where.append(VisitRequest.cpam_code == filters.cpam_code)
    return where


def request_scope(filters: Filters) -> list:
    """The period's requests, on their day of consent."""
    return [VisitRequest.consent_day.between(filters.start, filters.end), *place_scope(filters)]


def visit_scope(filters: Filters) -> list:
    """The period's visits, on their day (the queries join the request)."""
    return [VisitReport.visit_day.between(filters.start, filters.end), *place_scope(filters)]


def day_end(day: date, zone: ZoneInfo = PARIS) -> datetime:
    """The first instant after the local day."""
    return datetime.combine(day + timedelta(days=1), time(), zone).astimezone(UTC)


def zone_of(department: str | None) -> ZoneInfo:
    """The zone a department lives in (Paris for the platform as a whole)."""
    communes = commune_directory().in_department(department) if department else []
    return ZoneInfo(communes[0].timezone) if communes else PARIS
