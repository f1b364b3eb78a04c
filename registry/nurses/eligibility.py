"""Which active nurses can serve this point between these times.

Candidates come from two indexed queries: nurses whose practice lies in a latitude/longitude box
as wide as the largest allowed radius (index on status, latitude, longitude), and nurses who list
the point's commune in their sector (index on the sector's INSEE code). Exact great-circle
distances are then computed in one vectorised pass, and availability is read in each nurse's
own time zone.
"""

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from sqlmodel import Session, func, or_, select

from registry.geo.distance import great_circle_km_many
from registry.nurses.availability import Interval, open_intervals
from registry.nurses.models import (
    AvailabilityWindow,
    Nurse,
    NurseLanguage,
    NurseSectorCommune,
    NurseSkill,
    NurseStatus,
)
from registry.nurses.schema import MAX_RADIUS_KM

KM_PER_DEGREE_LATITUDE = 111.2


@dataclass(frozen=True)
class EligibleNurse:
    nurse_id: int
    distance_km: float
    in_sector_list: bool
    max_visits_per_day: int
    windows: tuple[Interval, ...]


def eligible_nurses(
    session: Session,
    *,
    latitude: float,
    longitude: float,
    insee: str,
    start: datetime,
    end: datetime,
    skills: tuple[str, ...] = (),
    languages: tuple[str, ...] = (),
    min_duration: timedelta = timedelta(0),
) -> list[EligibleNurse]:
    """Active nurses whose zone covers the point (radius around the practice, or the commune in
    her sector list), with every skill asked, a language in common when languages are given, and
    an availability window of at least `min_duration` inside [start, end]; nearest first."""
    covering = _covering(session, latitude, longitude, insee, skills, languages)
    days = local_days({candidate.timezone for candidate, _, _ in covering}, start, end)
    windows = windows_of(session, [candidate.id for candidate, _, _ in covering], days)
    # Many nurses keep the same hours in the same zone: expand each distinct pattern once.
    expanded: dict[tuple, list[Interval]] = {}
    eligible = []
    for candidate, distance, listed in covering:
        own = windows[candidate.id]
        pattern = (candidate.timezone, frozenset(tuple(window)[1:] for window in own))
        if pattern not in expanded:
            intervals = open_intervals(own, candidate.timezone, start, end)
            expanded[pattern] = [(a, b) for a, b in intervals if b - a >= min_duration]
        if expanded[pattern]:
            eligible.append(
                EligibleNurse(
                    candidate.id,
                    round(distance, 3),
                    listed,
                    candidate.max_visits_per_day,
                    tuple(expanded[pattern]),
                )
            )
    return sorted(eligible, key=lambda nurse: (nurse.distance_km, nurse.nurse_id))


def _covering(session, latitude, longitude, insee, skills, languages) -> list[tuple]:
    """(candidate row, distance km, listed in her sector) for the active, capable nurses whose
    zone covers the point."""
    columns = (
        Nurse.id,
        Nurse.practice_latitude,
        Nurse.practice_longitude,
        Nurse.sector_radius_km,
        Nurse.timezone,
        Nurse.max_visits_per_day,
    )
    conditions = [Nurse.status == NurseStatus.ACTIVE, *_capability_filters(skills, languages)]
    d_lat, d_lon = search_box(latitude, widest_radius(session))
    in_box = session.exec(
        select(*columns).where(
            *conditions,
            Nurse.practice_latitude.between(latitude - d_lat, latitude + d_lat),
            Nurse.practice_longitude.between(longitude - d_lon, longitude + d_lon),
            Nurse.sector_radius_km.is_not(None),
        )
    ).all()
    listed = session.exec(
        select(*columns)
        .join(NurseSectorCommune, NurseSectorCommune.nurse_id == Nurse.id)
        .where(*conditions, NurseSectorCommune.insee == insee)
    ).all()
    listed_ids = {row.id for row in listed}
    candidates = list({row.id: row for row in [*in_box, *listed]}.values())
    if not candidates:
        return []
    distances = great_circle_km_many(
        latitude,
        longitude,
        np.array([row.practice_latitude for row in candidates]),
        np.array([row.practice_longitude for row in candidates]),
    )
    return [
        (row, float(distance), row.id in listed_ids)
        for row, distance in zip(candidates, distances, strict=True)
        if row.id in listed_ids
        or (row.sector_radius_km is not None and distance <= row.sector_radius_km)
    ]


def search_box(latitude: float, radius_km: float) -> tuple[float, float]:
    # A little margin: the box must contain the whole great-circle disc.
    d_lat = radius_km * 1.01 / KM_PER_DEGREE_LATITUDE
    d_lon = d_lat / max(math.cos(math.radians(latitude)), 0.1)
    return d_lat, d_lon


def _capability_filters(skills: tuple[str, ...], languages: tuple[str, ...]) -> list:
    filters = [
        Nurse.id.in_(select(NurseSkill.nurse_id).where(NurseSkill.skill == skill))
        for skill in skills
    ]
    if languages:
        filters.append(
            Nurse.id.in_(
                select(NurseLanguage.nurse_id).where(NurseLanguage.language.in_(languages))
            )
        )
    return filters


def local_days(timezones: set[str], start: datetime, end: datetime) -> set[date]:
    """Every local date the interval touches, in any of the nurses' time zones."""
    days = set()
    for timezone in timezones:
        zone = ZoneInfo(timezone)
        day, last = start.astimezone(zone).date(), end.astimezone(zone).date()
        while day <= last:
            days.add(day)
            day += timedelta(days=1)
    return days


def windows_of(session: Session, nurse_ids: list[int], days: set[date]) -> dict[int, list]:
    """The availability rows of those nurses that can matter on those days, as plain rows
    (thousands of ORM objects would cost more than the whole query)."""
    grouped: dict[int, list] = defaultdict(list)
    columns = (
        AvailabilityWindow.nurse_id,
        AvailabilityWindow.weekday,
        AvailabilityWindow.on_date,
        AvailabilityWindow.start_time,
        AvailabilityWindow.end_time,
        AvailabilityWindow.unavailable,
    )
    # Chunked: SQLite limits the number of bound parameters in one IN list.
    for offset in range(0, len(nurse_ids), 500):
        chunk = nurse_ids[offset : offset + 500]
        relevant = select(*columns).where(
            AvailabilityWindow.nurse_id.in_(chunk),
            or_(
                AvailabilityWindow.weekday.in_({day.weekday() for day in days}),
                AvailabilityWindow.on_date.in_(days),
            ),
        )
        for row in session.exec(relevant):
            grouped[row.nurse_id].append(row)
    return grouped


def widest_radius(session: Session) -> float:
    """The largest radius among active nurses (an index seek), which bounds the search box."""
    widest = session.exec(
        select(func.max(Nurse.sector_radius_km)).where(Nurse.status == NurseStatus.ACTIVE)
    ).one()
    return min(widest or 0.0, MAX_RADIUS_KM)
