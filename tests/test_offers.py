"""Offers: the planning pass proposes each waiting request to one nurse; she accepts, declines,
lets it expire or hands it back, and exactly one nurse ever holds a request."""

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app.db import begin_write
from app.jobs import tasks
from registry.accounts import Role
from registry.audit import AuditEntry
from registry.errors import Conflict, NotFound, ValidationFailed
from registry.notifications.models import Notification
from registry.requests.models import RequestEvent
from registry.timeutil import utcnow
from registry.visits import late_yes, offers
from registry.visits.models import Offer, OfferStatus
from registry.visits.offers import OfferRules
from registry.visits.planning import plan_pass
from tests.conftest import fresh
from tests.request_data import nir
from tests.visit_data import PAMIERS, book, enrol_nurse

RULES = OfferRules(plan_time_limit=1.0)


@pytest.fixture
def agent(make_user):
    return make_user(Role.AGENT)


def plan(db):
    begin_write(db)
    summary = plan_pass(db, rules=RULES)
    db.commit()
    return summary


def live_offer(db, request) -> Offer:
    return db.exec(
        select(Offer).where(Offer.request_id == request.id, Offer.status == OfferStatus.LIVE)
    ).one()


def test_a_waiting_request_is_offered_to_the_closest_able_nurse(db, agent):
    near = enrol_nurse(db)
    enrol_nurse(db, practice=PAMIERS)
    request = book(db, agent)
    summary = plan(db)
    assert [o.nurse_id for o in summary.offered] == [near.id]
    assert fresh(db, request).status == "offered"
    offer = live_offer(db, request)
    assert offer.expires_at - offer.created_at == timedelta(minutes=30)
    assert offer.planned_start <= request.due_at


def test_the_usual_nurse_gets_two_hours_to_answer(db, agent):
    enrol_nurse(db)
    usual = enrol_nurse(db, practice=PAMIERS)
    request = book(db, agent, usual_nurse_rpps=usual.rpps)
    plan(db)
    offer = live_offer(db, request)
    assert offer.nurse_id == usual.id and offer.usual_nurse
    assert offer.expires_at - offer.created_at == timedelta(hours=2)


def test_accepting_makes_her_the_holder_and_a_second_answer_is_refused(db, agent):
    nurse = enrol_nurse(db)
    request = book(db, agent)
    plan(db)
    offer = live_offer(db, request)
    begin_write(db)
    offers.accept_offer(db, offer.id, nurse, actor="test")
    db.commit()
    request = fresh(db, request)
    assert (request.status, request.nurse_id) == ("accepted", nurse.id)
    assert request.appointment_at is not None
    begin_write(db)
    with pytest.raises(Conflict):
        offers.accept_offer(db, offer.id, nurse, actor="test")
    with pytest.raises(Conflict):
        offers.decline_offer(db, offer.id, nurse, "other", actor="test")


def test_another_nurse_cannot_see_or_answer_an_offer_that_is_not_hers(db, agent):
    enrol_nurse(db)
    stranger = enrol_nurse(db, practice=PAMIERS)
    request = book(db, agent)
    plan(db)
    with pytest.raises(NotFound):
        offers.accept_offer(db, live_offer(db, request).id, stranger, actor="test")
    with pytest.raises(NotFound):
        offers.held_visit(db, request.id, stranger)


def test_a_declined_request_goes_at_once_to_another_nurse_never_back_to_her(db, agent):
    near = enrol_nurse(db)
    other = enrol_nurse(db, practice=PAMIERS)
    request = book(db, agent)
    plan(db)
    begin_write(db)
    offers.decline_offer(db, live_offer(db, request).id, near, "too_far", actor="test")
    db.commit()
    assert fresh(db, request).status == "received"
    plan(db)
    assert live_offer(db, request).nurse_id == other.id
    begin_write(db)
    offers.decline_offer(db, live_offer(db, request).id, other, "unavailable", actor="test")
    db.commit()
    summary = plan(db)
    request = fresh(db, request)
    assert request.status == "unassigned" and summary.flagged == [request]
    assert "Aucune infirmière" in request.unassigned_reason or request.unassigned_reason


