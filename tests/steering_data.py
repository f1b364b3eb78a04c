"""A small steering data set: two CPAMs booking in Ariège over two weeks of March 2021, taken
through the real booking, planning, offer and report flow, and one cancellation."""

from datetime import datetime
from zoneinfo import ZoneInfo

import time_machine

from app.db import begin_write
from registry.accounts import Role
from registry.requests.services import cancel_request
from tests.billing_data import NurseApi, visit_at
from tests.visit_data import book, enrol_nurse

PARIS = ZoneInfo("Europe/Paris")


def steering_scenario(db, client, make_user) -> dict:
    """Two CPAMs booking in Ariège: three visits for CPAM 091 over two weeks (one of them
    Sunday), one for CPAM 311, and a request of 091 cancelled with a formula for reason."""
    agent_091 = make_user(Role.AGENT, cpam_code="091")
    agent_311 = make_user(Role.AGENT, cpam_code="311")
    api = NurseApi(db, client)
    nurse = enrol_nurse(db)
    visit_at(db, api, agent_091, nurse, datetime(2021, 3, 2, 10, tzinfo=PARIS))
    visit_at(db, api, agent_091, nurse, datetime(2021, 3, 7, 11, tzinfo=PARIS))
    visit_at(db, api, agent_091, nurse, datetime(2021, 3, 9, 9, tzinfo=PARIS))
    visit_at(db, api, agent_311, nurse, datetime(2021, 3, 10, 15, tzinfo=PARIS))
    with time_machine.travel(datetime(2021, 3, 11, 9, tzinfo=PARIS), tick=False):
        request = book(db, agent_091, household_tests=[])
        begin_write(db)
        cancel_request(db, request, '=HYPERLINK("http://x")', actor=agent_091)
        db.commit()
    return {"nurse": nurse}
