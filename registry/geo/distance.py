"""Great-circle distances in kilometres on a spherical Earth: one pair (geopy) or one point to many
(numpy, for ranking nurses by distance)."""

from geopy.distance import great_circle

# One travel model for the registry and the planner.
from matching.travel import EARTH_RADIUS_KM, great_circle_km_many

__all__ = ["EARTH_RADIUS_KM", "great_circle_km", "great_circle_km_many"]


def great_circle_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    return great_circle((lat1, lon1), (lat2, lon2), radius=EARTH_RADIUS_KM).km
