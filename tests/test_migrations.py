"""The migrations are the schema: they must produce exactly what the models describe."""

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from app.db import alembic_config, make_engine
from app.schema import metadata
from registry.audit import AuditEntry


def test_migrations_produce_the_schema_the_models_describe(database_url):
    engine = make_engine(database_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        differences = compare_metadata(context, metadata)
    engine.dispose()
    assert differences == []


def test_migrations_go_down_to_nothing_and_up_again(database_url):
    engine = make_engine(database_url)
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), "base")
    with engine.connect() as connection:
        assert set(sa.inspect(connection).get_table_names()) <= {"alembic_version"}
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "head")
    with engine.connect() as connection:
        assert "audit_entry" in sa.inspect(connection).get_table_names()
    engine.dispose()


@pytest.mark.parametrize(
    "statement",
    ["UPDATE audit_entry SET action = 'rewritten'", "DELETE FROM audit_entry"],
)
def test_the_database_refuses_to_rewrite_the_audit_log(db, statement):
    db.add(AuditEntry(actor_label="test", action="login.succeeded"))
    db.commit()
    with pytest.raises(sa.exc.DatabaseError, match="append-only"):
        db.exec(sa.text(statement))
        db.commit()
    db.rollback()
    assert db.exec(sa.select(AuditEntry.action)).all() == [("login.succeeded",)]
