"""What the planner is measured against, on the same instance and the same travel model:

- the physical limits: an upper bound on the requests any plan can serve (exact min-cost max-flow
  on the relaxed problem) and a lower bound on the km any plan serving that many must drive;
- PyVRP and VROOM, two open-source vehicle-routing solvers, each nurse a vehicle leaving and
  returning to her practice, her eligibility given as the solver's own constraint;
- the incumbents' policy: each request broadcast to every eligible nurse as it arrives, the first
  to answer who can still fit it in her round wins.

Each answers with a solution document of the file interface (times computed here, the same way
for all), which the independent checker then verifies."""

import math
import random
import time
from datetime import timedelta

import numpy as np

from matching.candidates import Candidate, TravelModel, find_candidates
from matching.flow_planner import exclusive_limits, relaxed_assignment
from matching.model import Instance
from matching.routes import RoutePlanner
from matching.travel import great_circle_km, great_circle_matrix

METRES = 1000
SERVE_PRIZE = 10**7  # metres: serving a request outweighs any detour
PRIORITY_PRIZE = 10**9  # and a priority request outweighs any number of others served


def bounds(instance: Instance) -> tuple[int, float]:
    """The most requests any plan can serve, and the fewest road km a plan serving that many can
    drive. The flow's windows are capped where the requests only one window can serve do not
    all fit in it together. Each served patient is reached from somewhere, at least from the
    nearest place a nurse who may visit her could come from (her practice or another of her
    possible patients)."""
    found = find_candidates(instance)
    travel = TravelModel(instance)
    limits = exclusive_limits(found.by_request, RoutePlanner(instance, travel, {}))
    _chosen, upper = relaxed_assignment(instance, found.by_request, travel, {}, limits)
    requests = instance.requests
    patients_of: dict[int, set[int]] = {}
    for r, candidates in found.by_request.items():
        for c in candidates:
            patients_of.setdefault(c.nurse, set()).add(r)
    nearest = []
    for r, candidates in found.by_request.items():
        request = requests[r]
        closest = min(c.distance_km for c in candidates)
        neighbours = set().union(*(patients_of[c.nurse] for c in candidates)) - {r}
        for q in neighbours:
            other = requests[q]
            closest = min(closest, great_circle_km(request.lat, request.lon, other.lat, other.lon))
        nearest.append(closest)
    lower = sum(sorted(nearest)[:upper]) * instance.detour_factor
    return upper, lower


class _Matrix:
    """Practices of the nurses that could serve anyone (one per nurse, `vehicles`), then the
    patients: road metres and driving seconds between them, rounded up."""

    def __init__(self, instance: Instance, found: dict[int, list[Candidate]]):
        self.vehicles = sorted({c.nurse for cs in found.values() for c in cs})
        self.clients = sorted(found)
        nurses, requests = instance.nurses, instance.requests
        points = [(nurses[n].lat, nurses[n].lon) for n in self.vehicles]
        points += [(requests[r].lat, requests[r].lon) for r in self.clients]
        lats, lons = zip(*points, strict=True) if points else ((), ())
        km = great_circle_matrix(lats, lons) * instance.detour_factor
        self.metres = np.ceil(km * METRES).astype(np.int64)
        self.seconds = np.ceil(km * 3600 / instance.speed_kmh).astype(np.int64)
        travel = TravelModel(instance)
        self.at = travel.at
        self.allowed = {r: {c.nurse for c in cs} for r, cs in found.items()}


