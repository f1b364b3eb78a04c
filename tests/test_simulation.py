"""The capacity simulation: reproducible from its seed, both policies on the same requests and the
same nurse behaviour, its invariants, the cases whose answer is known, the capacity search, the
command line and the coordinator's page."""

import json
import time
from collections import defaultdict
from datetime import timedelta
from itertools import pairwise

import pytest
from sqlmodel import select

from app.cli_simulate import SCRATCH
from registry.accounts import Role
from registry.audit import AuditEntry
from registry.errors import ValidationFailed
from registry.nurses.availability import open_intervals
from registry.requests.services import BookingRules
from registry.timeutil import utcnow
from registry.visits.offers import OfferRules
from steering.simulation import parse_parameters, simulate
from steering.simulation.behaviour import NurseBehaviour
from steering.simulation.models import RunStatus, SimulationRun
from steering.simulation.runs import STALE
from tests.browser import ARTIFACTS, CHROMIUM, watched_page
from tests.conftest import csrf_token
from tests.test_browser import sign_in
from tests.visit_data import enrol_nurse

ROUNDS = [
    {"weekday": day, "start": start, "end": end}
    for day in range(7)
    for start, end in (("07:00", "12:00"), ("17:00", "20:30"))
]
ALL_DAY = [{"weekday": day, "start": "00:00", "end": "23:59"} for day in range(7)]
FOIX = {"street": "", "postal_code": "09000", "commune": "Foix"}
PAMIERS = {"street": "", "postal_code": "09100", "commune": "Pamiers"}
SAINT_GIRONS = {"street": "", "postal_code": "09200", "commune": "Saint-Girons"}


def enrol(db, practice, *, radius=25, availability=ROUNDS, max_visits=4):
    return enrol_nurse(
        db,
        practice=practice,
        sector={"communes": [], "radius_km": radius},
        skills=["tag", "pcr"],
        max_visits_per_day=max_visits,
        availability=availability,
    )


@pytest.fixture
def three_nurses(db):
    return [enrol(db, place) for place in (FOIX, PAMIERS, SAINT_GIRONS)]


def run(db, **values):
    settings = {"department": "09", "days": "2", "per_day": "4", "seed": "3", **values}
    return simulate(
        db,
        parse_parameters(settings),
        rules=OfferRules(),
        booking=BookingRules(),
        databases=SCRATCH,
    )


def _without_timings(answer: dict) -> dict:
    answer = json.loads(json.dumps(answer))
    answer.pop("seconds")
    for figures in answer["policies"].values():
        figures.pop("seconds")
        figures.pop("planner_seconds")
    return answer


def test_the_same_seed_gives_the_same_answer_and_another_seed_other_requests(db, three_nurses):
    first, again = run(db), run(db)
    assert _without_timings(first.as_dict()) == _without_timings(again.as_dict())
    assert first.runs["platform"].visits == again.runs["platform"].visits
    assert first.runs["broadcast"].visits == again.runs["broadcast"].visits
    other = run(db, seed="4")
    assert [(a.at, a.commune.insee) for a in other.arrivals] != [
        (a.at, a.commune.insee) for a in first.arrivals
    ]


def test_both_policies_meet_the_same_requests_and_the_same_nurse_answers(db, three_nurses):
    simulation = run(db, answer_rate="0.7", decline_rate="0.3", answer_median_minutes="10")
    platform, broadcast = simulation.runs["platform"], simulation.runs["broadcast"]
    assert platform.requests == broadcast.requests == len(simulation.arrivals) > 0
    behaviour = NurseBehaviour(simulation.params)
    answers = defaultdict(dict)
    for policy in (platform, broadcast):
        for asked in policy.asked:
            drawn = behaviour.answer(simulation.arrivals[asked.request].key, asked.nurse)
            if asked.answered_at is None:
                continue
            # What each policy saw is the one draw for that request and that nurse.
            assert asked.answered_at - asked.at == drawn.delay
            assert asked.accepts == drawn.accepts
            answers[(asked.request, asked.nurse)][policy.policy] = (drawn.delay, asked.accepts)
    shared = [pair for pair, seen in answers.items() if len(seen) == 2]
    assert shared, "no nurse was asked the same request by both policies"
    assert all(answers[p]["platform"] == answers[p]["broadcast"] for p in shared)


