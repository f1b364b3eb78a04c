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
        # Each request's times in seconds since now, read once: routes are scheduled millions of
        # times on a national instance.
        self._earliest = [max(math.ceil(travel.at(r.earliest)), 0) for r in instance.requests]
        self._due = [travel.at(r.due) for r in instance.requests]
        self._service = [r.service_minutes * 60 for r in instance.requests]
        self._legs: dict[tuple[int, int], float] = {}  # great-circle km; nurse n is -1 - n
        self._windows = [
            [(max(math.ceil(travel.at(a)), 0), travel.at(b)) for a, b in nurse.windows]
            for nurse in instance.nurses
        ]

    def leg(self, a: int, b: int) -> float:
        """Great-circle km between two places: request r is r, nurse n's practice is -1 - n."""
        key = (a, b) if a < b else (b, a)
        km = self._legs.get(key)
        if km is None:
            first, second = self._point(a), self._point(b)
            km = self._legs[key] = great_circle(*first, *second)
        return km

    def _point(self, node: int) -> tuple[float, float]:
        place = self.instance.nurses[-1 - node] if node < 0 else self.instance.requests[node]
        return place.lat, place.lon

    def schedule(self, nurse_index: int, window: int, order) -> Schedule | None:
        """The route in this order, each visit as early as possible (accepted ones at their
        time); None if it misses a due time or the end of the window."""
        clock, closes = self._windows[nurse_index][window]
        travel, fixed = self.travel, self.fixed_starts
        here = home = -1 - nurse_index
        starts, km = [], 0.0
        accepted_only, previous_end = True, -math.inf
        for index in order:
            leg = self.leg(here, index)
            km += leg
            arrival = math.ceil(clock + travel.drive_seconds(leg))
            start = max(arrival, self._earliest[index])
            if index in fixed:
                # An accepted time is the nurse's word: kept even if the model thinks her late,
                # unless a new visit placed before it is what would make her late.
                late = arrival > fixed[index] and not accepted_only
                if late or fixed[index] < previous_end:
                    return None
                start = fixed[index]
            accepted_only = accepted_only and index in fixed
            clock = previous_end = start + self._service[index]
            if clock > self._due[index]:
                return None
            starts.append(start)
            here = index
        back = self.leg(here, home) if order else 0.0
        late = clock + travel.drive_seconds(back) > closes
        if order and late and not all(index in fixed for index in order):
            return None  # a route of accepted visits only stands as the nurse accepted it
        return Schedule(tuple(order), tuple(starts), travel.road_km(km + back))

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

    def insert(self, nurse_index: int, window: int, order, visit: int) -> Schedule | None:
        """The shortest feasible route adding `visit` to this order, the others kept in it."""
        best = None
        for position in range(len(order) + 1):
            route = self.schedule(
                nurse_index, window, (*order[:position], visit, *order[position:])
            )
            if route is not None and (best is None or route.road_km < best.road_km):
                best = route
        return best

    def _greedy_order(self, nurse_index: int, visits: list[int]) -> list[int]:
        left, order = set(visits), []
        here = -1 - nurse_index
        while left:
            nearest = min(
                left, key=lambda r: (self.fixed_starts.get(r, self._due[r]), self.leg(here, r))
            )
            order.append(nearest)
            left.remove(nearest)
            here = nearest
        return order
