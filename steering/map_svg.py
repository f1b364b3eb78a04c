"""The department map drawn as SVG from plain data (communes with their shapes, requests and
coverage; nurses' practices and sectors): a pure renderer, no database."""

import math
from collections import defaultdict
from dataclasses import dataclass
from html import escape

from registry.geo.shapes import Ring
from registry.nurses.schema import MAX_RADIUS_KM

KM_PER_DEGREE_LATITUDE = 111.2
# No radius can exceed this: a nurse farther away could not cover the commune by widening hers,
# so the table gives the nearest nurse's distance up to it only.
NEAREST_KM = MAX_RADIUS_KM


@dataclass(frozen=True)
class MapCommune:
    insee: str
    name: str
    rings: tuple[Ring, ...]  # (longitude, latitude); () draws a small disc at the point
    latitude: float
    longitude: float
    requests: int
    covered: bool


@dataclass(frozen=True)
class MapPractice:
    latitude: float
    longitude: float
    radius_km: float | None  # None: she serves only her listed communes
    sector_insee: tuple[str, ...]  # communes listed in her sector
    commune: str  # where the practice is, for its tooltip


@dataclass(frozen=True)
class MapScene:
    label: str  # what the map shows, for the screen reader: "Département 09, mars 2021"
    key: str  # unique on the page: names the SVG's patterns and clip path
    communes: tuple[MapCommune, ...]
    practices: tuple[MapPractice, ...]


WIDTH = 1000.0  # viewBox units; the map fits in WIDTH × MAX_MAP_HEIGHT
MAX_MAP_HEIGHT = 1000.0
MARGIN = 12.0
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"
# Sequential blues (ColorBrewer) for the requests of covered communes: (lowest count, colour).
REQUEST_CLASSES = ((1, "#c6dbef"), (3, "#6baed6"), (10, "#2171b5"), (30, "#08306b"))
UNCOVERED = "#e31a1c"  # requests and no nurse: the colour the map is for
UNCOVERED_BORDER = "#67000d"
COVERED_QUIET = "#e5f5e0"  # covered, no request
BORDER = "#8a96a3"
NURSE = "#6a3d9a"


def request_colour(commune: MapCommune, hatch: str) -> str:
    if commune.requests and not commune.covered:
        return UNCOVERED
    if not commune.requests:
        return COVERED_QUIET if commune.covered else f"url(#{hatch})"
    return [colour for low, colour in REQUEST_CLASSES if commune.requests >= low][-1]


def class_label(index: int) -> str:
    low = REQUEST_CLASSES[index][0]
    if index + 1 == len(REQUEST_CLASSES):
        return f"{low} demandes et plus"
    high = REQUEST_CLASSES[index + 1][0] - 1
    return f"{low} à {high} demandes"


class Projection:
    """Equirectangular, longitudes shrunk by the cosine of the middle latitude, fitted to the
    points given in WIDTH × MAX_MAP_HEIGHT and centred across WIDTH."""

    def __init__(self, points: list[tuple[float, float]]) -> None:
        longitudes = [lon for lon, _lat in points]
        latitudes = [lat for _lon, lat in points]
        self.west, self.north = min(longitudes), max(latitudes)
        self.shrink = math.cos(math.radians((min(latitudes) + self.north) / 2))
        span_x = max((max(longitudes) - self.west) * self.shrink, 1e-6)
        span_y = max(self.north - min(latitudes), 1e-6)
        inner = WIDTH - 2 * MARGIN
        self.units_per_degree = min(inner / span_x, (MAX_MAP_HEIGHT - 2 * MARGIN) / span_y)
        self.left = (WIDTH - span_x * self.units_per_degree) / 2
        self.height = span_y * self.units_per_degree + 2 * MARGIN

    def __call__(self, longitude: float, latitude: float) -> tuple[float, float]:
        x = self.left + (longitude - self.west) * self.shrink * self.units_per_degree
        return x, MARGIN + (self.north - latitude) * self.units_per_degree

    def km(self, distance: float) -> float:
        return distance / KM_PER_DEGREE_LATITUDE * self.units_per_degree


