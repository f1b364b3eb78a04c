"""Operator commands, as scripts call them."""

import os
import subprocess
import sys
from pathlib import Path

from sqlmodel import func, select

from app.demo import ACTIVE_NURSES, DEMO_ACCOUNTS, DEMO_REQUESTS, PENDING_NURSES
from billing.models import BillingRecord, ClaimImport, Classification
from registry.accounts import User
from registry.audit import AuditEntry
from registry.nurses.models import Nurse, NurseStatus
from registry.requests.models import RequestStatus, VisitRequest
from tests.conftest import PASSWORD

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "billing" / "samples" / "releve-cpam-exemple.csv"


def flask_command(database_url: str, *args: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "APP_ENV": "test", "DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_users_create_and_tokens_create_from_the_command_line(client, database_url):
    created = flask_command(
        database_url,
        "users",
        "create",
        "--email",
        "si@cpam.fr",
        "--role",
        "agent",
        "--password",
        PASSWORD,
        "--name",
        "SI CPAM 091",
        "--cpam",
        "091",
    )
    assert created.returncode == 0, created.stderr
    issued = flask_command(database_url, "tokens", "create", "--email", "si@cpam.fr")
    assert issued.returncode == 0, issued.stderr
    token = issued.stdout.strip().splitlines()[-1]
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.get_json()["name"] == "SI CPAM 091"


def test_a_bad_user_is_refused_with_the_reasons(app):
    result = app.test_cli_runner().invoke(
        args=["users", "create", "--email", "nope", "--role", "agent", "--password", "court"]
    )
    assert result.exit_code != 0
    assert "Adresse e-mail invalide" in result.output
    assert "12 caractères" in result.output


def test_an_unknown_role_is_refused(app):
    result = app.test_cli_runner().invoke(
        args=["users", "create", "--email", "a@b.fr", "--role", "boss", "--password", PASSWORD]
    )
    assert result.exit_code != 0
    assert "boss" in result.output


def test_revoking_a_token_from_the_command_line(app, client, make_user):
    user = make_user()
    runner = app.test_cli_runner()
    token = runner.invoke(args=["tokens", "create", "--email", user.email]).output.split()[-1]
    listed = runner.invoke(args=["tokens", "list", "--email", user.email]).output
    token_id = listed.split()[0]
    assert runner.invoke(args=["tokens", "revoke", token_id]).exit_code == 0
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_seed_demo_loads_a_realistic_department_once(app, db):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    for _role, email, _name in DEMO_ACCOUNTS:
        assert email in first.output
    second = runner.invoke(args=["seed-demo"])
    assert "déjà présentes" in second.output
    counts = dict(db.exec(select(Nurse.status, func.count()).group_by(Nurse.status)).all())
    assert counts == {NurseStatus.ACTIVE: ACTIVE_NURSES, NurseStatus.PENDING: PENDING_NURSES}
    communes = db.exec(select(func.count(func.distinct(Nurse.practice_insee)))).one()
    assert communes >= 15
    assert (
        db.exec(select(func.count()).select_from(User)).one() == 4 + ACTIVE_NURSES + PENDING_NURSES
    )
    assert db.exec(select(func.count()).where(AuditEntry.action == "user.created")).one() > 60
    statuses = dict(
        db.exec(select(VisitRequest.status, func.count()).group_by(VisitRequest.status)).all()
    )
    billed = statuses.pop(RequestStatus.BILLED)
    assert statuses == {
        RequestStatus.RECEIVED: DEMO_REQUESTS - 1,
        RequestStatus.CANCELLED: 1,
    }
    # Six weeks of 2021 visits, each with its bill, through the real services.
    assert billed > 100
    assert db.exec(select(func.count()).select_from(BillingRecord)).one() == billed


def test_the_shipped_claims_sample_has_one_case_of_each_anomaly_against_the_demo(app, db):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    shipped = SAMPLE.read_text(encoding="utf-8")
    assert runner.invoke(args=["billing", "sample-claims"]).output == shipped
    result = runner.invoke(args=["billing", "import-claims", str(SAMPLE), "--cpam", "091"])
    assert result.exit_code == 0, result.output
    batch = db.exec(select(ClaimImport)).one()
    anomalies = {name: count for name, count in batch.counts.items() if name != "matched"}
    assert anomalies == {c.value: 1 for c in Classification if c != "matched"}
    assert batch.counts["matched"] == batch.claim_count - 5
    again = runner.invoke(args=["billing", "import-claims", str(SAMPLE), "--cpam", "091"])
    assert again.exit_code != 0 and "déjà été importé" in again.output


def test_a_large_list_is_imported_from_the_command_line(app, db, tmp_path):
    from tests.test_nurse_import import HEADER, row

    path = tmp_path / "urps.csv"
    path.write_text("\n".join([HEADER, *[row(700 + i) for i in range(30)], row(799, rpps="1")]))
    result = app.test_cli_runner().invoke(args=["nurses", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "30 créée(s)" in result.output
    assert "ligne 32" in result.output
    assert db.exec(select(func.count()).select_from(Nurse)).one() == 30
