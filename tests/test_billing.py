"""Billing records issued by the visit report: the 2021 amounts of PRODUCT §5 through the whole
flow, the lines, the zero patient share, the invariants the database holds, corrections."""

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from billing import records
from billing.models import BillingCounter, BillingLine, BillingRecord
from registry.accounts import Role
from registry.audit import AuditEntry
from tests.billing_data import NurseApi, bearer, visit_at
from tests.conftest import fresh
from tests.visit_data import enrol_nurse

PARIS = ZoneInfo("Europe/Paris")
TUESDAY = datetime(2021, 3, 9, 10, 30, tzinfo=PARIS)
SUNDAY = datetime(2021, 3, 7, 10, 30, tzinfo=PARIS)
GUADELOUPE = {"street": "", "postal_code": "97110", "commune": "Pointe-à-Pitre"}


@pytest.fixture
def api(db, client):
    return NurseApi(db, client)


@pytest.fixture
def agent(make_user):
    return make_user(Role.AGENT)


def codes(db, record) -> list[tuple[str, str | None, str]]:
    return [
        (line.code, None if line.coefficient is None else str(line.coefficient), str(line.amount))
        for line in records.lines_of(db, record.id)
    ]


def test_a_weekday_visit_in_the_nurses_own_commune_bills_25_14(db, api, agent):
    nurse = enrol_nurse(db)
    record = visit_at(db, api, agent, nurse, TUESDAY)
    assert record.total == Decimal("25.14")
    assert codes(db, record) == [
        ("AMI", "5.60", "17.64"),
        ("MCI", None, "5.00"),
        ("IFD", None, "2.50"),
    ]
    assert record.patient_share == Decimal("0.00") and record.amo_amount == Decimal("25.14")
    assert (record.prescriber_name, record.prescriber_number) == ("ISOLEMENT COVID", "291991198")
    assert record.exoneration == "EXO DIV 3" and record.third_party
    assert (record.nurse_rpps, record.nurse_am_number) == (nurse.rpps, nurse.am_number)
    assert record.care_date.isoformat() == "2021-03-09" and record.number == 1


def test_the_same_visit_on_a_sunday_bills_33_64(db, api, agent):
    record = visit_at(db, api, agent, enrol_nurse(db), SUNDAY)
    assert record.total == Decimal("33.64")
    assert codes(db, record)[-1] == ("F", None, "8.50")


def test_a_visit_in_guadeloupe_bills_25_98(db, api, agent):
    nurse = enrol_nurse(db, practice=GUADELOUPE)
    moment = datetime(2021, 3, 9, 10, 30, tzinfo=ZoneInfo("America/Guadeloupe"))
    record = visit_at(db, api, agent, nurse, moment, address=GUADELOUPE)
    assert record.zone == "drom" and record.total == Decimal("25.98")
    assert codes(db, record)[0] == ("AMI", "5.60", "18.48")


def test_a_patient_10_km_away_in_plain_adds_5_60_of_ik(db, api, agent):
    nurse = enrol_nurse(db)
    pamiers = {"street": "", "postal_code": "09100", "commune": "Pamiers"}
    record = visit_at(db, api, agent, nurse, TUESDAY, address=pamiers, report={"ik_km": "10"})
    assert record.total == Decimal("25.14") + Decimal("5.60")
    assert codes(db, record)[-1] == ("IK", "16.00", "5.60")
    # Both the platform's estimate (Foix → Pamiers as the crow flies) and her value are kept.
    assert record.ik_declared_km == Decimal("10.0")
    assert Decimal(15) < record.ik_estimate_km < Decimal(20)


def test_without_a_declared_distance_the_estimate_is_billed_in_mountain_rates(db, api, agent):
    nurse = enrol_nurse(db, mountain=True)
    pamiers = {"street": "", "postal_code": "09100", "commune": "Pamiers"}
    record = visit_at(db, api, agent, nurse, TUESDAY, address=pamiers)
    km = 2 * record.ik_estimate_km - 2
    assert codes(db, record)[-1] == (
        "IK",
        f"{km:.2f}",
        str((km * Decimal("0.50")).quantize(Decimal("0.01"))),
    )


