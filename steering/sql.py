"""The few SQL expressions the indicators need that SQLite and PostgreSQL spell differently: the
seconds between two instants, the Monday of a day, and nearest-rank percentiles by window
functions (neither database needs to hand its rows to Python for a median)."""

from collections.abc import Sequence
from datetime import date

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement


class seconds_between(FunctionElement):
    """`later - earlier` in seconds, as a float."""

    type = sa.Float()
    inherit_cache = True
    name = "seconds_between"


@compiles(seconds_between, "sqlite")
def _seconds_sqlite(element, compiler, **kw):
    later, earlier = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"((julianday({later}) - julianday({earlier})) * 86400.0)"


@compiles(seconds_between, "postgresql")
def _seconds_postgresql(element, compiler, **kw):
    later, earlier = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"EXTRACT(EPOCH FROM ({later} - {earlier}))"


class week_start(FunctionElement):
    """The Monday of the week a day belongs to (ISO weeks)."""

    type = sa.Date()
    inherit_cache = True
    name = "week_start"


@compiles(week_start, "sqlite")
def _week_sqlite(element, compiler, **kw):
    (day,) = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"date({day}, '-' || ((CAST(strftime('%w', {day}) AS INTEGER) + 6) % 7) || ' days')"


@compiles(week_start, "postgresql")
def _week_postgresql(element, compiler, **kw):
    (day,) = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"CAST(date_trunc('week', {day}) AS DATE)"


def as_day(value) -> date | None:
    """A day read back from an expression (SQLite returns text)."""
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def percentiles(
    session, bucket: sa.ColumnElement, value: sa.ColumnElement, where: Sequence, percents
) -> dict[object, dict[int, float]]:
    """{bucket: {percent: value}} by the nearest-rank definition (the value at rank ⌈p·n/100⌉
    of the n values sorted), for the rows `where` selects; rows whose value is NULL are left
    out."""
    ranked = (
        sa.select(
            bucket.label("bucket"),
            value.label("value"),
            sa.func.row_number().over(partition_by=bucket, order_by=value).label("rank"),
            sa.func.count().over(partition_by=bucket).label("n"),
        )
        .where(*where, value.is_not(None))
        .subquery()
    )
    # ⌈p·n/100⌉ in integers, the same on both databases.
    wanted = [(percent, (ranked.c.n * percent + 99) // 100) for percent in percents]
    rows = session.execute(
        sa.select(
            ranked.c.bucket,
            ranked.c.value,
            *[(ranked.c.rank == rank).label(f"p{percent}") for percent, rank in wanted],
        ).where(sa.or_(*[ranked.c.rank == rank for _percent, rank in wanted]))
    )
    found: dict[object, dict[int, float]] = {}
    for row in rows:
        for index, (percent, _rank) in enumerate(wanted):
            if row[2 + index]:
                # julianday() carries sub-millisecond noise: a tenth of the unit is plenty.
                found.setdefault(row.bucket, {})[percent] = round(float(row.value), 1)
    return found
