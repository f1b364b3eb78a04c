"""The few SQL expressions the indicators need that SQLite and PostgreSQL spell differently: the
Monday of a day, and nearest-rank percentiles by window functions (neither database needs to
hand its rows to Python for a median)."""

from collections.abc import Sequence
from datetime import date

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement


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
    session,
    partitions: dict[str, sa.ColumnElement | None],
    values: dict[str, sa.ColumnElement],
    where: Sequence,
    percents: Sequence[int],
) -> dict[tuple[str, str], dict[object, dict[int, float]]]:
    """{(value, partition): {bucket: {percent: figure}}} by the nearest-rank definition (the
    figure at rank ⌈p·n/100⌉ of the n figures sorted, NULLs left out), for the rows `where`
    selects: one scan, each value ranked once per partition (None: all rows as one bucket)."""
    columns, hits = [], []
    for v, (value_name, value) in enumerate(values.items()):
        columns.append(value.label(f"v{v}"))
        for p, (partition_name, expression) in enumerate(partitions.items()):
            over = {"partition_by": expression} if expression is not None else {}
            rank = sa.func.row_number().over(order_by=value.asc().nulls_last(), **over)
            columns += [
                rank.label(f"r{v}_{p}"),
                sa.func.count(value).over(**over).label(f"n{v}_{p}"),
            ]
            hits.append((value_name, partition_name, v, p))
    for p, expression in enumerate(partitions.values()):
        bucket = expression if expression is not None else sa.literal_column("0")
        columns.append(bucket.label(f"b{p}"))
    ranked = (
        sa.select(*columns).where(*where, sa.or_(*[v.is_not(None) for v in values.values()]))
    ).subquery()
    tests = []
    for value_name, partition_name, v, p in hits:
        value, rank, count = ranked.c[f"v{v}"], ranked.c[f"r{v}_{p}"], ranked.c[f"n{v}_{p}"]
        for percent in percents:
            # ⌈p·n/100⌉ in integers, the same on both databases.
            wanted = sa.and_(value.is_not(None), rank == (count * percent + 99) // 100)
            tests.append((value_name, partition_name, v, p, percent, wanted))
    labels = [wanted.label(f"h{i}") for i, (*_rest, wanted) in enumerate(tests)]
    buckets = [ranked.c[f"b{p}"] for p in range(len(partitions))]
    values_out = [ranked.c[f"v{v}"] for v in range(len(values))]
    rows = session.execute(
        sa.select(*values_out, *buckets, *labels).where(sa.or_(*[t[-1] for t in tests]))
    )
    found: dict[tuple[str, str], dict[object, dict[int, float]]] = {
        (value_name, partition_name): {} for value_name in values for partition_name in partitions
    }
    offset = len(values) + len(partitions)
    for row in rows:
        for i, (value_name, partition_name, v, p, percent, _wanted) in enumerate(tests):
            if row[offset + i]:
                bucket = row[len(values) + p]
                figure = round(float(row[v]), 1)
                found[(value_name, partition_name)].setdefault(bucket, {})[percent] = figure
    return found
