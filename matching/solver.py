"""The planner: candidates found through a spatial grid, the problem cut into independent parts
(requests that share no possible nurse), and each part solved as a vehicle-routing problem with
time windows by OR-Tools, where each nurse's window is a vehicle leaving and returning to her
practice.

The objective is lexicographic, by the size of its weights: serve as many requests as possible,
higher priority first; then give requests to their usual nurse; then drive the fewest km; then
spread the visits across nurses."""

import math
import random
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np
from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from matching.candidates import Candidate, TravelModel, find_candidates
from matching.explain import assignment_reason, unassigned_detail
from matching.flow_planner import FlowPlanner
from matching.model import Assignment, Instance, Params, Route, Solution, Unassigned
from matching.routes import RoutePlanner, Schedule
from matching.travel import great_circle_matrix

METRES = 1000
# Each request keeps its closest nurses only (and its usual nurse): a visit is never given to the
# twentieth nurse away, and the routing model stays small.
NEAREST_NURSES = 12
# Parts up to this many requests are solved as routing problems; larger ones by the flow planner.
ROUTING_PART_LIMIT = 60
SEARCH_SOLUTIONS = 200


@dataclass
class Part:
    """Requests (indices) that share candidate nurses, and those nurses' windows (vehicles)."""

    requests: list[int]
    vehicles: list[tuple[int, int]]  # (nurse index, window index)
    candidates: dict[int, list[Candidate]] = field(default_factory=dict)


def solve(instance: Instance, params: Params | None = None) -> Solution:
    params = params or Params()
    started = time.perf_counter()
    travel = TravelModel(instance)
    found = find_candidates(instance, nearest=NEAREST_NURSES)
    parts = _parts(instance, found.by_request)
    solution = Solution()
    served: set[int] = set()
    # A fifth of the time limit is kept for putting each route in its best order, explaining
    # the plan and writing it out (a few seconds for fifty thousand visits).
    finish = started + params.time_limit * 0.8
    left = sum(len(part.requests) for part in parts)
    rng = random.Random(params.seed)
    fixed_starts = {r: math.ceil(c.earliest_start) for r, c in found.held.items()}
    planner = RoutePlanner(instance, travel, fixed_starts)
    for part in sorted(parts, key=lambda p: -len(p.requests)):
        if params.seed:
            rng.shuffle(part.requests)  # another seed breaks ties another way, reproducibly
        # Each part's share of the time left, as its share of the requests left.
        share = max((finish - time.perf_counter()) * len(part.requests) / max(left, 1), 0.05)
        left -= len(part.requests)
        for (nurse_index, window), route in _plan_part(
            instance, part, travel, planner, found.held, share
        ):
            _add_route(solution, instance, part, nurse_index, window, route, found.eligible)
            served.update(route.order)
    for index, request in enumerate(instance.requests):
        if index in served:
            continue
        reason = found.refusals.get(index, "no capacity")
        detail = unassigned_detail(reason, request, found.eligible.get(index, 0))
        solution.unassigned.append(Unassigned(request.id, reason, detail))
    solution.seconds = time.perf_counter() - started
    return solution


def _plan_part(instance, part, travel, planner, held, seconds):
    """The flow planner first (fast, and it knows how many can be served at most); a routing
    search too when it falls short of that bound on a part small enough, the better plan kept."""
    windows = {r: (c.nurse, c.window) for r, c in held.items() if r in part.candidates}
    deadline = time.perf_counter() + seconds
    plan = FlowPlanner(instance, travel, planner, windows).plan(part.candidates, deadline)
    routes = sorted(plan.routes.items())
    served = sum(len(route.order) for _window, route in routes)
    if served >= plan.upper_bound or len(part.requests) > ROUTING_PART_LIMIT:
        return routes
    orders = _PartModel(instance, part, travel, planner.fixed_starts).solve(seconds)
    searched = [(window, planner.schedule(*window, order)) for window, order in orders]
    searched = [(window, route) for window, route in searched if route is not None]
    return max((routes, searched), key=lambda plan: _value(instance, plan))


def _value(instance, routes) -> tuple:
    """Plans compare as the objective ranks them: served, priority, usual nurses, then km."""
    requests, nurses = instance.requests, instance.nurses
    visits = [(r, window[0]) for window, route in routes for r in route.order]
    usual = sum(1 for r, n in visits if requests[r].preferred_nurse == nurses[n].id)
    priority = sum(requests[r].priority for r, _n in visits)
    return len(visits), priority, usual, -sum(route.road_km for _w, route in routes)