def _path(commune: MapCommune, project: Projection) -> str:
    if not commune.rings:  # no geometry in the source: a disc of 1 km at its point
        x, y = project(commune.longitude, commune.latitude)
        r = max(project.km(1.0), 2.0)
        arc = f"a{r:.1f} {r:.1f} 0 1 0"
        return f"M{x - r:.1f} {y:.1f}{arc} {2 * r:.1f} 0{arc} {-2 * r:.1f} 0Z"
    parts = []
    for ring in commune.rings:
        points = " ".join(f"{x:.1f} {y:.1f}" for x, y in (project(*vertex) for vertex in ring))
        parts.append(f"M{points}Z")
    return "".join(parts)


def _count(value: int, noun: str) -> str:
    """'0 demande', '1 demande', '1 234 demandes' (French: plural from 2)."""
    return f"{value:,}".replace(",", "\u202f") + f" {noun}{'s' if value > 1 else ''}"


def commune_title(commune: MapCommune) -> str:
    coverage = "couverte" if commune.covered else "non couverte"
    return f"{commune.name} ({commune.insee}) : {_count(commune.requests, 'demande')}, {coverage}"


def _practice_title(practices: list[MapPractice]) -> str:
    first = practices[0]
    where = f"à {first.commune}" if first.commune else ""
    if len(practices) > 1:
        return f"{len(practices)} cabinets infirmiers {where}".strip()
    reach = f", rayon {first.radius_km:g} km".replace(".", ",") if first.radius_km else ""
    return f"Cabinet infirmier {where}{reach}".strip()


def render_svg(scene: MapScene) -> str:
    """The map as an SVG document, with its legend. Presentation attributes only (the pages'
    CSP allows no inline style) and every name escaped."""
    points = [vertex for commune in scene.communes for ring in commune.rings for vertex in ring]
    points += [(commune.longitude, commune.latitude) for commune in scene.communes]
    if not points:
        raise ValueError("a map needs at least one commune")
    project = Projection(points)
    hatch, clip = f"tm-hatch-{scene.key}", f"tm-clip-{scene.key}"
    legend_top = project.height + 8
    height = legend_top + LEGEND_HEIGHT
    uncovered = [c for c in scene.communes if c.requests and not c.covered]
    red = {c.insee for c in uncovered}
    requests = sum(c.requests for c in scene.communes)
    label = (
        f"{scene.label} : {_count(len(scene.communes), 'commune')}, "
        f"{_count(requests, 'demande')}, dont {sum(c.requests for c in uncovered)} dans "
        f"{_count(len(uncovered), 'commune')} non couverte{'s' if len(uncovered) > 1 else ''}"
    )
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH:.0f} {height:.0f}" '
        f'role="img" aria-label="{escape(label)}" class="territory-map" '
        f'font-family="{FONT}" font-size="17">',
        "<defs>",
        f'<pattern id="{hatch}" width="7" height="7" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="7" height="7" fill="#fbfbfb"/>'
        '<line x1="0" y1="0" x2="0" y2="7" stroke="#c3c3c3" stroke-width="2"/></pattern>',
        f'<clipPath id="{clip}"><rect width="{WIDTH:.0f}" height="{project.height:.1f}"/>'
        "</clipPath>",
        "</defs>",
        f'<g fill-rule="evenodd" stroke="{BORDER}" stroke-width="0.6" stroke-linejoin="round">',
    ]
    # Red communes last, so that their thicker outline is never hidden under a neighbour's.
    for commune in sorted(scene.communes, key=lambda c: c.insee in red):
        strong = f' stroke="{UNCOVERED_BORDER}" stroke-width="1.6"' if commune.insee in red else ""
        out.append(
            f'<path class="commune" data-insee="{escape(commune.insee)}" '
            f'd="{_path(commune, project)}" fill="{request_colour(commune, hatch)}"{strong}>'
            f"<title>{escape(commune_title(commune))}</title></path>"
        )
    out.append("</g>")
    out += _sectors(scene, project, clip)
    out += _legend(legend_top, hatch)
    out.append("</svg>")
    return "\n".join(out)


