"""What a policy did with the simulated requests, and the figures that compare policies, computed
the same way for each: share visited within 24 h, time to visit, km per visit, load per nurse,
requests left without a visit, and what the offers cost the nurses."""

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from matching.model import DEFAULT_DETOUR_FACTOR, DEFAULT_SPEED_KMH
from registry.geo.distance import great_circle_km
from steering.simulation.arrivals import Arrival
from steering.simulation.world import NurseInfo

WITHIN = timedelta(hours=24)


@dataclass(frozen=True)
class Visit:
    request: int  # the arrival's index
    nurse: str  # the nurse's key
    accepted_at: datetime
    appointment: datetime  # the time she committed to
    start: datetime  # when she really came (later when a visit before ran long)
    end: datetime
    km: float  # great circle, her practice to the patient's home


@dataclass(frozen=True)
class Asked:
    """A nurse asked about a request, and what she answered in time (None: nothing)."""

    request: int
    nurse: str
    at: datetime
    answered_at: datetime | None
    accepts: bool | None


@dataclass
class PolicyRun:
    policy: str  # "platform" or "broadcast"
    requests: int
    visits: dict[int, Visit] = field(default_factory=dict)
    asked: list[Asked] = field(default_factory=list)
    offers_sent: int = 0
    offers_declined: int = 0
    offers_unanswered: int = 0  # expired (platform), never answered while open (broadcast)
    accepts_lost: int = 0  # "yes" answers to a request already taken
    passes: int = 0  # planning passes (platform)
    planner_seconds: float = 0.0
    seconds: float = 0.0

    def within_24h(self, arrivals: list[Arrival]) -> set[int]:
        return {
            index
            for index, visit in self.visits.items()
            if visit.start - arrivals[index].at <= WITHIN
        }


def drive(km: float) -> timedelta:
    """Driving time for a great-circle distance, in the planner's own travel model."""
    return timedelta(hours=km * DEFAULT_DETOUR_FACTOR / DEFAULT_SPEED_KMH)


def distance_km(nurse: NurseInfo, arrival: Arrival) -> float:
    commune = arrival.commune
    return great_circle_km(nurse.latitude, nurse.longitude, commune.latitude, commune.longitude)


def summary(run: PolicyRun, arrivals: list[Arrival], nurses: list[NurseInfo]) -> dict:
    """The run's figures, as plain JSON values."""
    requests = len(arrivals)
    visits = list(run.visits.values())
    within = run.within_24h(arrivals)
    hours = sorted((v.start - arrivals[v.request].at).total_seconds() / 3600 for v in visits)
    load = Counter(v.nurse for v in visits)
    per_nurse = [load.get(n.key, 0) for n in nurses]
    zones = {n.key: ZoneInfo(n.timezone) for n in nurses}
    per_day = Counter((v.nurse, v.start.astimezone(zones[v.nurse]).date()) for v in visits)
    capacity = {n.key: n.max_visits_per_day for n in nurses}
    asked: dict[int, set[str]] = {}
    for entry in run.asked:
        asked.setdefault(entry.request, set()).add(entry.nurse)
    missed = [a.index for a in arrivals if a.index not in run.visits]
    never_asked = sum(1 for index in missed if index not in asked)
    asked_for_missed = [len(asked[index]) for index in missed if index in asked]
    return {
        "requests": requests,
        "visited": len(visits),
        "within_24h": len(within),
        "within_24h_share": _share(len(within), requests),
        "median_hours": _quantile(hours, 0.5),
        "p90_hours": _quantile(hours, 0.9),
        "km_per_visit": sum(v.km for v in visits) / len(visits) if visits else None,
        "km_total": sum(v.km for v in visits),
        "nurses": len(nurses),
        "nurses_with_visits": sum(1 for count in per_nurse if count),
        "nurses_with_visits_share": _share(sum(1 for c in per_nurse if c), len(per_nurse)),
        "visits_per_nurse_mean": sum(per_nurse) / len(per_nurse) if per_nurse else None,
        "visits_per_nurse_max": max(per_nurse, default=0),
        "load_gini": gini(per_nurse),
        "most_visits_in_a_day": max(per_day.values(), default=0),
        # Days a nurse made more visits than the most she declared she would make in a day.
        "nurse_days_over_capacity": sum(1 for (key, _d), c in per_day.items() if c > capacity[key]),
        "unassigned": requests - len(visits),
        "unassigned_share": _share(requests - len(visits), requests),
        # Of those: never put to any nurse (none eligible, or none free), or put to some and
        # accepted by none in time; and how many nurses were asked about each of the latter.
        "unassigned_never_asked": never_asked,
        "unassigned_after_asking": len(asked_for_missed),
        "nurses_asked_per_unassigned": (
            sum(asked_for_missed) / len(asked_for_missed) if asked_for_missed else None
        ),
        "offers_sent": run.offers_sent,
        "offers_declined": run.offers_declined,
        "offers_unanswered": run.offers_unanswered,
        "accepts_lost": run.accepts_lost,
        "passes": run.passes,
        "planner_seconds": round(run.planner_seconds, 2),
        "seconds": round(run.seconds, 1),
    }


def gini(values: list[int]) -> float | None:
    """0 when every nurse has the same number of visits, towards 1 when a few have them all."""
    if not values or not sum(values):
        return None
    ordered = sorted(values)
    n, total = len(ordered), sum(ordered)
    weighted = sum((rank + 1) * value for rank, value in enumerate(ordered))
    return (2 * weighted) / (n * total) - (n + 1) / n


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _quantile(ordered: list[float], q: float) -> float | None:
    """The nearest-rank quantile (a real request's time, not an interpolation)."""
    if not ordered:
        return None
    return ordered[max(math.ceil(q * len(ordered)) - 1, 0)]
