"""Street-level geocoding through the national address base (BAN), and the cache in front of it.

A local HTTP server plays BAN's `/search/` so that no test leaves the machine.
"""

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlmodel import Session, func, select

from app import create_app
from app.db import get_session
from app.geocoding import geocoder as app_geocoder
from registry.geo import Commune, GeocodeQuery, GeocodeResult, GeocodingFailed
from registry.geo.ban import BanGeocoder, GeocoderUnavailable
from registry.geo.cache import CachedGeocoder, GeocodeCacheEntry, query_key
from registry.geo.commune_geocoder import CommuneGeocoder
from registry.geo.communes import commune_directory
from registry.geo.fallback import FallbackGeocoder
from tests.conftest import settings_for
from tests.loopback import free_port

FOIX = Commune(
    insee="09122",
    name="Foix",
    postal_codes=("09000",),
    latitude=42.9659,
    longitude=1.6074,
    population=9_600,
    department="09",
    overseas=False,
    timezone="Europe/Paris",
)
SAINT_DENIS_REUNION = Commune(
    insee="97411",
    name="Saint-Denis",
    postal_codes=("97400", "97490"),
    latitude=-20.8821,
    longitude=55.4507,
    population=153_000,
    department="974",
    overseas=True,
    timezone="Indian/Reunion",
)
PARIS = Commune(
    insee="75056",
    name="Paris",
    postal_codes=("75008",),
    latitude=48.8566,
    longitude=2.3522,
    population=2_100_000,
    department="75",
    overseas=False,
    timezone="Europe/Paris",
)
DIRECTORY = {commune.insee: commune for commune in (FOIX, SAINT_DENIS_REUNION, PARIS)}
ADDRESS = GeocodeQuery(street="12 rue Delcassé", postal_code="09000", commune="Foix")


def ban_feature(
    *,
    housenumber: str = "12",
    street: str = "Rue Delcassé",
    postcode: str = "09000",
    city: str = "Foix",
    citycode: str = "09122",
    context: str = "09, Ariège, Occitanie",
    score: float = 0.93,
    type: str = "housenumber",
    lon: float = 1.6055,
    lat: float = 42.9649,
) -> dict:
    """A feature shaped like the ones BAN returns."""
    name = f"{housenumber} {street}" if type == "housenumber" else street
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": {
            "label": f"{name} {postcode} {city}",
            "score": score,
            "housenumber": housenumber,
            "id": f"{citycode}_0420_{housenumber.zfill(5)}",
            "type": type,
            "name": name,
            "postcode": postcode,
            "citycode": citycode,
            "x": 585_123.4,
            "y": 6_207_456.7,
            "city": city,
            "context": context,
            "importance": 0.55,
            "street": street,
        },
    }


@dataclass
class FakeBan:
    """What the fake server answers, and the query parameters of each request it received."""

    url: str = ""
    features: list[dict] = field(default_factory=list)
    status: int = 200
    requests: list[dict[str, list[str]]] = field(default_factory=list)


@pytest.fixture
def ban() -> Iterator[FakeBan]:
    fake = FakeBan(features=[ban_feature()])

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlsplit(self.path)
            if url.path.rstrip("/") != "/search":
                self.send_error(404)
                return
            fake.requests.append(parse_qs(url.query))
            if fake.status != 200:
                self.send_error(fake.status)
                return
            body = json.dumps(
                {
                    "type": "FeatureCollection",
                    "version": "draft",
                    "features": fake.features,
                    "attribution": "BAN",
                    "licence": "ETALAB-2.0",
                    "query": fake.requests[-1].get("q", [""])[0],
                    "limit": 5,
                }
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args) -> None:
            pass  # keep the test output quiet

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    # A short poll interval keeps `shutdown` from waiting half a second per test.
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield fake
    server.shutdown()
    server.server_close()
    thread.join()


def geocoder_for(ban: FakeBan, **options) -> BanGeocoder:
    return BanGeocoder(DIRECTORY.get, base_url=ban.url, **options)


def test_a_street_address_resolves_to_its_house_number_with_the_commune_details(ban):
    result = geocoder_for(ban).geocode(ADDRESS)

    assert result == GeocodeResult(
        latitude=42.9649,
        longitude=1.6055,
        insee="09122",
        commune="Foix",
        postal_code="09000",
        department="09",
        overseas=False,
        timezone="Europe/Paris",
        precision="housenumber",
        label="12 Rue Delcassé 09000 Foix",
        provider="ban",
    )
    # geopy's BANFrance sends only `q` and `limit`: the postal code travels in the text.
    assert ban.requests == [{"q": ["12 rue Delcassé, 09000 Foix"], "limit": ["5"]}]