def test_a_decline_needs_a_known_reason(db, agent):
    nurse = enrol_nurse(db)
    request = book(db, agent)
    plan(db)
    with pytest.raises(ValidationFailed):
        offers.decline_offer(db, live_offer(db, request).id, nurse, "bored", actor="test")
    assert fresh(db, request).status == "offered"


def test_an_expired_offer_is_closed_and_the_request_offered_to_someone_else(db, agent):
    enrol_nurse(db)
    other = enrol_nurse(db, practice=PAMIERS)
    request = book(db, agent)
    plan(db)
    offer = live_offer(db, request)
    later = offer.expires_at + timedelta(seconds=1)
    begin_write(db)
    summary = plan_pass(db, rules=RULES, now=later)
    db.commit()
    assert summary.expired == 1
    assert fresh(db, offer).status == "expired"
    assert live_offer(db, request).nurse_id == other.id


def passed_on(db, agent, *, minutes: int):
    """A request offered to the Foix nurse, whose offer expired `minutes` ago: the pass then
    offered it to the Pamiers nurse. (near, other, request, her offer, that instant)"""
    near = enrol_nurse(db)
    other = enrol_nurse(db, practice=PAMIERS)
    request = book(db, agent)
    plan(db)
    offer = live_offer(db, request)
    later = offer.expires_at + timedelta(minutes=minutes)
    begin_write(db)
    plan_pass(db, rules=RULES, now=later)
    db.commit()
    return near, other, request, offer, later


def test_a_late_yes_takes_the_visit_from_the_offer_live_with_another_nurse(db, agent):
    """The first yes wins among the nurses the planner asked: hers came after her offer
    expired, but before the next nurse answered; his offer is withdrawn."""
    near, other, request, offer, later = passed_on(db, agent, minutes=10)
    his = live_offer(db, request)
    assert late_yes.late_offers(db, near, later) == [(offer, request)]
    begin_write(db)
    taken = offers.accept_offer(db, offer.id, near, actor="test", now=later)
    db.commit()
    assert (taken.status, taken.nurse_id) == ("accepted", near.id)
    assert fresh(db, offer).status == "accepted" and fresh(db, his).status == "withdrawn"
    assert late_yes.late_offers(db, near, later) == []
    assert late_yes.withdrawn_by_late_yes(db, request.id) == [other.id]
    withdrawn = db.exec(select(AuditEntry).where(AuditEntry.action == "offer.withdrawn")).one()
    assert (withdrawn.target_id, withdrawn.details["taken_by_offer"]) == (str(his.id), offer.id)
    assert fresh(db, request).unassigned_code is None
    begin_write(db)
    with pytest.raises(Conflict, match="n'attend plus de réponse"):
        offers.accept_offer(db, his.id, other, actor="test", now=later)
    db.rollback()
    assert fresh(db, request).nurse_id == near.id


def test_a_late_yes_takes_a_visit_waiting_for_the_planner_or_unassigned(db, agent):
    near = enrol_nurse(db)
    request = book(db, agent)
    plan(db)
    offer = live_offer(db, request)
    later = offer.expires_at + timedelta(minutes=1)
    begin_write(db)
    plan_pass(db, rules=RULES, now=later)  # no one else to ask: unassigned
    db.commit()
    assert fresh(db, request).status == "unassigned"
    too_late = request.due_at + timedelta(minutes=1)
    assert late_yes.late_offers(db, near, too_late) == []
    begin_write(db)
    with pytest.raises(Conflict):
        offers.accept_offer(db, offer.id, near, actor="test", now=too_late)
    db.rollback()
    begin_write(db)
    offers.accept_offer(db, offer.id, near, actor="test", now=later)
    db.commit()
    assert (fresh(db, request).status, request.nurse_id) == ("accepted", near.id)


def test_a_late_yes_before_any_pass_closed_the_offer_is_taken(db, agent):
    near = enrol_nurse(db)
    request = book(db, agent)
    plan(db)
    offer = live_offer(db, request)
    begin_write(db)
    offers.accept_offer(db, offer.id, near, actor="test", now=offer.expires_at)
    db.commit()
    assert fresh(db, offer).status == "accepted"
    appointment = max(offer.planned_start, offer.expires_at)
    assert (fresh(db, request).status, request.appointment_at) == ("accepted", appointment)


