"""Signing in and out: French pages, role homes, throttling, safe sessions, everything audited."""

import pytest
from sqlmodel import select

from app import create_app
from app.config import ConfigError, Settings
from registry.accounts import Role
from registry.audit import AuditEntry
from tests.conftest import PASSWORD, csrf_token, login

HOMES = {
    Role.NURSE: "/nurse/",
    Role.AGENT: "/agent/",
    Role.CPAM: "/cpam/billing",
    Role.COORDINATOR: "/coordinator/",
    Role.ADMIN: "/admin/",
}


@pytest.mark.parametrize("role", list(Role))
def test_each_role_lands_on_its_own_home_after_login(client, make_user, role):
    user = make_user(role)
    response = login(client, user.email)
    assert response.status_code == 302
    assert response.headers["Location"] == HOMES[role]
    page = client.get(HOMES[role])
    assert page.status_code == 200
    assert user.name in page.get_data(as_text=True)


def test_the_login_page_is_in_french_and_protected_by_csrf(client):
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="fr">' in page
    assert "Mot de passe" in page
    refused = client.post("/login", data={"email": "a@b.fr", "password": "x"})
    assert refused.status_code == 400
    assert "formulaire a expiré" in refused.get_data(as_text=True)


def test_a_wrong_password_is_refused_and_audited(client, db, make_user):
    user = make_user(Role.AGENT)
    response = login(client, user.email, "mauvais-mot-de-passe")
    assert response.status_code == 401
    assert "mot de passe incorrect" in response.get_data(as_text=True)
    entry = db.exec(select(AuditEntry).where(AuditEntry.action == "login.failed")).one()
    assert entry.target_id == str(user.id)


def test_logins_and_logouts_are_written_to_the_audit_log(client, db, make_user):
    user = make_user(Role.CPAM)
    login(client, user.email)
    token = csrf_token(client, "/cpam/")
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/cpam/").status_code == 302
    recorded = db.exec(select(AuditEntry.action).where(AuditEntry.actor_id == user.id)).all()
    assert {"login.succeeded", "logout"} <= set(recorded)


def test_logout_needs_a_post_with_the_csrf_token(client, logged_in):
    logged_in(Role.AGENT)
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400
    assert client.get("/agent/").status_code == 200


def test_repeated_failures_lock_the_account_even_with_the_right_password(client, db, make_user):
    user = make_user(Role.NURSE)
    for _ in range(5):
        assert login(client, user.email, "pas-le-bon-mot-de-passe").status_code == 401
    locked = login(client, user.email, PASSWORD)
    assert locked.status_code == 429
    assert "Trop de tentatives" in locked.get_data(as_text=True)
    assert db.exec(select(AuditEntry).where(AuditEntry.action == "login.throttled")).first()


def test_a_success_before_the_limit_resets_the_failure_count(client, make_user):
    user = make_user(Role.NURSE)
    for _ in range(4):
        login(client, user.email, "pas-le-bon-mot-de-passe")
    assert login(client, user.email).status_code == 302
    client.post("/logout", data={"csrf_token": csrf_token(client, "/nurse/")})
    for _ in range(4):
        login(client, user.email, "pas-le-bon-mot-de-passe")
    assert login(client, user.email).status_code == 302


def test_a_deactivated_account_cannot_log_in(client, db, make_user):
    user = make_user(Role.AGENT)
    user.active = False
    db.add(user)
    db.commit()
    assert login(client, user.email).status_code == 401


def test_the_next_parameter_never_leaves_the_site(client, make_user):
    user = make_user(Role.ADMIN)
    token = csrf_token(client, "/login")
    response = client.post(
        "/login?next=https://evil.example/",
        data={"email": user.email, "password": PASSWORD, "csrf_token": token},
    )
    assert response.headers["Location"] == "/admin/"


def test_a_page_asked_before_login_is_shown_after_it(client, make_user):
    user = make_user(Role.ADMIN)
    redirect = client.get("/admin/users")
    assert redirect.status_code == 302
    assert "/login?next=" in redirect.headers["Location"]
    token = csrf_token(client, redirect.headers["Location"])
    response = client.post(
        redirect.headers["Location"],
        data={"email": user.email, "password": PASSWORD, "csrf_token": token},
    )
    assert response.headers["Location"] == "/admin/users"


def test_the_session_cookie_is_httponly_and_samesite(client, make_user):
    user = make_user(Role.AGENT)
    response = login(client, user.email)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_production_requires_a_secret_key_and_secures_cookies(database_url):
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        Settings.from_env({"APP_ENV": "production", "DATABASE_URL": database_url})
    settings = Settings.from_env(
        {
            "APP_ENV": "production",
            "DATABASE_URL": database_url,
            "SECRET_KEY": "k" * 32,
            # No scheduler in the test process: it would keep running jobs on the test database.
            "SCHEDULER": "false",
        }
    )
    app = create_app(settings)
    assert app.config["SESSION_COOKIE_SECURE"] is True
    response = app.test_client().get("/login")
    assert "max-age" in response.headers["Strict-Transport-Security"]
    app.extensions["engine"].dispose()


def test_every_page_carries_the_security_headers(client):
    response = client.get("/login")
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_changing_ones_password_ends_other_sessions(app, make_user):
    user = make_user(Role.AGENT)
    phone, desk = app.test_client(), app.test_client()
    login(phone, user.email)
    login(desk, user.email)
    token = csrf_token(desk, "/account")
    new_password = "Un-autre-mot-de-passe-2022"
    response = desk.post(
        "/account",
        data={
            "current": PASSWORD,
            "password": new_password,
            "confirm": new_password,
            "csrf_token": token,
        },
    )
    assert response.status_code == 302
    assert desk.get("/agent/").status_code == 200
    assert phone.get("/agent/").status_code == 302
