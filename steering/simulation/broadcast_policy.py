"""The incumbents' policy on the same arrivals and the same nurse behaviour: each request, as it
is booked, goes to every eligible nurse at once (the registry's own eligibility: active, zone,
skills, language, hours); the first who answers yes and can still fit it in her day before its due
time gets it, and comes at her next free slot. Nobody plans, nobody is asked again, and a request
nobody takes stays without a nurse (the incumbents had no escalation)."""

import heapq
import itertools
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from registry.nurses.availability import open_intervals
from registry.nurses.eligibility import eligible_nurses
from registry.requests.services import BookingRules
from steering.simulation.arrivals import Arrival
from steering.simulation.behaviour import NurseBehaviour
from steering.simulation.metrics import Asked, PolicyRun, Visit, distance_km, drive
from steering.simulation.world import NurseInfo, World

ANSWER, ARRIVAL = range(2)
LANGUAGES = ("fr",)  # what booking gives a request that names no language
# Her windows are read a little past the due time: the drive home may end after it.
WINDOW_MARGIN = timedelta(hours=3)


def run_broadcast(
    world: World,
    arrivals: list[Arrival],
    behaviour: NurseBehaviour,
    *,
    booking: BookingRules,
    progress=None,
) -> PolicyRun:
    started = time.perf_counter()
    with world.session() as session:
        broadcast = _Broadcast(world, session, arrivals, behaviour, booking)
        broadcast.run(progress)
    broadcast.result.seconds = time.perf_counter() - started
    return broadcast.result


class _Broadcast:
    def __init__(self, world: World, session, arrivals, behaviour, booking: BookingRules):
        self.session, self.behaviour, self.booking = session, behaviour, booking
        self.result = PolicyRun("broadcast", len(arrivals))
        self.keys = {n.id: n.key for n in world.nurses}
        self.diaries = {n.id: _Diary(n) for n in world.nurses}
        self.open_until: dict[int, datetime] = {}  # request -> due, while nobody has it
        self.events: list[tuple] = []
        self.order = itertools.count()
        for arrival in arrivals:
            self._push(arrival.at, ARRIVAL, arrival, None, None)

    def _push(self, at, kind, arrival, nurse_id, answer) -> None:
        heapq.heappush(self.events, (at, kind, next(self.order), arrival, nurse_id, answer))

    def run(self, progress) -> None:
        while self.events:
            at, kind, _order, arrival, nurse_id, answer = heapq.heappop(self.events)
            if kind == ARRIVAL:
                self._tell_everyone(arrival, at)
            else:
                self._answer(self.diaries[nurse_id], arrival, answer, at)
            if progress:
                progress(at)

    def _tell_everyone(self, arrival: Arrival, at: datetime) -> None:
        due = at + self.booking.due_after
        found = eligible_nurses(
            self.session,
            latitude=arrival.commune.latitude,
            longitude=arrival.commune.longitude,
            insee=arrival.commune.insee,
            start=at,
            end=due,
            skills=arrival.skills,
            languages=LANGUAGES,
            min_duration=timedelta(minutes=arrival.visit_minutes),
        )
        result = self.result
        result.offers_sent += len(found)
        self.open_until[arrival.index] = due
        for candidate in found:
            key = self.keys[candidate.nurse_id]
            reply = self.behaviour.answer(arrival.key, key)
            if reply is None or at + reply.delay >= due:
                result.offers_unanswered += 1
                result.asked.append(Asked(arrival.index, key, at, None, None))
                continue
            result.asked.append(Asked(arrival.index, key, at, at + reply.delay, reply.accepts))
            self._push(at + reply.delay, ANSWER, arrival, candidate.nurse_id, reply)

    def _answer(self, diary: "_Diary", arrival: Arrival, answer, at: datetime) -> None:
        result = self.result
        due = self.open_until.get(arrival.index)
        if due is None:  # someone took it first
            if answer.accepts:
                result.accepts_lost += 1
            return
        if not answer.accepts:
            result.offers_declined += 1
            return
        visit = diary.book(arrival, at, due)
        if visit is not None:
            result.visits[arrival.index] = visit
            del self.open_until[arrival.index]


@dataclass
class _Diary:
    """A nurse's visits as she books them herself: each a block from leaving her practice to
    being back, inside one of her windows, never overlapping, at most her daily maximum."""

    nurse: NurseInfo
    blocks: list[tuple[datetime, datetime]] = field(default_factory=list)
    per_day: Counter = field(default_factory=Counter)

    def book(self, arrival: Arrival, now: datetime, due: datetime) -> Visit | None:
        km = distance_km(self.nurse, arrival)
        way = drive(km)
        length = timedelta(minutes=arrival.visit_minutes)
        windows = open_intervals(
            self.nurse.availability, self.nurse.timezone, now, due + WINDOW_MARGIN
        )
        zone = ZoneInfo(self.nurse.timezone)
        starts = {now + way}
        starts |= {end + way for _start, end in self.blocks}
        starts |= {opens + way for opens, _closes in windows}
        for start in sorted(s for s in starts if s >= now + way):
            if start + length > due:
                return None
            block = (start - way, start + length + way)
            inside = any(a <= block[0] and block[1] <= b for a, b in windows)
            free = all(block[1] <= a or b <= block[0] for a, b in self.blocks)
            day = start.astimezone(zone).date()
            if inside and free and self.per_day[day] < self.nurse.max_visits_per_day:
                self.blocks.append(block)
                self.per_day[day] += 1
                return Visit(
                    request=arrival.index,
                    nurse=self.nurse.key,
                    accepted_at=now,
                    appointment=start,
                    start=start,
                    end=start + length,
                    km=km,
                )
        return None
