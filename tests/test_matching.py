"""The planner: every plan it returns is feasible by an independent check, it serves as many as
a brute force can on tiny instances, it explains itself, and bad instance files are refused."""

import itertools
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta

from geopy.distance import great_circle
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matching.check import violations
from matching.instance_file import read_instance, solution_document
from matching.model import REASONS, Params
from matching.solver import solve

NOW = datetime(2026, 11, 24, 6, 0, tzinfo=UTC)
EXAMPLE = {
    "now": "2026-11-24T07:00:00+01:00",
    "speed_kmh": 40,
    "detour_factor": 1.3,
    "nurses": [
        {
            "id": "n1",
            "lat": 42.96,
            "lon": 1.61,
            "radius_km": 15,
            "communes": ["09122"],
            "capacity": 3,
            "windows": [["2026-11-24T14:00:00+01:00", "2026-11-24T18:00:00+01:00"]],
            "skills": ["tag", "pcr"],
            "languages": ["fr"],
        }
    ],
    "requests": [
        {
            "id": "r1",
            "lat": 42.98,
            "lon": 1.60,
            "commune": "09122",
            "earliest": "2026-11-24T08:00:00+01:00",
            "due": "2026-11-24T21:00:00+01:00",
            "service_minutes": 40,
            "skills": ["tag"],
            "languages": [],
            "preferred_nurse": "n1",
            "priority": 0,
        }
    ],
}
QUICK = Params(time_limit=0.3)


def at(hours: float) -> str:
    return (NOW + timedelta(hours=hours)).isoformat()


def nurse(id, lat=43.0, lon=1.6, radius=15, capacity=3, window=(8, 12), **extra) -> dict:
    return {
        "id": id,
        "lat": lat,
        "lon": lon,
        "radius_km": radius,
        "capacity": capacity,
        "windows": [[at(window[0]), at(window[1])]],
        "skills": ["tag", "pcr"],
        "languages": ["fr"],
        **extra,
    }


def request(id, lat=43.0, lon=1.6, earliest=0, due=24, **extra) -> dict:
    return {"id": id, "lat": lat, "lon": lon, "earliest": at(earliest), "due": at(due), **extra}


def planned(document: dict, params: Params = QUICK) -> dict:
    instance = read_instance(document)
    result = solution_document(solve(instance, params), instance)
    assert violations(instance, result) == []
    return result


def instance(nurses, requests) -> dict:
    return {"now": NOW.isoformat(), "nurses": nurses, "requests": requests}


def test_the_example_of_the_file_interface_is_served_by_the_usual_nurse():
    result = planned(EXAMPLE)
    (visit,) = result["assignments"]
    assert (visit["request"], visit["nurse"]) == ("r1", "n1")
    assert "infirmière habituelle" in visit["reason"]
    assert result["routes"] == [
        {"nurse": "n1", "window": 0, "requests": ["r1"], "road_km": result["stats"]["travel_km"]}
    ]
    assert visit["start"] >= "2026-11-24T14:00:00+01:00"


def test_nothing_eligible_leaves_every_request_unassigned_with_its_reason():
    far = nurse("n1", lat=48.85, lon=2.35)
    result = planned(instance([far], [request("r1"), request("r2", lat=43.1)]))
    assert result["assignments"] == []
    assert {u["reason"] for u in result["unassigned"]} == {"no eligible nurse"}
    assert all(u["detail"] for u in result["unassigned"])


def test_each_refusal_names_the_rule_that_stops_it():
    nurses = [nurse("n1", skills=["tag"], languages=["fr"], window=(8, 9))]
    requests = [
        request("skills", skills=["pcr"]),
        request("language", languages=["ar"]),
        request("late", due=8.5),
        request("ok"),
    ]
    result = planned(instance(nurses, requests))
    reasons = {u["request"]: u["reason"] for u in result["unassigned"]}
    assert reasons == {
        "skills": "no nurse with the skills",
        "language": "no nurse speaking the language",
        "late": "no window before due time",
    }