def test_an_overseas_address_takes_the_department_and_time_zone_of_its_commune(ban):
    ban.features = [
        ban_feature(
            housenumber="3",
            street="Rue de Paris",
            postcode="97400",
            city="Saint-Denis",
            citycode="97411",
            context="974, La Réunion",
            lon=55.4481,
            lat=-20.8789,
        )
    ]
    query = GeocodeQuery(street="3 rue de Paris", postal_code="97400", commune="Saint-Denis")

    result = geocoder_for(ban).geocode(query)

    assert (result.insee, result.department, result.overseas, result.timezone) == (
        "97411",
        "974",
        True,
        "Indian/Reunion",
    )


def test_an_address_in_a_paris_arrondissement_belongs_to_the_commune_of_paris(ban):
    ban.features = [
        ban_feature(
            housenumber="55",
            street="Rue du Faubourg Saint-Honoré",
            postcode="75008",
            city="Paris",
            citycode="75108",
            context="75, Paris, Île-de-France",
        )
    ]
    query = GeocodeQuery(street="55 rue du Faubourg Saint-Honoré", postal_code="75008")

    result = geocoder_for(ban).geocode(query)

    assert (result.insee, result.commune, result.postal_code) == ("75056", "Paris", "75008")


def test_a_street_without_number_resolves_with_street_precision(ban):
    ban.features = [ban_feature(type="street", score=0.71)]

    result = geocoder_for(ban).geocode(GeocodeQuery(street="rue Delcassé", postal_code="09000"))

    assert result.precision == "street"
    assert result.label == "Rue Delcassé 09000 Foix"


def test_a_low_score_is_refused(ban):
    ban.features = [ban_feature(score=0.31)]

    with pytest.raises(GeocodingFailed) as refused:
        geocoder_for(ban).geocode(ADDRESS)

    assert refused.value.field == "street"


def test_the_score_threshold_is_configurable(ban):
    ban.features = [ban_feature(score=0.31)]

    assert geocoder_for(ban, min_score=0.3).geocode(ADDRESS).insee == "09122"


def test_an_address_the_base_does_not_know_is_refused_on_the_street(ban):
    ban.features = []

    with pytest.raises(GeocodingFailed) as refused:
        geocoder_for(ban).geocode(ADDRESS)

    assert refused.value.field == "street"
    assert "introuvable" in refused.value.message


def test_an_empty_street_is_refused_without_asking_the_base(ban):
    with pytest.raises(GeocodingFailed) as refused:
        geocoder_for(ban).geocode(GeocodeQuery(street="  ", postal_code="09000"))

    assert refused.value.field == "street"
    assert ban.requests == []


def test_an_address_found_in_another_postal_code_is_refused(ban):
    ban.features = [ban_feature(postcode="09100", city="Pamiers", citycode="09225")]

    with pytest.raises(GeocodingFailed) as refused:
        geocoder_for(ban).geocode(ADDRESS)

    assert refused.value.field == "postal_code"
    assert "09000" in refused.value.message


def test_the_best_match_in_the_postal_code_given_wins_over_a_better_one_elsewhere(ban):
    ban.features = [
        ban_feature(postcode="09100", city="Pamiers", citycode="09225", score=0.95),
        ban_feature(score=0.82),
    ]

    result = geocoder_for(ban).geocode(ADDRESS)

    assert (result.insee, result.postal_code) == ("09122", "09000")


def test_an_address_in_a_commune_missing_from_the_directory_is_refused(ban):
    ban.features = [ban_feature(citycode="09999")]

    with pytest.raises(GeocodingFailed) as refused:
        geocoder_for(ban).geocode(ADDRESS)

    assert refused.value.field == "commune"


def test_a_service_that_is_down_is_unavailable_not_a_refusal():
    geocoder = BanGeocoder(DIRECTORY.get, base_url=f"http://127.0.0.1:{free_port()}")

    with pytest.raises(GeocoderUnavailable) as unavailable:
        geocoder.geocode(ADDRESS)

    assert str(unavailable.value) == "Le service national d'adresses ne répond pas."


def test_a_service_that_does_not_answer_in_time_is_unavailable():
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # connections queue up, nobody ever answers
        port = silent.getsockname()[1]
        geocoder = BanGeocoder(DIRECTORY.get, base_url=f"http://127.0.0.1:{port}", timeout=0.2)

        with pytest.raises(GeocoderUnavailable):
            geocoder.geocode(ADDRESS)


@pytest.mark.parametrize("status", [429, 500, 502, 503])
def test_a_service_in_trouble_is_unavailable(ban, status):
    ban.status = status

    with pytest.raises(GeocoderUnavailable):
        geocoder_for(ban).geocode(ADDRESS)


def test_a_text_the_service_cannot_search_is_refused_on_the_street(ban):
    ban.status = 400

    with pytest.raises(GeocodingFailed) as refused:
        geocoder_for(ban).geocode(ADDRESS)

    assert refused.value.field == "street"


def cache_rows(db: Session) -> list[GeocodeCacheEntry]:
    return list(db.exec(select(GeocodeCacheEntry)).all())


