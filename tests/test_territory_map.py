"""The department map for coordinators: the shipped commune shapes, the SVG drawn from them, and
which communes with requests no active nurse covers."""

import csv
import gzip
import xml.etree.ElementTree as ET
from collections import defaultdict
from dataclasses import replace
from datetime import date

import pytest

from registry.accounts import Role
from registry.geo.communes import DATA_FILE, commune_directory
from registry.geo.distance import great_circle_km
from registry.geo.shapes import department_shapes, shipped_departments
from registry.nurses import services as nurse_services
from registry.nurses.models import NurseStatus
from steering.map_svg import UNCOVERED, MapCommune, MapPractice, MapScene, render_svg
from steering.territory_map import CommuneRow, TerritoryMap, department_map
from tests.visit_data import book, enrol_nurse

SVG = "{http://www.w3.org/2000/svg}"
MARCH = (date(2021, 3, 1), date(2021, 3, 31))
# Communes nouvelles the wheel has no geometry for (see registry/geo/data/README.md).
WITHOUT_SHAPE = {"15031", "15035", "15047", "15171"}


def address(postal_code: str, commune: str) -> dict:
    return {"street": "", "postal_code": postal_code, "commune": commune}


FOIX = address("09000", "Foix")
PAMIERS = address("09100", "Pamiers")
AX = address("09110", "Ax-les-Thermes")
SAINT_GIRONS = address("09200", "Saint-Girons")
LAVELANET = address("09300", "Lavelanet")
SAVERDUN = address("09700", "Saverdun")
CINTEGABELLE = address("31550", "Cintegabelle")  # Haute-Garonne, 9 km from Saverdun


def shipped_table() -> dict[str, str]:
    """INSEE code -> department, read from communes.csv.gz itself."""
    with gzip.open(DATA_FILE, "rt", encoding="utf-8", newline="") as text:
        return {row["insee"]: row["department"] for row in csv.DictReader(text)}


def parse_svg(svg: str) -> ET.Element:
    """Our own output, parsed to prove it well-formed and to read its elements."""
    return ET.fromstring(svg)  # noqa: S314 (trusted: the renderer's output)


def paths_by_insee(svg: str) -> dict[str, ET.Element]:
    root = parse_svg(svg)
    return {
        path.get("data-insee"): path for path in root.iter(f"{SVG}path") if path.get("data-insee")
    }


def request_at(db, agent, place: dict, consent_at: str = "2021-03-10T10:00:00+01:00"):
    return book(db, agent, address=place, consent_at=consent_at)


# --- the shipped shapes --------------------------------------------------------------------------


def test_the_shape_file_covers_exactly_the_communes_of_the_table():
    table = shipped_table()
    by_department = defaultdict(set)
    for insee, department in table.items():
        by_department[department].add(insee)
    assert shipped_departments() == sorted(by_department)
    for department, codes in by_department.items():
        shapes = department_shapes(department)
        assert set(shapes) == codes, department
        assert {code for code, rings in shapes.items() if not rings} <= WITHOUT_SHAPE
    assert {code for code in WITHOUT_SHAPE if department_shapes("15")[code]} == set()


def test_shapes_are_rings_of_longitude_latitude_inside_the_department_box():
    foix = commune_directory().get("09122")
    (ring,) = department_shapes("09")["09122"]
    assert len(ring) >= 8
    longitudes = [lon for lon, _lat in ring]
    latitudes = [lat for _lon, lat in ring]
    assert min(longitudes) < foix.longitude < max(longitudes)
    assert min(latitudes) < foix.latitude < max(latitudes)
    assert department_shapes("09") is department_shapes("09")  # parsed once
    assert department_shapes("99") == {}


# --- the renderer --------------------------------------------------------------------------------


def scene_of(department: str, **changes) -> MapScene:
    shapes = department_shapes(department)
    communes = tuple(
        MapCommune(c.insee, c.name, shapes[c.insee], c.latitude, c.longitude, 0, False)
        for c in commune_directory().in_department(department)
    )
    return replace(MapScene(f"Département {department}", department, communes, ()), **changes)


def test_the_map_draws_one_path_per_commune_of_the_department():
    expected = {insee for insee, department in shipped_table().items() if department == "09"}
    assert len(expected) == 325
    root = parse_svg(render_svg(scene_of("09")))
    assert root.get("role") == "img"
    assert root.get("aria-label").startswith("Département 09 : 325 communes, 0 demande")
    drawn = [path.get("data-insee") for path in root.iter(f"{SVG}path") if path.get("data-insee")]
    assert sorted(drawn) == sorted(expected)
    titles = [
        path.find(f"{SVG}title").text for path in root.iter(f"{SVG}path") if path.get("data-insee")
    ]
    assert "Foix (09122) : 0 demande, non couverte" in titles


