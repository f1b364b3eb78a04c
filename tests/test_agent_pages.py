"""The tracing agent's pages: booking during a call, the CPAM's live list with its warnings, a
request's history, cancelling with a reason."""

from datetime import UTC, datetime, timedelta

from sqlmodel import func, select

from registry import audit
from registry.accounts import Role
from registry.requests.models import RequestStatus, VisitRequest
from tests.conftest import csrf_token, fresh
from tests.request_data import nir
from tests.visit_data import book

JSON = {"Accept": "application/json"}


def booking_form(**changes) -> dict:
    form = {
        "nir": nir(),
        "last_name": "Dupont",
        "first_name": "Jeanne",
        "birth_date": "1985-05-12",
        "phone": "06 98 76 54 32",
        "address.street": "4 rue de la Préfecture",
        "address.postal_code": "09000",
        "address.commune": "Foix",
        "language_fr": "1",
        "household_size": "3",
        "tag_count": "2",
        "pcr_count": "0",
        "consent_at": "",
        "preferred_times": ["morning"],
        "idempotency_key": "form-1",
    }
    form.update(changes)
    return form


def post_booking(client, headers=None, **changes):
    data = {**booking_form(**changes), "csrf_token": csrf_token(client, "/agent/requests/new")}
    return client.post("/agent/requests/new", data=data, headers=headers or {})


def stored(db) -> int:
    db.rollback()
    return db.exec(select(func.count()).select_from(VisitRequest)).one()


