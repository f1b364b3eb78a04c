"""Database wiring: the engine (SQLite tuned for concurrency, or PostgreSQL), a session per
request, and the `flask db …` commands that drive the Alembic migrations."""

from collections.abc import Callable
from pathlib import Path

import click
import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig
from flask import Flask, current_app, g
from sqlmodel import Session

from app.config import PROJECT_ROOT
from billing.catalogue import load_shipped

MIGRATIONS_DIR = PROJECT_ROOT / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 30_000
SQLITE_BEGIN_OPTION = "sqlite_begin"


POSTGRES_CONNECTION_DEFAULTS = {
    "connect_timeout": 5,  # seconds
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
    "tcp_user_timeout": 30_000,  # milliseconds
}


def make_engine(url: str) -> sa.Engine:
    if url.startswith("sqlite"):
        database = sa.engine.make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}
        )

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            # The driver's own implicit BEGIN breaks SAVEPOINT; SQLAlchemy emits BEGIN instead.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @sa.event.listens_for(engine, "begin")
        def _begin(connection):
            # IMMEDIATE when the unit of work will write (see `begin_write`).
            mode = connection.get_execution_options().get(SQLITE_BEGIN_OPTION, "")
            connection.exec_driver_sql(f"BEGIN {mode}".strip())

        return engine
    # A server that does not answer (host down, packets dropped) fails a new connection in a
    # few seconds, and so the request with a 503, instead of holding a worker thread for
    # minutes. An established connection whose host vanishes is dropped by TCP keepalives and
    # the unacknowledged-data timeout within a minute or so, instead of the kernel's 15 minutes.
    # A parameter given in the URL wins.
    query = sa.engine.make_url(url).query
    connect_args = {
        name: value for name, value in POSTGRES_CONNECTION_DEFAULTS.items() if name not in query
    }
    return sa.create_engine(
        url, pool_pre_ping=True, pool_size=10, max_overflow=20, connect_args=connect_args
    )


def init_app(app: Flask) -> None:
    base = make_engine(app.config["SETTINGS"].database_url)
    app.extensions["engine"] = base
    # On SQLite a request's transactions take the write lock when they begin. A request often
    # reads, then writes (a login records its attempt, a token its use, a page its audit entry);
    # begun as a reader, such a transaction fails at once ("database is locked") when another
    # connection (the scheduler, another request) has written since its first read. Taking the
    # lock first makes it wait its turn instead. Requests are short; PostgreSQL needs nothing.
    app.extensions["request_engine"] = (
        base.execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE"})
        if base.dialect.name == "sqlite"
        else base
    )
    app.teardown_appcontext(_close_session)
    app.cli.add_command(db_cli)


def engine() -> sa.Engine:
    return current_app.extensions["engine"]


def get_session() -> Session:
    """The session of the current request (or CLI command), opened on first use. Code that
    opens sessions of its own during a request (a planning pass run from a page) commits this
    one first: on SQLite it holds the write lock while its transaction is open."""
    if "db_session" not in g:
        g.db_session = Session(current_app.extensions["request_engine"], expire_on_commit=False)
    return g.db_session


def read_sessions() -> Callable[[], Session]:
    """A factory of sessions for long reads (the steering indicators): on the base engine, so on
    SQLite they hold no write lock and never keep writers waiting; usable from other threads."""
    base = engine()
    return lambda: Session(base, expire_on_commit=False)


def begin_write(session: Session) -> None:
    """Starts the session's next transaction as a writer.

    On SQLite a transaction that reads and then writes fails at once ("database is locked") if
    another writer committed in between; taking the write lock first (BEGIN IMMEDIATE) makes
    concurrent writers wait their turn instead. PostgreSQL needs nothing here.
    """
    if session.in_transaction():
        session.commit()
    if session.get_bind().dialect.name == "sqlite":
        session.connection(execution_options={SQLITE_BEGIN_OPTION: "IMMEDIATE"})


def _close_session(_exception: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


def alembic_config(connection: sa.Connection) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def upgrade(target_engine: sa.Engine, revision: str = "head") -> None:
    """Migrates the schema; at head, also loads the catalogue rows the package ships and the
    database lacks (tariffs are data, dated, and revalued by admins: not a migration's job)."""
    with target_engine.begin() as connection:
        command.upgrade(alembic_config(connection), revision)
    if revision == "head":
        load_reference_data(target_engine)


def load_reference_data(target_engine: sa.Engine) -> None:
    with Session(target_engine) as session:
        load_shipped(session)
        session.commit()


@click.group("db", help="Migrations du schéma (Alembic).")
def db_cli() -> None:
    pass


@db_cli.command("upgrade", help="Crée ou met à jour le schéma jusqu'à REVISION (head par défaut).")
@click.argument("revision", default="head")
def upgrade_command(revision: str) -> None:
    upgrade(engine(), revision)
    click.echo(f"Schéma à jour ({revision}).")


@db_cli.command("downgrade", help="Revient à REVISION.")
@click.argument("revision")
def downgrade_command(revision: str) -> None:
    with engine().begin() as connection:
        command.downgrade(alembic_config(connection), revision)


@db_cli.command("current", help="Affiche la révision appliquée.")
def current_command() -> None:
    with engine().connect() as connection:
        command.current(alembic_config(connection), verbose=False)


@db_cli.command(
    "revision", help="Prépare une migration à relire (--autogenerate compare aux modèles)."
)
@click.option("-m", "--message", required=True)
@click.option("--autogenerate", is_flag=True)
def revision_command(message: str, autogenerate: bool) -> None:
    with engine().begin() as connection:
        command.revision(alembic_config(connection), message=message, autogenerate=autogenerate)


@db_cli.command("check", help="Échoue si les modèles diffèrent du schéma migré.")
def check_command() -> None:
    with engine().connect() as connection:
        command.check(alembic_config(connection))
