"""Street-level geocoding that degrades gracefully: when the national address base does not
answer, the commune's point is used, so an enrolment or a booking never waits on it."""

import logging

from registry.geo import GeocodeQuery, Geocoder, GeocodeResult
from registry.geo.ban import GeocoderUnavailable

log = logging.getLogger(__name__)


class FallbackGeocoder:
    def __init__(self, primary: Geocoder, fallback: Geocoder) -> None:
        self.primary = primary
        self.fallback = fallback

    def geocode(self, query: GeocodeQuery) -> GeocodeResult:
        try:
            return self.primary.geocode(query)
        except GeocoderUnavailable:
            log.warning("Address service unavailable; using the commune point for %s", query)
            return self.fallback.geocode(query)