def test_household_tests_are_billed_per_person_with_the_count_rules(db, api, agent):
    nurse = enrol_nurse(db, skills=["tag", "pcr"])
    tests = [{"kind": "tag", "count": 3, "positives": 1}, {"kind": "pcr", "count": 1}]
    record = visit_at(
        db, api, agent, nurse, TUESDAY, household_size=5, report={"household_tests": tests}
    )
    lines = records.lines_of(db, record.id)
    tag = next(line for line in lines if line.act == "TAG")
    pcr = next(line for line in lines if line.act == "PCR")
    # 3 antigen tests: AMI 8,3 each (9,6 below 3); one RT-PCR sample: AMI 4,2.
    assert (tag.coefficient, tag.quantity, tag.amount) == (Decimal("8.30"), 3, Decimal("78.45"))
    assert (pcr.coefficient, pcr.quantity, pcr.amount) == (Decimal("4.20"), 1, Decimal("13.23"))
    assert record.total == Decimal("25.14") + Decimal("78.45") + Decimal("13.23")


def test_a_second_bill_for_the_same_visit_is_refused_by_the_database(db, api, agent):
    record = visit_at(db, api, agent, enrol_nurse(db), TUESDAY)
    copy = BillingRecord(
        **record.model_dump(exclude={"id", "number", "issued_at"}), number=record.number + 1
    )
    db.add(copy)
    with pytest.raises(sa.exc.IntegrityError):
        db.flush()
    db.rollback()


def test_an_issued_record_and_its_lines_cannot_be_changed_or_deleted(db, api, agent):
    record = visit_at(db, api, agent, enrol_nurse(db), TUESDAY)
    for statement in (
        sa.update(BillingRecord).where(BillingRecord.id == record.id).values(total=1),
        sa.delete(BillingLine).where(BillingLine.record_id == record.id),
        sa.update(BillingLine).where(BillingLine.record_id == record.id).values(amount=0),
    ):
        with pytest.raises(sa.exc.DatabaseError, match="immutable"):
            db.execute(statement)
        db.rollback()
    assert fresh(db, record).total == Decimal("25.14")


def test_a_correction_credits_the_record_and_replaces_it_with_the_next_numbers(db, api, agent):
    nurse = enrol_nurse(db)
    pamiers = {"street": "", "postal_code": "09100", "commune": "Pamiers"}
    record = visit_at(db, api, agent, nurse, TUESDAY, address=pamiers, report={"ik_km": "10"})
    credit, replacement = records.correct(
        db, record.id, declared_km="12", reason="Détour : route coupée", actor="test", nurse=nurse
    )
    db.commit()
    assert (credit.number, replacement.number) == (2, 3)
    assert credit.cancels_id == record.id and credit.total == -record.total
    assert replacement.replaces_id == record.id
    assert codes(db, replacement)[-1] == ("IK", "20.00", "7.00")
    assert sum(line.amount for line in records.lines_of(db, credit.id)) == -record.total
    assert records.current_record(db, record.request_id).id == replacement.id
    with pytest.raises(Exception, match="déjà annulée"):
        records.correct(db, record.id, declared_km="", reason="encore", actor="t", nurse=nurse)
    db.rollback()
    actions = db.exec(select(AuditEntry.action).where(AuditEntry.target_type == "billing_record"))
    assert {"billing_record.issued", "billing_record.credited"} <= set(actions)


def test_numbers_follow_each_other_per_nurse_without_gaps(db, api, agent):
    foix = enrol_nurse(db)
    numbers = [visit_at(db, api, agent, foix, TUESDAY).number for _ in range(3)]
    assert numbers == [1, 2, 3]
    assert db.get(BillingCounter, foix.id).last_number == 3
    # A record rolled back gives its number back.
    records.next_number(db, foix.id)
    db.rollback()
    assert records.next_number(db, foix.id) == 4
    db.rollback()


