"""French geography: the commune directory, geocoders and great-circle distances.

Everything here works offline by default; street-level geocoding through the national address
base (BAN) is opt-in by configuration and sits behind the same `Geocoder` interface.
"""

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class Commune:
    insee: str  # 5 characters; 2A/2B for Corsica, 971–976 for the overseas departments
    name: str  # with its article: "La Bastide-de-Sérou"
    postal_codes: tuple[str, ...]
    latitude: float
    longitude: float
    population: int
    department: str  # "09", "2A", "971"
    overseas: bool
    timezone: str  # IANA name: Europe/Paris, America/Guadeloupe, Indian/Reunion…


@dataclass(frozen=True)
class GeocodeQuery:
    """An address as people type it; `insee` alone is enough for the commune geocoder."""

    street: str = ""
    postal_code: str = ""
    commune: str = ""
    insee: str = ""


@dataclass(frozen=True)
class GeocodeResult:
    latitude: float
    longitude: float
    insee: str
    commune: str
    postal_code: str
    department: str
    overseas: bool
    timezone: str
    precision: str  # "commune" (commune point) or "street" / "housenumber" (BAN)
    label: str  # what was understood, to show back to the user
    provider: str  # "commune" or "ban"


@dataclass(frozen=True)
class Suggestion:
    insee: str
    name: str
    postal_code: str

    @property
    def label(self) -> str:
        return f"{self.postal_code} {self.name}"


@dataclass
class GeocodingFailed(Exception):
    """The address could not be resolved to one place; `field` is the input to correct."""

    field: str  # "postal_code", "commune", "insee" or "street"
    message: str  # French, for the user
    suggestions: list[Suggestion] = field(default_factory=list)

    def __str__(self) -> str:
        return self.message


class Geocoder(Protocol):
    def geocode(self, query: GeocodeQuery) -> GeocodeResult:
        """The point of the address, or GeocodingFailed with suggestions."""
        ...
