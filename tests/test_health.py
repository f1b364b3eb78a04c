"""Health check, unexpected errors and deployment wiring (proxy headers)."""

import pytest
from flask import request

from app import create_app
from tests.conftest import settings_for


def test_health_is_ok_when_the_database_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_health_is_503_when_the_database_is_unreachable():
    app = create_app(settings_for("postgresql+psycopg://postgres@127.0.0.1:9/absent"))
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["database"] == "unreachable"


def test_sqlite_runs_with_wal_foreign_keys_and_a_busy_timeout(app):
    engine = app.extensions["engine"]
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite pragmas only")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000


def test_an_unexpected_error_gives_a_french_page_and_a_problem_document(database_url):
    app = create_app(settings_for(database_url))

    def broken():
        raise RuntimeError("secret internals")

    app.add_url_rule("/broken", "broken", broken)
    app.add_url_rule("/api/v1/broken", "api_broken", broken)
    client = app.test_client()
    page = client.get("/broken")
    assert page.status_code == 500
    assert "Erreur interne" in page.get_data(as_text=True)
    assert "secret internals" not in page.get_data(as_text=True)
    problem = client.get("/api/v1/broken")
    assert problem.status_code == 500
    assert problem.mimetype == "application/problem+json"
    assert "secret internals" not in problem.get_data(as_text=True)
    app.extensions["engine"].dispose()


def test_behind_a_trusted_proxy_the_client_address_comes_from_x_forwarded_for(database_url):
    app = create_app(settings_for(database_url, proxy_hops=1))
    app.add_url_rule("/whoami", "whoami", lambda: request.remote_addr)
    response = app.test_client().get("/whoami", headers={"X-Forwarded-For": "203.0.113.7"})
    assert response.get_data(as_text=True) == "203.0.113.7"
    app.extensions["engine"].dispose()
