"""The offline French geography: the shipped commune table, the directory's lookups and
autocomplete, the commune geocoder and great-circle distances."""

import csv
import importlib.util
import struct
from pathlib import Path

import numpy as np
import pytest
from geopy.distance import great_circle
from hypothesis import assume, given
from hypothesis import strategies as st

from registry.geo import GeocodeQuery, GeocodingFailed
from registry.geo.commune_geocoder import CommuneGeocoder
from registry.geo.communes import DATA_FILE, commune_directory, normalise_name
from registry.geo.distance import EARTH_RADIUS_KM, great_circle_km, great_circle_km_many

ROOT = Path(__file__).resolve().parent.parent
METROPOLITAN = [f"{n:02d}" for n in range(1, 96) if n != 20] + ["2A", "2B"]
OVERSEAS = ["971", "972", "973", "974", "976"]


@pytest.fixture(scope="module")
def directory():
    return commune_directory()


@pytest.fixture(scope="module")
def geocoder(directory):
    return CommuneGeocoder(directory)


def geocode(geocoder, postal_code="", commune="", insee=""):
    return geocoder.geocode(GeocodeQuery(postal_code=postal_code, commune=commune, insee=insee))


def failure(geocoder, **address) -> GeocodingFailed:
    with pytest.raises(GeocodingFailed) as raised:
        geocode(geocoder, **address)
    return raised.value


# --- the shipped table ---------------------------------------------------------------------------


def test_table_covers_every_department(directory):
    assert len(METROPOLITAN) == 96
    assert directory.departments() == sorted(METROPOLITAN + OVERSEAS)


def test_table_holds_every_commune_and_arrondissement(directory):
    assert 34_800 < len(directory) < 35_100
    for first, last in ((75101, 75120), (69381, 69389), (13201, 13216)):
        for insee in range(first, last + 1):
            assert directory.get(str(insee)) is not None, insee


def test_every_point_lies_within_its_department(directory):
    with DATA_FILE.with_name("department_bounds.csv").open(encoding="utf-8") as text:
        bounds = {row["department"]: row for row in csv.DictReader(text)}
    outside = [
        commune.insee
        for commune in directory
        if not (
            float(bounds[commune.department]["min_latitude"])
            <= commune.latitude
            <= float(bounds[commune.department]["max_latitude"])
            and float(bounds[commune.department]["min_longitude"])
            <= commune.longitude
            <= float(bounds[commune.department]["max_longitude"])
        )
    ]
    assert outside == []


def test_overseas_communes_carry_their_own_time_zone(directory):
    zones = {(c.department, c.overseas, c.timezone) for c in directory}
    assert {zone for zone in zones if zone[0] in OVERSEAS} == {
        ("971", True, "America/Guadeloupe"),
        ("972", True, "America/Martinique"),
        ("973", True, "America/Cayenne"),
        ("974", True, "Indian/Reunion"),
        ("976", True, "Indian/Mayotte"),
    }
    assert {zone for zone in zones if zone[0] not in OVERSEAS} == {
        (department, False, "Europe/Paris") for department in METROPOLITAN
    }


def test_names_carry_their_article(directory):
    assert directory.get("09042").name == "La Bastide-de-Sérou"
    assert directory.get("01001").name == "L'Abergement-Clémenciat"
    assert directory.get("60703").name == "Aux Marais"


def test_table_file_stays_compact():
    assert DATA_FILE.stat().st_size < 2_000_000


# --- the directory -------------------------------------------------------------------------------


def test_search_finds_a_commune_by_name(directory):
    assert [c.insee for c in directory.search("foix")][:1] == ["09122"]


def test_search_finds_communes_by_the_start_of_a_postal_code(directory):
    found = directory.search("0910")
    assert found and all(any(code.startswith("0910") for code in c.postal_codes) for c in found)
    assert found[0].name == "Pamiers"  # the most populous of 09100


def test_search_reads_st_as_saint(directory):
    assert directory.search("st girons")[0].insee == "09261"


