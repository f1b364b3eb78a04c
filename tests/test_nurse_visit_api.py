"""The nurse's API: live offers without the patient's identity, accept (409 when held), decline,
the visit once accepted (hers only), the report and the unreachable patient."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from app.db import begin_write
from registry import api_tokens
from registry.accounts import Role, User
from registry.audit import AuditEntry
from registry.timeutil import utcnow
from registry.visits.models import Offer, VisitReport
from registry.visits.offers import OfferRules
from registry.visits.planning import plan_pass
from tests.billing_data import NurseApi
from tests.conftest import fresh
from tests.visit_data import PAMIERS, REPORT, book, enrol_nurse


@pytest.fixture
def setting(db, make_user, client):
    """A request offered to the Foix nurse; `call(nurse, method, path, json)` as a nurse."""
    agent = make_user(Role.AGENT)
    foix, pamiers = enrol_nurse(db), enrol_nurse(db, practice=PAMIERS)
    request = book(db, agent)
    begin_write(db)
    plan_pass(db, rules=OfferRules(plan_time_limit=1.0))
    db.commit()
    return request, foix, pamiers, NurseApi(db, client)


def test_a_nurse_sees_her_offer_without_the_patients_identity(setting):
    request, foix, pamiers, call = setting
    offers = call(foix, "GET", "/api/v1/offers").get_json()["items"]
    assert [o["request_id"] for o in offers] == [request.id]
    text = str(offers)
    for secret in (request.last_name, request.phone, request.nir, request.address_street):
        assert secret not in text
    assert offers[0]["commune"] == "Foix" and offers[0]["household_size"] == 3
    assert call(pamiers, "GET", "/api/v1/offers").get_json()["items"] == []


def test_accept_then_see_the_patient_then_report(setting, db):
    request, foix, _pamiers, call = setting
    offer_id = call(foix, "GET", "/api/v1/offers").get_json()["items"][0]["id"]
    accepted = call(foix, "POST", f"/api/v1/offers/{offer_id}/accept")
    assert accepted.status_code == 200, accepted.get_json()
    assert accepted.get_json()["patient"]["last_name"] == request.last_name
    assert call(foix, "POST", f"/api/v1/offers/{offer_id}/accept").status_code == 409
    visit = call(foix, "GET", f"/api/v1/visits/{request.id}")
    assert visit.status_code == 200
    reads = db.exec(select(AuditEntry).where(AuditEntry.action == "visit_request.read")).all()
    assert len(reads) == 2
    body = {**REPORT, "visited_at": utcnow().isoformat()}
    filed = call(foix, "POST", f"/api/v1/visits/{request.id}/report", body)
    assert filed.status_code == 201, filed.get_json()
    assert fresh(db, request).status == "billed"
    report = db.exec(select(VisitReport)).one()
    assert str(report.ik_km) == "12.5" and report.household_tests[0]["positives"] == 1
    again = call(foix, "POST", f"/api/v1/visits/{request.id}/report", body)
    assert again.status_code == 409


def test_another_nurse_gets_404_on_a_visit_or_offer_that_is_not_hers(setting):
    request, foix, pamiers, call = setting
    offer_id = call(foix, "GET", "/api/v1/offers").get_json()["items"][0]["id"]
    assert call(pamiers, "POST", f"/api/v1/offers/{offer_id}/accept").status_code == 404
    assert call(foix, "GET", f"/api/v1/visits/{request.id}").status_code == 404  # not accepted
    call(foix, "POST", f"/api/v1/offers/{offer_id}/accept")
    assert call(pamiers, "GET", f"/api/v1/visits/{request.id}").status_code == 404


def test_a_bad_report_names_every_wrong_field_and_changes_nothing(setting, db):
    request, foix, _pamiers, call = setting
    offer_id = call(foix, "GET", "/api/v1/offers").get_json()["items"][0]["id"]
    call(foix, "POST", f"/api/v1/offers/{offer_id}/accept")
    bad = {
        "visited_at": (utcnow() + timedelta(days=1)).isoformat(),
        "clinical": {"spo2": 140, "symptoms": ["boredom"]},
        "household_tests": [{"kind": "tag", "count": 9}],
        "ik_km": "loin",
    }
    response = call(foix, "POST", f"/api/v1/visits/{request.id}/report", bad)
    assert response.status_code == 422
    fields = {e["field"] for e in response.get_json()["errors"]}
    assert fields == {
        "visited_at",
        "clinical.spo2",
        "clinical.symptoms",
        "household_tests[0].count",
        "ik_km",
        "isolation_feasible",
    }
    assert fresh(db, request).status == "accepted"


def test_a_report_with_lists_where_words_belong_is_refused_not_crashed(setting, db):
    request, foix, _pamiers, call = setting
    offer_id = call(foix, "GET", "/api/v1/offers").get_json()["items"][0]["id"]
    call(foix, "POST", f"/api/v1/offers/{offer_id}/accept")
    body = {
        "visited_at": utcnow().isoformat(),
        "isolation_feasible": True,
        "clinical": {"symptoms": [{"fever": True}]},
        "household_tests": [{"kind": ["tag"], "count": 1}],
    }
    response = call(foix, "POST", f"/api/v1/visits/{request.id}/report", body)
    assert response.status_code == 422
    fields = {e["field"] for e in response.get_json()["errors"]}
    assert fields == {"clinical.symptoms", "household_tests[0].kind"}
    assert fresh(db, request).status == "accepted"


def test_decline_needs_a_reason_and_unreachable_ends_the_visit(setting, db):
    request, foix, _pamiers, call = setting
    offer_id = call(foix, "GET", "/api/v1/offers").get_json()["items"][0]["id"]
    refused = call(foix, "POST", f"/api/v1/offers/{offer_id}/decline", {"reason": "nope"})
    assert refused.status_code == 422
    call(foix, "POST", f"/api/v1/offers/{offer_id}/accept")
    assert call(foix, "POST", f"/api/v1/visits/{request.id}/unreachable", {}).status_code == 422
    done = call(
        foix,
        "POST",
        f"/api/v1/visits/{request.id}/unreachable",
        {"reason": "Trois appels sans réponse, personne au domicile"},
    )
    assert done.status_code == 200
    assert fresh(db, request).status == "unreachable"


def test_an_agent_token_cannot_use_the_nurse_api(client, db, make_user):
    agent = make_user(Role.AGENT)
    _token, secret = api_tokens.issue_token(db, agent, name="SI", actor="t")
    db.commit()
    response = client.get("/api/v1/offers", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 403


def test_the_nurse_pages_take_her_from_the_offer_to_the_report(setting, client, db):
    from tests.conftest import PASSWORD, csrf_token, login

    request, foix, _pamiers, _call = setting
    user = db.get(User, foix.user_id)
    from registry import accounts

    accounts.set_password(db, user, PASSWORD, actor="test")
    db.commit()
    assert login(client, user.email).status_code == 302
    page = client.get("/nurse/offers").get_data(as_text=True)
    assert "Foix" in page and request.last_name not in page
    offer_id = db.exec(select(Offer.id).where(Offer.request_id == request.id)).one()
    token = csrf_token(client, "/nurse/offers")
    accepted = client.post(f"/nurse/offers/{offer_id}/accept", data={"accept-csrf_token": token})
    assert accepted.status_code == 302
    visit = client.get(accepted.headers["Location"]).get_data(as_text=True)
    assert request.last_name in visit and 'href="tel:' in visit and 'href="geo:' in visit
    token = csrf_token(client, f"/nurse/visits/{request.id}/report")
    filed = client.post(
        f"/nurse/visits/{request.id}/report",
        data={
            "csrf_token": token,
            "visited_at": utcnow().astimezone(ZoneInfo("Europe/Paris")).strftime("%Y-%m-%dT%H:%M"),
            "temperature_c": "37,9",
            "spo2": "97",
            "symptoms": ["cough"],
            "isolation_feasible": "y",
            "tag_count": "2",
            "tag_positives": "1",
        },
    )
    assert filed.status_code == 302, filed.get_data(as_text=True)
    assert fresh(db, request).status == "billed"
    assert "Facturée" in client.get("/nurse/visits").get_data(as_text=True)


def test_the_nurse_is_told_when_her_accepted_visit_is_cancelled(setting, db, client, make_user):
    from registry.notifications.models import Notification

    request, foix, _pamiers, call = setting
    offer_id = call(foix, "GET", "/api/v1/offers").get_json()["items"][0]["id"]
    call(foix, "POST", f"/api/v1/offers/{offer_id}/accept")
    agent = db.get(User, request.agent_id)
    _token, secret = api_tokens.issue_token(db, agent, name="SI", actor="t")
    db.commit()
    cancelled = client.post(
        f"/api/v1/visit-requests/{request.id}/cancel",
        json={"reason": "Patient hospitalisé"},
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert cancelled.status_code == 200
    told = db.exec(select(Notification).where(Notification.dedupe_key.startswith("cancelled:")))
    message = told.one()
    assert (
        message.subject.startswith("Visite annulée à Foix")
        and request.last_name not in message.body
    )
    assert db.get(Offer, offer_id).status == "withdrawn"


def test_an_answer_sent_as_a_form_is_refused_and_the_offer_still_waits(setting, client, db):
    """A body that is not JSON is refused, even on the answers whose body is optional: never
    read as an empty one (which would accept the visit without the appointment it gave)."""
    _request, foix, _pamiers, call = setting
    call(foix, "GET", "/api/v1/offers")  # issues her token
    offer = db.exec(select(Offer)).one()
    for path in (f"/api/v1/offers/{offer.id}/accept", f"/api/v1/offers/{offer.id}/decline"):
        response = client.post(
            path, data={"appointment_at": "pas-une-date"}, headers=call.headers[foix.id]
        )
        assert response.status_code == 400, path
        assert "Content-Type: application/json" in response.get_json()["detail"]
    assert fresh(db, offer).status == "live"


def test_a_nurse_who_answers_late_still_takes_the_free_visit_from_her_page(setting, client, db):
    """Her offer expired and went to the Pamiers nurse, who has not answered: her page lists it
    under "Encore possibles", without the patient, and her tap takes it."""
    from registry import accounts
    from tests.conftest import PASSWORD, csrf_token, login

    request, foix, pamiers, _call = setting
    hers = db.exec(select(Offer).where(Offer.request_id == request.id)).one()
    hers.expires_at = utcnow() - timedelta(minutes=1)
    db.add(hers)
    db.commit()
    begin_write(db)
    plan_pass(db, rules=OfferRules(plan_time_limit=1.0))
    db.commit()
    his = db.exec(select(Offer).where(Offer.request_id == request.id, Offer.status == "live")).one()
    assert his.nurse_id == pamiers.id
    user = db.get(User, foix.user_id)
    accounts.set_password(db, user, PASSWORD, actor="test")
    db.commit()
    assert login(client, user.email).status_code == 302
    page = client.get("/nurse/offers").get_data(as_text=True)
    assert "Encore possibles" in page and f'id="offer-{hers.id}"' in page
    assert request.last_name not in page and request.nir not in page
    token = csrf_token(client, "/nurse/offers")
    taken = client.post(f"/nurse/offers/{hers.id}/accept", data={"accept-csrf_token": token})
    assert taken.status_code == 302
    assert request.last_name in client.get(taken.headers["Location"]).get_data(as_text=True)
    assert (fresh(db, request).nurse_id, fresh(db, his).status) == (foix.id, "withdrawn")
    assert "Encore possibles" not in client.get("/nurse/offers").get_data(as_text=True)
    from registry.notifications.models import Notification

    told = db.exec(select(Notification).where(Notification.dedupe_key.startswith("taken:"))).one()
    assert told.dedupe_key.startswith(f"taken:{request.id}:{pamiers.id}:")
    assert told.subject == "Visite à Foix prise par une autre infirmière"
    assert request.last_name not in told.body
