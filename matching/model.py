"""The matching problem and its answer as plain data: nurses with windows and capacities, visit
requests with their deadlines, and the plan that serves them, every choice explained.

Times are timezone-aware datetimes; distances are kilometres."""

from dataclasses import dataclass, field
from datetime import datetime

DEFAULT_SPEED_KMH = 40.0
DEFAULT_DETOUR_FACTOR = 1.3
DEFAULT_SERVICE_MINUTES = 40


@dataclass(frozen=True)
class Nurse:
    id: str
    lat: float
    lon: float
    radius_km: float
    capacity: int
    windows: tuple[tuple[datetime, datetime], ...]
    communes: frozenset[str] = frozenset()
    skills: frozenset[str] = frozenset()
    languages: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Request:
    id: str
    lat: float
    lon: float
    earliest: datetime
    due: datetime
    service_minutes: int = DEFAULT_SERVICE_MINUTES
    commune: str | None = None
    skills: frozenset[str] = frozenset()
    languages: frozenset[str] = frozenset()
    preferred_nurse: str | None = None
    priority: int = 0
    # Nurses not to ask again: they declined this visit, let its offer expire or handed it back.
    excluded_nurses: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Fixed:
    """A visit a nurse has already accepted: it stays hers, in that window, at that time."""

    request: str
    nurse: str
    start: datetime


@dataclass(frozen=True)
class Instance:
    now: datetime
    nurses: tuple[Nurse, ...]
    requests: tuple[Request, ...]
    speed_kmh: float = DEFAULT_SPEED_KMH
    detour_factor: float = DEFAULT_DETOUR_FACTOR
    fixed: tuple[Fixed, ...] = ()


@dataclass(frozen=True)
class Params:
    time_limit: float = 5.0
    seed: int = 0


@dataclass(frozen=True)
class Assignment:
    request: str
    nurse: str
    window: int
    start: datetime
    end: datetime
    distance_km: float  # great circle, practice to the patient
    reason: str


@dataclass(frozen=True)
class Route:
    nurse: str
    window: int
    requests: tuple[str, ...]
    road_km: float


@dataclass(frozen=True)
class Unassigned:
    request: str
    reason: str  # one of REASONS
    detail: str  # for people, in French


# Why a request is left unassigned, from the most to the least fundamental.
REASONS = (
    "no eligible nurse",  # no nurse's zone covers the patient
    "no nurse with the skills",
    "no nurse speaking the language",
    "no window before due time",
    "no capacity",  # each could be served alone, not all together
)


@dataclass
class Solution:
    assignments: list[Assignment] = field(default_factory=list)
    routes: list[Route] = field(default_factory=list)
    unassigned: list[Unassigned] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def served(self) -> int:
        return len(self.assignments)

    @property
    def travel_km(self) -> float:
        return sum(route.road_km for route in self.routes)