def test_search_ranks_exact_names_before_longer_ones(directory):
    names = [c.name for c in directory.search("saint girons")]
    assert names[0] == "Saint-Girons"
    assert "Vielle-Saint-Girons" in names


def test_search_ignores_the_article_accents_and_hyphens(directory):
    assert directory.search("Bastide de Serou")[0].insee == "09042"
    assert directory.search("POINTE A PITRE")[0].insee == "97120"


def test_search_accepts_a_postal_code_and_a_name(directory):
    assert [c.insee for c in directory.search("09000 foix")] == ["09122"]


def test_search_of_nothing_finds_nothing(directory):
    assert directory.search("   ") == []
    assert directory.search("-'-") == []


def test_normalised_names_drop_accents_case_and_punctuation():
    assert normalise_name("L'Haÿ-les-Roses") == "l hay les roses"
    assert normalise_name("  Ste-Foy   St-Jean ") == "sainte foy saint jean"
    assert normalise_name("Cœuvres") == "coeuvres"


def test_postal_codes_of_a_commune_are_all_listed(directory):
    assert directory.get("2A004").postal_codes == ("20000", "20090", "20167")
    assert {c.insee for c in directory.by_postal_code("20000")} >= {"2A004"}


# --- the commune geocoder ------------------------------------------------------------------------


def test_foix_resolves_from_its_postal_code(geocoder):
    result = geocode(geocoder, "09000", "Foix")
    assert result.insee == "09122"
    assert result.latitude == pytest.approx(42.96, abs=0.02)
    assert result.longitude == pytest.approx(1.61, abs=0.02)
    assert (result.label, result.precision, result.provider) == ("09000 Foix", "commune", "commune")
    assert (result.department, result.overseas, result.timezone) == ("09", False, "Europe/Paris")


def test_names_match_whatever_their_case_and_accents(geocoder):
    assert geocode(geocoder, "09000", "foix").insee == "09122"
    assert geocode(geocoder, "97110", "POINTE A PITRE").insee == "97120"
    assert geocode(geocoder, "09240", "bastide de serou").insee == "09042"


def test_pointe_a_pitre_is_overseas_in_guadeloupe(geocoder):
    result = geocode(geocoder, "97110", "Pointe-à-Pitre")
    assert (result.insee, result.department) == ("97120", "971")
    assert result.overseas and result.timezone == "America/Guadeloupe"


def test_a_postal_code_of_one_commune_needs_no_name(geocoder):
    assert geocode(geocoder, "97110").insee == "97120"


def test_ajaccio_is_in_corse_du_sud(geocoder):
    result = geocode(geocoder, "20000", "Ajaccio")
    assert (result.insee, result.department) == ("2A004", "2A")
    assert geocode(geocoder, insee="2a004").insee == "2A004"


def test_paris_with_a_postal_code_resolves_to_its_arrondissement(geocoder):
    result = geocode(geocoder, "75011", "Paris")
    assert (result.insee, result.commune) == ("75111", "Paris 11e Arrondissement")
    assert geocode(geocoder, "69001", "Lyon").insee == "69381"
    assert geocode(geocoder, "13016", "Marseille").insee == "13216"


def test_a_postal_code_shared_by_several_communes_asks_which(geocoder):
    error = failure(geocoder, postal_code="09100")
    assert error.field == "commune"
    assert error.message == "Plusieurs communes ont le code postal 09100 : précisez laquelle."
    assert {s.label for s in error.suggestions} >= {"09100 Pamiers", "09100 Saint-Jean-du-Falga"}
    assert error.suggestions[0].name == "Pamiers"


def test_an_unknown_postal_code_is_refused_with_the_communes_of_that_name(geocoder):
    error = failure(geocoder, postal_code="99999", commune="Foix")
    assert (error.field, error.message) == ("postal_code", "Code postal 99999 inconnu.")
    assert [s.label for s in error.suggestions] == ["09000 Foix"]


def test_a_malformed_postal_code_is_refused(geocoder):
    assert failure(geocoder, postal_code="9100", commune="Pamiers").field == "postal_code"
    assert failure(geocoder, postal_code="0910A").field == "postal_code"


