"""The platform's own policy, driven through the product's real services on the simulation's
database: each request booked by `book_request`, planned by `plan_pass` (the matching engine, the
offers and their expiry), answered by `accept_offer` or `decline_offer` as the behaviour draws
say, visited when its nurse gets there and reported through `file_report` (which issues its bill).

Time is a simulated clock: an event heap, events of the same minute handled together, then one
planning pass, as the product plans at once after a booking, a decline or an expiry; while
requests wait unplaced, a pass every `replan_minutes` stands for the product's scheduler."""

import heapq
import itertools
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from sqlmodel import Session, select

from registry.accounts import User
from registry.errors import Conflict
from registry.geo.commune_geocoder import CommuneGeocoder
from registry.geo.communes import commune_directory
from registry.geo.distance import great_circle_km
from registry.nurses.models import Nurse
from registry.requests.models import VisitRequest
from registry.requests.services import BookingRules, book_request
from registry.visits.models import DeclineReason, Offer
from registry.visits.offers import OfferRules, accept_offer, decline_offer
from registry.visits.planning import plan_pass
from registry.visits.reports import file_report
from steering.simulation.arrivals import Arrival
from steering.simulation.behaviour import NurseBehaviour
from steering.simulation.metrics import Asked, PolicyRun, Visit, distance_km, drive
from steering.simulation.params import SimulationParams
from steering.simulation.world import World

# Events at the same instant: reports first (a nurse's day frees up), then answers, arrivals,
# expiries and the scheduler's pass.
REPORT, VISIT, ANSWER, ARRIVAL, EXPIRY, TICK = range(6)


def run_platform(
    world: World,
    arrivals: list[Arrival],
    behaviour: NurseBehaviour,
    params: SimulationParams,
    *,
    rules: OfferRules,
    booking: BookingRules,
    progress: Callable[[datetime], None] | None = None,
) -> PolicyRun:
    started = time.perf_counter()
    with world.session() as session:
        clock = _PlatformClock(world, session, arrivals, behaviour, params, rules, booking)
        clock.run(progress)
    clock.result.seconds = time.perf_counter() - started
    return clock.result


