"""How many more nurses, and where, for the platform to visit the target share of requests within
24 h: synthetic nurses (a demo nurse's rounds and reach) are added where the requests left late
or unvisited are, the same arrivals are run again with the same behaviour, until the target is
met or the cap reached; the last batch is then cut down by bisection to the fewest that still
meet it. Greedy: a sufficient answer, not a proven minimum."""

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from registry.geo import Commune
from registry.geo.distance import great_circle_km_many
from steering.simulation.arrivals import Arrival
from steering.simulation.metrics import PolicyRun
from steering.simulation.world import SYNTHETIC_RADIUS_KM, World

MAX_ROUNDS = 8


@dataclass
class CapacityAnswer:
    target: float
    reached: bool
    share: float
    added: list[Commune]  # one entry per synthetic nurse
    rounds: list[tuple[int, float]] = field(default_factory=list)  # (nurses added, share)
    run: PolicyRun | None = None  # the platform's run with them
    world: World | None = None

    def communes(self) -> list[tuple[Commune, int]]:
        counts: dict[str, int] = {}
        for commune in self.added:
            counts[commune.insee] = counts.get(commune.insee, 0) + 1
        by_insee = {c.insee: c for c in self.added}
        return sorted(
            ((by_insee[code], n) for code, n in counts.items()),
            key=lambda item: (-item[1], -item[0].population, item[0].insee),
        )


def capacity_search(
    world: World,
    arrivals: list[Arrival],
    sites: list[Commune],
    base: PolicyRun,
    *,
    target: float,
    cap: int,
    run: Callable[[World, str], PolicyRun],
    progress: Callable[[str], None] | None = None,
) -> CapacityAnswer:
    """`run(world, label)` runs the platform on a world; `sites` are where nurses may be added."""
    share = _share(base, arrivals)
    answer = CapacityAnswer(target, share >= target, share, [], [(0, share)], base, world)
    if answer.reached:
        return answer
    added: list[Commune] = []
    tried: dict[int, tuple[float, PolicyRun, World]] = {0: (share, base, world)}
    last = base
    for round_number in range(1, MAX_ROUNDS + 1):
        if share >= target or len(added) >= cap:
            break
        late = [a for a in arrivals if a.index not in last.within_24h(arrivals)]
        batch = _cover(late, sites)[: cap - len(added)]
        if not batch:
            break
        added += batch
        if progress:
            progress(f"recherche de capacité, tour {round_number} : +{len(added)} infirmière(s)")
        grown = world.with_nurses_in(added)
        last = run(grown, f"Recherche de capacité (+{len(added)} infirmières)")
        share = _share(last, arrivals)
        tried[len(added)] = (share, last, grown)
        answer.rounds.append((len(added), share))
    if share < target:
        answer.share, answer.added, answer.run = share, added, last
        answer.world = tried[len(added)][2]
        return answer
    fewest = _bisect(world, arrivals, added, tried, target, run, progress)
    answer.reached = True
    answer.share, answer.run, answer.world = tried[fewest]
    answer.added = added[:fewest]
    return answer


def _bisect(world, arrivals, added, tried, target, run, progress) -> int:
    """The smallest prefix of `added` meeting the target, between the last count that missed it
    and the first that met it."""
    high = min(n for n, (share, _r, _w) in tried.items() if share >= target)
    low = max(n for n, (share, _r, _w) in tried.items() if share < target and n < high)
    while high - low > 1:
        middle = (low + high) // 2
        if progress:
            progress(f"recherche de capacité : essai avec +{middle} infirmière(s)")
        grown = world.with_nurses_in(added[:middle])
        result = run(grown, f"Recherche de capacité (+{middle} infirmières)")
        share = _share(result, arrivals)
        tried[middle] = (share, result, grown)
        if share >= target:
            high = middle
        else:
            low = middle
    return high


def _share(run: PolicyRun, arrivals: list[Arrival]) -> float:
    return len(run.within_24h(arrivals)) / len(arrivals) if arrivals else 1.0


def _cover(late: list[Arrival], sites: list[Commune]) -> list[Commune]:
    """Greedy cover of the late requests by synthetic nurses' zones: each time the commune whose
    zone holds the most requests still uncovered (the more populous on a tie)."""
    if not late or not sites:
        return []
    lat = np.array([s.latitude for s in sites])
    lon = np.array([s.longitude for s in sites])
    covers = np.array(
        [
            great_circle_km_many(a.commune.latitude, a.commune.longitude, lat, lon)
            <= SYNTHETIC_RADIUS_KM
            for a in late
        ]
    )  # late request x site
    population = np.array([s.population for s in sites], dtype=float)
    uncovered = np.ones(len(late), dtype=bool)
    chosen = []
    while uncovered.any():
        gains = covers[uncovered].sum(axis=0)
        if gains.max() == 0:
            break
        best = max(range(len(sites)), key=lambda i: (gains[i], population[i], -i))
        chosen.append(sites[best])
        uncovered &= ~covers[:, best]
    return chosen