def test_capacity_is_respected_and_the_rest_is_said_to_lack_capacity():
    nurses = [nurse("n1", capacity=2, window=(8, 18))]
    result = planned(instance(nurses, [request(f"r{i}", lat=43.0 + i / 100) for i in range(4)]))
    assert result["stats"]["served"] == 2
    assert {u["reason"] for u in result["unassigned"]} == {"no capacity"}


def test_higher_priority_is_served_first_when_not_all_can_be():
    nurses = [nurse("n1", capacity=1, window=(8, 18))]
    result = planned(instance(nurses, [request("low"), request("high", lat=43.05, priority=2)]))
    assert [a["request"] for a in result["assignments"]] == ["high"]


def test_the_usual_nurse_gets_the_visit_even_when_another_is_closer():
    nurses = [nurse("close", lat=43.0), nurse("usual", lat=43.08)]
    result = planned(instance(nurses, [request("r1", preferred_nurse="usual")]))
    assert result["assignments"][0]["nurse"] == "usual"


def test_the_closest_nurse_is_chosen_without_a_preference():
    nurses = [nurse("far", lat=43.08), nurse("close", lat=43.01)]
    result = planned(instance(nurses, [request("r1")]))
    assert result["assignments"][0]["nurse"] == "close"
    assert "la plus proche des 2 possibles" in result["assignments"][0]["reason"]


def test_a_nurse_who_already_refused_is_not_asked_again():
    nurses = [nurse("close", lat=43.01), nurse("far", lat=43.08)]
    result = planned(instance(nurses, [request("r1", excluded_nurses=["close"])]))
    assert result["assignments"][0]["nurse"] == "far"
    alone = planned(instance(nurses[:1], [request("r1", excluded_nurses=["close"])]))
    assert alone["unassigned"][0]["reason"] == "no eligible nurse"


def test_a_commune_of_the_sector_makes_a_nurse_eligible_beyond_her_radius():
    nurses = [nurse("n1", radius=1, communes=["09225"], window=(8, 18))]
    result = planned(instance(nurses, [request("r1", lat=43.1, commune="09225")]))
    assert result["assignments"][0]["nurse"] == "n1"
    assert "commune de son secteur" in result["assignments"][0]["reason"]


def test_an_accepted_visit_stays_with_its_nurse_at_its_time():
    nurses = [nurse("n1", lat=43.05), nurse("n2", lat=43.0)]
    document = instance(nurses, [request("r1"), request("r2", lat=43.01)])
    document["fixed"] = [{"request": "r1", "nurse": "n1", "start": at(10)}]
    result = planned(document)
    visit = next(a for a in result["assignments"] if a["request"] == "r1")
    assert (visit["nurse"], visit["start"]) == ("n1", at(10))


def test_a_seed_gives_the_same_plan_every_time():
    document = instance(
        [nurse(f"n{i}", lat=43 + i / 50) for i in range(4)],
        [request(f"r{i}", lat=43 + i / 40, lon=1.6 + i / 90) for i in range(8)],
    )
    first, again = planned(document), planned(document)
    assert first["routes"] == again["routes"]


places = st.tuples(st.floats(42.9, 43.1), st.floats(1.5, 1.7))


@st.composite
def small_instances(draw):
    nurses = []
    for index in range(draw(st.integers(1, 3))):
        lat, lon = draw(places)
        opens = draw(st.integers(0, 10))
        nurses.append(
            nurse(
                f"n{index}",
                lat=lat,
                lon=lon,
                radius=draw(st.sampled_from([5, 10, 20])),
                capacity=draw(st.integers(0, 3)),
                window=(opens, opens + draw(st.integers(1, 4))),
                skills=draw(st.sampled_from([["tag"], ["tag", "pcr"]])),
            )
        )
    requests = []
    for index in range(draw(st.integers(0, 5))):
        lat, lon = draw(places)
        earliest = draw(st.integers(0, 8))
        requests.append(
            request(
                f"r{index}",
                lat=lat,
                lon=lon,
                earliest=earliest,
                due=earliest + draw(st.integers(1, 24)),
                skills=draw(st.sampled_from([[], ["pcr"]])),
                service_minutes=draw(st.sampled_from([20, 40, 60])),
                priority=draw(st.integers(0, 1)),
            )
        )
    return instance(nurses, requests)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_instances())