def _parts(instance: Instance, by_request: dict[int, list[Candidate]]) -> list[Part]:
    """Connected components of the request–nurse candidate graph (union–find on nurses)."""
    parent = list(range(len(instance.nurses)))

    def root(node: int) -> int:
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for candidates in by_request.values():
        first = root(candidates[0].nurse)
        for candidate in candidates[1:]:
            parent[root(candidate.nurse)] = first
    parts: dict[int, Part] = {}
    for request, candidates in sorted(by_request.items()):
        part = parts.setdefault(root(candidates[0].nurse), Part([], []))
        part.requests.append(request)
        part.candidates[request] = candidates
    for part in parts.values():
        part.vehicles = sorted({(c.nurse, c.window) for cs in part.candidates.values() for c in cs})
    return list(parts.values())


class _PartModel:
    """One part as an OR-Tools routing model: node v < len(vehicles) is vehicle v's practice,
    the others are the part's requests."""

    def __init__(self, instance, part: Part, travel: TravelModel, fixed_starts: dict[int, int]):
        self.instance, self.part, self.travel = instance, part, travel
        self.fixed_starts = fixed_starts  # accepted visits: request index -> start
        nurses, requests = instance.nurses, instance.requests
        self.vehicle_count = len(part.vehicles)
        points = [(nurses[n].lat, nurses[n].lon) for n, _w in part.vehicles]
        points += [(requests[r].lat, requests[r].lon) for r in part.requests]
        lats, lons = zip(*points, strict=True)
        km = great_circle_matrix(lats, lons)
        self.metres = np.rint(km * instance.detour_factor * METRES).astype(np.int64)
        self.seconds = np.ceil(km * travel.detour * travel.seconds_per_km).astype(np.int64)
        self.service = [0] * self.vehicle_count + [
            requests[r].service_minutes * 60 for r in part.requests
        ]

    def solve(self, seconds: float) -> list[tuple[tuple[int, int], list[int]]]:
        manager = pywrapcp.RoutingIndexManager(
            len(self.service),
            self.vehicle_count,
            list(range(self.vehicle_count)),
            list(range(self.vehicle_count)),
        )
        routing = pywrapcp.RoutingModel(manager)
        self._costs(routing, manager)
        self._time(routing, manager)
        self._capacity(routing, manager)
        self._requests(routing, manager)
        parameters = pywrapcp.DefaultRoutingSearchParameters()
        parameters.first_solution_strategy = (
            routing_enums_pb2.FirstSolutionStrategy.PARALLEL_CHEAPEST_INSERTION
        )
        # Guided local search escapes the local optima where a far visit holds a round that two
        # nearer ones could share; it stops after a fixed number of solutions (the same plan on
        # every machine) or at the part's share of the time limit, whichever comes first.
        parameters.local_search_metaheuristic = (
            routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
        )
        parameters.solution_limit = SEARCH_SOLUTIONS
        parameters.time_limit.FromMilliseconds(max(int(seconds * 1000), 10))
        assignment = routing.SolveWithParameters(parameters)
        if assignment is None:
            return []
        routes = []
        for vehicle in range(self.vehicle_count):
            order, index = [], routing.Start(vehicle)
            index = assignment.Value(routing.NextVar(index))
            while not routing.IsEnd(index):
                order.append(self.part.requests[manager.IndexToNode(index) - self.vehicle_count])
                index = assignment.Value(routing.NextVar(index))
            if order:
                routes.append((self.part.vehicles[vehicle], order))
        return routes

    def _weights(self) -> tuple[int, int, int]:
        """Weights large enough that each criterion outranks all the ones after it."""
        requests = len(self.part.requests)
        km_bound = int(self.metres.max(initial=0)) * (requests + 1) * 2 + 1
        preference = km_bound
        priority = preference * (requests + 1)
        top = max((self.instance.requests[r].priority for r in self.part.requests), default=0)
        serve = priority * (top * requests + 1)
        return serve, priority, preference

    def _costs(self, routing, manager) -> None:
        serve, priority, preference = self._weights()
        self.serve_weight, self.priority_weight = serve, priority
        requests = self.instance.requests
        wanted = {
            offset + self.vehicle_count: requests[r].preferred_nurse
            for offset, r in enumerate(self.part.requests)
            if requests[r].preferred_nurse
        }
        evaluators: dict[str | None, int] = {}
        for vehicle, (nurse_index, _window) in enumerate(self.part.vehicles):
            nurse_id = self.instance.nurses[nurse_index].id
            key = nurse_id if nurse_id in wanted.values() else None
            if key not in evaluators:
                # Matrices, not Python callbacks: the search reads them without calling back.
                costs = self.metres.copy()
                for node, other in wanted.items():
                    if other != key:
                        costs[:, node] += preference
                evaluators[key] = routing.RegisterTransitMatrix(costs.tolist())
            routing.SetArcCostEvaluatorOfVehicle(evaluators[key], vehicle)

    def _time(self, routing, manager) -> None:
        seconds, service = self.seconds, self.service

        def transit(from_index: int, to_index: int) -> int:
            a, b = manager.IndexToNode(from_index), manager.IndexToNode(to_index)
            return int(seconds[a, b]) + service[a]

        callback = routing.RegisterTransitCallback(transit)
        horizon = self._horizon()
        routing.AddDimension(callback, horizon, horizon, False, "time")
        dimension = routing.GetDimensionOrDie("time")
        nurses, at = self.instance.nurses, self.travel.at
        for vehicle, (nurse_index, window) in enumerate(self.part.vehicles):
            opens, closes = nurses[nurse_index].windows[window]
            start = max(math.ceil(at(opens)), 0)
            dimension.CumulVar(routing.Start(vehicle)).SetRange(start, int(at(closes)))
            dimension.CumulVar(routing.End(vehicle)).SetRange(start, int(at(closes)))
        for offset, r in enumerate(self.part.requests):
            request = self.instance.requests[r]
            index = manager.NodeToIndex(offset + self.vehicle_count)
            earliest = max(math.ceil(at(request.earliest)), 0)
            latest = int(at(request.due)) - request.service_minutes * 60
            if r in self.fixed_starts:
                earliest = latest = self.fixed_starts[r]
            dimension.CumulVar(index).SetRange(earliest, max(latest, earliest))

    def _horizon(self) -> int:
        ends = [
            self.travel.at(self.instance.nurses[n].windows[w][1]) for n, w in self.part.vehicles
        ]
        return max(int(max(ends, default=0)), 0) + 1

    def _capacity(self, routing, manager) -> None:
        visits = [0] * self.vehicle_count + [1] * len(self.part.requests)
        callback = routing.RegisterUnaryTransitCallback(
            lambda index: visits[manager.IndexToNode(index)]
        )
        nurses = self.instance.nurses
        capacities = [nurses[n].capacity for n, _w in self.part.vehicles]
        routing.AddDimensionWithVehicleCapacity(callback, 0, capacities, True, "visits")
        dimension = routing.GetDimensionOrDie("visits")
        # Spread: among equal plans, the busiest nurse window has as few visits as possible.
        dimension.SetGlobalSpanCostCoefficient(1)
        by_nurse: dict[int, list[int]] = defaultdict(list)
        for vehicle, (nurse_index, _window) in enumerate(self.part.vehicles):
            by_nurse[nurse_index].append(vehicle)
        solver = routing.solver()
        for nurse_index, vehicles in by_nurse.items():
            if len(vehicles) > 1:
                ends = [dimension.CumulVar(routing.End(v)) for v in vehicles]
                solver.Add(solver.Sum(ends) <= nurses[nurse_index].capacity)

    def _requests(self, routing, manager) -> None:
        vehicle_of = {vehicle: v for v, vehicle in enumerate(self.part.vehicles)}
        for offset, r in enumerate(self.part.requests):
            request = self.instance.requests[r]
            index = manager.NodeToIndex(offset + self.vehicle_count)
            allowed = sorted({vehicle_of[(c.nurse, c.window)] for c in self.part.candidates[r]})
            if r in self.fixed_starts:  # its one candidate is its nurse's window: mandatory
                routing.VehicleVar(index).SetValues(allowed)
                continue
            routing.VehicleVar(index).SetValues([-1, *allowed])
            penalty = self.serve_weight + request.priority * self.priority_weight
            routing.AddDisjunction([index], penalty)


def _add_route(solution, instance, part, nurse_index, window, route: Schedule, eligible) -> None:
    nurse = instance.nurses[nurse_index]
    for r, start in zip(route.order, route.starts, strict=True):
        request = instance.requests[r]
        candidate = next(
            c for c in part.candidates[r] if (c.nurse, c.window) == (nurse_index, window)
        )
        solution.assignments.append(
            Assignment(
                request.id,
                nurse.id,
                window,
                instance.now + timedelta(seconds=start),
                instance.now + timedelta(seconds=start + request.service_minutes * 60),
                candidate.distance_km,
                assignment_reason(
                    instance, request, nurse, window, candidate, part.candidates[r], eligible[r]
                ),
            )
        )
    solution.routes.append(
        Route(nurse.id, window, tuple(instance.requests[r].id for r in route.order), route.road_km)
    )