def test_the_second_lookup_of_an_address_is_answered_from_the_cache(ban, db):
    cached = CachedGeocoder(geocoder_for(ban), db, provider="ban")
    first = cached.geocode(ADDRESS)
    db.commit()

    again = cached.geocode(
        GeocodeQuery(street=" 12  RUE Delcassé ", postal_code="09000 ", commune="foix")
    )

    assert again == first
    assert len(ban.requests) == 1


def test_a_cached_result_is_a_row_in_the_database(ban, db):
    result = CachedGeocoder(geocoder_for(ban), db, provider="ban").geocode(ADDRESS)
    db.commit()

    [row] = cache_rows(db)
    assert (row.provider, row.query_key) == ("ban", query_key("ban", ADDRESS))
    assert row.result == asdict(result)
    assert row.created_at.tzinfo is not None


def test_a_refused_address_is_not_cached(ban, db):
    ban.features = []
    cached = CachedGeocoder(geocoder_for(ban), db, provider="ban")

    for _attempt in range(2):
        with pytest.raises(GeocodingFailed):
            cached.geocode(ADDRESS)

    assert len(ban.requests) == 2
    assert cache_rows(db) == []


def test_an_unavailable_service_is_not_cached(ban, db):
    ban.status = 503
    cached = CachedGeocoder(geocoder_for(ban), db, provider="ban")
    with pytest.raises(GeocoderUnavailable):
        cached.geocode(ADDRESS)

    ban.status = 200
    assert cached.geocode(ADDRESS).insee == "09122"
    assert len(ban.requests) == 2


def test_providers_have_separate_cache_entries(ban, db):
    CachedGeocoder(geocoder_for(ban), db, provider="ban").geocode(ADDRESS)
    CachedGeocoder(geocoder_for(ban), db, provider="ban-test").geocode(ADDRESS)

    assert len(ban.requests) == 2
    assert sorted(row.provider for row in cache_rows(db)) == ["ban", "ban-test"]


def test_a_concurrent_cache_write_of_the_same_address_does_not_fail_the_caller(ban, db):
    ban_geocoder = geocoder_for(ban)

    class RacingGeocoder:
        """The same address gets cached while this request waits for BAN.

        The competing row is written in the caller's own transaction: on SQLite a row committed by
        another connection after our first read would make any later write of this transaction
        fail with "database is locked" (stale WAL snapshot), cache or not.
        """

        def geocode(self, query: GeocodeQuery) -> GeocodeResult:
            result = ban_geocoder.geocode(query)
            key = query_key("ban", query)
            db.add(GeocodeCacheEntry(provider="ban", query_key=key, result=asdict(result)))
            db.flush()
            return result

    result = CachedGeocoder(RacingGeocoder(), db, provider="ban").geocode(ADDRESS)
    db.commit()

    assert result.insee == "09122"
    assert db.exec(select(func.count()).select_from(GeocodeCacheEntry)).one() == 1


def street_or_commune(ban: FakeBan, db) -> FallbackGeocoder:
    return FallbackGeocoder(
        CachedGeocoder(geocoder_for(ban), db, "ban"), CommuneGeocoder(commune_directory())
    )


def test_with_the_address_base_a_known_street_gets_its_house_number(ban, db):
    result = street_or_commune(ban, db).geocode(ADDRESS)
    assert result.precision == "housenumber"
    assert result.provider == "ban"


@pytest.mark.parametrize("street", ["", "Rue qui n'existe pas"])
def test_without_a_known_street_the_commune_point_is_used(ban, db, street):
    ban.features = []
    query = GeocodeQuery(street=street, postal_code="09000", commune="Foix")
    result = street_or_commune(ban, db).geocode(query)
    assert (result.insee, result.precision, result.provider) == ("09122", "commune", "commune")


def test_when_the_address_base_is_down_the_commune_point_is_used(db):
    down = FakeBan(features=[])
    down.url = "http://127.0.0.1:9"
    result = street_or_commune(down, db).geocode(ADDRESS)
    assert result.precision == "commune"


def test_a_wrong_commune_is_refused_even_when_the_street_is_unknown(ban, db):
    ban.features = []
    query = GeocodeQuery(street="1 rue X", postal_code="09000", commune="Foixe")
    with pytest.raises(GeocodingFailed) as refused:
        street_or_commune(ban, db).geocode(query)
    assert refused.value.field == "commune"


def test_the_platform_geocodes_practices_at_street_level_when_configured(ban, database_url):
    app = create_app(settings_for(database_url, geocoder="ban", ban_url=ban.url))
    with app.app_context():
        result = app_geocoder().geocode(ADDRESS)
        get_session().commit()
    assert result.precision == "housenumber"
    with Session(app.extensions["engine"]) as session:
        assert session.exec(select(GeocodeCacheEntry)).one().provider == "ban"
    app.extensions["engine"].dispose()


def test_an_address_the_base_places_elsewhere_falls_back_to_the_commune_level(ban, db):
    ban.features = [ban_feature(postcode="09100", city="Pamiers", citycode="09225")]
    result = street_or_commune(ban, db).geocode(ADDRESS)
    assert (result.insee, result.precision) == ("09122", "commune")