def test_a_commune_without_geometry_is_still_drawn_at_its_point():
    paths = paths_by_insee(render_svg(scene_of("15")))
    assert paths.keys() >= WITHOUT_SHAPE
    assert "a" in paths["15031"].get("d")  # a disc: arcs, where shapes have only lines


def test_names_are_escaped_and_no_inline_style_nor_script():
    hostile = '<script>alert("x")</script> & Cie'
    foix = commune_directory().get("09122")
    commune = MapCommune(
        "09122", hostile, department_shapes("09")["09122"], foix.latitude, foix.longitude, 3, False
    )
    practice = MapPractice(foix.latitude, foix.longitude, 10.0, ("09122",), hostile)
    svg = render_svg(MapScene(f"Carte {hostile}", "x", (commune,), (practice,)))
    assert "<script" not in svg
    assert "style=" not in svg
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Cie (09122)" in svg
    root = parse_svg(svg)
    (path,) = paths_by_insee(svg).values()
    assert path.find(f"{SVG}title").text.startswith(hostile)
    assert hostile in root.get("aria-label")


def test_requests_shade_covered_communes_and_uncovered_ones_are_red():
    directory = commune_directory()
    shapes = department_shapes("09")
    counts = {"09122": 12, "09225": 2, "09032": 1}
    communes = tuple(
        MapCommune(
            c.insee,
            c.name,
            shapes[c.insee],
            c.latitude,
            c.longitude,
            counts.get(c.insee, 0),
            c.insee != "09225",
        )
        for c in directory.in_department("09")
    )
    paths = paths_by_insee(render_svg(scene_of("09", communes=communes)))
    assert paths["09225"].get("fill") == UNCOVERED
    assert {path.get("fill") for code, path in paths.items() if code != "09225"}.isdisjoint(
        {UNCOVERED}
    )
    assert paths["09122"].get("fill") != paths["09032"].get("fill")  # 10+ against 1–2


# --- the department's requests and nurses --------------------------------------------------------


@pytest.fixture
def agent(make_user):
    return make_user(Role.AGENT)


def row(territory: TerritoryMap, insee: str) -> CommuneRow:
    (found,) = [r for r in territory.communes if r.insee == insee]
    return found


def test_communes_with_requests_and_no_active_nurse_are_uncovered(db, agent):
    enrol_nurse(db, practice=FOIX, sector={"communes": ["09032"], "radius_km": 10})
    enrol_nurse(db, practice=SAINT_GIRONS, sector={"communes": ["09261"], "radius_km": None})
    enrol_nurse(db, practice=CINTEGABELLE, sector={"communes": [], "radius_km": 15})
    on_leave = enrol_nurse(db, practice=PAMIERS, sector={"communes": [], "radius_km": 30})
    nurse_services.change_status(db, on_leave, NurseStatus.SUSPENDED, reason="Congé", actor="t")
    db.commit()
    for place, count in (
        (FOIX, 3),
        (PAMIERS, 2),
        (AX, 1),
        (SAINT_GIRONS, 1),
        (LAVELANET, 1),
        (SAVERDUN, 1),
    ):
        for _ in range(count):
            request_at(db, agent, place)

    territory = department_map(db, "09", *MARCH)

    assert [(r.insee, r.requests) for r in territory.uncovered] == [("09225", 2), ("09160", 1)]
    assert territory.requests == 9
    assert territory.covered_requests == 6
    assert territory.covered_share == pytest.approx(6 / 9)
    assert territory.nurses == 3  # Foix, Saint-Girons and, across the border, Cintegabelle
    assert territory.commune_count == 325
    assert row(territory, "09032").covered  # listed in her sector, 35 km away
    assert row(territory, "09261").covered  # her practice commune, though she has no radius
    assert row(territory, "09282").covered  # within the radius of a nurse of Haute-Garonne
    foix, pamiers = commune_directory().get("09122"), commune_directory().get("09225")
    expected = great_circle_km(foix.latitude, foix.longitude, pamiers.latitude, pamiers.longitude)
    assert row(territory, "09225").nearest_nurse_km == pytest.approx(expected, abs=0.05)
    assert [r.insee for r in territory.with_requests][:2] == ["09122", "09225"]
    paths = paths_by_insee(territory.svg)
    assert len(paths) == 325
    assert {code for code, path in paths.items() if path.get("fill") == UNCOVERED} == {
        "09225",
        "09160",
    }
    assert "style=" not in territory.svg


