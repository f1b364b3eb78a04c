"""Races through the live API, with real concurrent HTTP clients and database connections: many
taps on one offer, many replays of one booking, several imports of one claims file at once.

On PostgreSQL the race is made certain, not hoped for: the test locks the audit table, where
each of these changes writes last, so the first request is held with its change made and not
committed while the test sees every other one waiting on it in the database; then it lets go.
On SQLite writers take their turn (BEGIN IMMEDIATE): the same requests at once, in sequence."""

import json
import threading
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session, func, select

from app.db import begin_write
from billing.models import ClaimImport, ReconciliationItem
from registry.accounts import Role, User
from registry.audit import AuditEntry
from registry.errors import Conflict
from registry.nurses.models import Nurse
from registry.requests.models import RequestEvent, VisitRequest
from registry.visits import offers
from registry.visits.models import Offer
from registry.visits.offers import OfferRules
from registry.visits.planning import plan_pass
from tests.billing_data import bearer, claims_scenario
from tests.browser import live_server
from tests.request_data import request_document
from tests.test_faults import wait_until
from tests.visit_data import PAMIERS, book, enrol_nurse

RACERS = 20
RULES = OfferRules(plan_time_limit=1.0)


def planned(db, now=None) -> None:
    """One planning pass, committed."""
    begin_write(db)
    plan_pass(db, rules=RULES, now=now)
    db.commit()


def offered_to(db, agent, nurse):
    """A request booked and planned: its one offer, made to `nurse`."""
    request = book(db, agent)
    planned(db)
    offer = db.exec(select(Offer).where(Offer.request_id == request.id)).one()
    assert offer.nurse_id == nurse.id
    return request, offer


