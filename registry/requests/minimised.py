"""What a nurse may see of a request before she accepts it: where (commune and distance), when,
for how many and with which skills; never who. Offers and notifications are built from this
alone, so a patient's identity cannot leak through them."""

from dataclasses import dataclass
from datetime import datetime

from registry.geo.distance import great_circle_km
from registry.requests.models import VisitRequest


@dataclass(frozen=True)
class OfferSummary:
    request_id: int
    commune: str
    insee: str
    distance_km: float
    due_at: datetime
    timezone: str
    preferred_windows: list[dict[str, str]]
    household_size: int
    skills_needed: list[str]
    languages: list[str]
    priority: str


def offer_summary(
    request: VisitRequest, *, practice_lat: float, practice_lon: float
) -> OfferSummary:
    """The request as an offer shows it, distance from the nurse's practice (great circle)."""
    distance = great_circle_km(practice_lat, practice_lon, request.latitude, request.longitude)
    return OfferSummary(
        request_id=request.id,
        commune=request.address_commune,
        insee=request.insee,
        distance_km=round(distance, 1),
        due_at=request.due_at,
        timezone=request.timezone,
        preferred_windows=list(request.preferred_windows),
        household_size=request.household_size,
        skills_needed=list(request.skills_needed),
        languages=list(request.languages),
        priority=request.priority,
    )