def test_a_cpam_sees_only_its_own_requests(db, agent, make_user):
    other = make_user(Role.AGENT, cpam_code="031")
    request_at(db, agent, PAMIERS)
    request_at(db, other, PAMIERS)
    request_at(db, other, FOIX)
    everyone = department_map(db, "09", *MARCH)
    ours = department_map(db, "09", *MARCH, cpam_code="091")
    assert [(r.insee, r.requests) for r in everyone.uncovered] == [("09225", 2), ("09122", 1)]
    assert [(r.insee, r.requests) for r in ours.uncovered] == [("09225", 1)]
    assert ours.requests == 1
    assert department_map(db, "09", *MARCH, cpam_code="092").requests == 0


def test_the_period_is_made_of_local_days(db, agent):
    # Paris: UTC+1 on 1 March, UTC+2 on 31 March 2021.
    for instant in (
        "2021-02-28T22:30:00+00:00",  # 28 February, 23:30 in Foix: before
        "2021-02-28T23:30:00+00:00",  # 1 March, 00:30: in
        "2021-03-31T21:30:00+00:00",  # 31 March, 23:30: in
        "2021-03-31T22:30:00+00:00",  # 1 April, 00:30: after
    ):
        request_at(db, agent, FOIX, consent_at=instant)
    assert department_map(db, "09", *MARCH).requests == 2
    assert department_map(db, "09", date(2021, 3, 31), date(2021, 3, 31)).requests == 1


def test_overseas_days_are_those_of_the_department(db, agent):
    guadeloupe = address("97110", "Pointe-à-Pitre")
    request_at(db, agent, guadeloupe, consent_at="2021-03-01T03:30:00+00:00")  # 28 Feb, 23:30
    request_at(db, agent, guadeloupe, consent_at="2021-03-01T04:30:00+00:00")  # 1 March, 00:30
    territory = department_map(db, "971", *MARCH)
    assert territory.requests == 1
    assert territory.commune_count == 32


def test_paris_is_drawn_as_its_arrondissements(db, agent):
    enrol_nurse(db, practice=address("75011", "Paris"), sector={"communes": [], "radius_km": 2})
    request_at(db, agent, address("75016", "Paris"))
    territory = department_map(db, "75", *MARCH)
    paths = paths_by_insee(territory.svg)
    assert sorted(paths) == [str(code) for code in range(75101, 75121)]
    assert [r.insee for r in territory.uncovered] == ["75116"]
    assert row(territory, "75111").covered


# --- the partial ---------------------------------------------------------------------------------


def test_the_partial_shows_the_map_and_the_tables_in_french(app):
    rows = (
        CommuneRow("09225", "Pamiers", 1234, False, 17.6),
        CommuneRow("09122", "Foix", 3, True, 0.0),
        CommuneRow("09160", "Lavelanet", 1, False, None),
    )
    territory = TerritoryMap(
        department="09",
        start=MARCH[0],
        end=MARCH[1],
        cpam_code="091",
        svg='<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="carte"></svg>',
        communes=rows,
        uncovered=(rows[0], rows[2]),
        commune_count=325,
        requests=1238,
        covered_requests=619,
        nurses=1,
    )
    with app.test_request_context():
        template = app.jinja_env.from_string(
            '{% from "steering/_map.html" import territory_map %}{{ territory_map(m) }}'
        )
        page = template.render(m=territory)
    assert '<svg xmlns="http://www.w3.org/2000/svg" role="img"' in page
    assert "du 01/03/2021 au 31/03/2021" in page
    assert "1\u202f238 demandes" in page
    assert "dont 50&nbsp;% venues d’une commune couverte" in page
    assert "1 infirmière active y intervient" in page
    assert "1\u202f234" in page
    assert "17,6&nbsp;km" in page
    assert "au-delà de 100&nbsp;km" in page
    assert "non couverte" in page
    assert "style=" not in page
    uncovered_table, all_table = page.split("<table")[1:]
    assert uncovered_table.index("Pamiers") < uncovered_table.index("Lavelanet")
    assert "Foix" not in uncovered_table
    assert all_table.index("Pamiers") < all_table.index("Foix") < all_table.index("Lavelanet")


def test_the_department_names_are_those_of_the_commune_table():
    from registry.geo.departments import department_label, department_names

    assert set(department_names()) == set(commune_directory().departments())
    assert department_label("2A") == "Corse-du-Sud (2A)"