def _sectors(scene: MapScene, project: Projection, clip: str) -> list[str]:
    """Listed communes outlined, radii as translucent discs, practices as dots (one dot, and one
    disc per radius, where several nurses share a point)."""
    by_insee = {commune.insee: commune for commune in scene.communes}
    listed = sorted({code for p in scene.practices for code in p.sector_insee} & by_insee.keys())
    out = [f'<g clip-path="url(#{clip})">']
    out.append(
        f'<g fill="none" stroke="{NURSE}" stroke-width="2" stroke-dasharray="5 3" '
        'stroke-linejoin="round">'
    )
    out += [f'<path d="{_path(by_insee[code], project)}"/>' for code in listed]
    out.append("</g>")
    at_point: dict[tuple[float, float], list[MapPractice]] = defaultdict(list)
    for practice in scene.practices:
        at_point[project(practice.longitude, practice.latitude)].append(practice)
    discs = sorted(
        {(x, y, p.radius_km) for (x, y), group in at_point.items() for p in group if p.radius_km}
    )
    out.append(
        f'<g fill="{NURSE}" fill-opacity="0.07" stroke="{NURSE}" stroke-opacity="0.55" '
        'stroke-width="1.2">'
    )
    out += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{project.km(r):.1f}"/>' for x, y, r in discs]
    out.append("</g>")
    out.append(f'<g fill="{NURSE}" stroke="#ffffff" stroke-width="1.5">')
    for (x, y), group in sorted(at_point.items()):
        title = escape(_practice_title(group))
        radius = 5 if len(group) == 1 else 7
        out.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{radius}"><title>{title}</title></circle>'
        )
    out += ["</g>", "</g>"]
    return out


LEGEND_ROW = 30.0
LEGEND_HEIGHT = 4 * LEGEND_ROW + 16


def _legend(top: float, hatch: str) -> list[str]:
    """Three columns: the requests of covered communes, what is wrong or quiet, the nurses."""
    swatch = f'width="26" height="17" stroke="{BORDER}" stroke-width="0.8"'
    requests = [
        (f'<rect {swatch} fill="{colour}"/>', f"Couverte, {class_label(index)}")
        for index, (_low, colour) in enumerate(REQUEST_CLASSES)
    ]
    coverage = [
        (
            f'<rect width="26" height="17" fill="{UNCOVERED}" stroke="{UNCOVERED_BORDER}" '
            'stroke-width="1.6"/>',
            "Demandes, non couverte",
        ),
        (f'<rect {swatch} fill="{COVERED_QUIET}"/>', "Couverte, sans demande"),
        (f'<rect {swatch} fill="url(#{hatch})"/>', "Non couverte, sans demande"),
    ]
    nurses = [
        (
            f'<circle cx="13" cy="8.5" r="5" fill="{NURSE}" stroke="#ffffff" stroke-width="1.5"/>',
            "Cabinet infirmier",
        ),
        (
            f'<circle cx="13" cy="8.5" r="8" fill="{NURSE}" fill-opacity="0.07" stroke="{NURSE}" '
            'stroke-opacity="0.55" stroke-width="1.2"/>',
            "Rayon d'intervention",
        ),
        (
            f'<rect width="26" height="17" fill="none" stroke="{NURSE}" stroke-width="2" '
            'stroke-dasharray="5 3"/>',
            "Commune listée au secteur",
        ),
    ]
    out = [f'<g class="legend" transform="translate(0 {top:.1f})" fill="#1b1f24">']
    for column, entries in enumerate((requests, coverage, nurses)):
        for row, (mark, text) in enumerate(entries):
            x, y = MARGIN + column * 330, 8 + row * LEGEND_ROW
            out.append(
                f'<g transform="translate({x:.0f} {y:.0f})">{mark}'
                f'<text x="34" y="14" stroke="none">{escape(text)}</text></g>'
            )
    out.append("</g>")
    return out
