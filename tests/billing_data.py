"""Visits taken through the whole flow (booking, planning, offer, acceptance through the nurse's
API, report) at a chosen instant, for the billing tests."""

from datetime import datetime
from zoneinfo import ZoneInfo

import time_machine
from sqlmodel import select

from app.db import begin_write
from billing.models import BillingRecord
from registry import api_tokens
from registry.accounts import User
from registry.visits.models import Offer
from registry.visits.offers import OfferRules
from registry.visits.planning import plan_pass
from tests.request_data import nir
from tests.visit_data import PAMIERS, book, enrol_nurse

PARIS = ZoneInfo("Europe/Paris")
HEADER = "num_am;nir;date_soins;code_acte;coefficient;montant;montant_rembourse"
NO_TESTS = {
    "clinical": {"temperature_c": 37.5, "spo2": 97},
    "isolation_feasible": True,
    "household_tests": [],
}


def bearer(db, user) -> dict[str, str]:
    """The Authorization header of a new API token of `user`."""
    _token, secret = api_tokens.issue_token(db, user, name="SI", actor="test")
    db.commit()
    return {"Authorization": f"Bearer {secret}"}


class NurseApi:
    """Calls the API as a nurse, with a token issued on first use."""

    def __init__(self, db, client):
        self.db, self.client, self.headers = db, client, {}

    def __call__(self, nurse, method: str, path: str, json=None):
        if nurse.id not in self.headers:
            self.headers[nurse.id] = bearer(self.db, self.db.get(User, nurse.user_id))
        return self.client.open(path, method=method, json=json, headers=self.headers[nurse.id])


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


def at(day: int, hour: int = 10) -> datetime:
    return datetime(2021, 3, day, hour, 0, tzinfo=PARIS)


def claim_lines(record: BillingRecord, *, day: str | None = None, ifd="2,50", ik=None) -> list:
    """The lines a nurse bills for a visit: the VDSI, the trip, the IK she claims."""
    when = day or record.care_date.strftime("%d/%m/%Y")
    lines = [
        f"{record.nurse_am_number};{record.patient_nir};{when};AMI;5,6;17,64;17,64",
        f"{record.nurse_am_number};{record.patient_nir};{when};MCI;;5,00;5,00",
        f"{record.nurse_am_number};{record.patient_nir};{when};IFD;;{ifd};{ifd}",
    ]
    if ik is not None:
        km, amount = ik
        lines.append(f"{record.nurse_am_number};{record.patient_nir};{when};IK;{km};{amount};0")
    return lines


def claims_scenario(db, client, agent) -> tuple[bytes, dict]:
    """Visits of March 2021 and an extract with one claim of each class: the file, and the
    record each class should point at."""
    api = NurseApi(db, client)
    nurse = enrol_nurse(db)
    matched = visit_at(db, api, agent, nurse, at(9))
    mismatch = visit_at(db, api, agent, nurse, at(9, 11))
    not_billed = visit_at(db, api, agent, nurse, at(9, 12))
    before = visit_at(db, api, agent, nurse, at(11))
    far = visit_at(db, api, agent, nurse, at(10), address=PAMIERS, report={"ik_km": "30"})
    stranger = nir()
    rows = [
        HEADER,
        *claim_lines(matched),
        *claim_lines(mismatch, ifd="2,75"),
        f"{nurse.am_number};{stranger};09/03/2021;AMI;5,6;17,64;17,64",
        f"{nurse.am_number};{stranger};09/03/2021;MCI;;5,00;5,00",
        *claim_lines(matched, day="10/03/2021"),
        *claim_lines(before, day="08/03/2021"),
        *claim_lines(far, ik=("56", "19,60")),
    ]
    content = ("\n".join(rows) + "\n").encode()
    expected = {
        "matched": matched.id,
        "amount_mismatch": mismatch.id,
        "claim_without_request": None,
        "visit_not_billed": not_billed.id,
        "duplicate_claim": matched.id,
        "claim_before_visit": before.id,
        "ik_above_estimate": far.id,
    }
    return content, expected
