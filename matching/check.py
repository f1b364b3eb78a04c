"""An independent feasibility checker for a solution document: it shares no code with the solver
(distances from geopy, times recomputed from the instance), so a solver bug cannot hide in it."""

import itertools
from collections import Counter
from datetime import datetime, timedelta

from geopy.distance import great_circle

from matching.model import Instance

EARTH_RADIUS_KM = 6371.009
SLACK = timedelta(seconds=1)  # the solver rounds times to whole seconds


def violations(instance: Instance, solution: dict) -> list[str]:
    """Every rule the solution breaks; empty when it is feasible."""
    nurses = {n.id: n for n in instance.nurses}
    requests = {r.id: r for r in instance.requests}
    found: list[str] = []
    assigned = {a["request"]: a for a in solution["assignments"]}
    unassigned = {u["request"] for u in solution["unassigned"]}
    counts = Counter(a["request"] for a in solution["assignments"])
    found += [f"{r} assigned {c} times" for r, c in counts.items() if c > 1]
    found += [f"{r} both assigned and unassigned" for r in assigned.keys() & unassigned]
    found += [
        f"{r} neither assigned nor unassigned"
        for r in requests.keys() - assigned.keys() - unassigned
    ]
    found += [f"unknown request {r}" for r in (assigned.keys() | unassigned) - requests.keys()]
    load = Counter(a["nurse"] for a in solution["assignments"])
    found += [
        f"{n} has {c} visits for a capacity of {nurses[n].capacity}"
        for n, c in load.items()
        if n in nurses and c > nurses[n].capacity
    ]
    found += _overlaps(solution["assignments"])
    accepted = {f.request for f in instance.fixed}
    routed = Counter()
    total_km = 0.0
    for route in solution["routes"]:
        route_km, problems = _check_route(instance, route, nurses, requests, assigned, accepted)
        found += problems
        total_km += route_km
        routed.update(route["requests"])
    found += [f"{r} is assigned but on no route" for r in assigned.keys() - routed.keys()]
    found += [f"{r} is on {c} routes" for r, c in routed.items() if c > 1]
    for fixed in instance.fixed:
        visit = assigned.get(fixed.request)
        if visit is None or visit["nurse"] != fixed.nurse:
            found.append(f"accepted visit {fixed.request} was moved from {fixed.nurse}")
        elif abs(_instant(visit["start"]) - fixed.start) > SLACK:
            found.append(f"accepted visit {fixed.request} was rescheduled")
    if abs(total_km - solution["stats"]["travel_km"]) > 0.01 + 1e-6 * total_km:
        found.append(
            f"travel_km {solution['stats']['travel_km']} but routes add up to {total_km:.3f}"
        )
    return found


def _check_route(
    instance, route, nurses, requests, assigned, accepted: set[str]
) -> tuple[float, list[str]]:
    nurse = nurses.get(route["nurse"])
    if nurse is None or not 0 <= route["window"] < len(nurse.windows):
        return 0.0, [f"route of unknown nurse or window {route['nurse']}/{route['window']}"]
    opens, closes = nurse.windows[route["window"]]
    problems, km = [], 0.0
    clock = max(opens, instance.now)
    here = (nurse.lat, nurse.lon)
    previous_accepted = True  # a route's accepted visits stand as accepted until a new one
    previous_end = None
    for request_id in route["requests"]:
        request, visit = requests.get(request_id), assigned.get(request_id)
        if request is None or visit is None:
            problems.append(f"{request_id} on {nurse.id}'s route but not assigned")
            continue
        if (visit["nurse"], visit["window"]) != (nurse.id, route["window"]):
            problems.append(f"{request_id} is on {nurse.id}'s route but assigned elsewhere")
        if request_id not in accepted:
            problems += _eligibility(nurse, request)  # an accepted visit stays, eligible or not
        leg = _road_km(instance, here, (request.lat, request.lon))
        km += leg
        arrival = clock + _drive(instance, leg)
        start, end = _instant(visit["start"]), _instant(visit["end"])
        previous_accepted = previous_accepted and request_id in accepted
        if previous_end is not None and start < previous_end - SLACK:
            problems.append(f"{request_id} starts before the previous visit of the route ends")
        previous_end = end
        if not previous_accepted and (start < arrival - SLACK or start < request.earliest - SLACK):
            problems.append(f"{request_id} starts before the nurse can be there or before earliest")
        if end - start != timedelta(minutes=request.service_minutes):
            problems.append(f"{request_id} does not last its service time")
        if end > request.due + SLACK:
            problems.append(f"{request_id} ends after its due time")
        clock, here = end, (request.lat, request.lon)
    back = _road_km(instance, here, (nurse.lat, nurse.lon)) if route["requests"] else 0.0
    km += back
    only_accepted = bool(route["requests"]) and set(route["requests"]) <= accepted
    if clock + _drive(instance, back) > closes + SLACK and not only_accepted:
        problems.append(f"{nurse.id} is back after the end of window {route['window']}")
    if abs(km - route.get("road_km", km)) > 0.01:
        problems.append(f"{nurse.id}'s route says {route['road_km']} km, it is {km:.3f}")
    return km, problems


def _overlaps(assignments) -> list[str]:
    """A nurse is in one place at a time, across all her windows."""
    by_nurse: dict[str, list[tuple[datetime, datetime, str]]] = {}
    for visit in assignments:
        by_nurse.setdefault(visit["nurse"], []).append(
            (_instant(visit["start"]), _instant(visit["end"]), visit["request"])
        )
    problems = []
    for nurse, visits in by_nurse.items():
        visits.sort()
        for (_s, end, first), (start, _e, second) in itertools.pairwise(visits):
            if start < end:
                problems.append(f"{nurse} is at {first} and {second} at the same time")
    return problems


def _eligibility(nurse, request) -> list[str]:
    problems = []
    distance = great_circle(
        (nurse.lat, nurse.lon), (request.lat, request.lon), radius=EARTH_RADIUS_KM
    ).km
    in_zone = distance <= nurse.radius_km + 1e-6 or (request.commune in nurse.communes)
    if not in_zone:
        problems.append(f"{request.id} is outside {nurse.id}'s zone ({distance:.2f} km)")
    if not request.skills <= nurse.skills:
        problems.append(f"{nurse.id} lacks a skill {request.id} needs")
    if request.languages and not request.languages & nurse.languages:
        problems.append(f"{nurse.id} speaks none of {request.id}'s languages")
    if nurse.id in request.excluded_nurses:
        problems.append(f"{nurse.id} already refused {request.id}")
    return problems


def _road_km(instance, a, b) -> float:
    return great_circle(a, b, radius=EARTH_RADIUS_KM).km * instance.detour_factor


def _drive(instance, road_km: float) -> timedelta:
    return timedelta(hours=road_km / instance.speed_kmh)


def _instant(value: str) -> datetime:
    return datetime.fromisoformat(value)
