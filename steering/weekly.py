"""The weekly report of a department (or of the platform): the week's key figures with their
change from the previous week, the trend of the eight weeks up to it and its charts, in the
style of the Assurance Maladie's weekly press releases; printable, and as PDF."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlmodel import Session

from registry.geo.departments import department_label
from registry.timeutil import monday_of
from steering.charts import Chart, charts_of
from steering.indicators import Figures, Filters, Granularity, Indicators, compute

TREND_WEEKS = 8


@dataclass(frozen=True)
class KeyFigure:
    label: str
    value: float | Decimal | None
    previous: float | Decimal | None
    kind: str = "count"  # count, percent, minutes, km, euros
    # Which way is good news: "up", "down", or neither (requests are no one's merit).
    better: str | None = None

    @property
    def change(self) -> float | None:
        """The relative change from the previous week (None when there is nothing to compare);
        for a share, the change in points."""
        if self.value is None or self.previous is None:
            return None
        if self.kind == "percent":
            return float(self.value) - float(self.previous)
        if not self.previous:
            return None
        return (float(self.value) - float(self.previous)) / float(self.previous)

    @property
    def verdict(self) -> str:
        """ "good", "bad" or "" for the change, to colour it."""
        change = self.change
        if not change or self.better is None:
            return ""
        return "good" if (change > 0) == (self.better == "up") else "bad"


@dataclass
class WeeklyReport:
    monday: date
    department: str | None
    cpam_code: str | None
    week: Indicators  # the week, day by day
    trend: Indicators  # the eight weeks up to it, week by week
    previous: Figures
    key_figures: list[KeyFigure]
    charts: dict[str, Chart]
    generated_at: datetime

    @property
    def sunday(self) -> date:
        return self.monday + timedelta(days=6)

    @property
    def scope_label(self) -> str:
        label = department_label(self.department) if self.department else "Toute la plateforme"
        return f"{label} · CPAM {self.cpam_code}" if self.cpam_code else label


def weekly_report(
    session: Session,
    monday: date,
    *,
    department: str | None,
    cpam_code: str | None,
    now: datetime,
    second_session: Callable[[], Session] | None = None,
) -> WeeklyReport:
    monday = monday_of(monday)
    sunday = monday + timedelta(days=6)
    week = compute(
        session,
        Filters(monday, sunday, department, cpam_code, Granularity.DAY),
        now=now,
        by_department=False,
        second_session=second_session,
    )
    trend = compute(
        session,
        Filters(
            monday - timedelta(weeks=TREND_WEEKS - 1),
            sunday,
            department,
            cpam_code,
            Granularity.WEEK,
        ),
        now=now,
        details=False,
        by_department=False,
        second_session=second_session,
    )
    previous = trend.periods[-2]
    current = week.total
    charts = charts_of(trend)
    daily = charts_of(week)
    charts["daily"] = daily["visits"]
    charts["delays"] = daily["delays"]
    charts["load"] = daily["load"]
    return WeeklyReport(
        monday=monday,
        department=department,
        cpam_code=cpam_code,
        week=week,
        trend=trend,
        previous=previous,
        key_figures=_key_figures(current, previous),
        charts=charts,
        generated_at=now,
    )


def _key_figures(current: Figures, previous: Figures) -> list[KeyFigure]:
    return [
        KeyFigure("Demandes de visite reçues", current.requests, previous.requests),
        KeyFigure("Visites réalisées", current.visits, previous.visits, better="up"),
        KeyFigure(
            "Demandes visitées dans les 24 h",
            current.share_within_24h,
            previous.share_within_24h,
            "percent",
            "up",
        ),
        KeyFigure(
            "Délai médian consentement → visite",
            current.visit_median_minutes,
            previous.visit_median_minutes,
            "minutes",
            "down",
        ),
        KeyFigure(
            "Demandes restées sans infirmière",
            current.unassigned,
            previous.unassigned,
            better="down",
        ),
        KeyFigure(
            "Infirmières validées (cumul)", current.nurses_enrolled, previous.nurses_enrolled
        ),
        KeyFigure(
            "Infirmières ayant fait au moins une visite",
            current.nurses_visiting,
            previous.nurses_visiting,
        ),
        KeyFigure("km par visite", current.km_per_visit, previous.km_per_visit, "km", "down"),
        KeyFigure("Membres du foyer testés", current.tested, previous.tested),
        KeyFigure("Orientations vers la CTAI", current.ctai_referrals, previous.ctai_referrals),
        KeyFigure("Montant facturé", current.billed, previous.billed, "euros"),
    ]
