"""Steering pages shared by URPS coordinators, CPAM staff (their CPAM's requests only) and
admins: the indicators with their charts, tables and CSV exports, the department map, and the
printable weekly report with its PDF."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for

from app.billing_params import csv_response, wants_french
from app.db import get_session, read_sessions
from app.steering_params import day_of, filters_of, last_complete_week, latest_day
from billing.exports import to_csv
from registry.errors import ErrorCollector, PermissionDenied, ValidationFailed
from registry.geo.departments import department_label, department_names
from registry.timeutil import monday_of, utcnow
from steering import tables
from steering.charts import charts_of
from steering.indicators import Filters, Indicators, compute
from steering.territory_map import department_map
from steering.weekly import weekly_report


@dataclass(frozen=True)
class SteeringScope:
    """Whose figures a page shows: the whole platform, or one CPAM's requests."""

    prefix: str  # the blueprint: "coordinator", "cpam" or "admin"
    cpam_code: str | None = None

    def url(self, name: str, **values) -> str:
        return url_for(f"{self.prefix}.{name}", **values)


def own_cpam(user) -> str:
    """The CPAM whose figures CPAM staff see; an account with none sees nothing."""
    if not user.cpam_code:
        raise PermissionDenied(
            "Ce compte n'est rattaché à aucune CPAM : ses indicateurs sont vides."
        )
    return user.cpam_code


def add_routes(blueprint: Blueprint, scope: Callable[[], SteeringScope]) -> None:
    routes = (
        ("/indicators", "indicators", lambda: indicators_page(scope())),
        ("/indicators.csv", "indicators_csv", lambda: indicators_csv(scope())),
        ("/indicators/weekly", "weekly_report", lambda: weekly_page(scope())),
        ("/indicators/weekly.pdf", "weekly_report_pdf", lambda: weekly_pdf(scope())),
    )
    for path, name, view in routes:
        blueprint.add_url_rule(path, name, view, methods=["GET"])


def _today() -> date:
    return utcnow().date()


def indicators_page(scope: SteeringScope):
    db = get_session()
    try:
        filters = filters_of(request.args, db, cpam_code=scope.cpam_code, today=_today())
    except ValidationFailed as error:
        flash(" ".join(e.message for e in error.errors), "error")
        return redirect(scope.url("indicators"))
    indicators = indicators_of(filters)
    territory = (
        department_map(db, filters.department, filters.start, filters.end, scope.cpam_code)
        if filters.department
        else None
    )
    return render_template(
        "steering/indicators.html",
        scope=scope,
        filters=filters,
        indicators=indicators,
        charts=charts_of(indicators),
        rows=tables.period_rows(indicators),
        headings=tables.HEADINGS,
        other_tables={name: table(indicators) for name, table in tables.TABLES.items()},
        outcomes=tables.outcomes(indicators.total),
        departments=department_names(),
        department_label=department_label,
        territory=territory,
        report_week=monday_of(filters.end),
    )


def indicators_csv(scope: SteeringScope) -> Response:
    db = get_session()
    filters = filters_of(request.args, db, cpam_code=scope.cpam_code, today=_today())
    return indicators_export(indicators_of(filters), request.args)


def indicators_of(filters: Filters, **options) -> Indicators:
    """The indicators, read apart from the request's session (no write lock held on SQLite),
    on two connections at once."""
    sessions = read_sessions()
    with sessions() as db:
        return compute(db, filters, now=utcnow(), second_session=sessions, **options)


def indicators_export(indicators, args) -> Response:
    """The CSV export of one of the indicators' tables (`table`, `format=fr`), for the pages
    and the API."""
    name = (args.get("table") or "periodes").strip()
    columns, rows = tables.csv_table(indicators, name)
    french = wants_french(args)
    text = to_csv(rows, columns, french=french)
    return csv_response(text, tables.csv_filename(indicators, name, french))


def _report(scope: SteeringScope):
    """The weekly report the query string names (`week`: any day of it, AAAA-MM-JJ)."""
    db = get_session()
    errors = ErrorCollector()
    department = (request.args.get("department") or "").strip().upper() or None
    if department and department not in department_names():
        errors.add("department", f"« {department} » n'est pas un code de département (ex. 09).")
    day = day_of(request.args, "week", errors, today=_today())
    errors.raise_if_any()
    if day is None:
        day = last_complete_week(latest_day(db, scope.cpam_code, _today()), _today())
    sessions = read_sessions()
    with sessions() as reader:
        return weekly_report(
            reader,
            day,
            department=department,
            cpam_code=scope.cpam_code,
            now=utcnow(),
            second_session=sessions,
        )


def weekly_page(scope: SteeringScope):
    try:
        report = _report(scope)
    except ValidationFailed as error:
        flash(" ".join(e.message for e in error.errors), "error")
        return redirect(scope.url("weekly_report"))
    return render_template(
        "steering/weekly.html",
        scope=scope,
        report=report,
        departments=department_names(),
        previous_week=report.monday - timedelta(days=7),
        next_week=report.monday + timedelta(days=7),
        printable=False,
    )


def weekly_pdf(scope: SteeringScope) -> Response:
    from app.pdf import pdf_of  # WeasyPrint loads its libraries only when a PDF is asked for

    report = _report(scope)
    html = render_template(
        "steering/weekly.html", scope=scope, report=report, departments={}, printable=True
    )
    where = report.department or "plateforme"
    return Response(
        pdf_of(html, request.host_url),
        mimetype="application/pdf",
        headers={
            "Content-Disposition": f"attachment; filename=rapport-vdsi-{where}-{report.monday}.pdf"
        },
    )