def test_the_booking_form_stores_the_request_and_shows_it(client, db, logged_in):
    agent = logged_in(Role.AGENT)
    response = post_booking(client, other_language="ar", priority="high")
    assert response.status_code == 302
    visit = db.exec(select(VisitRequest)).one()
    assert response.headers["Location"] == f"/agent/requests/{visit.id}"
    assert (visit.agent_id, visit.cpam_code, visit.insee) == (agent.id, "091", "09122")
    assert visit.languages == ["fr", "ar"] and visit.priority == "high"
    assert visit.household_tests == [{"kind": "tag", "count": 2}]
    assert visit.preferred_times == ["morning"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Dupont Jeanne" in page and "Reçue" in page and "Historique" in page


def test_the_form_answers_json_for_the_page_script(client, db, logged_in):
    logged_in(Role.AGENT)
    response = post_booking(client, headers=JSON)
    assert response.status_code == 201
    assert response.json["url"] == f"/agent/requests/{response.json['id']}"


def test_a_double_submission_of_the_same_form_books_once(client, db, logged_in):
    logged_in(Role.AGENT)
    patient = nir()
    first = post_booking(client, headers=JSON, nir=patient)
    again = post_booking(client, headers=JSON, nir=patient)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json["id"] == first.json["id"]
    assert stored(db) == 1


def test_form_errors_name_each_field_in_french_and_store_nothing(client, db, logged_in):
    logged_in(Role.AGENT)
    response = post_booking(
        client,
        headers=JSON,
        nir="185050912345600",
        last_name="",
        **{"address.commune": "Foixe"},
        tag_count="abc",
    )
    assert response.status_code == 422
    errors = {error["field"]: error for error in response.json["errors"]}
    assert "clé" in errors["nir"]["message"]
    assert errors["last_name"]["message"] == "Ce champ est obligatoire."
    assert "household_tests" in errors
    assert stored(db) == 0


def test_without_javascript_the_page_shows_the_same_errors(client, db, logged_in):
    logged_in(Role.AGENT)
    response = post_booking(client, **{"address.commune": "Foixe"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Suggestions : 09000 Foix" in page
    assert 'value="Dupont"' in page  # what was typed is kept
    assert stored(db) == 0


def test_the_check_reports_errors_and_an_open_request_without_storing(client, db, logged_in):
    agent = logged_in(Role.AGENT)
    existing = book(db, agent)
    token = csrf_token(client, "/agent/requests/new")
    data = {**booking_form(nir=existing.nir, birth_date="2999-01-01"), "csrf_token": token}
    answer = client.post("/agent/requests/check", data=data, headers=JSON).json
    assert [e["field"] for e in answer["errors"]] == ["birth_date"]
    # The open request is found as soon as the NIR is valid, before the rest is right.
    assert answer["conflict"]["url"] == f"/agent/requests/{existing.id}"
    data.update({"birth_date": "12/05/1985", "address.commune": "Foixe"})
    answer = client.post("/agent/requests/check", data=data, headers=JSON).json
    assert [e["field"] for e in answer["errors"]] == ["address.commune"]
    assert "Foix" in answer["errors"][0]["suggestions"][0]
    assert stored(db) == 1


def test_dates_are_typed_and_explained_the_french_way(client, db, logged_in):
    logged_in(Role.AGENT)
    response = post_booking(
        client, headers=JSON, birth_date="31/02/1985", consent_at="23/11/2026", tag_count="1"
    )
    errors = {error["field"]: error["message"] for error in response.json["errors"]}
    assert errors["birth_date"] == "Date de naissance « 31/02/1985 » invalide : tapez JJ/MM/AAAA."
    assert "JJ/MM/AAAA HH:MM" in errors["consent_at"]
    booked = post_booking(client, headers=JSON, birth_date="12051985", consent_at="01/02/2021 9h30")
    assert booked.status_code == 201
    visit = db.get(VisitRequest, booked.json["id"])
    assert visit.birth_date.isoformat() == "1985-05-12"
    assert visit.consent_at.isoformat() == "2021-02-01T08:30:00+00:00"


def test_a_second_open_request_for_the_patient_points_to_the_first(client, db, logged_in):
    agent = logged_in(Role.AGENT)
    existing = book(db, agent)
    response = post_booking(client, nir=existing.nir)
    assert response.status_code == 409
    assert f"/agent/requests/{existing.id}" in response.get_data(as_text=True)


def test_the_commune_autocomplete_finds_by_name_and_postal_code(client, logged_in):
    logged_in(Role.AGENT)
    by_name = client.get("/agent/communes?q=foi").json["items"]
    assert any(item["insee"] == "09122" for item in by_name)
    by_code = client.get("/agent/communes?q=09000").json["items"]
    assert "Foix" in [item["name"] for item in by_code]
    assert all("09000" in item["postal_codes"] for item in by_code)
    assert client.get("/agent/communes?q=f").json["items"] == []


def test_the_list_shows_the_cpam_requests_soonest_due_first_with_warnings(
    client, db, logged_in, make_user
):
    agent = logged_in(Role.AGENT)
    now = datetime.now(UTC)
    late = book(db, agent, last_name="Enretard", consent_at=(now - timedelta(hours=25)).isoformat())
    near = book(db, agent, last_name="Bientot", consent_at=(now - timedelta(hours=20)).isoformat())
    calm = book(db, agent, last_name="Tranquille")
    other_cpam = make_user(Role.AGENT, cpam_code="031")
    book(db, other_cpam, last_name="Ailleurs")
    page = client.get("/agent/").get_data(as_text=True)
    assert page.index("Enretard") < page.index("Bientot") < page.index("Tranquille")
    assert "Ailleurs" not in page
    assert "Échéance dépassée" in page and "Risque de dépassement" in page
    at_risk = client.get("/agent/?status=at_risk").get_data(as_text=True)
    assert "Enretard" in at_risk and "Bientot" in at_risk and "Tranquille" not in at_risk
    token = csrf_token(client, "/agent/")
    searched = client.post("/agent/", data={"q": "tranq", "status": "all", "csrf_token": token})
    # The URL says a search applies, not what it is.
    assert searched.headers["Location"] == "/agent/?status=all&search=1"
    found = client.get(searched.headers["Location"]).get_data(as_text=True)
    assert "Tranquille" in found and "Bientot" not in found and 'value="tranq"' in found
    assert "Recherche active : « tranq »" in found
    partial = client.get("/agent/?status=all&search=1&partial=1").get_data(as_text=True)
    assert "<html" not in partial and "Tranquille" in partial and "Bientot" not in partial
    cleared = client.post("/agent/", data={"q": "tranq", "clear": "1", "csrf_token": token})
    assert cleared.headers["Location"] == "/agent/"
    assert "Bientot" in client.get("/agent/?status=all&search=1").get_data(as_text=True)
    # The list reached from the menu is the whole list: a search is not left on by mistake.
    client.post("/agent/", data={"q": "tranq", "status": "all", "csrf_token": token})
    whole = client.get("/agent/?status=all").get_data(as_text=True)
    assert "Bientot" in whole and "Recherche active" not in whole
    assert "Bientot" in client.get("/agent/?status=all&search=1").get_data(as_text=True)
    assert {late.id, near.id, calm.id} <= set(audit_listed_ids(db))


def audit_listed_ids(db) -> list[int]:
    db.rollback()
    rows = db.exec(
        select(audit.AuditEntry).where(audit.AuditEntry.action == "visit_request.listed")
    )
    return [request_id for row in rows for request_id in row.details["ids"]]


def test_the_list_is_paginated_and_filters_by_status_and_author(client, db, logged_in, make_user):
    agent = logged_in(Role.AGENT)
    for _ in range(27):
        book(db, agent)
    colleague = make_user(Role.AGENT)
    book(db, colleague, last_name="Collegue")
    first = client.get("/agent/").get_data(as_text=True)
    assert "Page 1 sur 2" in first
    assert "Collegue" not in client.get("/agent/?mine=1&page=2").get_data(as_text=True)
    assert "Aucune demande" in client.get("/agent/?status=cancelled").get_data(as_text=True)


def test_cancelling_asks_for_a_reason_and_confirmation_then_records_it(client, db, logged_in):
    agent = logged_in(Role.AGENT)
    visit = book(db, agent)
    page = client.get(f"/agent/requests/{visit.id}/cancel").get_data(as_text=True)
    assert "Confirmer l'annulation" in page and "définitive" in page
    token = csrf_token(client, f"/agent/requests/{visit.id}/cancel")
    refused = client.post(f"/agent/requests/{visit.id}/cancel", data={"csrf_token": token})
    assert refused.status_code == 422
    assert fresh(db, visit).status == RequestStatus.RECEIVED
    done = client.post(
        f"/agent/requests/{visit.id}/cancel",
        data={"csrf_token": token, "reason": "Patient hospitalisé"},
    )
    assert done.status_code == 302
    assert fresh(db, visit).status == RequestStatus.CANCELLED
    detail = client.get(f"/agent/requests/{visit.id}").get_data(as_text=True)
    assert "Patient hospitalisé" in detail and "Annuler la demande" not in detail
    again = client.get(f"/agent/requests/{visit.id}/cancel", follow_redirects=True)
    assert "ne peut plus être annulée" in again.get_data(as_text=True)


def test_an_agent_cannot_open_another_cpams_request(client, db, logged_in, make_user):
    logged_in(Role.AGENT)
    elsewhere = book(db, make_user(Role.AGENT, cpam_code="031"))
    assert client.get(f"/agent/requests/{elsewhere.id}").status_code == 404
    assert client.get(f"/agent/requests/{elsewhere.id}/cancel").status_code == 404


def test_other_roles_cannot_book(client, logged_in):
    logged_in(Role.NURSE)
    assert client.get("/agent/requests/new").status_code == 403
    assert client.get("/agent/communes?q=foix").status_code == 403


def test_the_pager_of_a_refreshed_list_opens_whole_pages(client, db, logged_in):
    """The live refresh asks for the table alone (partial=1); the pager it brings links to the
    next page, not to the next table alone."""
    agent = logged_in(Role.AGENT)
    for index in range(26):
        book(db, agent, last_name=f"Patient{index:02d}", nir=nir(index + 1))
    table = client.get("/agent/?status=all&partial=1").get_data(as_text=True)
    assert 'rel="next"' in table and "partial" not in table
    assert "<html" in client.get("/agent/?status=all&page=2").get_data(as_text=True)