def test_every_plan_passes_the_independent_check_and_explains_itself(document):
    result = planned(document, Params(time_limit=0.2))
    assert result["stats"]["served"] + len(result["unassigned"]) == len(document["requests"])
    assert all(u["reason"] in REASONS for u in result["unassigned"])
    assert all(a["reason"] for a in result["assignments"])


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_instances())
def test_on_tiny_instances_as_many_are_served_as_a_brute_force_finds(document):
    result = planned(document, Params(time_limit=0.2))
    assert result["stats"]["served"] == brute_force_served(document)


def brute_force_served(document: dict) -> int:
    """The most requests any plan can serve: every way to give each request to a nurse or to no
    one, every visiting order."""
    problem = read_instance(document)
    nurses, requests = problem.nurses, problem.requests
    best = 0
    for choice in itertools.product(range(-1, len(nurses)), repeat=len(requests)):
        served = sum(1 for c in choice if c >= 0)
        if served <= best:
            continue
        if all(
            _feasible_alone(
                problem, nurses[n], [r for r, c in zip(requests, choice, strict=True) if c == n]
            )
            for n in range(len(nurses))
        ):
            best = served
    return best


def _feasible_alone(problem, nurse, visits) -> bool:
    if len(visits) > nurse.capacity:
        return False
    if not visits:
        return True
    opens, closes = nurse.windows[0]
    for visit in visits:
        distance = great_circle((nurse.lat, nurse.lon), (visit.lat, visit.lon), radius=6371.009).km
        if distance > nurse.radius_km or not visit.skills <= nurse.skills:
            return False
    for order in itertools.permutations(visits):
        clock, here = max(opens, problem.now), (nurse.lat, nurse.lon)
        for visit in order:
            clock = max(clock + _drive(problem, here, visit), visit.earliest)
            clock += timedelta(minutes=visit.service_minutes)
            here = (visit.lat, visit.lon)
            if clock > visit.due:
                break
        else:
            back = _drive(problem, here, nurse)
            if clock + back <= closes:
                return True
    return False


def _drive(problem, here, there) -> timedelta:
    km = great_circle(here, (there.lat, there.lon), radius=6371.009).km * problem.detour_factor
    return timedelta(hours=km / problem.speed_kmh)


def run_cli(tmp_path, document) -> subprocess.CompletedProcess:
    path = tmp_path / "instance.json"
    path.write_text(json.dumps(document) if not isinstance(document, str) else document)
    return subprocess.run(
        [sys.executable, "-m", "matching", "solve", str(path), "--time-limit", "0.5"],
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_command_line_writes_the_solution_on_stdout(tmp_path):
    result = run_cli(tmp_path, EXAMPLE)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["stats"]["served"] == 1


def test_a_bad_instance_file_is_refused_with_each_fault_and_status_2(tmp_path):
    document = json.loads(json.dumps(EXAMPLE))
    del document["nurses"][0]["lat"]
    document["nurses"][0]["windows"] = [["2026-11-24T18:00:00+01:00", "2026-11-24T14:00:00+01:00"]]
    document["requests"][0]["preferred_nurse"] = "n9"
    result = run_cli(tmp_path, document)
    assert result.returncode == 2
    assert "$.nurses[0].lat: missing" in result.stderr
    assert "$.nurses[0].windows[0]: the window ends before it starts" in result.stderr
    assert "$.requests[0].preferred_nurse: unknown nurse 'n9'" in result.stderr
    assert result.stdout == ""
    assert run_cli(tmp_path, "{not json").returncode == 2


def test_the_checker_catches_a_plan_that_breaks_the_rules():
    problem = read_instance(EXAMPLE)
    good = solution_document(solve(problem, QUICK), problem)
    early = json.loads(json.dumps(good))
    early["assignments"][0]["start"] = "2026-11-24T13:00:00+01:00"
    early["assignments"][0]["end"] = "2026-11-24T13:40:00+01:00"
    assert any("starts before" in v for v in violations(problem, early))
    twice = json.loads(json.dumps(good))
    twice["routes"].append(dict(twice["routes"][0]))
    assert any("on 2 routes" in v for v in violations(problem, twice))
    lost = json.loads(json.dumps(good))
    lost["assignments"] = []
    assert any("neither assigned nor unassigned" in v for v in violations(problem, lost))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_instances(), st.randoms(use_true_random=False))