def test_a_misspelt_name_is_refused_with_the_closest_communes(geocoder):
    error = failure(geocoder, postal_code="09000", commune="Foixe")
    assert error.field == "commune"
    assert error.message == "Aucune commune « Foixe » pour le code postal 09000."
    assert error.suggestions[0].label == "09000 Foix"


def test_a_name_from_another_postal_code_is_suggested_there(geocoder):
    error = failure(geocoder, postal_code="09000", commune="Saint-Girons")
    assert error.field == "commune"
    assert error.suggestions[0].label == "09200 Saint-Girons"


def test_an_unknown_insee_code_is_refused(geocoder):
    error = failure(geocoder, insee="09999")
    assert (error.field, error.message) == ("insee", "Code INSEE 09999 inconnu.")


def test_the_insee_code_wins_over_the_postal_code(geocoder):
    result = geocode(geocoder, "09100", "", "09225")
    assert (result.insee, result.label) == ("09225", "09100 Pamiers")


# --- distances -----------------------------------------------------------------------------------

latitudes = st.floats(min_value=-90, max_value=90)
longitudes = st.floats(min_value=-180, max_value=180)


@given(latitudes, longitudes, st.lists(st.tuples(latitudes, longitudes), min_size=1, max_size=5))
def test_vectorised_distances_agree_with_geopy(lat, lon, points):
    expected = [great_circle((lat, lon), point, radius=EARTH_RADIUS_KM).km for point in points]
    assume(max(expected) < 19_000)  # haversine is ill-conditioned only near the antipode
    lats, lons = zip(*points, strict=True)
    computed = great_circle_km_many(lat, lon, np.array(lats), np.array(lons))
    assert computed == pytest.approx(expected, abs=1e-6)
    assert [great_circle_km(lat, lon, *point) for point in points] == expected


def test_foix_to_pamiers_is_about_twenty_kilometres(directory):
    foix, pamiers = directory.get("09122"), directory.get("09225")
    distance = great_circle_km(foix.latitude, foix.longitude, pamiers.latitude, pamiers.longitude)
    assert 15 < distance < 25


# --- the build script's geometry -----------------------------------------------------------------


@pytest.fixture(scope="module")
def build():
    spec = importlib.util.spec_from_file_location(
        "build_communes", ROOT / "scripts/build_communes.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def ewkb_polygon(rings, srid=4326) -> str:
    body = struct.pack("<I", len(rings))
    for ring in rings:
        body += struct.pack("<I", len(ring)) + b"".join(struct.pack("<2d", *p) for p in ring)
    header = struct.pack("<BII", 1, 3 | 0x20000000, srid)
    return (header + body).hex()


SQUARE = [(0, 0), (4, 0), (4, 4), (0, 4), (0, 0)]
HOLE = [(0.5, 0.5), (0.5, 1.5), (1.5, 1.5), (1.5, 0.5), (0.5, 0.5)]  # opposite orientation
U_SHAPE = [(0, 0), (3, 0), (3, 3), (2, 3), (2, 1), (1, 1), (1, 3), (0, 3), (0, 0)]


def test_centroid_subtracts_holes_whatever_their_orientation(build):
    polygons = build.parse_polygons(ewkb_polygon([SQUARE, HOLE]))
    x, y = build.centroid(polygons)
    assert (x, y) == pytest.approx((2 + 1 / 15, 2 + 1 / 15))
    assert not build.contains(polygons, 1, 1)  # in the hole


def test_a_point_outside_a_concave_commune_is_moved_inside(build):
    polygons = build.parse_polygons(ewkb_polygon([U_SHAPE]))
    x, y = build.centroid(polygons)
    assert not build.contains(polygons, x, y)
    placed = build.place(polygons, town_hall=None)
    assert build.contains(polygons, placed.longitude, placed.latitude)
    assert placed.method.startswith("scanline")
    town_hall = build.place(polygons, town_hall=(0.5, 2.5))
    assert (town_hall.longitude, town_hall.latitude) == (0.5, 2.5)
