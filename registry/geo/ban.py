"""Street-level geocoding through the national address base (BAN, api-adresse.data.gouv.fr).

When the service does not answer, `GeocoderUnavailable` tells callers to fall back to the commune
geocoder; an address the service answers about but cannot place is a `GeocodingFailed`.
"""

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import geopy.exc
from geopy.geocoders import BANFrance

from registry.geo import Commune, GeocodeQuery, GeocodeResult, GeocodingFailed
from registry.geo.communes import arrondissement_city

DEFAULT_BASE_URL = "https://api-adresse.data.gouv.fr"
USER_AGENT = "vdsi-platform"
# geopy's BANFrance cannot send BAN's `postcode` filter, so we ask for a few candidates and keep
# the best one in the postal code given (BAN answers 5 when not told).
CANDIDATES = 5


class GeocoderUnavailable(Exception):
    """BAN did not answer usably (network error, timeout, server error, unreadable answer)."""

    def __init__(self, message: str = "Le service national d'adresses ne répond pas.") -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class _Candidate:
    """One feature of BAN's answer, with the properties we use."""

    latitude: float
    longitude: float
    score: float
    type: str  # housenumber, street, locality or municipality
    label: str
    postcode: str
    citycode: str


class BanGeocoder:
    provider = "ban"

    def __init__(
        self,
        commune_lookup: Callable[[str], Commune | None],
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = 5,
        min_score: float = 0.5,
    ) -> None:
        url = urlsplit(base_url)
        if url.scheme not in ("http", "https") or not url.netloc:
            raise ValueError(f"BAN base URL must be http(s)://host[/path], not {base_url!r}")
        # geopy builds "{scheme}://{domain}/search", so a path prefix can ride along in `domain`.
        self._ban = BANFrance(
            domain=url.netloc + url.path.rstrip("/"),
            scheme=url.scheme,
            timeout=timeout,
            user_agent=USER_AGENT,
        )
        self._commune_lookup = commune_lookup
        self._min_score = min_score

    def geocode(self, query: GeocodeQuery) -> GeocodeResult:
        street = " ".join(query.street.split())
        if not street:
            raise GeocodingFailed("street", "Indiquez le numéro et le nom de la voie.")
        postal_code = query.postal_code.strip()
        place = " ".join(f"{postal_code} {query.commune}".split())
        candidates = self._search(f"{street}, {place}" if place else street)

        confident = [c for c in candidates if c.score >= self._min_score]
        if not confident:
            raise GeocodingFailed(
                "street",
                "Adresse introuvable dans la base nationale : vérifiez le numéro et la voie.",
            )
        if postal_code:
            confident = [c for c in confident if c.postcode == postal_code]
            if not confident:
                raise GeocodingFailed(
                    "postal_code",
                    f"Cette adresse n'est pas dans le code postal {postal_code} : "
                    "vérifiez le code postal et la commune.",
                )
        return self._result(max(confident, key=lambda c: c.score))

    def _search(self, text: str) -> list[_Candidate]:
        try:
            locations = self._ban.geocode(text, limit=CANDIDATES, exactly_one=False) or []
            return [_candidate(location.raw) for location in locations]
        except geopy.exc.GeocoderQueryError as error:
            # BAN answers 400 to a text it cannot search (too short, too long, starts with "-"…).
            raise GeocodingFailed(
                "street", "L'adresse n'a pas pu être lue : indiquez le numéro et le nom de la voie."
            ) from error
        except geopy.exc.GeopyError as error:
            raise GeocoderUnavailable() from error
        except (LookupError, TypeError, ValueError, AttributeError) as error:
            raise GeocoderUnavailable(
                "Le service national d'adresses a renvoyé une réponse illisible."
            ) from error

    def _result(self, candidate: _Candidate) -> GeocodeResult:
        commune = self._find_commune(candidate.citycode)
        if commune is None:
            raise GeocodingFailed(
                "commune",
                f"La commune de cette adresse (code INSEE {candidate.citycode}) est inconnue "
                "du répertoire des communes.",
            )
        return GeocodeResult(
            latitude=candidate.latitude,
            longitude=candidate.longitude,
            insee=commune.insee,
            commune=commune.name,
            postal_code=candidate.postcode,
            department=commune.department,
            overseas=commune.overseas,
            timezone=commune.timezone,
            precision=candidate.type,
            label=candidate.label,
            provider=self.provider,
        )

    def _find_commune(self, citycode: str) -> Commune | None:
        # BAN places Paris, Lyon and Marseille addresses in their arrondissements (75108…); a
        # directory that knows only the city still places them.
        commune = self._commune_lookup(citycode)
        city = arrondissement_city(citycode)
        if commune is None and city is not None:
            return self._commune_lookup(city)
        return commune


def _candidate(feature: dict) -> _Candidate:
    longitude, latitude = feature["geometry"]["coordinates"][:2]
    properties = feature["properties"]
    return _Candidate(
        latitude=float(latitude),
        longitude=float(longitude),
        score=float(properties["score"]),
        type=str(properties["type"]),
        label=str(properties["label"]),
        postcode=str(properties.get("postcode", "")),
        citycode=str(properties["citycode"]),
    )
