"""Booking visit requests over the API: contract, idempotency, one visit per patient, scoping."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, func, select

from registry import api_tokens
from registry.accounts import Role
from registry.audit import AuditEntry
from registry.requests import services
from registry.requests.models import RequestStatus, VisitRequest
from tests.request_data import nir, request_document


@pytest.fixture
def agent_call(client, db, make_user):
    """agent_call(method, path, json=None, headers=None, cpam="091") as an agent of that CPAM."""
    tokens = {}

    def _call(method, path, json=None, headers=None, cpam="091"):
        if cpam not in tokens:
            agent = make_user(Role.AGENT, cpam_code=cpam)
            _token, tokens[cpam] = api_tokens.issue_token(db, agent, name="SI", actor="test")
            db.commit()
        all_headers = {"Authorization": f"Bearer {tokens[cpam]}", **(headers or {})}
        return client.open(path, method=method, json=json, headers=all_headers)

    return _call


def stored(db) -> int:
    return db.exec(select(func.count()).select_from(VisitRequest)).one()


def fields(response) -> dict:
    return {error["field"]: error for error in response.get_json()["errors"]}


def test_an_agent_books_a_visit_and_gets_its_due_time_and_location(agent_call):
    consent = datetime(2021, 2, 1, 9, 30, tzinfo=UTC)
    body = request_document(consent_at=consent.isoformat(), external_ref="SI-1")
    response = agent_call("POST", "/api/v1/visit-requests", body)
    assert response.status_code == 201, response.get_json()
    visit = response.get_json()
    assert visit["status"] == "received"
    assert visit["due_at"] == (consent + timedelta(hours=24)).isoformat()
    assert visit["follow_up_at"] == (consent + timedelta(days=4)).isoformat()
    assert visit["location"]["insee"] == "09122"
    assert visit["location"]["lat"] == pytest.approx(42.96, abs=0.05)
    assert visit["skills_needed"] == ["tag"]
    assert visit["phone"] == "+33698765432"
    assert visit["cpam_code"] == "091"


def test_consent_defaults_to_now(agent_call):
    visit = agent_call("POST", "/api/v1/visit-requests", request_document()).get_json()
    consent = datetime.fromisoformat(visit["consent_at"])
    assert abs(consent - datetime.now(UTC)) < timedelta(minutes=1)


def test_replaying_the_same_key_returns_the_same_request(agent_call, db):
    body, key = request_document(), {"Idempotency-Key": "cpam-091-000001"}
    first = agent_call("POST", "/api/v1/visit-requests", body, key)
    again = agent_call("POST", "/api/v1/visit-requests", body, key)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json()["id"] == first.get_json()["id"]
    other = agent_call("POST", "/api/v1/visit-requests", request_document(), key)
    assert other.status_code == 409
    assert other.get_json()["existing_id"] == first.get_json()["id"]
    assert stored(db) == 1


def test_concurrent_replays_of_one_key_store_one_request(app, agent_call, db):
    body, key = request_document(), {"Idempotency-Key": "burst-1"}
    agent_call("GET", "/api/v1/me")  # creates the agent's token before the threads start
    statuses, barrier = [], threading.Barrier(8)

    def replay():
        barrier.wait()
        statuses.append(agent_call("POST", "/api/v1/visit-requests", body, key).status_code)

    threads = [threading.Thread(target=replay) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] * 7 + [201], statuses
    with Session(app.extensions["engine"]) as fresh:
        assert fresh.exec(select(func.count()).select_from(VisitRequest)).one() == 1


def test_a_second_open_request_for_the_same_patient_points_to_the_first(agent_call, db):
    patient = nir()
    first = agent_call("POST", "/api/v1/visit-requests", request_document(nir=patient))
    second = agent_call("POST", "/api/v1/visit-requests", request_document(nir=patient))
    assert second.status_code == 409
    assert second.get_json()["existing_id"] == first.get_json()["id"]
    assert stored(db) == 1


def test_an_open_request_of_another_cpam_is_named_by_its_cpam_not_its_number(agent_call):
    patient = nir()
    agent_call("POST", "/api/v1/visit-requests", request_document(nir=patient), cpam="031")
    second = agent_call("POST", "/api/v1/visit-requests", request_document(nir=patient))
    assert second.status_code == 409
    assert "CPAM 031" in second.get_json()["detail"]
    assert "existing_id" not in second.get_json()


def test_a_patient_visited_less_than_14_days_ago_cannot_be_booked_again(agent_call, db):
    patient = nir()
    visit_id = agent_call(
        "POST", "/api/v1/visit-requests", request_document(nir=patient)
    ).get_json()["id"]
    visit = db.get(VisitRequest, visit_id)
    for status in ("offered", "accepted", "visited"):
        services.transition(db, visit, status, actor="test")
    db.commit()
    again = agent_call("POST", "/api/v1/visit-requests", request_document(nir=patient))
    assert again.status_code == 409
    assert "14 jours" in again.get_json()["detail"]
    visit.status_changed_at = datetime.now(UTC) - timedelta(days=15)
    db.add(visit)
    db.commit()
    assert (
        agent_call("POST", "/api/v1/visit-requests", request_document(nir=patient)).status_code
        == 201
    )


def test_an_external_reference_is_unique_per_cpam(agent_call):
    assert (
        agent_call(
            "POST", "/api/v1/visit-requests", request_document(external_ref="R1")
        ).status_code
        == 201
    )
    same = agent_call("POST", "/api/v1/visit-requests", request_document(external_ref="R1"))
    assert same.status_code == 409
    elsewhere = agent_call(
        "POST", "/api/v1/visit-requests", request_document(external_ref="R1"), cpam="092"
    )
    assert elsewhere.status_code == 201


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"nir": "18505"}, "nir", "15 caractères"),
        ({"nir": nir(1)[:-2] + "00"}, "nir", "clé"),
        (
            {"consent_at": (datetime.now(UTC) + timedelta(hours=2)).isoformat()},
            "consent_at",
            "futur",
        ),
        ({"birth_date": "1985-13-01"}, "birth_date", "invalide"),
        (
            {"household_tests": [{"kind": "pcr", "count": 9}]},
            "household_tests",
            "Plus de personnes",
        ),
        (
            {
                "preferred_windows": [
                    {"start": "2021-02-01T18:00:00+01:00", "end": "2021-02-01T09:00:00+01:00"}
                ]
            },
            "preferred_windows[0]",
            "avant de commencer",
        ),
        ({"usual_nurse_rpps": "123"}, "usual_nurse_rpps", "11 chiffres"),
        ({"preferred_times": ["night"]}, "preferred_times[0]", "morning"),
        ({"priority": "urgent"}, "priority", "normal"),
        ({"colour": "blue"}, "colour", "inconnu"),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_nothing_is_stored(
    agent_call, db, changes, field, words
):
    response = agent_call("POST", "/api/v1/visit-requests", request_document(**changes))
    assert response.status_code == 422
    assert words in fields(response)[field]["message"]
    assert stored(db) == 0


def test_a_corsican_nir_is_accepted(agent_call):
    from registry.identifiers import nir_key

    body = "285052A004123"
    document = request_document(nir=body + nir_key(body))
    assert agent_call("POST", "/api/v1/visit-requests", document).status_code == 201


def test_missing_fields_are_each_listed(agent_call):
    response = agent_call("POST", "/api/v1/visit-requests", {"nir": nir()})
    assert response.status_code == 422
    assert {"first_name", "last_name", "birth_date", "phone", "address"} <= set(fields(response))


def test_an_unknown_commune_is_refused_with_suggestions(agent_call, db):
    address = {"street": "", "postal_code": "09000", "commune": "Foixe"}
    response = agent_call("POST", "/api/v1/visit-requests", request_document(address=address))
    assert response.status_code == 422
    assert "09000 Foix" in fields(response)["address.commune"]["suggestions"]
    assert stored(db) == 0


def test_a_body_that_is_not_json_is_a_400(agent_call, client):
    response = agent_call("POST", "/api/v1/visit-requests", headers={"Content-Type": "text/plain"})
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"


def test_an_agent_sees_only_her_cpams_requests(agent_call, db):
    mine = agent_call("POST", "/api/v1/visit-requests", request_document()).get_json()["id"]
    theirs = agent_call(
        "POST", "/api/v1/visit-requests", request_document(), cpam="092"
    ).get_json()["id"]
    assert agent_call("GET", f"/api/v1/visit-requests/{theirs}").status_code == 404
    listed = agent_call("GET", "/api/v1/visit-requests").get_json()
    assert [item["id"] for item in listed["items"]] == [mine]
    reads = db.exec(select(AuditEntry).where(AuditEntry.action == "visit_request.listed")).all()
    assert reads and reads[-1].details["ids"] == [mine]


def test_reading_a_request_shows_its_history_and_is_audited(agent_call, db):
    visit_id = agent_call("POST", "/api/v1/visit-requests", request_document()).get_json()["id"]
    visit = agent_call("GET", f"/api/v1/visit-requests/{visit_id}").get_json()
    assert [step["to_status"] for step in visit["history"]] == ["received"]
    assert db.exec(select(AuditEntry).where(AuditEntry.action == "visit_request.read")).first()


def test_cancelling_needs_a_reason_and_happens_once(agent_call):
    visit_id = agent_call("POST", "/api/v1/visit-requests", request_document()).get_json()["id"]
    path = f"/api/v1/visit-requests/{visit_id}/cancel"
    assert agent_call("POST", path, {}).status_code == 422
    cancelled = agent_call("POST", path, {"reason": "Patient hospitalisé"}).get_json()
    assert cancelled["status"] == "cancelled"
    assert cancelled["cancel_reason"] == "Patient hospitalisé"
    assert [step["to_status"] for step in cancelled["history"]] == ["received", "cancelled"]
    assert agent_call("POST", path, {"reason": "encore"}).status_code == 409


def test_illegal_moves_are_conflicts(db, agent_call):
    from registry.errors import Conflict

    visit_id = agent_call("POST", "/api/v1/visit-requests", request_document()).get_json()["id"]
    visit = db.get(VisitRequest, visit_id)
    with pytest.raises(Conflict):
        services.transition(db, visit, RequestStatus.BILLED, actor="test")


def test_the_database_refuses_two_open_requests_for_one_patient(db, agent_call):
    import sqlalchemy as sa

    visit_id = agent_call("POST", "/api/v1/visit-requests", request_document()).get_json()["id"]
    original = db.get(VisitRequest, visit_id)
    copy = VisitRequest(
        **{
            **original.model_dump(exclude={"id", "idempotency_key", "external_ref"}),
        }
    )
    db.add(copy)
    with pytest.raises(sa.exc.IntegrityError):
        db.flush()
    db.rollback()


def test_preferred_times_of_day_become_windows_before_the_due_time(agent_call):
    body = request_document(
        consent_at="2026-11-02T10:30:00+01:00", preferred_times=["evening", "morning"]
    )
    visit = agent_call("POST", "/api/v1/visit-requests", body).get_json()
    assert visit["preferred_times"] == ["morning", "evening"]
    assert visit["preferred_windows"] == [
        {"start": "2026-11-02T10:30:00+01:00", "end": "2026-11-02T12:00:00+01:00"},
        {"start": "2026-11-02T18:00:00+01:00", "end": "2026-11-02T21:00:00+01:00"},
        {"start": "2026-11-03T08:00:00+01:00", "end": "2026-11-03T10:30:00+01:00"},
    ]
