"""The indicators' charts, described once: drawn in the browser by the Chart.js the platform
serves (the JSON description), and as SVG for the printable weekly report and its PDF (no
script there). Each chart's figures are also in a table beside it."""

import json
import math
from dataclasses import dataclass, field
from html import escape

from registry.timeutil import monday_of
from steering.indicators import Figures, Granularity, Indicators

PALETTE = ("#1f5f8b", "#c2410c", "#15803d", "#7c3aed", "#b91c1c", "#0e7490")
WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 44, 44


@dataclass(frozen=True)
class Series:
    label: str
    values: tuple[float | None, ...]


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    kind: str  # "bar" or "line"
    labels: tuple[str, ...]
    series: tuple[Series, ...]
    percent: bool = False
    x_title: str = ""
    extra: dict = field(default_factory=dict)

    def to_json(self) -> str:
        """The description `static/js/charts.js` draws."""
        return json.dumps(
            {
                "type": self.kind,
                "labels": list(self.labels),
                "datasets": [{"label": s.label, "data": list(s.values)} for s in self.series],
                "percent": self.percent,
            },
            ensure_ascii=False,
        )

    def to_svg(self) -> str:
        return _svg(self)


def period_label(figures: Figures) -> str:
    """The day, or the Monday of the week (even when the period starts later in it): short
    enough for a dozen under an axis."""
    return monday_of(figures.start).strftime("%d/%m")


def charts_of(indicators: Indicators) -> dict[str, Chart]:
    periods = indicators.periods
    labels = tuple(period_label(p) for p in periods)
    unit = indicators.filters.granularity.label
    axis = "semaine commençant le" if indicators.filters.granularity == Granularity.WEEK else ""
    charts = [
        Chart(
            "visits",
            f"Demandes reçues et visites faites par {unit}",
            "bar",
            labels,
            (
                Series("Demandes reçues", tuple(p.requests for p in periods)),
                Series("Visites faites", tuple(p.visits for p in periods)),
            ),
            x_title=axis,
        ),
        Chart(
            "within_24h",
            "Part des demandes visitées dans les 24 h suivant le consentement",
            "line",
            labels,
            (Series("Visitées en 24 h", tuple(p.share_within_24h for p in periods)),),
            percent=True,
            x_title=axis,
        ),
        Chart(
            "delays",
            "Délai entre le consentement et la visite",
            "bar",
            tuple(label for label, _n in indicators.delay_classes),
            (Series("Visites", tuple(n for _label, n in indicators.delay_classes)),),
            x_title="heures après le consentement",
        ),
        Chart(
            "load",
            "Visites par infirmière sur la période",
            "bar",
            tuple(str(visits) for visits, _n in indicators.load),
            (Series("Infirmières", tuple(n for _visits, n in indicators.load)),),
            x_title="nombre de visites faites",
        ),
        Chart(
            "km",
            f"Distance moyenne cabinet → domicile par {unit} (km)",
            "line",
            labels,
            (Series("km par visite", tuple(_round(p.km_per_visit) for p in periods)),),
            x_title=axis,
        ),
        Chart(
            "billed",
            f"Montants facturés par {unit} (€)",
            "bar",
            labels,
            (Series("Montant facturé", tuple(float(p.billed) for p in periods)),),
            x_title=axis,
        ),
    ]
    return {chart.key: chart for chart in charts}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def french_number(value: float, percent: bool = False) -> str:
    if percent:
        return f"{value * 100:.0f} %".replace(".", ",")
    if value == int(value):
        return f"{int(value):,}".replace(",", "\u202f")
    return f"{value:,.1f}".replace(",", "\u202f").replace(".", ",")


def _ticks(top: float, percent: bool) -> list[float]:
    if percent:
        return [0, 0.25, 0.5, 0.75, 1.0]
    if top <= 0:
        return [0, 1]
    raw = top / 4
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    return [step * i for i in range(5) if step * i <= top + step]


def _svg(chart: Chart) -> str:
    values = [v for s in chart.series for v in s.values if v is not None]
    ticks = _ticks(max(values, default=0), chart.percent)
    top = ticks[-1] or 1
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    n = max(len(chart.labels), 1)
    slot = plot_w / n

    def y(value: float) -> float:
        return TOP + plot_h - plot_h * value / top

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-label="{escape(chart.title)}" class="print-chart">',
        f'<text x="{LEFT}" y="16" font-size="13" font-weight="bold" fill="#1b1b1b">'
        f"{escape(chart.title)}</text>",
    ]
    for tick in ticks:
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" '
            'stroke="#d7dce1" stroke-width="1"/>'
            f'<text x="{LEFT - 6}" y="{y(tick) + 4:.1f}" font-size="10" text-anchor="end" '
            f'fill="#555">{escape(french_number(tick, chart.percent))}</text>'
        )
    every = max(1, math.ceil(n / 12))
    for index, label in enumerate(chart.labels):
        if index % every == 0:
            x = LEFT + slot * (index + 0.5)
            parts.append(
                f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 14}" font-size="10" '
                f'text-anchor="middle" fill="#555">{escape(label)}</text>'
            )
    if chart.x_title:
        parts.append(
            f'<text x="{LEFT + plot_w / 2:.1f}" y="{HEIGHT - 8}" font-size="10" '
            f'text-anchor="middle" fill="#555">{escape(chart.x_title)}</text>'
        )
    for index, series in enumerate(chart.series):
        colour = PALETTE[index % len(PALETTE)]
        if chart.kind == "bar":
            parts += _bars(series, index, len(chart.series), slot, y, colour)
        else:
            parts += _line(series, slot, y, colour)
    if len(chart.series) > 1:
        for index, series in enumerate(chart.series):
            x = LEFT + index * 170
            colour = PALETTE[index % len(PALETTE)]
            parts.append(
                f'<rect x="{x}" y="24" width="10" height="10" fill="{colour}"/>'
                f'<text x="{x + 14}" y="33" font-size="10" fill="#1b1b1b">'
                f"{escape(series.label)}</text>"
            )
    parts.append("</svg>")
    return "".join(parts)


def _bars(series: Series, index: int, count: int, slot: float, y, colour: str) -> list[str]:
    width = slot * 0.8 / count
    bars = []
    for position, value in enumerate(series.values):
        if value is None:
            continue
        x = LEFT + slot * position + slot * 0.1 + width * index
        bars.append(
            f'<rect x="{x:.1f}" y="{y(value):.1f}" width="{width:.1f}" '
            f'height="{y(0) - y(value):.1f}" fill="{colour}">'
            f"<title>{escape(series.label)} : {escape(french_number(value))}</title></rect>"
        )
    return bars


def _line(series: Series, slot: float, y, colour: str) -> list[str]:
    points = [
        (LEFT + slot * (position + 0.5), y(value))
        for position, value in enumerate(series.values)
        if value is not None
    ]
    if not points:
        return []
    path = " ".join(f"{x:.1f},{py:.1f}" for x, py in points)
    dots = "".join(
        f'<circle cx="{x:.1f}" cy="{py:.1f}" r="3" fill="{colour}"/>' for x, py in points
    )
    return [
        f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>',
        dots,
    ]
