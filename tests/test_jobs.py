"""The recurring jobs and what keeps them single: the lease that lets one process of many run
the scheduler, due-time escalation, the J+4 reminder, the retention purge, and the coordinator's
follow-up page where their results land."""

import html
import threading
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import select

from app.db import begin_write
from app.jobs import leases, tasks
from registry.accounts import Role
from registry.audit import AuditEntry
from registry.notifications.models import Notification
from registry.requests.models import VisitRequest
from registry.timeutil import utcnow
from registry.visits import offers, reports
from registry.visits.models import Offer, VisitReport
from registry.visits.upkeep import pseudonym
from tests.conftest import csrf_token, fresh
from tests.test_agent_pages import post_booking
from tests.visit_data import REPORT, book, enrol_nurse

CONTENDERS = 16


@pytest.fixture
def agent(make_user):
    return make_user(Role.AGENT)


@pytest.fixture
def coordinator(make_user):
    return make_user(Role.COORDINATOR)


def shift(db, request: VisitRequest, **values) -> VisitRequest:
    """Moves a request's dates as if it had been booked earlier."""
    request = fresh(db, request)
    begin_write(db)
    for name, value in values.items():
        setattr(request, name, value)
    db.add(request)
    db.commit()
    return request


def accepted_visit(app, db, agent):
    nurse = enrol_nurse(db)
    request = book(db, agent)
    with app.app_context():
        tasks.planning()
    offer = db.exec(select(Offer).where(Offer.request_id == request.id)).one()
    begin_write(db)
    offers.accept_offer(db, offer.id, nurse, actor="test")
    db.commit()
    return nurse, fresh(db, request)