def test_the_nurse_sees_her_bill_in_her_visits_and_its_page(db, api, agent, client):
    from tests.conftest import login

    nurse = enrol_nurse(db)
    record = visit_at(db, api, agent, nurse, TUESDAY)
    user_email = db.exec(
        select(AuditEntry.actor_label).where(AuditEntry.action == "billing_record.issued")
    ).first()
    login(client, user_email)
    visits = client.get("/nurse/visits").get_data(as_text=True)
    assert "Facturée" in visits and "25,14" in visits
    page = client.get(f"/nurse/billing/{record.id}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "ISOLEMENT COVID" in text and "EXO DIV 3" in text and "0,00\u00a0€" in text


@pytest.fixture
def reported(db, api, agent):
    nurse = enrol_nurse(db)
    pamiers = {"street": "", "postal_code": "09100", "commune": "Pamiers"}
    return nurse, visit_at(db, api, agent, nurse, SUNDAY, address=pamiers)


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(km=st.one_of(st.none(), st.decimals(0, 120, places=1)))
def test_any_correction_keeps_totals_equal_to_lines_and_the_patient_share_zero(db, reported, km):
    nurse, first = reported
    current = records.current_record(db, first.request_id)
    credit, replacement = records.correct(
        db, current.id, declared_km=km, reason="vérification", actor="test", nurse=nurse
    )
    db.commit()
    for record in (credit, replacement):
        assert record.total == sum(line.amount for line in records.lines_of(db, record.id))
        assert record.patient_share == Decimal("0.00")
    assert credit.total + current.total == 0
    everything = db.exec(select(BillingRecord).where(BillingRecord.nurse_id == nurse.id)).all()
    assert sorted(r.number for r in everything) == list(range(1, len(everything) + 1))
    assert sum(r.total for r in everything) == replacement.total


def test_an_admin_revalues_a_tariff_from_a_date_and_later_visits_use_it(
    db, api, agent, client, logged_in
):
    from tests.conftest import csrf_token

    logged_in(Role.ADMIN)
    page = client.get("/admin/tariffs").get_data(as_text=True)
    assert "IFD" in page and "ameli.fr" in page
    form = {"csrf_token": csrf_token(client, "/admin/tariffs"), "tariff": "IFD|metropole"}
    refused = client.post(
        "/admin/tariffs", data=form | {"value": "2,75", "valid_from": "2019-01-01", "source": "x"}
    )
    assert refused.status_code == 409 and "ne réécrit pas le passé" in refused.get_data(True)
    saved = client.post(
        "/admin/tariffs",
        data=form | {"value": "2,75", "valid_from": "2024-01-01", "source": "Avenant 9"},
    )
    assert saved.status_code == 302
    nurse = enrol_nurse(db)
    before = visit_at(db, api, agent, nurse, TUESDAY)
    after = visit_at(db, api, agent, nurse, datetime(2024, 3, 12, 10, 0, tzinfo=PARIS))
    assert (before.total, after.total) == (Decimal("25.14"), Decimal("25.39"))
    # A revaluation cannot reach back to days already billed: those bills would disagree.
    form["tariff"] = "F|metropole"
    late = client.post(
        "/admin/tariffs", data=form | {"value": "9,00", "valid_from": "2021-03-01", "source": "x"}
    )
    assert late.status_code == 409 and "déjà émises jusqu&#39;au 12/03/2024" in late.get_data(True)
    assert db.exec(select(AuditEntry).where(AuditEntry.action == "tariff.revalued")).one()


def test_nurses_read_only_their_bills_and_cpam_staff_only_their_cpams(
    db, api, agent, client, make_user
):
    from registry.accounts import User

    foix = enrol_nurse(db)
    other = enrol_nurse(db, practice={"street": "", "postal_code": "09100", "commune": "Pamiers"})
    mine = visit_at(db, api, agent, foix, TUESDAY)
    theirs = visit_at(
        db,
        api,
        agent,
        other,
        TUESDAY,
        address={"street": "", "postal_code": "09100", "commune": "Pamiers"},
    )
    nurse = bearer(db, db.get(User, foix.user_id))
    listed = client.get("/api/v1/billing/records", headers=nurse).get_json()
    assert [item["id"] for item in listed["items"]] == [mine.id]
    document = listed["items"][0]
    assert document["total"] == "25.14" and document["patient_share"] == "0.00"
    assert document["exoneration"] == "EXO DIV 3"
    assert document["prescriber"] == {"name": "ISOLEMENT COVID", "number": "291991198"}
    assert client.get(f"/api/v1/billing/records/{theirs.id}", headers=nurse).status_code == 404
    asked = client.get(f"/api/v1/billing/records?nurse={other.rpps}", headers=nurse)
    assert asked.status_code == 403
    staff = bearer(db, make_user(Role.CPAM))
    both = client.get("/api/v1/billing/records?from=2021-03-01&to=2021-03-31", headers=staff)
    assert both.get_json()["total"] == 2
    one = client.get(f"/api/v1/billing/records?nurse={other.rpps}", headers=staff).get_json()
    assert [item["id"] for item in one["items"]] == [theirs.id]
    bad = client.get("/api/v1/billing/records?from=2021-13-01", headers=staff)
    assert bad.status_code == 422 and bad.get_json()["errors"][0]["field"] == "from"
    foreign = bearer(db, make_user(Role.CPAM, cpam_code="075"))
    assert client.get("/api/v1/billing/records", headers=foreign).get_json()["total"] == 0
    assert client.get(f"/api/v1/billing/records/{mine.id}", headers=foreign).status_code == 404


def test_the_csv_exports_one_line_per_act_plain_or_for_french_spreadsheets(
    db, api, agent, client, make_user
):
    visit_at(db, api, agent, enrol_nurse(db), TUESDAY, last_name="=HYPERLINK(1)")
    staff = bearer(db, make_user(Role.CPAM))
    plain = client.get("/api/v1/billing/records.csv", headers=staff).get_data(as_text=True)
    rows = plain.strip().splitlines()
    assert rows[0].startswith("record_id,numero,type") and len(rows) == 4
    assert ",AMI," in rows[1] and ",17.64," in rows[1] and "'=HYPERLINK(1)" in rows[1]
    french = client.get("/api/v1/billing/records.csv?format=fr", headers=staff).get_data()
    text = french.decode("utf-8-sig")
    assert french.startswith("\ufeff".encode()) and ";17,64;" in text and ";09/03/2021;" in text


def test_the_monthly_statement_prints_the_nurses_bills(db, api, agent, client):
    from tests.conftest import login

    nurse = enrol_nurse(db)
    visit_at(db, api, agent, nurse, TUESDAY)
    visit_at(db, api, agent, nurse, SUNDAY)
    login(client, nurse.email)
    page = client.get("/nurse/billing/statement?month=2021-03").get_data(as_text=True)
    assert "Relevé mensuel des VDSI · 03/2021" in page and "58,78\u00a0€" in page
    assert client.get("/nurse/billing/statement?month=mars").status_code == 302


def test_cpam_staff_list_their_bills_and_a_credit_names_the_bill_it_cancels(
    db, api, agent, client, logged_in
):
    from tests.conftest import csrf_token

    nurse = enrol_nurse(db)
    record = visit_at(db, api, agent, nurse, TUESDAY)
    visit_at(db, api, agent, nurse, SUNDAY)  # number 2: its id differs from its number below
    logged_in(Role.CPAM)
    page = client.get("/cpam/billing")
    assert page.status_code == 200
    assert f"({nurse.rpps})" in page.get_data(
        as_text=True
    )  # the nurse filter tells namesakes apart
    token = csrf_token(client, f"/cpam/billing/{record.id}")
    corrected = client.post(
        f"/cpam/billing/{record.id}/correct",
        data={"csrf_token": token, "ik_km": "12,5", "reason": "Erreur de saisie", "confirm": "y"},
    )
    assert corrected.status_code == 302
    db.rollback()
    replacement = db.exec(select(BillingRecord).where(BillingRecord.replaces_id == record.id)).one()
    assert replacement.ik_declared_km == Decimal("12.5")  # the comma is read as a comma
    listed = client.get("/cpam/billing").get_data(as_text=True)
    assert f"annule la facture n° {record.number}" in listed
    detail = client.get(f"/cpam/billing/{replacement.id}").get_data(as_text=True)
    assert (
        f'remplace la <a href="/cpam/billing/{record.id}">facture n° {record.number}</a>' in detail
    )
