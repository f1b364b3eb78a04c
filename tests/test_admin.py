"""The operator manages accounts, roles and tokens from the admin pages, all of it audited."""

from sqlmodel import select

from registry.accounts import Role, User
from registry.audit import AuditEntry
from tests.conftest import PASSWORD, csrf_token, fresh


def test_an_admin_creates_an_account_through_the_form(client, db, logged_in):
    admin = logged_in(Role.ADMIN)
    token = csrf_token(client, "/admin/users/new")
    response = client.post(
        "/admin/users/new",
        data={
            "name": "Nora Agent",
            "email": "nora@cpam.fr",
            "role": "agent",
            "cpam_code": "091",
            "password": PASSWORD,
            "csrf_token": token,
        },
    )
    assert response.status_code == 302
    created = db.exec(select(User).where(User.email == "nora@cpam.fr")).one()
    entry = db.exec(
        select(AuditEntry).where(
            AuditEntry.action == "user.created", AuditEntry.actor_id == admin.id
        )
    ).one()
    assert entry.target_id == str(created.id)


def test_a_bad_account_form_shows_every_error_in_french_and_stores_nothing(client, db, logged_in):
    logged_in(Role.ADMIN)
    token = csrf_token(client, "/admin/users/new")
    response = client.post(
        "/admin/users/new",
        data={
            "name": "X",
            "email": "pas-une-adresse",
            "role": "agent",
            "password": "court",
            "csrf_token": token,
        },
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Adresse e-mail invalide" in page
    assert "12 caractères" in page
    assert db.exec(select(User).where(User.name == "X")).first() is None


def test_deactivation_needs_an_explicit_confirmation(client, db, logged_in, make_user):
    logged_in(Role.ADMIN)
    user = make_user(Role.AGENT)
    path = f"/admin/users/{user.id}/activation"
    token = csrf_token(client, f"/admin/users/{user.id}")
    client.post(path, data={"csrf_token": token})
    db.refresh(user)
    assert user.active
    client.post(path, data={"csrf_token": token, "confirm": "y"})
    assert not fresh(db, user).active


def test_role_change_through_the_page_is_audited(client, db, logged_in, make_user):
    logged_in(Role.ADMIN)
    user = make_user(Role.AGENT)
    token = csrf_token(client, f"/admin/users/{user.id}")
    client.post(f"/admin/users/{user.id}/role", data={"csrf_token": token, "role": "coordinator"})
    assert fresh(db, user).role == Role.COORDINATOR
    assert db.exec(select(AuditEntry).where(AuditEntry.action == "user.role_changed")).one()


def test_a_created_token_is_shown_once(client, db, logged_in, make_user):
    logged_in(Role.ADMIN)
    user = make_user(Role.AGENT)
    token = csrf_token(client, f"/admin/users/{user.id}")
    page = client.post(f"/admin/users/{user.id}/tokens", data={"csrf_token": token, "name": "SI"})
    text = page.get_data(as_text=True)
    assert "vdsi_" in text
    clear = text.split('id="token">')[1].split("<")[0]
    assert clear not in client.get(f"/admin/users/{user.id}").get_data(as_text=True)


def test_the_audit_log_is_filtered_and_paginated(client, db, logged_in, make_user):
    logged_in(Role.ADMIN)
    for _ in range(3):
        make_user(Role.NURSE)
    page = client.get("/admin/audit?action=user.created").get_data(as_text=True)
    assert page.count("<code>user.created</code>") == 4
    assert "<code>login.succeeded</code>" not in page
    assert "Page 1" not in page or "sur 1" in page
