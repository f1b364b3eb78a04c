"""The planner for large parts: an exact min-cost max-flow on the relaxed problem (each visit a
round trip, each window holding as many visits as its length allows) says how many can be served
at most and who should serve whom; routes are then built, repaired where the relaxation was too
generous, and completed and improved by insertion and relocation. Every step is deterministic.

The flow's value is also an upper bound on the requests any plan can serve."""

from collections import defaultdict
from dataclasses import dataclass, field

from ortools.graph.python import min_cost_flow

from matching.candidates import Candidate, TravelModel
from matching.model import Instance
from matching.routes import RoutePlanner, Schedule

METRES = 1000


@dataclass
class FlowPlan:
    routes: dict[tuple[int, int], Schedule] = field(default_factory=dict)
    upper_bound: int = 0


def relaxed_assignment(
    instance: Instance,
    candidates: dict[int, list[Candidate]],
    travel: TravelModel,
    held: dict[int, tuple[int, int]],
) -> tuple[dict[int, tuple[int, int]], int]:
    """Who serves whom in the relaxed problem, and how many are served: maximum first, then
    higher priority, then the usual nurse, then the fewest round-trip km. Accepted visits
    (`held`) are not placed, but take their room in their window and their nurse's capacity."""
    requests, nurses = instance.requests, instance.nurses
    taken_window: dict[tuple[int, int], int] = defaultdict(int)
    taken_nurse: dict[int, int] = defaultdict(int)
    for window in held.values():
        taken_window[window] += 1
        taken_nurse[window[0]] += 1
    candidates = {r: cs for r, cs in candidates.items() if r not in held}
    windows = sorted({(c.nurse, c.window) for cs in candidates.values() for c in cs})
    nurse_ids = sorted({n for n, _w in windows})
    source, sink = 0, 1
    request_node = {r: 2 + i for i, r in enumerate(sorted(candidates))}
    window_node = {w: 2 + len(request_node) + i for i, w in enumerate(windows)}
    nurse_node = {n: 2 + len(request_node) + len(windows) + i for i, n in enumerate(nurse_ids)}
    top_priority = max((requests[r].priority for r in candidates), default=0)
    longest = max((c.distance_km for cs in candidates.values() for c in cs), default=0.0)
    preference = int(2 * longest * instance.detour_factor * METRES) + 1
    priority_step = preference * 2
    flow = min_cost_flow.SimpleMinCostFlow()
    for r, node in request_node.items():
        flow.add_arc_with_capacity_and_unit_cost(source, node, 1, 0)
        request = requests[r]
        for c in candidates[r]:
            cost = int(2 * c.distance_km * instance.detour_factor * METRES)
            wanted = request.preferred_nurse
            if wanted and wanted != nurses[c.nurse].id:
                cost += preference
            cost += priority_step * (top_priority - request.priority)
            flow.add_arc_with_capacity_and_unit_cost(
                node, window_node[(c.nurse, c.window)], 1, cost
            )
    shortest = min((requests[r].service_minutes for r in candidates), default=1) * 60
    for (n, w), node in window_node.items():
        opens, closes = nurses[n].windows[w]
        length = travel.at(closes) - max(travel.at(opens), 0.0)
        room = max(int(length // shortest) - taken_window[(n, w)], 0)
        flow.add_arc_with_capacity_and_unit_cost(node, nurse_node[n], room, 0)
    for n, node in nurse_node.items():
        room = max(nurses[n].capacity - taken_nurse[n], 0)
        flow.add_arc_with_capacity_and_unit_cost(node, sink, room, 0)
    flow.set_node_supply(source, len(request_node))
    flow.set_node_supply(sink, -len(request_node))
    status = flow.solve_max_flow_with_min_cost()
    if status != flow.OPTIMAL:
        return {}, 0
    window_of_node = {node: w for w, node in window_node.items()}
    request_of_node = {node: r for r, node in request_node.items()}
    chosen = {}
    for arc in range(flow.num_arcs()):
        if (
            flow.flow(arc)
            and flow.tail(arc) in request_of_node
            and flow.head(arc) in window_of_node
        ):
            chosen[request_of_node[flow.tail(arc)]] = window_of_node[flow.head(arc)]
    return chosen, len(chosen) + len(held)


class FlowPlanner:
    def __init__(self, instance: Instance, travel: TravelModel, planner: RoutePlanner, fixed):
        self.instance = instance
        self.travel = travel
        self.routes = planner
        self.fixed = fixed  # request index -> (nurse index, window)

    def plan(self, candidates: dict[int, list[Candidate]]) -> FlowPlan:
        chosen, bound = relaxed_assignment(self.instance, candidates, self.travel, self.fixed)
        chosen.update(self.fixed)
        members: dict[tuple[int, int], list[int]] = defaultdict(list)
        for r, window in sorted(chosen.items()):
            members[window].append(r)
        routes: dict[tuple[int, int], Schedule] = {}
        waiting: list[int] = [r for r in candidates if r not in chosen]
        for window, visits in members.items():
            route, dropped = self._repair(window, visits)
            if route is not None:
                routes[window] = route
            waiting += dropped
        self._insert(routes, waiting, candidates)
        self._relocate(routes, candidates)
        return FlowPlan(routes, bound)

    def _repair(self, window, visits) -> tuple[Schedule | None, list[int]]:
        """A feasible route from the visits the relaxation gave this window, dropping the least
        valuable ones (lowest priority, farthest) until it is."""
        requests = self.instance.requests
        kept, dropped = list(visits), []
        while kept:
            route = self.routes.best(window[0], window[1], kept)
            if route is not None:
                return route, dropped
            movable = [r for r in kept if r not in self.fixed]
            if not movable:
                # Accepted visits alone, at their accepted times, in that order.
                order = sorted(kept, key=lambda r: self.routes.fixed_starts[r])
                return self.routes.schedule(window[0], window[1], order), dropped
            worst = min(movable, key=lambda r: (requests[r].priority, -requests[r].due.timestamp()))
            kept.remove(worst)
            dropped.append(worst)
        return None, dropped

    def _load(self, routes) -> dict[int, int]:
        load: dict[int, int] = defaultdict(int)
        for (nurse, _w), route in routes.items():
            load[nurse] += len(route.order)
        return load

    def _cost(self, r: int, nurse: int) -> float:
        wanted = self.instance.requests[r].preferred_nurse
        return 1e6 if wanted and wanted != self.instance.nurses[nurse].id else 0.0

    def _best_insertion(self, routes, load, r, candidates, exclude=None):
        best, best_key = None, None
        for c in candidates[r]:
            window = (c.nurse, c.window)
            if window == exclude or load[c.nurse] >= self.instance.nurses[c.nurse].capacity:
                continue
            current = routes.get(window)
            visits = list(current.order) if current else []
            route = self.routes.best(c.nurse, c.window, [*visits, r])
            if route is None:
                continue
            added = route.road_km - (current.road_km if current else 0.0)
            key = (self._cost(r, c.nurse) + added, c.nurse, c.window)
            if best_key is None or key < best_key:
                best, best_key = (window, route), key
        return best, best_key

    def _insert(self, routes, waiting, candidates) -> None:
        requests = self.instance.requests
        load = self._load(routes)
        order = sorted(waiting, key=lambda r: (-requests[r].priority, len(candidates[r]), r))
        for r in order:
            found, _key = self._best_insertion(routes, load, r, candidates)
            if found is not None:
                window, route = found
                routes[window] = route
                load[window[0]] += 1

    def _relocate(self, routes, candidates, rounds: int = 3) -> None:
        """Moves a visit to another nurse window when that drives fewer km overall."""
        load = self._load(routes)
        for _round in range(rounds):
            improved = False
            for window in sorted(routes):
                route = routes.get(window)
                for r in list(route.order) if route else []:
                    if r in self.fixed:
                        continue
                    improved |= self._try_move(routes, load, candidates, window, r)
            if not improved:
                return

    def _try_move(self, routes, load, candidates, window, r) -> bool:
        route = routes[window]
        rest = [v for v in route.order if v != r]
        without = self.routes.best(window[0], window[1], rest) if rest else None
        if rest and without is None:
            return False
        saving = route.road_km - (without.road_km if without else 0.0)
        load[window[0]] -= 1  # as if the visit had left, so her other windows may take it
        found, key = self._best_insertion(routes, load, r, candidates, exclude=window)
        if found is None or key[0] + 1e-9 >= saving + self._cost(r, window[0]):
            load[window[0]] += 1
            return False
        target, moved = found
        load[target[0]] += 1
        if without is None:
            del routes[window]
        else:
            routes[window] = without
        routes[target] = moved
        return True
