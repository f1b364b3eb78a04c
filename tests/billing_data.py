"""Visits taken through the whole flow (booking, planning, offer, acceptance through the nurse's
API, report) at a chosen instant, for the billing tests."""

from datetime import datetime

import time_machine
from sqlmodel import select

from app.db import begin_write
from billing.models import BillingRecord
from registry import api_tokens
from registry.accounts import User
from registry.visits.models import Offer
from registry.visits.offers import OfferRules
from registry.visits.planning import plan_pass
from tests.visit_data import book

NO_TESTS = {
    "clinical": {"temperature_c": 37.5, "spo2": 97},
    "isolation_feasible": True,
    "household_tests": [],
}


class NurseApi:
    """Calls the API as a nurse, with a token issued on first use."""

    def __init__(self, db, client):
        self.db, self.client, self.tokens = db, client, {}

    def __call__(self, nurse, method: str, path: str, json=None):
        if nurse.id not in self.tokens:
            user = self.db.get(User, nurse.user_id)
            _token, secret = api_tokens.issue_token(self.db, user, name="tel", actor="test")
            self.db.commit()
            self.tokens[nurse.id] = secret
        headers = {"Authorization": f"Bearer {self.tokens[nurse.id]}"}
        return self.client.open(path, method=method, json=json, headers=headers)


def visit_at(
    db, api: NurseApi, agent, nurse, moment: datetime, *, report=None, **booking
) -> BillingRecord:
    """Books a request at `moment`, lets the planner offer it to `nurse`, accepts it and files
    the report at the same instant; returns the bill the report issued."""
    with time_machine.travel(moment, tick=False):
        request = book(db, agent, household_tests=[], **booking)
        begin_write(db)
        plan_pass(db, rules=OfferRules(plan_time_limit=1.0))
        db.commit()
        offer = db.exec(select(Offer).where(Offer.request_id == request.id)).one()
        assert offer.nurse_id == nurse.id, "the planner offered the visit to another nurse"
        accepted = api(nurse, "POST", f"/api/v1/offers/{offer.id}/accept")
        assert accepted.status_code == 200, accepted.get_json()
        body = {**NO_TESTS, **(report or {}), "visited_at": moment.isoformat()}
        filed = api(nurse, "POST", f"/api/v1/visits/{request.id}/report", body)
        assert filed.status_code == 201, filed.get_json()
    db.rollback()
    return db.exec(select(BillingRecord).where(BillingRecord.request_id == request.id)).one()
