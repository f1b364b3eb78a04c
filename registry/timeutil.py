"""Time helpers: the platform stores every instant as timezone-aware UTC."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """A timestamp that refuses naive datetimes and always comes back aware, in UTC.

    SQLite keeps no zone, PostgreSQL keeps `timestamptz`; this type makes both behave the same.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: the platform stores aware UTC instants")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def local_day(instant: datetime, zone: str) -> date:
    """The calendar day an instant falls on where it happens (the patient's zone): indicators
    count days as people there lived them."""
    return instant.astimezone(ZoneInfo(zone)).date()


def monday_of(day: date) -> date:
    """The Monday of the ISO week a day belongs to."""
    return day - timedelta(days=day.weekday())


def minutes_between(later: datetime, earlier: datetime) -> float:
    return (later - earlier).total_seconds() / 60