def solve_pyvrp(instance: Instance, seconds: float, seed: int = 0) -> dict:
    import pyvrp
    from pyvrp.stop import MaxRuntime

    started = time.perf_counter()
    found = find_candidates(instance).by_request
    matrix = _Matrix(instance, found)
    nurses, requests = instance.nurses, instance.requests
    count = len(matrix.clients)
    locations = [pyvrp.Location(0, 0) for _ in range(len(matrix.vehicles) + count)]
    depots = [pyvrp.Depot(v) for v in range(len(matrix.vehicles))]
    clients = []
    for offset, r in enumerate(matrix.clients):
        request = requests[r]
        # Load dimension 0 counts visits; dimension 1 + offset is this patient's own, which only
        # the nurses who may visit her can carry: eligibility as PyVRP's capacity constraint.
        delivery = [1] + [0] * count
        delivery[1 + offset] = 1
        clients.append(
            pyvrp.Client(
                len(matrix.vehicles) + offset,
                delivery=delivery,
                service_duration=request.service_minutes * 60,
                tw_early=max(math.ceil(matrix.at(request.earliest)), 0),
                tw_late=int(matrix.at(request.due)) - request.service_minutes * 60,
                prize=SERVE_PRIZE + PRIORITY_PRIZE * request.priority,
                required=False,
            )
        )
    vehicle_types = []
    for v, n in enumerate(matrix.vehicles):
        nurse = nurses[n]
        opens, closes = nurse.windows[0]
        capacity = [nurse.capacity] + [1 if n in matrix.allowed[r] else 0 for r in matrix.clients]
        vehicle_types.append(
            pyvrp.VehicleType(
                1,
                capacity=capacity,
                start_depot=v,
                end_depot=v,
                tw_early=max(math.ceil(matrix.at(opens)), 0),
                tw_late=int(matrix.at(closes)),
            )
        )
    data = pyvrp.ProblemData(
        locations, clients, depots, vehicle_types, [matrix.metres], [matrix.seconds]
    )
    result = pyvrp.solve(data, stop=MaxRuntime(seconds), seed=seed, display=False)
    routes = []
    if result.best.is_feasible():
        for route in result.best.routes():
            vehicle = matrix.vehicles[route.vehicle_type()]
            order = [matrix.clients[a.idx] for a in route.schedule() if a.is_client()]
            routes.append((vehicle, order))
    return document(instance, routes, time.perf_counter() - started)


def solve_vroom(instance: Instance, seconds: float) -> dict:
    import vroom

    started = time.perf_counter()
    found = find_candidates(instance).by_request
    matrix = _Matrix(instance, found)
    nurses, requests = instance.nurses, instance.requests
    problem = vroom.Input()
    problem.set_durations_matrix("car", matrix.seconds)
    problem.set_costs_matrix("car", matrix.metres)
    skill_of = {r: offset for offset, r in enumerate(matrix.clients)}
    for v, n in enumerate(matrix.vehicles):
        nurse = nurses[n]
        opens, closes = nurse.windows[0]
        problem.add_vehicle(
            vroom.Vehicle(
                v,
                start=v,
                end=v,
                capacity=[nurse.capacity],
                # Eligibility as VROOM's skills: one per patient, held by her possible nurses.
                skills={skill_of[r] for r in matrix.clients if n in matrix.allowed[r]},
                time_window=vroom.TimeWindow(
                    max(math.ceil(matrix.at(opens)), 0), int(matrix.at(closes))
                ),
            )
        )
    for offset, r in enumerate(matrix.clients):
        request = requests[r]
        problem.add_job(
            vroom.Job(
                offset,
                location=len(matrix.vehicles) + offset,
                default_service=request.service_minutes * 60,
                delivery=[1],
                skills={offset},
                priority=100 if request.priority else 1,
                time_windows=[
                    vroom.TimeWindow(
                        max(math.ceil(matrix.at(request.earliest)), 0),
                        int(matrix.at(request.due)) - request.service_minutes * 60,
                    )
                ],
            )
        )
    solution = problem.solve(exploration_level=5, nb_threads=2, timeout=timedelta(seconds=seconds))
    frame = solution.routes
    jobs = frame[frame["type"] == "job"]
    routes = [
        (matrix.vehicles[int(v)], [matrix.clients[int(j)] for j in group["id"]])
        for v, group in jobs.groupby("vehicle_id", sort=True)
    ]
    return document(instance, routes, time.perf_counter() - started)


