"""The planner on instances large enough for its improvement moves, the candidate search against
a pair-by-pair oracle, and the benchmark's yardsticks (bounds, broadcast) kept honest."""

import math
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks import peers
from benchmarks.instances import SIZES, generate
from matching.candidates import TravelModel, find_candidates
from matching.check import violations
from matching.instance_file import read_instance, solution_document
from matching.model import Params
from matching.solver import solve
from matching.travel import great_circle_km

NOW = datetime(2026, 11, 24, 6, 0, tzinfo=UTC)
COMMUNES = ["09122", "09225", "09261"]


def at(hours: float) -> str:
    return (NOW + timedelta(hours=hours)).isoformat()


@st.composite
def medium_instances(draw):
    """Up to 15 nurses and 40 patients in a 30 km square, with sector communes, one or two
    windows, languages and usual nurses: enough for visits to be moved between rounds."""
    place = st.tuples(st.floats(42.8, 43.1), st.floats(1.4, 1.8))
    nurses = []
    for index in range(draw(st.integers(1, 15))):
        lat, lon = draw(place)
        first = draw(st.integers(0, 6))
        windows = [[at(first), at(first + draw(st.integers(1, 4)))]]
        if draw(st.booleans()):
            second = first + 5 + draw(st.integers(0, 3))
            windows.append([at(second), at(second + draw(st.integers(1, 4)))])
        nurses.append(
            {
                "id": f"n{index}",
                "lat": lat,
                "lon": lon,
                "radius_km": draw(st.sampled_from([3, 6, 10, 15])),
                "communes": draw(st.lists(st.sampled_from(COMMUNES), max_size=2, unique=True)),
                "capacity": draw(st.integers(0, 4)),
                "windows": windows,
                "skills": draw(st.sampled_from([["tag"], ["tag", "pcr"]])),
                "languages": draw(st.sampled_from([["fr"], ["fr", "en"], ["fr", "ar"]])),
            }
        )
    requests = []
    for index in range(draw(st.integers(0, 40))):
        lat, lon = draw(place)
        earliest = draw(st.integers(0, 8))
        preferred = draw(st.one_of(st.none(), st.sampled_from([n["id"] for n in nurses])))
        requests.append(
            {
                "id": f"r{index}",
                "lat": lat,
                "lon": lon,
                "commune": draw(st.sampled_from(COMMUNES)),
                "earliest": at(earliest),
                "due": at(earliest + draw(st.integers(2, 24))),
                "service_minutes": draw(st.sampled_from([30, 40])),
                "skills": draw(st.sampled_from([[], ["tag"], ["pcr"]])),
                "languages": draw(st.sampled_from([[], [], ["en"], ["ar"]])),
                "preferred_nurse": preferred,
                "priority": draw(st.integers(0, 1)),
            }
        )
    return {"now": NOW.isoformat(), "nurses": nurses, "requests": requests}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(medium_instances())
def test_plans_with_moved_visits_pass_the_independent_check(document):
    problem = read_instance(document)
    result = solution_document(solve(problem, Params(time_limit=0.5)), problem)
    assert violations(problem, result) == []
    assert result["stats"]["served"] + len(result["unassigned"]) == len(document["requests"])


