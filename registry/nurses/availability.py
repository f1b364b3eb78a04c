"""A nurse's availability as concrete instants: weekly windows plus dated exceptions, read in
the practice's own time zone (daylight saving included), returned in UTC."""

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from registry.nurses.models import AvailabilityWindow

Interval = tuple[datetime, datetime]


def open_intervals(
    windows: Iterable[AvailabilityWindow], timezone: str, start: datetime, end: datetime
) -> list[Interval]:
    """The UTC intervals inside [start, end] when the nurse is available, merged and sorted."""
    zone = ZoneInfo(timezone)
    windows = list(windows)
    day, last_day = start.astimezone(zone).date(), end.astimezone(zone).date()
    intervals: list[Interval] = []
    while day <= last_day:
        intervals += _day_intervals(windows, zone, day)
        day += timedelta(days=1)
    clipped = [(max(a, start), min(b, end)) for a, b in _merge(intervals)]
    return [(a.astimezone(UTC), b.astimezone(UTC)) for a, b in clipped if a < b]


def _day_intervals(windows: list[AvailabilityWindow], zone: ZoneInfo, day: date) -> list[Interval]:
    absences = [w for w in windows if w.on_date == day and w.unavailable]
    if any(w.start_time is None for w in absences):
        return []
    opened = [
        (_at(day, w.start_time, zone), _at(day, w.end_time, zone))
        for w in windows
        if not w.unavailable
        and (w.on_date == day or (w.on_date is None and w.weekday == day.weekday()))
    ]
    for absence in absences:
        opened = _subtract(
            opened, (_at(day, absence.start_time, zone), _at(day, absence.end_time, zone))
        )
    return opened


def _at(day: date, clock: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, clock, tzinfo=zone)


def _merge(intervals: list[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for a, b in sorted(intervals):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def _subtract(intervals: list[Interval], hole: Interval) -> list[Interval]:
    result = []
    for a, b in intervals:
        if hole[1] <= a or hole[0] >= b:
            result.append((a, b))
            continue
        if a < hole[0]:
            result.append((a, hole[0]))
        if hole[1] < b:
            result.append((hole[1], b))
    return result
