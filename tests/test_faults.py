"""Faults the platform survives: the database going away and coming back under a running app
(through a real TCP hop the test cuts), and kill -9 of the serving or job process in the middle
of its work. What was acknowledged is kept, once; what was not is done once on the next try.
(SMTP down, messages queued then sent once: tests/test_notifications.py.)"""

import contextlib
import socket
import threading

import pytest
import sqlalchemy as sa

from app import create_app
from registry import api_tokens
from registry.accounts import Role
from tests.conftest import login, settings_for
from tests.loopback import free_port

PROBLEM = "application/problem+json"
UNAVAILABLE = "Service momentanément indisponible"


class TcpProxy:
    """A TCP forwarder on loopback, between the app and its database: stopped, it closes its
    listener and every connection through it (the database host gone); started again on the
    same port, the database is back."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.port = free_port()
        self.listener: socket.socket | None = None
        self.connections: list[socket.socket] = []
        self.threads: list[threading.Thread] = []
        self.lock = threading.Lock()

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen()
        self.listener = listener
        self._spawn(self._accept, listener)

    def stop(self) -> None:
        with self.lock:
            sockets, self.connections = [self.listener, *self.connections], []
            self.listener = None
        for sock in filter(None, sockets):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # wakes the threads blocked on it
            sock.close()
        for thread in self.threads:
            thread.join(timeout=5)
        self.threads = []

    def _spawn(self, target, *args) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self.threads.append(thread)
        thread.start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _address = listener.accept()
            except OSError:
                return  # stopped
            upstream = socket.create_connection(self.target)
            with self.lock:
                if self.listener is not listener:
                    client.close()
                    upstream.close()
                    return
                self.connections += [client, upstream]
            self._spawn(self._pump, client, upstream)
            self._spawn(self._pump, upstream, client)

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def through(proxy: TcpProxy, database_url: str) -> str:
    url = sa.engine.make_url(database_url).set(host="127.0.0.1", port=proxy.port)
    return url.render_as_string(hide_password=False)


def no_internals(text: str) -> None:
    for word in ("Traceback", "sqlalchemy", "psycopg", "OperationalError", "127.0.0.1"):
        assert word not in text


def test_the_database_going_away_gives_503s_and_the_same_app_recovers_when_it_returns(
    database_url, db, make_user
):
    if not database_url.startswith("postgresql"):
        pytest.skip("a database server to cut the network to: PostgreSQL (SQLite is a file)")
    agent = make_user(Role.AGENT)
    _token, secret = api_tokens.issue_token(db, agent, name="SI CPAM", actor="test")
    db.commit()
    bearer = {"Authorization": f"Bearer {secret}"}
    server = sa.engine.make_url(database_url)
    proxy = TcpProxy((server.host or "127.0.0.1", server.port or 5432))
    proxy.start()
    app = create_app(settings_for(through(proxy, database_url)))
    client = app.test_client()
    try:
        assert login(client, agent.email).status_code == 302

        def answers() -> tuple[int, int, int]:
            return (
                client.get("/healthz").status_code,
                client.get("/agent/").status_code,
                client.get("/api/v1/visit-requests", headers=bearer).status_code,
            )

        assert answers() == (200, 200, 200)

        proxy.stop()
        health = client.get("/healthz")
        assert (health.status_code, health.get_json()) == (
            503,
            {"status": "unavailable", "database": "unreachable"},
        )
        page = client.get("/agent/")
        text = page.get_data(as_text=True)
        assert page.status_code == 503 and page.mimetype == "text/html"
        assert UNAVAILABLE in text
        no_internals(text)
        api = client.get("/api/v1/visit-requests", headers=bearer)
        assert (api.status_code, api.mimetype) == (503, PROBLEM)
        assert api.get_json()["detail"].startswith(UNAVAILABLE)
        assert api.headers["Retry-After"]
        no_internals(api.get_data(as_text=True))

        proxy.start()
        assert answers() == (200, 200, 200)
    finally:
        proxy.stop()
        app.extensions["engine"].dispose()
