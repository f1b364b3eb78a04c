"""An agent's read or cancellation of a request through the API is one database transaction after
the token's: the audit of the read, the history and the answer come from it, instead of a third
transaction (a connection checked out and pinged again) for the history alone."""

import pytest
import sqlalchemy as sa

from registry.accounts import Role
from tests.billing_data import bearer
from tests.visit_data import book


@pytest.fixture
def transactions(app):
    begun = []

    def count(connection):
        begun.append(connection)

    engine = app.extensions["engine"]
    sa.event.listen(engine, "begin", count)
    yield begun
    sa.event.remove(engine, "begin", count)


@pytest.fixture
def agent(make_user):
    return make_user(Role.AGENT)


def test_reading_a_request_takes_one_transaction_after_the_tokens(db, client, agent, transactions):
    header, request = bearer(db, agent), book(db, agent)
    transactions.clear()
    response = client.get(f"/api/v1/visit-requests/{request.id}", headers=header)
    assert response.status_code == 200
    assert [event["to_status"] for event in response.json["history"]] == ["received"]
    assert len(transactions) == 2


def test_cancelling_a_request_answers_its_history_from_the_same_transaction(
    db, client, agent, transactions
):
    header, request = bearer(db, agent), book(db, agent)
    transactions.clear()
    response = client.post(
        f"/api/v1/visit-requests/{request.id}/cancel",
        json={"reason": "Patient hospitalisé"},
        headers=header,
    )
    assert response.status_code == 200
    assert [event["to_status"] for event in response.json["history"]] == [
        "received",
        "cancelled",
    ]
    assert len(transactions) == 2