def oracle(problem, r: int) -> dict[int, set[int]]:
    """Pair by pair: nurse -> the windows in which she could make visit r alone."""
    travel = TravelModel(problem)
    request = problem.requests[r]
    found: dict[int, set[int]] = {}
    for n, nurse in enumerate(problem.nurses):
        km = great_circle_km(nurse.lat, nurse.lon, request.lat, request.lon)
        in_zone = km <= nurse.radius_km or request.commune in nurse.communes
        speaks = not request.languages or request.languages & nurse.languages
        if not (in_zone and request.skills <= nurse.skills and speaks and nurse.capacity > 0):
            continue
        drive = travel.drive_seconds(km)
        for w, (opens, closes) in enumerate(nurse.windows):
            start = max(max(travel.at(opens), 0.0) + drive, travel.at(request.earliest))
            end = start + request.service_minutes * 60
            if end <= travel.at(request.due) and end + drive <= travel.at(closes):
                found.setdefault(n, set()).add(w)
    return found


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(medium_instances(), st.integers(1, 4))
def test_the_candidate_search_finds_what_a_pair_by_pair_search_finds(document, nearest):
    problem = read_instance(document)
    every = find_candidates(problem)
    pruned = find_candidates(problem, nearest=nearest)
    for r, request in enumerate(problem.requests):
        expected = oracle(problem, r)
        got: dict[int, set[int]] = {}
        for c in every.by_request.get(r, []):
            got.setdefault(c.nurse, set()).add(c.window)
        assert got == expected
        assert every.eligible[r] == pruned.eligible[r] == len(expected)
        assert (r in every.refusals) == (not expected) == (r in pruned.refusals)
        kept = {c.nurse for c in pruned.by_request.get(r, [])}
        usual = {n for n in expected if problem.nurses[n].id == request.preferred_nurse}
        assert usual <= kept
        # The nearest ones are kept (ties may fall either way), and the usual nurse besides.
        ranked = sorted(_km(problem, n, request) for n in expected)[:nearest]
        top = sorted(_km(problem, n, request) for n in kept)
        if len(kept) > len(ranked):
            top.remove(_km(problem, usual.pop(), request))
        assert len(top) == len(ranked)
        assert all(math.isclose(a, b) for a, b in zip(top, ranked, strict=True))


def _km(problem, n: int, request) -> float:
    nurse = problem.nurses[n]
    return great_circle_km(nurse.lat, nurse.lon, request.lat, request.lon)


def test_the_benchmark_yardsticks_hold_on_a_rural_day():
    """The broadcast's plans pass the checker; no plan serves more than the upper bound or
    drives less than the lower bound."""
    problem = read_instance(generate(SIZES["rural"]))
    ours = solution_document(solve(problem, Params(time_limit=1)), problem)
    upper, lower = peers.bounds(problem)
    assert violations(problem, ours) == []
    assert ours["stats"]["served"] <= upper
    assert ours["stats"]["travel_km"] >= lower - 1e-6
    for draw in range(3):
        broadcast = peers.broadcast(problem, draw)
        assert violations(problem, broadcast) == []
        assert broadcast["stats"]["served"] <= upper
        assert broadcast["stats"]["travel_km"] >= lower - 1e-6


def test_generated_instances_are_valid_and_reproducible():
    first = generate(SIZES["urban"], seed=3)
    assert generate(SIZES["urban"], seed=3) == first
    assert generate(SIZES["urban"], seed=4) != first
    problem = read_instance(first)
    assert len(problem.requests) == 150 and len(problem.nurses) == 700
    assert all(1 <= n.capacity <= 4 for n in problem.nurses)
    lengths = {(b - a).total_seconds() / 3600 for n in problem.nurses for a, b in n.windows}
    assert lengths <= {2.0, 2.5, 3.0, 3.5, 4.0}


def test_the_upper_bound_knows_a_far_patient_fills_a_window_alone():
    """Two patients 15 km on either side of the one nurse who can reach them each take most of her
    two hours: the bound says one of them, as the planner does, not the two a count of visits
    per window would allow."""
    east, west = 1.6 + 15 / 81.3, 1.6 - 15 / 81.3  # 15 km at 43° N
    document = {
        "now": NOW.isoformat(),
        "nurses": [
            {"id": "a", "lat": 43.0, "lon": 1.6, "radius_km": 16, "capacity": 4,
             "windows": [[at(2), at(4)]]},
            {"id": "b", "lat": 43.0, "lon": 1.62, "radius_km": 3, "capacity": 1,
             "windows": [[at(2), at(4)]]},
        ],
        "requests": [
            {"id": "far-east", "lat": 43.0, "lon": east, "earliest": at(0), "due": at(20)},
            {"id": "far-west", "lat": 43.0, "lon": west, "earliest": at(0), "due": at(20)},
            {"id": "near", "lat": 43.0, "lon": 1.61, "earliest": at(0), "due": at(20)},
        ],
    }  # fmt: skip
    problem = read_instance(document)
    upper, _lower = peers.bounds(problem)
    result = solution_document(solve(problem, Params(time_limit=1)), problem)
    assert violations(problem, result) == []
    assert result["stats"]["served"] == upper == 2