def test_visits_hold_the_rules_on_both_policies(db, three_nurses):
    simulation = run(db, days="3", per_day="6")
    nurses = {n.key: n for n in simulation.world.nurses}
    for name, policy in simulation.runs.items():
        figures = simulation.as_dict()["policies"][name]
        visits = list(policy.visits.values())
        assert len({v.request for v in visits}) == len(visits) == figures["visited"]
        assert figures["visited"] <= figures["requests"] == len(simulation.arrivals)
        assert figures["unassigned"] == figures["requests"] - figures["visited"]
        late = sum(
            1 for v in visits if v.start - simulation.arrivals[v.request].at > timedelta(hours=24)
        )
        assert figures["within_24h"] == figures["visited"] - late
        assert figures["within_24h_share"] == figures["within_24h"] / figures["requests"]
        by_nurse = defaultdict(list)
        for visit in visits:
            nurse = nurses[visit.nurse]
            arrival = simulation.arrivals[visit.request]
            assert arrival.at <= visit.accepted_at <= visit.appointment <= visit.start
            assert visit.end - visit.start == timedelta(minutes=arrival.visit_minutes)
            windows = open_intervals(
                nurse.availability,
                nurse.timezone,
                visit.appointment - timedelta(days=1),
                visit.appointment + timedelta(days=1),
            )
            assert any(a <= visit.appointment < b for a, b in windows), (name, visit)
            by_nurse[visit.nurse].append(visit)
        for own in by_nurse.values():
            own.sort(key=lambda v: v.start)
            assert all(a.end <= b.start for a, b in pairwise(own))


def test_without_nurses_nobody_is_visited(db):
    figures = run(db).as_dict()["policies"]
    for policy in figures.values():
        assert policy["requests"] > 0
        assert policy["visited"] == policy["offers_sent"] == 0
        assert policy["within_24h_share"] == 0
        assert policy["unassigned_share"] == 1


def test_nurses_who_never_answer_accept_nothing(db, three_nurses):
    figures = run(db, answer_rate="0").as_dict()["policies"]
    for policy in figures.values():
        assert policy["offers_sent"] > 0
        assert policy["visited"] == policy["offers_declined"] == 0
        assert policy["offers_unanswered"] == policy["offers_sent"]


def test_one_nurse_next_door_with_room_serves_everyone_within_24h_on_both_policies(db):
    enrol(db, FOIX, radius=100, availability=ALL_DAY, max_visits=30)
    simulation = run(
        db, answer_rate="1", decline_rate="0", answer_median_minutes="5", answer_spread="0"
    )
    for policy in simulation.as_dict()["policies"].values():
        assert policy["requests"] > 0
        assert policy["within_24h_share"] == 1
        assert policy["nurses_with_visits"] == 1


def test_the_capacity_search_adds_nurses_where_requests_waited(db):
    enrol(db, FOIX, radius=10)
    simulation = run(db, days="2", per_day="5", target="0.9", policy="platform")
    answer = simulation.as_dict()["capacity"]
    before = simulation.as_dict()["policies"]["platform"]["within_24h_share"]
    assert before < 0.9
    assert answer["added"] > 0
    assert answer["share"] > before
    assert answer["platform"]["nurses"] == 1 + answer["added"]
    assert sum(c["nurses"] for c in answer["communes"]) == answer["added"]
    assert all(c["insee"].startswith("09") for c in answer["communes"])
    assert answer["rounds"][0] == {"added": 0, "share": before}


def test_parameters_are_checked_with_french_messages():
    with pytest.raises(ValidationFailed) as refused:
        parse_parameters({"department": "99", "days": "deux", "answer_rate": "120 %"})
    messages = {e.field: e.message for e in refused.value.errors}
    assert messages["department"] == "Département « 99 » inconnu."
    assert "nombre entier" in messages["days"]
    assert "entre 0 et 1" in messages["answer_rate"]
    params = parse_parameters({"department": "9", "answer_rate": "80 %", "decline_rate": "0,25"})
    assert (params.department, params.answer_rate, params.decline_rate) == ("09", 0.8, 0.25)
    # The 2021 national volume (11 000 visits a week) shared by population: Ariège ≈ 0,23 %.
    assert 3 < params.per_day < 4


def test_the_command_line_prints_the_comparison_and_the_json(app, db, three_nurses):
    runner = app.test_cli_runner()
    shown = runner.invoke(args=["simulate", "--department", "09", "--days", "1", "--per-day", "3"])
    assert shown.exit_code == 0, shown.output
    assert "Visitées dans les 24 h" in shown.stdout
    assert "Diffusion à toutes" in shown.stdout
    assert "Plateforme : jour 1/1" in shown.stderr
    answer = runner.invoke(
        args=["simulate", "--department", "09", "--days", "1", "--per-day", "3", "--json"]
    )
    assert json.loads(answer.stdout)["policies"]["platform"]["requests"] >= 0
    refused = runner.invoke(args=["simulate", "--department", "09", "--decline-rate", "deux"])
    assert refused.exit_code != 0
    assert "--decline-rate : Taux de refus : un nombre est attendu" in refused.output