def call(url: str, *, token: dict, body: bytes | None = None, content_type: str = "") -> tuple:
    """(status, JSON answer) of one HTTP call on its own connection."""
    headers = {**token, **({"Content-Type": content_type} if content_type else {})}
    request = urllib.request.Request(  # noqa: S310 (loopback)
        url, data=body, headers=headers, method="POST" if body is not None else "GET"
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            return response.status, json.load(response)
    except urllib.error.HTTPError as answered:
        return answered.code, json.load(answered)


def post_json(url: str, document, token: dict, **headers) -> tuple:
    return call(
        url,
        token={**token, **headers},
        body=json.dumps(document).encode(),
        content_type="application/json",
    )


def post_file(url: str, filename: str, content: bytes, token: dict) -> tuple:
    """A multipart upload of `content` in the field `file`."""
    boundary = uuid.uuid4().hex
    part = f'Content-Disposition: form-data; name="file"; filename="{filename}"'
    head = f"--{boundary}\r\n{part}\r\nContent-Type: text/csv\r\n\r\n"
    body = head.encode() + content + f"\r\n--{boundary}--\r\n".encode()
    return call(
        url, token=token, body=body, content_type=f"multipart/form-data; boundary={boundary}"
    )


def waiting_on_locks(engine: sa.Engine) -> int:
    with engine.connect() as connection:
        return connection.execute(
            sa.text(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        ).scalar_one()


@contextmanager
def writes_held(engine: sa.Engine) -> Iterator[Callable[[int], None]]:
    """On PostgreSQL, holds every writer at its audit entry until the block ends; yields a
    function that waits until that many connections wait on a lock. On SQLite, nothing."""
    if engine.dialect.name != "postgresql":
        yield lambda _count: None
        return
    with engine.connect() as connection:
        connection.execute(sa.text("LOCK TABLE audit_entry IN EXCLUSIVE MODE"))

        def until_waiting(count: int) -> None:
            wait_until(
                lambda: waiting_on_locks(engine) == count,
                f"{count} connections waiting (now {waiting_on_locks(engine)})",
            )

        yield until_waiting
        connection.rollback()


def racing(engine: sa.Engine, calls: list[Callable[[], tuple]], *, waiters: int) -> list:
    """The calls, each in its own thread, released together; on PostgreSQL let go once
    `waiters` of them wait in the database. Their answers, in order."""
    barrier = threading.Barrier(len(calls))
    answers: list[tuple | BaseException] = [()] * len(calls)

    def run(index: int) -> None:
        barrier.wait()
        try:
            answers[index] = calls[index]()
        except BaseException as error:  # reported below, not lost in the thread
            answers[index] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    with writes_held(engine) as held:
        for thread in threads:
            thread.start()
        held(waiters)
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    errors = [answer for answer in answers if isinstance(answer, BaseException)]
    assert errors == [], errors
    return answers


def count(engine: sa.Engine, model, *criteria) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(model).where(*criteria)).one()


@pytest.fixture
def agent(make_user) -> User:
    return make_user(Role.AGENT)


def test_twenty_taps_on_one_offer_leave_one_answer_and_the_rest_conflicts(app, db, agent):
    """Her accepts and declines from many connections at once (double taps, two phones, her
    software), and other nurses trying the same offer: exactly one answer wins, every other of
    hers is a 409, theirs a 404 (an offer that is not theirs is unknown to them), none a 500;
    the request has one holder or none, one history step, one audit entry."""
    nurse = enrol_nurse(db)
    others = [enrol_nurse(db, practice=PAMIERS) for _ in range(3)]
    request, offer = offered_to(db, agent, nurse)
    engine = app.extensions["engine"]
    hers = bearer(db, db.get(User, nurse.user_id))
    theirs = [bearer(db, db.get(User, other.user_id)) for other in others]
    with live_server(app) as site:
        for token in [hers, *theirs]:  # each token stamped once, before the race
            assert call(f"{site}/api/v1/me", token=token)[0] == 200
        accept = f"{site}/api/v1/offers/{offer.id}/accept"
        decline = f"{site}/api/v1/offers/{offer.id}/decline"
        calls = [lambda: post_json(accept, {}, hers) for _ in range(14)]
        calls += [lambda: post_json(decline, {"reason": "unavailable"}, hers) for _ in range(3)]
        calls += [lambda token=token: post_json(accept, {}, token) for token in theirs]
        answers = racing(engine, calls, waiters=17)  # her 17: one at the audit, 16 on it
    statuses = [status for status, _body in answers]
    assert Counter(statuses[17:]) == {404: 3}
    assert sorted(statuses[:17]) == [200] + [409] * 16, statuses
    winner = statuses.index(200)
    offer = db.get(Offer, offer.id)
    db.refresh(offer)
    request = db.get(VisitRequest, request.id)
    db.refresh(request)
    steps = db.exec(
        select(RequestEvent.to_status).where(RequestEvent.request_id == request.id)
    ).all()
    answered = db.exec(
        select(AuditEntry.action).where(AuditEntry.action.in_(["offer.accepted", "offer.declined"]))
    ).all()
    if winner < 14:
        assert (offer.status, request.status, request.nurse_id) == (
            "accepted",
            "accepted",
            nurse.id,
        )
        assert (steps, answered) == (["received", "offered", "accepted"], ["offer.accepted"])
    else:
        assert (offer.status, request.status, request.nurse_id) == ("declined", "received", None)
        assert (steps, answered) == (["received", "offered", "received"], ["offer.declined"])


def test_a_late_yes_and_the_live_nurses_yes_at_once_leave_one_holder(app, db, agent):
    """Her offer expired and the visit went to the next nurse; her yes and his come at the same
    instant, tapped several times each: one wins, the other offer is withdrawn or stays
    expired, the request has one holder and one accepted offer, and nobody gets a 500."""
    near = enrol_nurse(db)
    next_one = enrol_nurse(db, practice=PAMIERS)
    request, hers = offered_to(db, agent, near)
    planned(db, now=hers.expires_at)  # hers expires, the next nurse is asked
    his = db.exec(select(Offer).where(Offer.request_id == request.id, Offer.status == "live")).one()
    assert his.nurse_id == next_one.id
    engine = app.extensions["engine"]
    her_token = bearer(db, db.get(User, near.user_id))
    his_token = bearer(db, db.get(User, next_one.user_id))
    with live_server(app) as site:
        for token in (her_token, his_token):
            assert call(f"{site}/api/v1/me", token=token)[0] == 200
        late = f"{site}/api/v1/offers/{hers.id}/accept"
        live = f"{site}/api/v1/offers/{his.id}/accept"
        calls = [lambda: post_json(late, {}, her_token) for _ in range(8)]
        calls += [lambda: post_json(live, {}, his_token) for _ in range(8)]
        answers = racing(engine, calls, waiters=16)
    statuses = [status for status, _body in answers]
    assert sorted(statuses) == [200] + [409] * 15, statuses
    winner = near if statuses.index(200) < 8 else next_one
    db.rollback()
    db.expire_all()
    request = db.get(VisitRequest, request.id)
    db.refresh(request)
    assert (request.status, request.nurse_id) == ("accepted", winner.id)
    states = {o.id: o.status for o in db.exec(select(Offer).where(Offer.request_id == request.id))}
    if winner is near:
        assert states == {hers.id: "accepted", his.id: "withdrawn"}
    else:
        assert states == {hers.id: "expired", his.id: "accepted"}
    accepted = db.exec(select(AuditEntry).where(AuditEntry.action == "offer.accepted")).all()
    assert len(accepted) == 1


def test_twenty_replays_of_one_booking_store_one_request_and_answer_its_id(app, db, agent):
    engine = app.extensions["engine"]
    token = bearer(db, agent)
    body = request_document()
    with live_server(app) as site:
        assert call(f"{site}/api/v1/me", token=token)[0] == 200
        url = f"{site}/api/v1/visit-requests"
        calls = [
            lambda: post_json(url, body, token, **{"Idempotency-Key": "si-091-7"})
            for _ in range(RACERS)
        ]
        # One booking held at its audit entry, the 19 others on its row in the unique index.
        answers = racing(engine, calls, waiters=RACERS)
    assert sorted(status for status, _ in answers) == [200] * (RACERS - 1) + [201], answers
    assert len({answer["id"] for _, answer in answers}) == 1
    assert count(engine, VisitRequest) == 1
    assert count(engine, RequestEvent) == 1
    assert count(engine, AuditEntry, AuditEntry.action == "visit_request.created") == 1


def test_one_key_raced_with_two_bodies_books_one_of_them_and_refuses_the_other(app, db, agent):
    """The same Idempotency-Key for two different bookings at once (a client's bug): one is
    booked, its replays answer its id, the other body is a 409 pointing to it."""
    engine = app.extensions["engine"]
    token = bearer(db, agent)
    bodies = [request_document(), request_document()]
    with live_server(app) as site:
        assert call(f"{site}/api/v1/me", token=token)[0] == 200
        url = f"{site}/api/v1/visit-requests"
        calls = [
            lambda body=bodies[i % 2]: post_json(url, body, token, **{"Idempotency-Key": "k-1"})
            for i in range(RACERS)
        ]
        answers = racing(engine, calls, waiters=RACERS)
    stored = db.exec(select(VisitRequest)).all()
    assert len(stored) == 1
    booked = [i % 2 for i, (status, _) in enumerate(answers) if status in (200, 201)]
    assert len(set(booked)) == 1 and stored[0].nir == bodies[booked[0]]["nir"]
    for index, (status, answer) in enumerate(answers):
        if index % 2 == booked[0]:
            assert status in (200, 201) and answer["id"] == stored[0].id
        else:
            assert (status, answer["existing_id"]) == (409, stored[0].id)
            assert "clé d'idempotence" in answer["detail"]
    assert Counter(status for status, _ in answers)[201] == 1


def test_the_same_claims_imported_three_times_at_once_are_imported_once(
    app, db, client, make_user, agent
):
    """Two uploads of one CPAM extract and a third of the same claims laid out otherwise, at
    the same moment: one import (201), two 409s naming it, and no row of the refused ones."""
    content, expected = claims_scenario(db, client, agent)
    header, *lines = content.decode().splitlines()
    other_layout = "\n".join([header, *reversed(lines)]).encode()  # another file, same claims
    engine = app.extensions["engine"]
    token = bearer(db, make_user(Role.CPAM))
    with live_server(app) as site:
        assert call(f"{site}/api/v1/me", token=token)[0] == 200
        url = f"{site}/api/v1/reconciliation/imports"
        calls = [
            lambda: post_file(url, "mars.csv", content, token),
            lambda: post_file(url, "mars-bis.csv", content, token),
            lambda: post_file(url, "mars-autre-ordre.csv", other_layout, token),
        ]
        # The first held at its audit entry, the two others on its row in the unique indexes.
        answers = racing(engine, calls, waiters=3)
    assert sorted(status for status, _ in answers) == [201, 409, 409], answers
    summary = next(answer for status, answer in answers if status == 201)
    assert summary["counts"] == {name: 1 for name in expected}
    # Each refusal names the import that holds the claims, as it would had it come later.
    refusals = [answer for status, answer in answers if status == 409]
    assert [answer.get("import_id") for answer in refusals] == [summary["id"]] * 2, refusals
    imports = db.exec(select(ClaimImport)).all()
    assert [batch.id for batch in imports] == [summary["id"]]
    items = db.exec(select(ReconciliationItem.import_id)).all()
    assert items == [summary["id"]] * len(expected)
    assert count(engine, AuditEntry, AuditEntry.action == "claims.imported") == 1


def _answer_in_thread(engine: sa.Engine, action) -> tuple[threading.Thread, list]:
    """`action(session)` then commit, in a thread of its own on its own connection."""
    outcome: list = []

    def run() -> None:
        with Session(engine, expire_on_commit=False) as session:
            try:
                action(session)
                session.commit()
                outcome.append("done")
            except Conflict as refused:
                session.rollback()
                outcome.append(f"409: {refused.detail}")
            except BaseException as error:  # a 500 or a deadlock: reported, not lost
                outcome.append(f"error: {type(error).__name__}")

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


@pytest.mark.parametrize("scenario", ["hers_live_past_expiry", "hers_expired_earlier", "expiry"])
def test_a_late_yes_waiting_on_a_planning_pass_or_the_expiry_takes_the_visit_cleanly(
    app, db, agent, scenario
):
    """PostgreSQL, the pass holding its rows: a late yes that waits on a planning pass which
    expires the live offer and offers the visit to the next nurse in the same transaction (her
    own offer among those it expires, or already expired before), or on the expiry job alone,
    takes the visit once the pass commits: the offer the pass made is withdrawn, no second
    holder, no deadlock, no 500."""
    engine: sa.Engine = app.extensions["engine"]
    if engine.dialect.name != "postgresql":
        pytest.skip("row locks held by a concurrent pass: PostgreSQL")
    near = enrol_nurse(db)
    for _ in range(2):
        enrol_nurse(db, practice=PAMIERS)
    request, hers = offered_to(db, agent, near)
    now = hers.expires_at + timedelta(seconds=1)
    if scenario == "hers_expired_earlier":
        planned(db, now=now)  # hers expires, the next nurse is asked
        live = db.exec(select(Offer).where(Offer.status == "live")).one()
        now = live.expires_at + timedelta(seconds=1)
    held = Session(engine, expire_on_commit=False)
    if scenario == "expiry":
        offers.expire_offers(held, now)
    else:
        plan_pass(held, rules=RULES, now=now)  # not committed: its rows stay locked
    try:
        late, outcome = _answer_in_thread(
            engine,
            lambda s: offers.accept_offer(s, hers.id, s.get(Nurse, near.id), actor="t", now=now),
        )
        wait_until(lambda: waiting_on_locks(engine) == 1, "the late yes waiting on the pass")
        held.commit()
    finally:
        held.close()
    late.join(timeout=60)
    assert outcome == ["done"], outcome
    db.rollback()
    db.expire_all()
    request = db.get(VisitRequest, request.id)
    assert (request.status, request.nurse_id) == ("accepted", near.id)
    holding = db.exec(
        select(Offer).where(Offer.request_id == request.id, Offer.status.in_(["live", "accepted"]))
    ).all()
    assert [o.id for o in holding] == [hers.id]
