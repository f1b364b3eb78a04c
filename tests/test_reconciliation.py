"""Reconciling a CPAM claims extract: one claim of each class, classified exactly; the file is
imported whole or not at all, once; other layouts through a column mapping; the API."""

from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from billing import claims, reconciliation
from billing.models import ClaimImport, ReconciliationItem
from registry.accounts import Role
from registry.errors import Conflict, ValidationFailed
from tests.billing_data import HEADER, bearer, claims_scenario

PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture
def scenario(db, client, make_user):
    return claims_scenario(db, client, make_user(Role.AGENT))


def test_a_file_with_one_claim_of_each_class_is_classified_exactly(db, scenario):
    content, expected = scenario
    batch = reconciliation.import_claims(
        db, claims.parse_claims(content), cpam_code="091", filename="mars.csv", actor="test"
    )
    db.commit()
    items = db.exec(select(ReconciliationItem).where(ReconciliationItem.import_id == batch.id))
    found = {item.classification: item.record_id for item in items}
    assert found == expected
    assert batch.counts == {name: 1 for name in expected}
    assert (batch.period_from, batch.period_to) == (date(2021, 3, 8), date(2021, 3, 10))
    assert batch.claim_count == 6 and batch.line_count == 18
    far = db.exec(
        select(ReconciliationItem).where(ReconciliationItem.classification == "ik_above_estimate")
    ).one()
    assert far.claimed_ik_km == Decimal("56.0") and far.expected_ik_km < Decimal(40)


def test_the_same_file_twice_is_refused(db, scenario):
    content, _expected = scenario
    reconciliation.import_claims(
        db, claims.parse_claims(content), cpam_code="091", filename="a.csv", actor="test"
    )
    db.commit()
    with pytest.raises(Conflict, match="déjà été importé"):
        reconciliation.import_claims(
            db, claims.parse_claims(content), cpam_code="091", filename="b.csv", actor="test"
        )
    db.rollback()
    assert len(db.exec(select(ClaimImport)).all()) == 1


def test_a_malformed_line_refuses_the_whole_file_and_names_every_bad_line(db):
    content = "\n".join(
        [
            HEADER,
            "123456789;185050900000117;09/03/2021;AMI;5,6;17,64;17,64",
            "12345678;185050900000117;31/02/2021;AMI;5,6;17,64;17,64",
            "123456782;1850509;09/03/2021;AMI;;abc;",
        ]
    ).encode()
    with pytest.raises(claims.ClaimFileRefused) as refused:
        claims.parse_claims(content)
    messages = [error.message for error in refused.value.errors]
    assert any(m.startswith("Ligne 2, num_am") for m in messages)
    assert any(m.startswith("Ligne 3, num_am") for m in messages)
    assert any(m.startswith("Ligne 3, date_soins") for m in messages)
    assert {m.split(",")[0] for m in messages} == {"Ligne 2", "Ligne 3", "Ligne 4"}
    assert any("Ligne 4, montant" in m for m in messages)
    assert any("Ligne 4, coefficient" in m for m in messages)
    assert db.exec(select(ClaimImport)).all() == []


def test_another_layout_is_read_through_a_column_mapping(db, scenario):
    content, _expected = scenario
    text = content.decode().replace(HEADER, "PS;Assure;Date;Acte;Coef;Facture;Paye")
    with pytest.raises(ValidationFailed, match="invalides"):
        claims.parse_claims(text.encode())
    mapping = {
        "num_am": "PS",
        "nir": "Assure",
        "date_soins": "Date",
        "code_acte": "Acte",
        "coefficient": "Coef",
        "montant": "Facture",
        "montant_rembourse": "Paye",
    }
    parsed = claims.parse_claims(text.encode(), mapping)
    assert len(parsed.claims) == 6
    # The same claims laid out otherwise are still the same claims: imported once.
    reconciliation.import_claims(
        db, claims.parse_claims(content), cpam_code="091", filename="a.csv", actor="test"
    )
    db.commit()
    with pytest.raises(Conflict, match="présentation différente"):
        reconciliation.import_claims(db, parsed, cpam_code="091", filename="b.csv", actor="test")
    db.rollback()


def test_cpam_staff_import_through_the_api_and_read_the_anomalies(db, client, make_user, scenario):
    content, expected = scenario
    headers = bearer(db, make_user(Role.CPAM))
    posted = client.post(
        "/api/v1/reconciliation/imports",
        data={"file": (__import__("io").BytesIO(content), "mars.csv")},
        headers=headers,
    )
    assert posted.status_code == 201, posted.get_json()
    summary = posted.get_json()
    assert summary["counts"] == {name: 1 for name in expected} and summary["anomalies"] == 6
    again = client.post(
        "/api/v1/reconciliation/imports",
        data={"file": (__import__("io").BytesIO(content), "mars.csv")},
        headers=headers,
    )
    assert again.status_code == 409
    anomalies = client.get(
        f"/api/v1/reconciliation/imports/{summary['id']}/anomalies", headers=headers
    ).get_json()
    assert {item["classification"] for item in anomalies["items"]} == set(expected) - {"matched"}
    foreign = bearer(db, make_user(Role.CPAM, cpam_code="075"))
    hidden = client.get(
        f"/api/v1/reconciliation/imports/{summary['id']}/anomalies", headers=foreign
    )
    assert hidden.status_code == 404
