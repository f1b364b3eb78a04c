"""The planner for large parts: an exact min-cost max-flow on the relaxed problem (each visit a
round trip, each window holding as many visits as its length allows) says how many can be served
at most and who should serve whom; routes are then built, repaired where the relaxation was too
generous, and completed and improved by insertion and relocation. Every step is deterministic.

The flow's value is also an upper bound on the requests any plan can serve."""

import itertools
import math
import time
from collections import ChainMap, defaultdict
from dataclasses import dataclass, field

import numpy as np
from ortools.graph.python import min_cost_flow

from matching.candidates import Candidate, TravelModel
from matching.model import Instance
from matching.routes import RoutePlanner, Schedule

METRES = 1000
# Gathering visits into a nurse window starts from each of this many visits nearest to her.
GATHER_SEEDS = 3


@dataclass
class FlowPlan:
    routes: dict[tuple[int, int], Schedule] = field(default_factory=dict)
    upper_bound: int = 0


def relaxed_assignment(
    instance: Instance,
    candidates: dict[int, list[Candidate]],
    travel: TravelModel,
    held: dict[int, tuple[int, int]],
    limits: dict[tuple[int, int], int] | None = None,
) -> tuple[dict[int, tuple[int, int]], int]:
    """Who serves whom in the relaxed problem, and how many are served: maximum first, then
    higher priority, then the usual nurse, then the fewest round-trip km. Accepted visits
    (`held`) are not placed, but take their room in their window and their nurse's capacity.
    `limits` caps, per window, how many of the requests only it can serve it takes (see
    `exclusive_limits`). The graph is built as arrays: a national part has a million arcs."""
    requests, nurses = instance.requests, instance.nurses
    taken_window: dict[tuple[int, int], int] = defaultdict(int)
    taken_nurse: dict[int, int] = defaultdict(int)
    for window in held.values():
        taken_window[window] += 1
        taken_nurse[window[0]] += 1
    # The shortest visit, accepted ones included, bounds how many fit in a window.
    shortest = min((requests[r].service_minutes for r in candidates), default=1) * 60
    order = sorted(r for r in candidates if r not in held)
    flat = [c for r in order for c in candidates[r]]
    if not flat:
        return {}, len(held)
    # One entry per candidate: its request's position in `order`, its window's in `windows`.
    count = np.array([len(candidates[r]) for r in order], dtype=np.int64)
    rank = np.repeat(np.arange(len(order)), count)
    nurse = np.array([c.nurse for c in flat], dtype=np.int64)
    km = np.array([c.distance_km for c in flat], dtype=np.float64)
    width = max(len(nurses[n].windows) for n in set(nurse.tolist()))
    keys, slot = np.unique(nurse * width + [c.window for c in flat], return_inverse=True)
    windows = [(k // width, k % width) for k in keys.tolist()]
    nurse_ids, nurse_slot = np.unique(keys // width, return_inverse=True)
    limits = limits or {}
    first_window = 2 + len(order)
    first_nurse = first_window + len(windows)
    first_gate = first_nurse + len(nurse_ids)
    gate_of = np.full(len(windows), -1, dtype=np.int64)
    window_index = {w: i for i, w in enumerate(windows)}
    for i, window in enumerate(limits):
        gate_of[window_index[window]] = first_gate + i
    # Costs: round-trip metres; a step larger than any trip for missing the usual nurse, and a
    # step larger than both for each level of priority below the highest.
    missed = np.array(
        [
            bool(requests[c.request].preferred_nurse)
            and requests[c.request].preferred_nurse != nurses[c.nurse].id
            for c in flat
        ]
    )
    priority = np.array([requests[r].priority for r in order], dtype=np.int64)
    preference = int(2 * km.max() * instance.detour_factor * METRES) + 1
    priority_step = preference * 2
    cost = (2 * km * instance.detour_factor * METRES).astype(np.int64)
    cost += np.where(missed, preference, 0)
    cost += priority_step * (priority.max() - priority)[rank]
    head = np.where((gate_of[slot] >= 0) & (count[rank] == 1), gate_of[slot], first_window + slot)
    # Each request's arc from the source, then its arcs to windows, in request order.
    starts = np.cumsum(count) - count
    source, sink = 0, 1
    flow = min_cost_flow.SimpleMinCostFlow()
    arcs = np.arange(len(flat)) + rank + 1  # the id each candidate's arc gets
    flow.add_arcs_with_capacity_and_unit_cost(
        np.insert(2 + rank, starts, source).astype(np.int32),
        np.insert(head, starts, 2 + np.arange(len(order))).astype(np.int32),
        np.ones(len(flat) + len(order), dtype=np.int64),
        np.insert(cost, starts, 0),
    )
    for i, window in enumerate(limits):
        flow.add_arc_with_capacity_and_unit_cost(
            first_gate + i, first_window + window_index[window], limits[window], 0
        )
    # However many visits a round holds, it drives out to the first and back from the last:
    # at least twice the way to the nearest patient it could take.
    nearest_km = np.full(len(windows), np.inf)
    np.minimum.at(nearest_km, slot, km)
    for i, (n, w) in enumerate(windows):
        opens, closes = nurses[n].windows[w]
        length = travel.at(closes) - max(travel.at(opens), 0.0)
        length -= 2 * travel.drive_seconds(float(nearest_km[i]))
        room = max(int(length // shortest) - taken_window[(n, w)], 0)
        flow.add_arc_with_capacity_and_unit_cost(
            first_window + i, first_nurse + int(nurse_slot[i]), room, 0
        )
    for i, n in enumerate(nurse_ids.tolist()):
        room = max(nurses[n].capacity - taken_nurse[n], 0)
        flow.add_arc_with_capacity_and_unit_cost(first_nurse + i, sink, room, 0)
    flow.set_node_supply(source, len(order))
    flow.set_node_supply(sink, -len(order))
    if flow.solve_max_flow_with_min_cost() != flow.OPTIMAL:
        return {}, 0
    used = np.flatnonzero(flow.flows(arcs)).tolist()
    chosen = {order[rank[i]]: windows[slot[i]] for i in used}
    return chosen, len(chosen) + len(held)


def exclusive_limits(
    candidates: dict[int, list[Candidate]], planner: RoutePlanner, largest: int = 5
) -> dict[tuple[int, int], int]:
    """For each nurse window that is the only one some requests have (up to `largest` of them),
    how many of those fit together in one round: a far patient may fill a window alone."""
    only: dict[tuple[int, int], list[int]] = defaultdict(list)
    for r, cs in candidates.items():
        if len(cs) == 1:
            only[(cs[0].nurse, cs[0].window)].append(r)
    limits = {}
    for window, requests in only.items():
        if not 2 <= len(requests) <= largest:
            continue
        fits = next(
            (
                size
                for size in range(len(requests), 0, -1)
                if any(
                    planner.best(*window, chosen) is not None
                    for chosen in itertools.combinations(requests, size)
                )
            ),
            0,
        )
        if fits < len(requests):
            limits[window] = fits
    return limits


class FlowPlanner:
    def __init__(self, instance: Instance, travel: TravelModel, planner: RoutePlanner, fixed):
        self.instance = instance
        self.travel = travel
        self.routes = planner
        self.fixed = fixed  # request index -> (nurse index, window)

    def plan(self, candidates: dict[int, list[Candidate]], deadline: float = math.inf) -> FlowPlan:
        """The plan; improvement by relocation stops at `deadline` (time.perf_counter())."""
        chosen, bound = relaxed_assignment(self.instance, candidates, self.travel, self.fixed)
        chosen.update(self.fixed)
        members: dict[tuple[int, int], list[int]] = defaultdict(list)
        for r, window in sorted(chosen.items()):
            members[window].append(r)
        routes: dict[tuple[int, int], Schedule] = {}
        waiting: list[int] = [r for r in candidates if r not in chosen]
        for window, visits in members.items():
            route, dropped = self._repair(window, visits)
            if route is not None:
                routes[window] = route
            waiting += dropped
        self._insert(routes, waiting, candidates)
        self._trade_up(routes, candidates)
        for _round in range(3):
            moved = self._relocate(routes, candidates, deadline)
            gathered = self._gather(routes, candidates, deadline)
            swapped = self._swap(routes, candidates, deadline)
            if not (moved or gathered or swapped):
                break
        for window, route in routes.items():  # insertions kept each order; now the best order
            routes[window] = self.routes.best(*window, route.order) or route
        return FlowPlan(routes, bound)

    def _repair(self, window, visits) -> tuple[Schedule | None, list[int]]:
        """A feasible route from the visits the relaxation gave this window, dropping the least
        valuable ones (lowest priority, farthest) until it is."""
        requests = self.instance.requests
        kept, dropped = list(visits), []
        while kept:
            route = self.routes.best(window[0], window[1], kept)
            if route is not None:
                return route, dropped
            movable = [r for r in kept if r not in self.fixed]
            if not movable:
                # Accepted visits alone, at their accepted times, in that order.
                order = sorted(kept, key=lambda r: self.routes.fixed_starts[r])
                return self.routes.schedule(window[0], window[1], order), dropped
            worst = min(movable, key=lambda r: (requests[r].priority, -requests[r].due.timestamp()))
            kept.remove(worst)
            dropped.append(worst)
        return None, dropped

    def _load(self, routes) -> dict[int, int]:
        load: dict[int, int] = defaultdict(int)
        for (nurse, _w), route in routes.items():
            load[nurse] += len(route.order)
        return load

    def _cost(self, r: int, nurse: int) -> float:
        wanted = self.instance.requests[r].preferred_nurse
        return 1e6 if wanted and wanted != self.instance.nurses[nurse].id else 0.0

    def _best_insertion(self, routes, load, r, candidates, exclude=None):
        best, best_key = None, None
        for c in candidates[r]:
            window = (c.nurse, c.window)
            if window == exclude or load[c.nurse] >= self.instance.nurses[c.nurse].capacity:
                continue
            current = routes.get(window)
            route = self.routes.insert(c.nurse, c.window, current.order if current else (), r)
            if route is None:
                continue
            added = route.road_km - (current.road_km if current else 0.0)
            key = (self._cost(r, c.nurse) + added, c.nurse, c.window)
            if best_key is None or key < best_key:
                best, best_key = (window, route), key
        return best, best_key

    def _insert(self, routes, waiting, candidates) -> None:
        requests = self.instance.requests
        load = self._load(routes)
        order = sorted(waiting, key=lambda r: (-requests[r].priority, len(candidates[r]), r))
        for r in order:
            found, _key = self._best_insertion(routes, load, r, candidates)
            if found is not None:
                window, route = found
                routes[window] = route
                load[window[0]] += 1
            elif self._insert_ejecting(routes, r, candidates):
                load.clear()
                load.update(self._load(routes))

    def _trade_up(self, routes, candidates) -> None:
        """Serves more: a round gives up one visit for two requests no round took, when both
        fit in its place (a far visit may hold a round two nearer ones could share)."""
        served = {r for route in routes.values() for r in route.order}
        waiting = sorted(r for r in candidates if r not in served)
        if len(waiting) < 2:
            return
        pools = self._pools({r: candidates[r] for r in waiting})
        load = self._load(routes)
        for target in sorted(pools):
            route = routes.get(target)
            full = load[target[0]] >= self.instance.nurses[target[0]].capacity
            if route is None or len(pools[target]) < 2 or full:
                continue
            done = False
            for out in route.order:
                if out in self.fixed or done:
                    continue
                kept = [v for v in route.order if v != out]
                for pair in itertools.combinations(pools[target], 2):
                    if served & set(pair):
                        continue
                    traded = self.routes.best(*target, [*kept, *pair])
                    if traded is not None:
                        routes[target] = traded
                        served.update(pair)
                        served.discard(out)
                        load[target[0]] += 1
                        done = True
                        break
        self._insert(routes, [r for r in candidates if r not in served], candidates)

    def _insert_ejecting(self, routes, r, candidates) -> bool:
        """Makes room for a request no round can take: one of its nurse windows gives up one of
        its visits, or all of them, which other rounds take instead. The cheapest such exchange
        in km is made."""
        best, best_cost = None, None
        for c in candidates[r]:
            target = (c.nurse, c.window)
            route = routes.get(target)
            movable = [v for v in route.order if v not in self.fixed] if route else []
            sets = [[v] for v in movable] + ([movable] if len(movable) > 1 else [])
            for ejected in sets:
                kept = [v for v in route.order if v not in ejected]
                into = self.routes.insert(*target, kept, r)
                if into is None:
                    continue
                trial = {**routes, target: into}
                cost = into.road_km - route.road_km + self._cost(r, c.nurse)
                for out in ejected:
                    placed, key = self._best_insertion(
                        trial, self._load(trial), out, candidates, exclude=target
                    )
                    if placed is None:
                        break
                    trial[placed[0]] = placed[1]
                    cost += key[0]
                else:
                    if best_cost is None or cost < best_cost:
                        best, best_cost = trial, cost
        if best is None:
            return False
        routes.update(best)
        return True

    def _relocate(self, routes, candidates, deadline: float) -> bool:
        """Moves a visit to another nurse window when that drives fewer km overall."""
        load = self._load(routes)
        improved = False
        for window in sorted(routes):
            if time.perf_counter() > deadline:
                break
            route = routes.get(window)
            for r in list(route.order) if route else []:
                if r not in self.fixed:
                    improved |= self._try_move(routes, load, candidates, window, r)
        return improved

    def _gather(self, routes, candidates, deadline: float) -> bool:
        """Gives one nurse window several visits taken from other routes when, together, that
        drives fewer km, though no single move would: three patients of one street seen by one
        nurse rather than three. The visits are drawn greedily, the best prefix kept."""
        pools = self._pools(candidates)
        where = {r: window for window, route in routes.items() for r in route.order}
        load = self._load(routes)
        improved = False
        for target in sorted(pools):
            if time.perf_counter() > deadline:
                break
            change = self._gathering(routes, where, load, target, pools[target])
            if change is None:
                continue
            improved = True
            for window, route in change.items():
                if route is None:
                    routes.pop(window, None)
                else:
                    routes[window] = route
                for r in route.order if route else ():
                    where[r] = window
            load.clear()
            load.update(self._load(routes))
        return improved

    def _pools(self, candidates) -> dict[tuple[int, int], list[int]]:
        """For each nurse window, the requests it could take (accepted ones stay put)."""
        pools: dict[tuple[int, int], list[int]] = defaultdict(list)
        for r, options in candidates.items():
            if r not in self.fixed:
                for c in options:
                    pools[(c.nurse, c.window)].append(r)
        return pools

    def _gathering(self, routes, where, load, target, pool):
        """The best set of visits to move into `target`, as the routes it changes, or None:
        greedy from each of the visits nearest the nurse as the first one taken."""
        near = sorted(pool, key=lambda r: (self._distance(target[0], r), r))[:GATHER_SEEDS]
        best, best_total = None, 1e-6
        for seed in near:
            found, total = self._gathered(routes, where, load, target, pool, seed)
            if found is not None and total > best_total:
                best, best_total = found, total
        return best

    def _swap(self, routes, candidates, deadline: float) -> bool:
        """Puts a visit into a nurse window in place of one of hers, which goes to its best
        place elsewhere, when that drives fewer km: a full round takes a nearer patient."""
        pools = self._pools(candidates)
        improved = False
        where = {r: window for window, route in routes.items() for r in route.order}
        load = self._load(routes)
        for target in sorted(routes):
            if time.perf_counter() > deadline:
                break
            route = routes.get(target)
            for out in list(route.order) if route else []:
                if out in self.fixed or out not in routes[target].order:
                    continue
                if self._try_swap(routes, candidates, target, out, pools[target], where, load):
                    improved = True
                    where = {r: window for window, route in routes.items() for r in route.order}
                    load = self._load(routes)
        return improved

    def _try_swap(self, routes, candidates, target, out, pool, where, load) -> bool:
        route = routes[target]
        kept = [v for v in route.order if v != out]
        best, best_gain = None, 1e-6
        for r in pool:
            source = where.get(r)
            if source is None or source == target or r in self.fixed:
                continue
            into = self.routes.insert(*target, kept, r)
            if into is None:
                continue
            before = routes[source]
            after = self._without(source, before.order, r)
            if after is False:
                continue
            # The two changed rounds over the others, without copying them (None: emptied).
            trial = ChainMap({target: into, source: after}, routes)
            # `out` leaves the target nurse and `r` its source nurse; when they are the same
            # nurse she has one visit less, else the target's load is as it was.
            changes = {source[0]: load[source[0]] - 1}
            if source[0] != target[0]:
                changes[target[0]] = load[target[0]]
            placed, key = self._best_insertion(
                trial, ChainMap(changes, load), out, candidates, exclude=target
            )
            if placed is None:
                continue
            gain = (
                route.road_km
                + before.road_km
                - into.road_km
                - (after.road_km if after else 0.0)
                - key[0]
                + self._cost(r, source[0])
                + self._cost(out, target[0])
                - self._cost(r, target[0])
            )
            if gain > best_gain:
                best, best_gain = (source, after, into, placed), gain
        if best is None:
            return False
        source, after, into, (window, moved) = best
        routes[target] = into
        if after is None:
            del routes[source]
        else:
            routes[source] = after
        routes[window] = moved
        return True

    def _without(self, window, order, r):
        """The round of `window` once visit `r` leaves it: None when nothing is left, False
        when what is left cannot be scheduled."""
        rest = [v for v in order if v != r]
        if not rest:
            return None
        return self.routes.schedule(*window, rest) or self.routes.best(*window, rest) or False

    def _distance(self, nurse: int, r: int) -> float:
        return self.routes.leg(-1 - nurse, r)

    def _gathered(self, routes, where, load, target, pool, seed):
        nurse = target[0]
        room = self.instance.nurses[nurse].capacity - load[nurse]
        current = routes.get(target)
        trial = {target: current}
        taken: set[int] = set(current.order) if current else set()
        total, best, best_total = 0.0, None, 1e-6
        for step_number in range(self.instance.nurses[nurse].capacity):
            step = None
            for r in pool if step_number else (seed,):
                source = where.get(r)
                if r in taken or source is None or source == target:
                    continue
                if source[0] != nurse and room <= 0:
                    continue
                before = trial.get(source, routes.get(source))
                after = self._without(source, before.order, r)
                if after is False:
                    continue
                into = trial[target]
                moved = self.routes.insert(*target, into.order if into else (), r)
                if moved is None:
                    continue
                gain = (
                    before.road_km
                    - (after.road_km if after else 0.0)
                    - (moved.road_km - (into.road_km if into else 0.0))
                    + self._cost(r, source[0])
                    - self._cost(r, nurse)
                )
                if step is None or gain > step[0]:
                    step = (gain, r, source, after, moved)
            if step is None:
                break
            gain, r, source, after, moved = step
            trial[source], trial[target] = after, moved
            taken.add(r)
            room -= source[0] != nurse
            total += gain
            if total > best_total:
                best, best_total = dict(trial), total
        return best, best_total

    def _try_move(self, routes, load, candidates, window, r) -> bool:
        route = routes[window]
        without = self._without(window, route.order, r)
        if without is False:
            return False
        saving = route.road_km - (without.road_km if without else 0.0)
        load[window[0]] -= 1  # as if the visit had left, so her other windows may take it
        found, key = self._best_insertion(routes, load, r, candidates, exclude=window)
        if found is None or key[0] + 1e-9 >= saving + self._cost(r, window[0]):
            load[window[0]] += 1
            return False
        target, moved = found
        load[target[0]] += 1
        if without is None:
            del routes[window]
        else:
            routes[window] = without
        routes[target] = moved
        return True