class _PlatformClock:
    def __init__(self, world, session: Session, arrivals, behaviour, params, rules, booking):
        self.session, self.behaviour = session, behaviour
        if params.plan_time_limit is not None:
            rules = replace(rules, plan_time_limit=params.plan_time_limit)
        self.rules = rules
        self.booking = booking
        self.replan = timedelta(minutes=params.replan_minutes)
        self.agent = world.agent(session)
        self.info = {n.id: n for n in world.nurses}
        self.nurses = {n.id: n for n in session.exec(select(Nurse))}
        users = {u.id: u for u in session.exec(select(User))}
        self.users = {n.id: users[n.user_id] for n in self.nurses.values()}
        self.geocoder = CommuneGeocoder(commune_directory())
        self.result = PolicyRun("platform", len(arrivals))
        self.events: list[tuple] = []
        self.order = itertools.count()
        self.arrival_of: dict[int, Arrival] = {}  # request id -> arrival
        self.accepted: dict[int, tuple[datetime, datetime]] = {}  # request id -> (at, appointment)
        self.busy: dict[int, tuple[datetime, float, float]] = {}  # nurse -> (free at, lat, lon)
        self.started: dict[int, tuple[datetime, datetime]] = {}  # request id -> (start, end)
        self.tick_at: datetime | None = None
        for arrival in arrivals:
            self._push(arrival.at, ARRIVAL, arrival)

    def _push(self, at: datetime, kind: int, *payload) -> None:
        heapq.heappush(self.events, (at, kind, next(self.order), payload))

    def run(self, progress) -> None:
        while self.events:
            first = self.events[0][0]
            minute = first.replace(second=0, microsecond=0) + timedelta(minutes=1)
            plan, last = False, first
            while self.events and self.events[0][0] < minute:
                at, kind, _order, payload = heapq.heappop(self.events)
                plan = self._handle(kind, at, payload) or plan
                self.session.commit()
                last = at
            if plan:
                self._plan(last)
            if progress:
                progress(last)

    def _handle(self, kind: int, at: datetime, payload: tuple) -> bool:
        """Applies the event; True when the product would plan right after it."""
        if kind == ARRIVAL:
            self._book(payload[0], at)
            return True
        if kind == ANSWER:
            return self._answer(*payload, at)
        if kind == VISIT:
            self._visit(payload[0], at)
            return False
        if kind == REPORT:
            self._report(payload[0])
            return False
        if kind == TICK:
            self.tick_at = None
        return True  # an expiry: the pass closes the offer and plans its request again

    def _book(self, arrival: Arrival, now: datetime) -> None:
        request, _created = book_request(
            self.session,
            arrival.booking_document(),
            client=self.agent,
            geocoder=self.geocoder,
            rules=self.booking,
            now=now,
        )
        self.arrival_of[request.id] = arrival

    def _plan(self, now: datetime) -> None:
        summary = plan_pass(self.session, rules=self.rules, now=now)
        self.session.commit()
        run = self.result
        run.passes += 1
        run.planner_seconds += summary.seconds
        run.offers_sent += len(summary.offered)
        run.offers_unanswered += summary.expired
        for offer in summary.offered:
            self._await_answer(offer)
        if summary.waiting > len(summary.offered) and self.tick_at is None:
            self.tick_at = now + self.replan
            self._push(self.tick_at, TICK)

    def _await_answer(self, offer: Offer) -> None:
        arrival = self.arrival_of[offer.request_id]
        key = self.info[offer.nurse_id].key
        answer = self.behaviour.answer(arrival.key, key)
        if answer is not None and offer.created_at + answer.delay < offer.expires_at:
            at = offer.created_at + answer.delay
            self._push(at, ANSWER, offer.id, offer.nurse_id, answer)
            asked = Asked(arrival.index, key, offer.created_at, at, answer.accepts)
        else:
            self._push(offer.expires_at, EXPIRY, offer.id)
            asked = Asked(arrival.index, key, offer.created_at, None, None)
            if answer is not None and answer.accepts:
                # A yes after the expiry: the product takes it while nobody holds the visit.
                late = offer.created_at + answer.delay
                self._push(late, ANSWER, offer.id, offer.nurse_id, answer)
        self.result.asked.append(asked)

    def _answer(self, offer_id: int, nurse_id: int, answer, now: datetime) -> bool:
        """Her answer; True after a decline (the product plans again at once)."""
        nurse, user = self.nurses[nurse_id], self.users[nurse_id]
        if not answer.accepts:
            try:
                decline_offer(
                    self.session, offer_id, nurse, DeclineReason.UNAVAILABLE, actor=user, now=now
                )
            except Conflict:  # withdrawn meanwhile: a late yes of another nurse took the visit
                self.session.rollback()
                return False
            self.result.offers_declined += 1
            return True
        try:
            request = accept_offer(self.session, offer_id, nurse, actor=user, now=now)
        except Conflict:
            self.result.accepts_lost += 1
            return False
        self.accepted[request.id] = (now, request.appointment_at)
        self._push(request.appointment_at, VISIT, request.id)
        return False

    def _visit(self, request_id: int, appointment: datetime) -> None:
        """She comes at her appointment, or when she can get there from the visit before."""
        request = self.session.get(VisitRequest, request_id)
        arrival = self.arrival_of[request_id]
        start = appointment
        free = self.busy.get(request.nurse_id)
        if free is not None:
            free_at, lat, lon = free
            reach = free_at + drive(great_circle_km(lat, lon, request.latitude, request.longitude))
            start = max(start, reach)
        end = start + timedelta(minutes=arrival.visit_minutes)
        self.busy[request.nurse_id] = (end, request.latitude, request.longitude)
        self.started[request_id] = (start, end)
        self._push(end, REPORT, request_id)

    def _report(self, request_id: int) -> None:
        request = self.session.get(VisitRequest, request_id)
        arrival = self.arrival_of[request_id]
        nurse_id = request.nurse_id
        start, end = self.started[request_id]
        file_report(
            self.session,
            request_id,
            self.nurses[nurse_id],
            _report_body(arrival, start),
            actor=self.users[nurse_id],
        )
        accepted_at, appointment = self.accepted[request_id]
        info = self.info[nurse_id]
        self.result.visits[arrival.index] = Visit(
            request=arrival.index,
            nurse=info.key,
            accepted_at=accepted_at,
            appointment=appointment,
            start=start,
            end=end,
            km=distance_km(info, arrival),
        )


def _report_body(arrival: Arrival, visited_at: datetime) -> dict:
    """A report as a nurse files it: the visit's time, isolation possible, the household tests
    done (none positive); the km left to the platform's estimate."""
    return {
        "visited_at": visited_at.isoformat(),
        "isolation_feasible": True,
        "gp_informed": True,
        "household_tests": [
            {"kind": kind, "count": count, "positives": 0} for kind, count in arrival.tests
        ],
    }
