"""The current invoices (those no credit cancels) are read on every nurse's list of visits: the
query is built on one alias of the credits, and still stands by the replacement after a
correction, for several requests at once."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.sql import visitors

from billing import records
from registry.accounts import Role
from tests.billing_data import NurseApi, visit_at
from tests.visit_data import enrol_nurse

TUESDAY = datetime(2021, 3, 9, 10, 30, tzinfo=ZoneInfo("Europe/Paris"))


def aliases(query) -> set[int]:
    return {id(element) for element in visitors.iterate(query) if isinstance(element, sa.Alias)}


def test_every_current_invoices_query_shares_one_alias_of_the_credits():
    # An ORM alias built per call cost more than the query itself (a sixth of the nurse's
    # list of visits under load, benchmarks/load.py).
    first, second = records.current_invoices(), records.current_invoices()
    assert aliases(first) and aliases(first) == aliases(second)


@pytest.fixture
def api(db, client):
    return NurseApi(db, client)


def test_the_list_of_visits_shows_the_replacement_of_a_corrected_bill(db, api, make_user):
    agent = make_user(Role.AGENT)
    nurse = enrol_nurse(db)
    corrected = visit_at(db, api, agent, nurse, TUESDAY, report={"ik_km": "10"})
    kept = visit_at(db, api, agent, nurse, TUESDAY)
    _credit, replacement = records.correct(
        db, corrected.id, declared_km="12", reason="Détour", actor="test", nurse=nurse
    )
    db.commit()
    shown = records.status_by_request(db, [corrected.request_id, kept.request_id])
    assert {request: bill.id for request, bill in shown.items()} == {
        corrected.request_id: replacement.id,
        kept.request_id: kept.id,
    }
