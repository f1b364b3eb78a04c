"""Which geocoder the application uses: the offline commune geocoder by default; the national
address base (BAN) when GEOCODER=ban, cached in the database and falling back to the commune
point when the service does not answer."""

from flask import current_app

from app.db import get_session
from registry.geo import Geocoder
from registry.geo.commune_geocoder import CommuneGeocoder
from registry.geo.communes import commune_directory


def commune_geocoder() -> CommuneGeocoder:
    return CommuneGeocoder(commune_directory())


def geocoder() -> Geocoder:
    settings = current_app.config["SETTINGS"]
    if settings.geocoder != "ban":
        return commune_geocoder()
    from registry.geo.ban import BanGeocoder
    from registry.geo.cache import CachedGeocoder
    from registry.geo.fallback import FallbackGeocoder

    ban = BanGeocoder(base_url=settings.ban_url, commune_lookup=commune_directory().get)
    return FallbackGeocoder(CachedGeocoder(ban, get_session(), "ban"), commune_geocoder())


def commune_choices(text: str, limit: int = 10) -> list[dict]:
    """Communes matching a name or postal code, as autocomplete lists show them."""
    return [
        {
            "insee": commune.insee,
            "name": commune.name,
            "postal_codes": list(commune.postal_codes),
            "department": commune.department,
            "lat": commune.latitude,
            "lon": commune.longitude,
            "overseas": commune.overseas,
        }
        for commune in commune_directory().search(text[:100], limit=limit)
    ]
