"""One nurse window's route: its schedule (each visit as early as she can make it), its road km,
and the best order of a handful of visits. Shared by both planners and the output, so the times
written are the times checked."""

import itertools
import math
from dataclasses import dataclass

from matching.candidates import TravelModel
from matching.model import Instance
from matching.travel import great_circle_km as great_circle

# Up to this many visits every order is tried; beyond, accepted visits keep their times and the
# others go by due time, then nearest.
EXHAUSTIVE_ORDER = 5


@dataclass(frozen=True)
class Schedule:
    order: tuple[int, ...]  # request indices
    starts: tuple[int, ...]  # seconds since now
    road_km: float


class RoutePlanner:
    def __init__(self, instance: Instance, travel: TravelModel, fixed_starts: dict[int, int]):
        self.instance = instance
        self.travel = travel
        self.fixed_starts = fixed_starts  # request index -> start, seconds since now

    def schedule(self, nurse_index: int, window: int, order) -> Schedule | None:
        """The route in this order, each visit as early as possible (accepted ones at their
        time); None if it misses a due time or the end of the window."""
        nurse = self.instance.nurses[nurse_index]
        opens, closes = nurse.windows[window]
        clock = max(math.ceil(self.travel.at(opens)), 0)
        lat, lon = nurse.lat, nurse.lon
        starts, km = [], 0.0
        accepted_only, previous_end = True, -math.inf
        for index in order:
            request = self.instance.requests[index]
            leg = great_circle(lat, lon, request.lat, request.lon)
            km += leg
            arrival = math.ceil(clock + self.travel.drive_seconds(leg))
            start = max(arrival, math.ceil(self.travel.at(request.earliest)))
            if index in self.fixed_starts:
                # An accepted time is the nurse's word: kept even if the model thinks her late,
                # unless a new visit placed before it is what would make her late.
                late = arrival > self.fixed_starts[index] and not accepted_only
                if late or self.fixed_starts[index] < previous_end:
                    return None
                start = self.fixed_starts[index]
            accepted_only = accepted_only and index in self.fixed_starts
            clock = previous_end = start + request.service_minutes * 60
            if clock > self.travel.at(request.due):
                return None
            starts.append(start)
            lat, lon = request.lat, request.lon
        back = great_circle(lat, lon, nurse.lat, nurse.lon) if order else 0.0
        late = clock + self.travel.drive_seconds(back) > self.travel.at(closes)
        if order and late and not all(index in self.fixed_starts for index in order):
            return None  # a route of accepted visits only stands as the nurse accepted it
        return Schedule(tuple(order), tuple(starts), self.travel.road_km(km + back))

    def best(self, nurse_index: int, window: int, visits) -> Schedule | None:
        """The shortest feasible order of these visits, or None if none is feasible."""
        visits = list(visits)
        if len(visits) <= EXHAUSTIVE_ORDER:
            orders = itertools.permutations(visits)
        else:
            orders = [self._greedy_order(nurse_index, visits)]
        best = None
        for order in orders:
            route = self.schedule(nurse_index, window, order)
            if route is not None and (best is None or route.road_km < best.road_km):
                best = route
        return best

    def _greedy_order(self, nurse_index: int, visits: list[int]) -> list[int]:
        requests = self.instance.requests
        nurse = self.instance.nurses[nurse_index]
        left, order = set(visits), []
        lat, lon = nurse.lat, nurse.lon
        while left:
            nearest = min(
                left,
                key=lambda r: (
                    self.fixed_starts.get(r, self.travel.at(requests[r].due)),
                    great_circle(lat, lon, requests[r].lat, requests[r].lon),
                ),
            )
            order.append(nearest)
            left.remove(nearest)
            lat, lon = requests[nearest].lat, requests[nearest].lon
        return order