def test_a_late_yes_is_refused_once_another_nurse_holds_the_visit_or_it_is_due(db, agent):
    near, other, request, offer, later = passed_on(db, agent, minutes=1)
    begin_write(db)
    offers.accept_offer(db, live_offer(db, request).id, other, actor="test", now=later)
    db.commit()
    begin_write(db)
    with pytest.raises(Conflict, match="prise par une autre infirmière"):
        offers.accept_offer(db, offer.id, near, actor="test", now=later)
    db.rollback()
    assert fresh(db, offer).status == "expired" and fresh(db, request).nurse_id == other.id
    assert late_yes.late_offers(db, near, later) == []


def test_handing_back_before_the_appointment_replans_without_her(db, agent):
    near = enrol_nurse(db)
    other = enrol_nurse(db, practice=PAMIERS)
    request = book(db, agent)
    plan(db)
    begin_write(db)
    later = utcnow() + timedelta(hours=3)
    offers.accept_offer(db, live_offer(db, request).id, near, actor="test", appointment_at=later)
    db.commit()
    begin_write(db)
    with pytest.raises(ValidationFailed):
        offers.hand_back(db, request.id, near, "  ", actor="test")
    offers.hand_back(db, request.id, near, "Enfant malade", actor="test")
    db.commit()
    request = fresh(db, request)
    assert (request.status, request.nurse_id) == ("received", None)
    plan(db)
    assert live_offer(db, request).nurse_id == other.id


def test_an_appointment_after_the_due_time_is_refused(db, agent):
    nurse = enrol_nurse(db)
    request = book(db, agent)
    plan(db)
    begin_write(db)
    with pytest.raises(ValidationFailed):
        offers.accept_offer(
            db,
            live_offer(db, request).id,
            nurse,
            actor="test",
            appointment_at=request.due_at + timedelta(minutes=1),
        )
    db.rollback()
    assert fresh(db, request).status == "offered"


def test_the_offer_notification_names_a_commune_and_a_time_never_the_patient(app, db, agent):
    enrol_nurse(db)
    request = book(db, agent)
    with app.app_context():
        summary = tasks.planning()
    assert len(summary.offered) == 1
    message = db.exec(select(Notification)).one()
    assert message.subject.startswith("Nouvelle visite proposée à Foix, à faire avant ")
    text = message.subject + message.body
    for secret in (request.first_name, request.last_name, request.phone, request.nir):
        assert secret not in text


def test_the_database_refuses_a_second_holding_offer_for_a_request(db, agent):
    nurse = enrol_nurse(db)
    request = book(db, agent)
    plan(db)
    offer = live_offer(db, request)
    twin = Offer(
        request_id=request.id,
        nurse_id=nurse.id,
        planned_start=offer.planned_start,
        planned_end=offer.planned_end,
        distance_km=1.0,
        expires_at=offer.expires_at,
    )
    db.add(twin)
    with pytest.raises(IntegrityError):
        db.commit()


def test_every_step_is_in_the_request_history(db, agent):
    nurse = enrol_nurse(db)
    request = book(db, agent)
    plan(db)
    begin_write(db)
    offers.accept_offer(db, live_offer(db, request).id, nurse, actor="test")
    db.commit()
    steps = db.exec(
        select(RequestEvent.to_status).where(RequestEvent.request_id == request.id)
    ).all()
    assert steps == ["received", "offered", "accepted"]


def test_cancelling_a_request_withdraws_its_offer(db, agent):
    from registry.requests.services import cancel_request

    enrol_nurse(db)
    request = book(db, agent)
    plan(db)
    offer = live_offer(db, request)
    cancel_request(db, fresh(db, request), "Patient hospitalisé", actor=agent)
    db.commit()
    assert fresh(db, offer).status == "withdrawn"


RACERS = 12