def test_replanning_keeps_accepted_visits_where_they_are(document, rng):
    first = planned(document)
    document["fixed"] = [
        {"request": a["request"], "nurse": a["nurse"], "start": a["start"]}
        for a in first["assignments"]
        if rng.random() < 0.5
    ]
    again = planned(document)  # planned() runs the checker, which checks accepted visits
    assert again["stats"]["served"] >= len(document["fixed"])


def test_accepted_visits_count_against_capacity():
    nurses = [nurse("n1", capacity=1, window=(8, 18))]
    document = instance(nurses, [request("r1"), request("r2", lat=43.01, priority=5)])
    document["fixed"] = [{"request": "r1", "nurse": "n1", "start": at(9)}]
    result = planned(document)
    assert [a["request"] for a in result["assignments"]] == ["r1"]


def test_an_accepted_visit_stays_even_if_its_nurse_is_no_longer_eligible():
    nurses = [nurse("n1", lat=44.0), nurse("n2")]
    document = instance(nurses, [request("r1")])
    document["fixed"] = [{"request": "r1", "nurse": "n1", "start": at(10)}]
    assert planned(document)["assignments"][0]["nurse"] == "n1"


def test_many_accepted_visits_in_a_large_part_are_all_kept():
    nurses = [nurse("n1", capacity=10, window=(1, 20)), nurse("n2", capacity=40, window=(1, 20))]
    accepted = [request(f"f{i}", lat=43.0 + i / 1000, due=20 - i) for i in range(6)]
    others = [request(f"c{i}", lat=43.0 + i / 500) for i in range(61)]
    document = instance(nurses, accepted + others)
    document["fixed"] = [
        {"request": f"f{i}", "nurse": "n1", "start": at(2 + 2 * i)} for i in range(6)
    ]
    result = planned(document)
    kept = {a["request"] for a in result["assignments"] if a["nurse"] == "n1"}
    assert {f"f{i}" for i in range(6)} <= kept


def test_a_nurse_with_overlapping_windows_is_refused(tmp_path):
    document = instance([nurse("n1")], [request("r1")])
    document["nurses"][0]["windows"].append([at(9), at(13)])
    result = run_cli(tmp_path, document)
    assert result.returncode == 2
    assert "two windows overlap" in result.stderr


def test_an_accepted_visit_outside_its_nurses_windows_is_refused(tmp_path):
    document = instance([nurse("n1")], [request("r1")])
    document["fixed"] = [{"request": "r1", "nurse": "n1", "start": at(15)}]
    result = run_cli(tmp_path, document)
    assert result.returncode == 2
    assert "$.fixed[0].start: not inside one of n1's windows" in result.stderr


def test_an_explicit_null_takes_the_default():
    document = instance([nurse("n1")], [request("r1", service_minutes=None)])
    document["speed_kmh"] = None
    assert planned(document)["stats"]["served"] == 1
