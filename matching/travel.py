"""The travel model: great-circle distance on a sphere of the mean Earth radius (as geopy
computes it), times a detour factor for the road, driven at a constant speed."""

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

EARTH_RADIUS_KM = 6371.009  # mean radius (IUGG), geopy's default


def great_circle_km_many(
    lat: float, lon: float, lats: ArrayLike, lons: ArrayLike
) -> NDArray[np.float64]:
    """Haversine distances from one point to each of many. Haversine loses precision only within
    metres of the antipode, which no two French places are near."""
    return great_circle_km_pairs(lat, lon, lats, lons)


def great_circle_km_pairs(
    lats1: ArrayLike, lons1: ArrayLike, lats2: ArrayLike, lons2: ArrayLike
) -> NDArray[np.float64]:
    """Haversine distances between the i-th point of one list and the i-th of the other (a single
    point on either side is paired with every point of the other)."""
    lat1 = np.radians(np.asarray(lats1, dtype=np.float64))
    lon1 = np.radians(np.asarray(lons1, dtype=np.float64))
    lat2 = np.radians(np.asarray(lats2, dtype=np.float64))
    lon2 = np.radians(np.asarray(lons2, dtype=np.float64))
    haversine = (
        np.sin((lat2 - lat1) / 2) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    )
    # Rounding can push the haversine a hair outside [0, 1], where arcsin is undefined.
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(haversine, 0.0, 1.0)))


def great_circle_matrix(lats: ArrayLike, lons: ArrayLike) -> NDArray[np.float64]:
    """Distances between every pair of the given points, in km."""
    lats = np.asarray(lats, dtype=np.float64)
    lons = np.asarray(lons, dtype=np.float64)
    return np.vstack(
        [great_circle_km_many(a, b, lats, lons) for a, b in zip(lats, lons, strict=True)]
    )


def great_circle_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """The same haversine for one pair, without numpy's per-call cost (route building calls it
    in its inner loop)."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    h = (
        math.sin((phi2 - phi1) / 2) ** 2
        + math.cos(phi1) * math.cos(phi2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(max(h, 0.0), 1.0)))