def broadcast(instance: Instance, seed: int) -> dict:
    """The incumbents' policy. Requests arrive in the order of their due time; each is sent to
    every eligible nurse; they answer in a random order, and the first who can still fit the
    visit in her round (she slots it where it adds the fewest km, her other visits kept in their
    order) takes it. Nobody re-plans afterwards."""
    started = time.perf_counter()
    rng = random.Random(seed)
    found = find_candidates(instance).by_request
    requests = instance.requests
    rounds: dict[int, list[int]] = {}
    for r in sorted(found, key=lambda r: (requests[r].due, r)):
        nurses = sorted({c.nurse for c in found[r]})
        rng.shuffle(nurses)
        for n in nurses:
            visits = rounds.get(n, [])
            if len(visits) >= instance.nurses[n].capacity:
                continue
            best = None
            for position in range(len(visits) + 1):
                order = [*visits[:position], r, *visits[position:]]
                route = schedule(instance, n, order)
                if route is not None and (best is None or route[1] < best[1]):
                    best = (order, route[1])
            if best is not None:
                rounds[n] = best[0]
                break
    return document(instance, sorted(rounds.items()), time.perf_counter() - started)


def schedule(instance: Instance, n: int, order: list[int]):
    """Each visit as early as the nurse can make it: (starts, road km), or None if she misses
    a due time or the end of her round. Float seconds, as the checker computes them."""
    nurse = instance.nurses[n]
    travel = TravelModel(instance)
    opens, closes = nurse.windows[0]
    clock = max(travel.at(opens), 0.0)
    lat, lon, km, starts = nurse.lat, nurse.lon, 0.0, []
    for r in order:
        request = instance.requests[r]
        leg = great_circle_km(lat, lon, request.lat, request.lon)
        km += leg
        start = max(clock + travel.drive_seconds(leg), travel.at(request.earliest))
        clock = start + request.service_minutes * 60
        if clock > travel.at(request.due):
            return None
        starts.append(start)
        lat, lon = request.lat, request.lon
    back = great_circle_km(lat, lon, nurse.lat, nurse.lon)
    if clock + travel.drive_seconds(back) > travel.at(closes):
        return None
    return starts, travel.road_km(km + back)


def document(instance: Instance, routes: list[tuple[int, list[int]]], seconds: float) -> dict:
    """A solution document from nurse rounds (routes a peer could not time are dropped and
    their patients reported unassigned, so the checker sees only what was really planned)."""
    zone = instance.now.tzinfo
    assignments, kept, served = [], [], set()
    for n, order in routes:
        timed = schedule(instance, n, order) if order else None
        if timed is None:
            continue
        starts, road_km = timed
        nurse = instance.nurses[n]
        for r, start in zip(order, starts, strict=True):
            request = instance.requests[r]
            begins = instance.now + timedelta(seconds=start)
            assignments.append(
                {
                    "request": request.id,
                    "nurse": nurse.id,
                    "window": 0,
                    "start": begins.astimezone(zone).isoformat(),
                    "end": (begins + timedelta(minutes=request.service_minutes))
                    .astimezone(zone)
                    .isoformat(),
                }
            )
            served.add(r)
        kept.append(
            {
                "nurse": nurse.id,
                "window": 0,
                "requests": [instance.requests[r].id for r in order],
                "road_km": road_km,
            }
        )
    unassigned = [
        {"request": request.id, "reason": "not served"}
        for r, request in enumerate(instance.requests)
        if r not in served
    ]
    return {
        "assignments": assignments,
        "routes": kept,
        "unassigned": unassigned,
        "stats": {
            "served": len(assignments),
            "travel_km": sum(route["road_km"] for route in kept),
            "seconds": seconds,
        },
    }