def test_many_concurrent_accepts_and_the_expiry_leave_exactly_one_holder(app, db, agent):
    """Twelve taps on "accept" at once (two phones, a double tap, the API) race the expiry job
    at the very instant the offer expires: one accept wins at most, and the request has one
    holder or none, on each database."""
    nurse = enrol_nurse(db)
    request = book(db, agent)
    plan(db)
    offer = live_offer(db, request)
    engine: sa.Engine = app.extensions["engine"]
    barrier = threading.Barrier(RACERS + 1)
    outcomes: list[str] = []
    edge = offer.expires_at - timedelta(milliseconds=1)

    def accept():
        with Session(engine, expire_on_commit=False) as session:
            barrier.wait()
            try:
                begin_write(session)
                offers.accept_offer(session, offer.id, nurse, actor="test", now=edge)
                session.commit()
                outcomes.append("accepted")
            except Conflict:
                session.rollback()
                outcomes.append("conflict")

    def expire():
        with Session(engine, expire_on_commit=False) as session:
            barrier.wait()
            begin_write(session)
            count = offers.expire_offers(session, now=offer.expires_at)
            session.commit()
            outcomes.append(f"expired:{count}")

    threads = [threading.Thread(target=accept) for _ in range(RACERS)]
    threads.append(threading.Thread(target=expire))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    accepted = outcomes.count("accepted")
    expired = outcomes.count("expired:1")
    # The expiry may win the instant and an accept still follow it: a late yes, taken while
    # nobody holds the visit. Never two holders.
    assert accepted <= 1 and accepted + expired >= 1, outcomes
    assert outcomes.count("conflict") == RACERS - accepted
    request = fresh(db, request)
    holders = db.exec(
        select(Offer).where(Offer.request_id == request.id, Offer.status == "accepted")
    ).all()
    if accepted:
        assert (request.status, request.nurse_id, len(holders)) == ("accepted", nurse.id, 1)
    else:
        assert (request.status, request.nurse_id, holders) == ("received", None, [])


def test_a_suspended_nurse_accepts_no_visit_late_or_not(db, agent):
    near = enrol_nurse(db)
    request = book(db, agent)
    plan(db)
    offer = live_offer(db, request)
    near.status = "suspended"
    db.add(near)
    db.commit()
    for moment in (offer.created_at, offer.expires_at + timedelta(minutes=1)):
        begin_write(db)
        with pytest.raises(Conflict, match="pas active"):
            offers.accept_offer(db, offer.id, near, actor="test", now=moment)
        db.rollback()
    assert fresh(db, request).nurse_id is None


def _second_visit_accepted(db, agent, near, *, same_slot=False):
    """Her first offer expires; the second request, planned to her since, she accepts."""
    first = book(db, agent)
    plan(db)
    hers = live_offer(db, first)
    later = hers.expires_at + timedelta(minutes=1)
    begin_write(db)
    plan_pass(db, rules=RULES, now=later)  # hers expires; no one else: unassigned
    db.commit()
    second = book(db, agent, nir=nir(900), last_name="Second")
    begin_write(db)
    plan_pass(db, rules=RULES, now=later)
    db.commit()
    appointment = max(hers.planned_start, later) if same_slot else None
    begin_write(db)
    offers.accept_offer(
        db, live_offer(db, second).id, near, actor="test", now=later, appointment_at=appointment
    )
    db.commit()
    return first, hers, later


def test_a_late_yes_must_fit_under_her_daily_maximum(db, agent):
    near = enrol_nurse(db, max_visits_per_day=1)
    first, hers, later = _second_visit_accepted(db, agent, near)
    begin_write(db)
    with pytest.raises(Conflict, match="maximum déclaré"):
        offers.accept_offer(db, hers.id, near, actor="test", now=later)
    db.rollback()
    assert (fresh(db, first).status, fresh(db, hers).status) == ("unassigned", "expired")


def test_a_late_yes_must_not_overlap_a_visit_she_accepted_since(db, agent):
    near = enrol_nurse(db)
    _first, hers, later = _second_visit_accepted(db, agent, near, same_slot=True)
    begin_write(db)
    with pytest.raises(Conflict, match="chevauche"):
        offers.accept_offer(db, hers.id, near, actor="test", now=later)
    db.rollback()
    assert fresh(db, hers).status == "expired"
