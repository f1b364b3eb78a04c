"""Street-level geocoding that never blocks an enrolment or a booking: the address base is
asked when there is a street; when there is none, when the base cannot place the address or
does not answer, the commune geocoder answers, refusing a wrong postal code or commune with
suggestions."""

import logging

from registry.geo import GeocodeQuery, Geocoder, GeocodeResult, GeocodingFailed
from registry.geo.ban import GeocoderUnavailable

log = logging.getLogger(__name__)


class FallbackGeocoder:
    def __init__(self, street_level: Geocoder, commune_level: Geocoder) -> None:
        self.street_level = street_level
        self.commune_level = commune_level

    def geocode(self, query: GeocodeQuery) -> GeocodeResult:
        if not query.street.strip():
            return self.commune_level.geocode(query)
        # The street is a patient's home: the log names the commune only.
        place = f"{query.postal_code} {query.commune}".strip()
        try:
            return self.street_level.geocode(query)
        except GeocoderUnavailable:
            log.warning("Address service unavailable; commune point used in %s", place)
        except GeocodingFailed as failure:
            # The commune geocoder decides on the postal code and commune, with suggestions.
            log.info("Address not found (%s); commune level used in %s", failure.message, place)
        return self.commune_level.geocode(query)
