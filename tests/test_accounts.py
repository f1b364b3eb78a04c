"""Accounts: creation rules, hashing, role changes and deactivation, all audited."""

import pytest
from sqlmodel import select

from registry import accounts
from registry.accounts import Role
from registry.audit import AuditEntry
from registry.errors import Conflict, PermissionDenied, ValidationFailed
from tests.conftest import PASSWORD


def actions(db) -> list[str]:
    return list(db.exec(select(AuditEntry.action).order_by(AuditEntry.id)))


def test_a_password_is_stored_as_an_argon2id_hash(db, make_user):
    user = make_user(Role.AGENT)
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash


def test_an_invalid_account_is_refused_field_by_field_in_french(db):
    with pytest.raises(ValidationFailed) as refused:
        accounts.create_user(
            db, email="pas-une-adresse", role="pirate", password="court", name=" ", actor="test"
        )
    fields = {error.field for error in refused.value.errors}
    assert fields == {"email", "role", "name", "password"}
    assert any("12 caractères" in error.message for error in refused.value.errors)
    db.rollback()
    assert db.exec(select(accounts.User)).all() == []


def test_a_second_account_with_the_same_email_is_a_conflict(db, make_user):
    make_user(Role.AGENT, email="Agent@Exemple.fr")
    with pytest.raises(Conflict):
        accounts.create_user(
            db,
            email="agent@exemple.fr",
            role="cpam",
            password=PASSWORD,
            name="X",
            actor="test",
            cpam_code="091",
        )


def test_role_changes_are_audited_and_end_existing_sessions(db, make_user):
    admin, user = make_user(Role.ADMIN), make_user(Role.AGENT)
    nonce = user.session_nonce
    accounts.change_role(db, user, Role.CPAM, actor=admin)
    db.commit()
    assert user.role == Role.CPAM
    assert user.session_nonce != nonce
    entry = db.exec(select(AuditEntry).where(AuditEntry.action == "user.role_changed")).one()
    assert entry.details == {"from": "agent", "to": "cpam"}
    assert entry.actor_id == admin.id


def test_the_last_active_admin_cannot_be_demoted_or_deactivated(db, make_user):
    admin = make_user(Role.ADMIN)
    with pytest.raises(Conflict):
        accounts.change_role(db, admin, Role.AGENT, actor="cli")
    with pytest.raises(Conflict):
        accounts.set_active(db, admin, False, actor="cli")
    other = make_user(Role.ADMIN)
    with pytest.raises(PermissionDenied):
        accounts.set_active(db, other, False, actor=other)
    accounts.set_active(db, admin, False, actor=other)
    db.commit()
    assert not admin.active
    assert "user.deactivated" in actions(db)


def test_an_agent_account_belongs_to_a_cpam(db):
    with pytest.raises(ValidationFailed) as refused:
        accounts.create_user(
            db, email="a@cpam.fr", role="agent", password=PASSWORD, name="A", actor="test"
        )
    assert refused.value.errors[0].field == "cpam_code"
