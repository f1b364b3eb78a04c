"""The JSON API: bearer tokens stored hashed and revocable, errors as problem+json."""

from sqlmodel import select

from registry import api_tokens
from registry.accounts import Role
from registry.api_tokens import ApiToken


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_a_call_without_a_token_gets_a_french_problem_document(client):
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    body = response.get_json()
    assert body["status"] == 401
    assert "jeton" in body["detail"]


def test_a_valid_token_identifies_its_user(client, db, make_user):
    user = make_user(Role.AGENT)
    _token, clear = api_tokens.issue_token(db, user, name="SI CPAM", actor="test")
    db.commit()
    response = client.get("/api/v1/me", headers=bearer(clear))
    assert response.status_code == 200
    assert response.get_json() == {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "role": "agent",
    }


def test_tokens_are_stored_hashed(db, make_user):
    user = make_user(Role.AGENT)
    _token, clear = api_tokens.issue_token(db, user, name="SI", actor="test")
    db.commit()
    stored = db.exec(select(ApiToken)).one()
    assert clear not in stored.token_hash
    assert stored.token_hash != clear


def test_a_revoked_or_forged_token_is_refused(client, db, make_user):
    user = make_user(Role.AGENT)
    token, clear = api_tokens.issue_token(db, user, name="SI", actor="test")
    db.commit()
    assert client.get("/api/v1/me", headers=bearer(clear + "x")).status_code == 401
    api_tokens.revoke_token(db, token.id, actor="test")
    db.commit()
    response = client.get("/api/v1/me", headers=bearer(clear))
    assert response.status_code == 401
    assert "révoqué" in response.get_json()["detail"]


def test_a_deactivated_users_token_stops_working(client, db, make_user):
    user = make_user(Role.AGENT)
    _token, clear = api_tokens.issue_token(db, user, name="SI", actor="test")
    user.active = False
    db.add(user)
    db.commit()
    assert client.get("/api/v1/me", headers=bearer(clear)).status_code == 401


def test_the_session_cookie_does_not_open_the_api(client, logged_in):
    logged_in(Role.ADMIN)
    assert client.get("/api/v1/me").status_code == 401


def test_an_unknown_api_path_is_a_problem_document_and_a_page_is_french(client):
    api = client.get("/api/v1/nowhere")
    assert api.status_code == 404
    assert api.mimetype == "application/problem+json"
    page = client.get("/nowhere")
    assert page.status_code == 404
    assert "Introuvable" in page.get_data(as_text=True)
    assert "Traceback" not in page.get_data(as_text=True)