def test_of_many_processes_asking_at_once_exactly_one_gets_the_lease(app):
    engine: sa.Engine = app.extensions["engine"]
    barrier = threading.Barrier(CONTENDERS)
    winners: list[str] = []
    errors: list[BaseException] = []

    def contend(holder: str):
        barrier.wait()
        try:
            if leases.acquire(engine, "scheduler", holder, timedelta(seconds=45)):
                winners.append(holder)
        except BaseException as error:  # a deadlock or a lock timeout would be a failure too
            errors.append(error)

    threads = [threading.Thread(target=contend, args=(f"host{i}",)) for i in range(CONTENDERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == [] and len(winners) == 1
    winner = winners[0]
    # The holder renews; the others keep being refused until it lapses or is released.
    assert leases.acquire(engine, "scheduler", winner, timedelta(seconds=45))
    assert not leases.acquire(engine, "scheduler", "latecomer", timedelta(seconds=45))
    later = utcnow() + timedelta(seconds=46)
    assert leases.acquire(engine, "scheduler", "latecomer", timedelta(seconds=45), now=later)
    assert not leases.acquire(engine, "scheduler", winner, timedelta(seconds=45), now=later)
    leases.release(engine, "scheduler", "latecomer")
    assert leases.acquire(engine, "scheduler", winner, timedelta(seconds=45))


def test_a_planning_pass_does_not_run_while_another_holds_the_planning_lease(app, db, agent):
    enrol_nurse(db)
    request = book(db, agent)
    engine = app.extensions["engine"]
    assert leases.acquire(engine, "planning", "elsewhere", timedelta(minutes=2))
    with app.app_context():
        assert tasks.planning() is None
    assert fresh(db, request).status == "received"
    leases.release(engine, "planning", "elsewhere")
    with app.app_context():
        assert len(tasks.planning().offered) == 1


def test_a_request_unaccepted_close_to_its_due_time_is_escalated_once(app, db, agent, coordinator):
    request = book(db, agent)  # no nurse enrolled: nobody will take it
    with app.app_context():
        assert tasks.escalation() == 0  # due in 24 h: not yet
    request = shift(db, request, due_at=utcnow() + timedelta(hours=5))
    with app.app_context():
        assert tasks.escalation() == 1
        assert tasks.escalation() == 0  # run again (a restart, a second pass): no new alert
    assert fresh(db, request).escalated_at is not None
    sent = db.exec(select(Notification).order_by(Notification.id)).all()
    assert sorted(m.address for m in sent) == sorted([agent.email, coordinator.email])
    for message in sent:
        assert request.last_name not in message.subject + message.body
        assert request.nir not in message.body
    to_agent = next(m for m in sent if m.address == agent.email)
    to_coordinator = next(m for m in sent if m.address == coordinator.email)
    assert f"/agent/requests/{request.id}" in to_agent.body
    assert "/coordinator/visits?list=waiting&department=09" in to_coordinator.body
    entry = db.exec(select(AuditEntry).where(AuditEntry.action == "visit_request.escalated")).one()
    assert entry.target_id == str(request.id)


def test_a_visit_unreported_at_j4_reminds_its_nurse_once_and_shows_to_coordinators(
    app, db, agent, client, logged_in
):
    nurse, request = accepted_visit(app, db, agent)
    with app.app_context():
        assert tasks.follow_up() == 0
    request = shift(db, request, follow_up_at=utcnow() - timedelta(minutes=1))
    with app.app_context():
        assert tasks.follow_up() == 1
        assert tasks.follow_up() == 0
    reminders = db.exec(
        select(Notification).where(Notification.dedupe_key.startswith("follow-up:"))
    ).all()
    assert [m.address for m in reminders] == [nurse.email]
    assert f"/nurse/visits/{request.id}" in reminders[0].body
    assert request.last_name not in reminders[0].body
    logged_in(Role.COORDINATOR)
    page = client.get("/coordinator/visits?list=unreported").get_data(as_text=True)
    assert nurse.full_name in page and f"tel:{nurse.phone}" in page
    assert request.last_name not in page and request.nir not in page
    assert "1</strong> visite non rapportée à J+4" in client.get("/coordinator/").get_data(
        as_text=True
    )
    # Filed, it leaves the list.
    begin_write(db)
    reports.file_report(
        db, request.id, nurse, {**REPORT, "visited_at": utcnow().isoformat()}, actor="t"
    )
    db.commit()
    page = client.get("/coordinator/visits?list=unreported").get_data(as_text=True)
    assert "Toutes les visites sont rapportées." in page


def test_the_purge_replaces_an_old_closed_requests_identity_and_keeps_the_visit_facts(
    app, db, agent
):
    nurse, visited = accepted_visit(app, db, agent)
    begin_write(db)
    reports.file_report(
        db, visited.id, nurse, {**REPORT, "visited_at": utcnow().isoformat()}, actor="t"
    )
    db.commit()
    still_open = book(db, agent, nir="269054958815780")
    original_nir = visited.nir
    with app.app_context():
        assert tasks.purge() == 0  # closed today: kept
    old = utcnow() - timedelta(days=91)
    shift(db, visited, status_changed_at=old)
    shift(db, still_open, status_changed_at=old)
    with app.app_context():
        secret = app.config["SETTINGS"].secret_key
        assert tasks.purge() == 1
        assert tasks.purge() == 0
    visited = fresh(db, visited)
    assert visited.nir == pseudonym(original_nir, secret) != original_nir
    assert (visited.first_name, visited.last_name, visited.phone, visited.address_street) == (
        "",
        "",
        "",
        "",
    )
    assert visited.birth_date.month == 1 and visited.birth_date.day == 1
    # What billing and the indicators need stays.
    assert (visited.status, visited.nurse_id, visited.insee) == ("billed", nurse.id, "09122")
    assert visited.consent_at and visited.pseudonymised_at
    assert db.exec(select(VisitReport).where(VisitReport.request_id == visited.id)).one()
    still_open = fresh(db, still_open)
    assert still_open.last_name == "Dupont" and still_open.pseudonymised_at is None
    entry = db.exec(
        select(AuditEntry).where(AuditEntry.action == "visit_request.pseudonymised")
    ).one()
    assert entry.details["ids"] == [visited.id]


def test_the_coordinator_sees_requests_no_nurse_took_in_time_and_can_replan_now(
    app, db, agent, client, logged_in
):
    request = book(db, agent)
    with app.app_context():
        tasks.planning()  # nobody enrolled
    request = fresh(db, request)
    assert request.status == "unassigned"
    logged_in(Role.COORDINATOR)
    page = html.unescape(client.get("/coordinator/visits").get_data(as_text=True))
    assert "09000 Foix" in page and request.unassigned_reason in page
    assert request.last_name not in page and request.phone not in page
    assert "Foix" not in client.get("/coordinator/visits?department=75").get_data(as_text=True)
    nurse = enrol_nurse(db)
    token = csrf_token(client, "/coordinator/visits")
    response = client.post("/coordinator/visits/plan", data={"csrf_token": token})
    assert response.status_code == 302
    assert "1 proposition(s) envoyée(s)" in client.get("/coordinator/visits").get_data(as_text=True)
    offer = db.exec(select(Offer).where(Offer.request_id == request.id)).one()
    assert offer.nurse_id == nurse.id
    assert db.exec(select(AuditEntry).where(AuditEntry.action == "planning.requested")).one()


@pytest.fixture
def plans_on_change(settings_overrides):
    settings_overrides["plan_on_change"] = True


def test_a_request_booked_on_the_agents_page_is_offered_at_once(
    plans_on_change, app, db, client, logged_in
):
    nurse = enrol_nurse(db)
    logged_in(Role.AGENT)
    assert post_booking(client).status_code == 302
    deadline = time.monotonic() + 20
    offer = None
    while offer is None and time.monotonic() < deadline:
        db.rollback()
        offer = db.exec(select(Offer)).first()
        time.sleep(0.1)
    assert offer is not None, "no planning pass after the booking"
    assert offer.nurse_id == nurse.id


@pytest.fixture
def passes_apart(settings_overrides):
    settings_overrides["plan_change_seconds"] = 1.5


def test_a_burst_of_changes_is_planned_by_passes_spaced_apart(passes_apart, app, db, agent):
    """Ten triggers in a row: the first plans at once, the nine others are merged into one
    more pass, which starts only once the interval has passed since the first."""
    from app.jobs.scheduler import PlanningTrigger

    nurse = enrol_nurse(db)
    book(db, agent)
    trigger = PlanningTrigger(app)
    started = time.monotonic()
    trigger.request()
    deadline = time.monotonic() + 20
    while trigger.passes < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    for _ in range(9):
        trigger.request()
    trigger.executor.shutdown(wait=True)
    assert trigger.passes == 2
    assert trigger.last_start - started >= 1.5
    db.rollback()
    assert db.exec(select(Offer)).one().nurse_id == nurse.id


@pytest.fixture
def passes_soon_apart(settings_overrides):
    settings_overrides["plan_change_seconds"] = 0.2


def test_a_change_planned_while_another_process_plans_is_tried_again(
    passes_soon_apart, app, db, agent
):
    """That other pass may have read the requests before the change was committed: the pass
    finding the lease held tries again until it plans, rather than leave it to the scheduler."""
    from app.jobs.scheduler import PlanningTrigger

    nurse = enrol_nurse(db)
    book(db, agent)
    engine = app.extensions["engine"]
    assert leases.acquire(engine, "planning", "another-worker", timedelta(minutes=5))
    trigger = PlanningTrigger(app)
    trigger.request()
    deadline = time.monotonic() + 20
    while trigger.passes < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    db.rollback()
    assert trigger.passes >= 3 and db.exec(select(Offer)).first() is None
    leases.release(engine, "planning", "another-worker")
    while db.exec(select(Offer)).first() is None and time.monotonic() < deadline:
        time.sleep(0.05)
        db.rollback()
    trigger.executor.shutdown(wait=True)
    assert db.exec(select(Offer)).one().nurse_id == nurse.id
    assert trigger.busy_tries == 0