@pytest.mark.parametrize("role", [Role.NURSE, Role.AGENT, Role.CPAM])
def test_only_coordinators_open_the_simulation(client, logged_in, role):
    logged_in(role)
    assert client.get("/coordinator/simulation").status_code == 403
    assert client.get("/coordinator/simulation/1/progress").status_code == 403


def test_the_form_needs_its_csrf_token_and_says_what_is_wrong(client, logged_in):
    logged_in(Role.COORDINATOR)
    assert client.post("/coordinator/simulation", data={"department": "09"}).status_code == 400
    token = csrf_token(client, "/coordinator/simulation")
    page = client.post(
        "/coordinator/simulation",
        data={"csrf_token": token, "department": "99", "days": "0", "policy": "both"},
    )
    assert page.status_code == 422
    text = page.get_data(as_text=True)
    assert "Département « 99 » inconnu." in text
    assert "Nombre de jours : un entier entre 1 et 28." in text


def test_a_run_started_from_the_page_completes_and_shows_its_table(client, logged_in, db):
    coordinator = logged_in(Role.COORDINATOR)
    enrol(db, FOIX)
    token = csrf_token(client, "/coordinator/simulation")
    started = client.post(
        "/coordinator/simulation",
        data={
            "csrf_token": token,
            "department": "09",
            "per_day": "3",
            "days": "1",
            "seed": "2",
            "answer_rate": "0,9",
            "answer_median_minutes": "15",
            "decline_rate": "10 %",
            "target": "",
            "policy": "both",
        },
    )
    assert started.status_code == 302
    page_url = started.headers["Location"]
    run_id = int(page_url.rstrip("/").rsplit("/", 1)[1])
    progress = {}
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        progress = client.get(f"/coordinator/simulation/{run_id}/progress").get_json()
        if progress["finished"]:
            break
        time.sleep(0.5)
    assert progress["status"] == "done", progress
    page = client.get(page_url).get_data(as_text=True)
    assert "Comparaison des politiques" in page
    assert "Visitées dans les 24 h" in page
    assert 'src="/static/js/simulation.js"' in page
    entry = db.exec(select(AuditEntry).where(AuditEntry.action == "simulation.started")).one()
    assert (entry.actor_id, entry.target_id) == (coordinator.id, str(run_id))
    listed = client.get("/coordinator/simulation").get_data(as_text=True)
    assert f'href="/coordinator/simulation/{run_id}"' in listed


def test_a_run_its_process_left_behind_is_shown_interrupted(client, logged_in, db):
    logged_in(Role.COORDINATOR)
    stale = SimulationRun(
        created_by_label="coordination@exemple.fr",
        department="09",
        parameters={
            "per_day": 3.0,
            "days": 7,
            "seed": 1,
            "answer_rate": 0.8,
            "answer_median_minutes": 20.0,
            "decline_rate": 0.2,
            "target": None,
        },
        heartbeat_at=utcnow() - STALE - timedelta(seconds=1),
        step="Plateforme : jour 3/7",
    )
    db.add(stale)
    db.commit()
    progress = client.get(f"/coordinator/simulation/{stale.id}/progress").get_json()
    assert (progress["status"], progress["finished"]) == (RunStatus.INTERRUPTED, True)
    page = client.get(f"/coordinator/simulation/{stale.id}").get_data(as_text=True)
    assert "Simulation interrompue" in page
    assert "Plateforme : jour 3/7" in page


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is installed by make test")
def test_the_run_page_follows_its_progress_and_shows_the_table_in_chromium(
    browser, site, db, make_user
):
    coordinator = make_user(Role.COORDINATOR)
    enrol(db, FOIX)
    with watched_page(browser, site) as watched:
        page = watched.page
        sign_in(page, coordinator.email)
        page.get_by_role("link", name="Simulation").click()
        page.get_by_label("Département (code)").fill("09")
        page.get_by_label("Demandes par jour").fill("3")
        page.get_by_label("Jours simulés").fill("2")
        with page.expect_navigation():
            page.get_by_role("button", name="Lancer la simulation").click()
        assert page.locator("progress").count() == 1
        # No reload by hand: the poller sees the run end and the page comes back with its table.
        page.get_by_role("heading", name="Comparaison des politiques").wait_for(timeout=120_000)
        table = page.locator("table")
        assert table.get_by_role("row", name="Demandes").locator("td").count() == 2
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "coordinator-simulation-1280.png"), full_page=True)
    assert watched.outside == set()
    assert not watched.errors, watched.errors
