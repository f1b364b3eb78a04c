"""Fixtures: every database test runs on SQLite and, when TEST_DATABASE_URL is set, on PostgreSQL
too; each test starts from a freshly migrated, empty schema."""

import os
import re
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import Session

from app import create_app
from app.config import Settings
from app.db import load_reference_data, make_engine, upgrade
from registry import accounts
from registry.accounts import Role, User
from tests.loopback import Inbox, free_port

PASSWORD = "Un-mot-de-passe-solide-2021"
POSTGRES_URL = os.environ.get("TEST_DATABASE_URL", "")
BACKENDS = ["sqlite", "postgresql"] if POSTGRES_URL else ["sqlite"]


def _drop_everything(engine: sa.Engine) -> None:
    with engine.begin() as connection:
        connection.execute(sa.text("DROP SCHEMA public CASCADE"))
        connection.execute(sa.text("CREATE SCHEMA public"))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A migrated SQLite file, copied for each test (faster than migrating every time)."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_migrated() -> str:
    engine = make_engine(POSTGRES_URL)
    _drop_everything(engine)
    upgrade(engine)
    engine.dispose()
    return POSTGRES_URL


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        path = tmp_path / "test.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    url = request.getfixturevalue("postgres_migrated")
    engine = make_engine(url)
    with engine.begin() as connection:
        tables = [
            name for name in sa.inspect(connection).get_table_names() if name != "alembic_version"
        ]
        connection.execute(sa.text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    load_reference_data(engine)
    engine.dispose()
    yield url


@pytest.fixture(autouse=True)
def no_scheduler_left_running():
    """A scheduler started in the test process would go on running jobs against the test
    database under the next tests (and hold the lease a served app needs)."""
    yield
    electors = [t.name for t in threading.enumerate() if t.name == "scheduler-elector"]
    assert not electors, "a test left the scheduler running: build its app with SCHEDULER off"


def settings_for(database_url: str, **overrides) -> Settings:
    values = {"env": "test", "database_url": database_url, "secret_key": "test-secret-key"}
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def settings_overrides() -> dict:
    """Tests override settings by redefining this fixture or updating it before `app` is built."""
    return {}


@pytest.fixture
def app(database_url: str, settings_overrides: dict) -> Iterator[Flask]:
    application = create_app(settings_for(database_url, **settings_overrides))
    yield application
    application.extensions["engine"].dispose()


@pytest.fixture
def db(app: Flask) -> Iterator[Session]:
    with Session(app.extensions["engine"], expire_on_commit=False) as session:
        yield session


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def make_user(db: Session):
    counter = iter(range(1, 10_000))

    def _make(
        role: Role = Role.AGENT,
        *,
        email: str | None = None,
        password: str = PASSWORD,
        cpam_code: str | None = None,
    ) -> User:
        number = next(counter)
        user = accounts.create_user(
            db,
            email=email or f"{role.value}{number}@exemple.fr",
            role=role,
            password=password,
            name=f"{role.label} {number}",
            actor="test",
            cpam_code=cpam_code or ("091" if role in (Role.AGENT, Role.CPAM) else None),
        )
        db.commit()
        return user

    return _make


CSRF_INPUT = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"'
)


def csrf_token(client: FlaskClient, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    match = CSRF_INPUT.search(page)
    assert match, f"no CSRF token in {path}"
    return match.group(1) or match.group(2)


def login(client: FlaskClient, email: str, password: str = PASSWORD, **extra):
    token = csrf_token(client, "/login")
    return client.post(
        "/login", data={"email": email, "password": password, "csrf_token": token}, **extra
    )


@pytest.fixture
def logged_in(client: FlaskClient, make_user):
    """Signs a new user of the given role in on `client`, and returns the user."""

    def _as(role: Role) -> User:
        user = make_user(role)
        response = login(client, user.email)
        assert response.status_code == 302, response.get_data(as_text=True)
        return user

    return _as


def fresh(db: Session, obj):
    """`obj` as the database holds it now: ends the test's own read snapshot, then reloads."""
    db.rollback()
    db.refresh(obj)
    return obj


@pytest.fixture
def site(app):
    """The app served on loopback for a browser, and its base URL."""
    from tests.browser import live_server

    with live_server(app) as base_url:
        yield base_url


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium, one per test module (the browser tests skip when it is missing)."""
    from tests.browser import chromium

    with chromium() as instance:
        yield instance


@pytest.fixture
def inbox():
    """A real SMTP server on loopback (aiosmtpd) and its port; what it receives is kept."""
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield handler, controller.port
    controller.stop()
