"""Password reset by e-mail token, sent through a real SMTP server on loopback."""

import re
import time

import pytest
from sqlmodel import select

from registry.accounts import PasswordResetToken, Role
from tests.conftest import PASSWORD, csrf_token, login

NEW_PASSWORD = "Nouveau-mot-de-passe-2021"


@pytest.fixture
def settings_overrides(inbox):
    _handler, port = inbox
    return {"mail_backend": "smtp", "mail_server": "127.0.0.1", "mail_port": port}


def _ask_for_reset(client, email):
    token = csrf_token(client, "/password/forgot")
    return client.post("/password/forgot", data={"email": email, "csrf_token": token})


def _wait_for(messages, count=1):
    deadline = time.monotonic() + 5
    while len(messages) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    return messages


def test_a_reset_link_arrives_by_email_and_works_once(client, db, make_user, inbox):
    handler, _port = inbox
    user = make_user(Role.NURSE)
    response = _ask_for_reset(client, user.email)
    assert response.status_code == 302
    (message,) = _wait_for(handler.messages)
    assert message["To"] == user.email
    body = message.get_payload(decode=True).decode()
    link = re.search(r"http://\S+/password/reset/(\S+)", body)
    path = f"/password/reset/{link.group(1)}"
    stored = db.exec(select(PasswordResetToken)).one()
    assert link.group(1) not in stored.token_hash

    form_token = csrf_token(client, path)
    done = client.post(
        path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD, "csrf_token": form_token}
    )
    assert done.status_code == 302
    assert login(client, user.email, PASSWORD).status_code == 401
    assert login(client, user.email, NEW_PASSWORD).status_code == 302
    assert client.get(path).status_code == 404


def test_an_unknown_email_gets_the_same_answer_and_no_message(client, inbox):
    handler, _port = inbox
    response = _ask_for_reset(client, "personne@exemple.fr")
    assert response.status_code == 302
    assert "Si un compte actif existe" in client.get("/login").get_data(as_text=True)
    time.sleep(0.2)
    assert handler.messages == []


def test_a_weak_new_password_is_refused_and_the_link_stays_valid(client, make_user, inbox):
    handler, _port = inbox
    user = make_user(Role.AGENT)
    _ask_for_reset(client, user.email)
    (message,) = _wait_for(handler.messages)
    path = re.search(r"/password/reset/\S+", message.get_payload(decode=True).decode()).group(0)
    token = csrf_token(client, path)
    refused = client.post(path, data={"password": "court", "confirm": "court", "csrf_token": token})
    assert "12 caractères" in refused.get_data(as_text=True)
    assert client.get(path).status_code == 200


def test_a_forged_reset_link_is_refused(client):
    response = client.get("/password/reset/nimportequoi")
    assert response.status_code == 404
    assert "invalide" in response.get_data(as_text=True)


def test_a_completed_reset_kills_every_other_link_of_the_account(client, make_user, inbox):
    handler, _port = inbox
    user = make_user(Role.NURSE)
    _ask_for_reset(client, user.email)
    _ask_for_reset(client, user.email)
    first, second = _wait_for(handler.messages, 2)
    paths = [
        re.search(r"/password/reset/\S+", m.get_payload(decode=True).decode()).group(0)
        for m in (first, second)
    ]
    token = csrf_token(client, paths[1])
    data = {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD, "csrf_token": token}
    assert client.post(paths[1], data=data).status_code == 302
    assert client.get(paths[0]).status_code == 404


def test_reset_emails_to_one_account_are_limited(client, make_user, inbox):
    handler, _port = inbox
    user = make_user(Role.AGENT)
    for _ in range(5):
        assert _ask_for_reset(client, user.email).status_code == 302
    time.sleep(0.3)
    assert len(_wait_for(handler.messages, 3)) == 3
