"""Which nurse, in which window, could make each visit on its own, found through a spatial grid
so a national instance is not compared pair by pair; and, for the requests no one can make, the
first rule that stops them."""

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from matching.model import Instance, Nurse
from matching.travel import great_circle_km, great_circle_km_pairs

KM_PER_DEGREE = 111.195


@dataclass(frozen=True)
class Candidate:
    request: int  # index in instance.requests
    nurse: int  # index in instance.nurses
    window: int  # index in the nurse's windows
    distance_km: float  # great circle, practice to patient
    earliest_start: float  # seconds since instance.now, visiting this request alone


@dataclass
class Candidates:
    by_request: dict[int, list[Candidate]]
    refusals: dict[int, str]  # request index -> REASONS entry, for requests with no candidate
    held: dict[int, Candidate]  # accepted visits: their one candidate
    eligible: dict[int, int]  # request index -> how many nurses could make the visit alone


class TravelModel:
    def __init__(self, instance: Instance):
        self.now = instance.now
        self.detour = instance.detour_factor
        self.seconds_per_km = 3600.0 / instance.speed_kmh

    def road_km(self, km: float) -> float:
        """Road km for a great-circle distance."""
        return km * self.detour

    def drive_seconds(self, km: float) -> float:
        """Driving time for a great-circle distance."""
        return km * self.detour * self.seconds_per_km

    def at(self, moment: datetime) -> float:
        """Seconds since the instance's `now`."""
        return (moment - self.now).total_seconds()


def find_candidates(instance: Instance, nearest: int | None = None) -> Candidates:
    """Every nurse window that could make each visit alone; with `nearest`, only the windows of
    the request's `nearest` closest such nurses and of its usual nurse. Requests are taken in
    blocks, each block's request–nurse pairs filtered as arrays."""
    travel = TravelModel(instance)
    found = Candidates({}, {}, _held(instance, travel), {})
    for index, candidate in found.held.items():
        found.by_request[index] = [candidate]
        found.eligible[index] = 1
    table = _Table(instance, travel)
    grid = _NurseGrid(instance.nurses)
    waiting = np.array([r for r in range(len(instance.requests)) if r not in found.held])
    for block in np.array_split(waiting, max(math.ceil(len(waiting) / BLOCK), 1)):
        if len(block):
            table.block(block, grid, nearest, found)
    return found


# Requests whose pairs with nearby nurses are filtered together: large enough that array work
# outweighs Python's, small enough to bound memory (a few hundred pairs per request in a city).
BLOCK = 1024


def _held(instance: Instance, travel: TravelModel) -> dict[int, Candidate]:
    """An accepted visit's only candidate is its nurse, in the window holding its time, even if
    she would not be eligible today: it is never moved."""
    nurse_of = {n.id: i for i, n in enumerate(instance.nurses)}
    request_of = {r.id: i for i, r in enumerate(instance.requests)}
    held = {}
    for fixed in instance.fixed:
        n, r = nurse_of[fixed.nurse], request_of[fixed.request]
        nurse, request = instance.nurses[n], instance.requests[r]
        window = next(w for w, (a, b) in enumerate(nurse.windows) if a <= fixed.start < b)
        distance = great_circle_km(nurse.lat, nurse.lon, request.lat, request.lon)
        held[r] = Candidate(r, n, window, distance, travel.at(fixed.start))
    return held


class _Table:
    """Nurses and requests as arrays (skills and languages as bit masks, times in seconds since
    now), so the rules are applied to many request–nurse pairs at once."""

    def __init__(self, instance: Instance, travel: TravelModel):
        nurses, requests = instance.nurses, instance.requests
        self.instance, self.travel = instance, travel
        words = sorted({w for n in nurses for w in n.skills | n.languages})
        words += sorted({w for r in requests for w in r.skills | r.languages} - set(words))
        bit = {word: 1 << position for position, word in enumerate(words)}
        kind = np.int64 if len(words) < 63 else object  # object: Python's unbounded ints

        def masks(items, attribute):
            return np.array([sum(bit[w] for w in getattr(i, attribute)) for i in items], kind)

        self.nurse_skills, self.nurse_languages = (
            masks(nurses, "skills"),
            masks(nurses, "languages"),
        )
        self.skills, self.languages = masks(requests, "skills"), masks(requests, "languages")
        self.capacity = np.array([n.capacity for n in nurses], dtype=np.int64)
        width = max((len(n.windows) for n in nurses), default=1)
        self.opens = np.full((len(nurses), width), np.inf)
        self.closes = np.full((len(nurses), width), -np.inf)
        for index, nurse in enumerate(nurses):
            for window, (opens, closes) in enumerate(nurse.windows):
                self.opens[index, window] = max(travel.at(opens), 0.0)
                self.closes[index, window] = travel.at(closes)
        self.lats = np.array([r.lat for r in requests], dtype=np.float64)
        self.lons = np.array([r.lon for r in requests], dtype=np.float64)
        self.earliest = np.array([travel.at(r.earliest) for r in requests], dtype=np.float64)
        self.due = np.array([travel.at(r.due) for r in requests], dtype=np.float64)
        self.service = np.array([r.service_minutes * 60 for r in requests], dtype=np.float64)
        nurse_of = {nurse.id: index for index, nurse in enumerate(nurses)}
        self.usual = np.array([nurse_of.get(r.preferred_nurse or "", -1) for r in requests])
        # Sector communes: (commune number, nurse) pairs sorted by commune, and each request's
        # commune number (-1 for a commune no nurse lists).
        number: dict[str, int] = {}
        pairs = sorted(
            (number.setdefault(c, len(number)), n)
            for n, nurse in enumerate(nurses)
            for c in nurse.communes
        )
        self.sector_communes = np.array([c for c, _n in pairs], dtype=np.int64)
        self.sector_nurses = np.array([n for _c, n in pairs], dtype=np.int64)
        self.commune = np.array([number.get(r.commune or "", -1) for r in requests])
        # Request–nurse pairs ruled out (the nurse already said no), as request * nurses + nurse.
        self.excluded = np.array(
            sorted(
                r * len(nurses) + nurse_of[n]
                for r, request in enumerate(requests)
                for n in request.excluded_nurses
                if n in nurse_of
            ),
            dtype=np.int64,
        )

    def block(self, block: np.ndarray, grid: "_NurseGrid", nearest, found: Candidates) -> None:
        """Candidates, refusals and counts for a block of request indices."""
        slot, nurse, km = grid.pairs(self.lats[block], self.lons[block])
        known = self.commune[block]
        lo = np.searchsorted(self.sector_communes, known, "left")
        hi = np.searchsorted(self.sector_communes, known, "right")
        hi[known < 0] = lo[known < 0]
        sector_slot, rows = _expand(lo, hi)
        sector_nurse = self.sector_nurses[rows]
        sector_km = grid.distances(
            self.lats[block][sector_slot], self.lons[block][sector_slot], sector_nurse
        )
        # A nurse whose radius covers the patient is already paired with her.
        beyond = sector_km > grid.radii[sector_nurse]
        slot = np.concatenate([slot, sector_slot[beyond]])
        nurse = np.concatenate([nurse, sector_nurse[beyond]])
        km = np.concatenate([km, sector_km[beyond]])
        if self.excluded.size:
            allowed = ~np.isin(block[slot] * len(self.capacity) + nurse, self.excluded)
            slot, nurse, km = slot[allowed], nurse[allowed], km[allowed]
        size = len(block)
        counts = [np.bincount(slot, minlength=size)]
        request = block[slot]
        needed = self.skills[request]
        keep = (self.nurse_skills[nurse] & needed) == needed
        counts.append(np.bincount(slot[keep], minlength=size))
        spoken = self.languages[request]
        keep &= (spoken == 0) | ((self.nurse_languages[nurse] & spoken) != 0)
        counts.append(np.bincount(slot[keep], minlength=size))
        keep &= self.capacity[nurse] > 0
        counts.append(np.bincount(slot[keep], minlength=size))
        slot, nurse, km, request = slot[keep], nurse[keep], km[keep], request[keep]
        drive = (km * self.travel.detour * self.travel.seconds_per_km)[:, None]
        service = self.service[request][:, None]
        starts = np.maximum(self.opens[nurse] + drive, self.earliest[request][:, None])
        fits = (starts + service <= self.due[request][:, None]) & (
            starts + service + drive <= self.closes[nurse]
        )
        able = fits.any(axis=1)
        counts.append(np.bincount(slot[able], minlength=size))
        slot, nurse, km, starts, fits = slot[able], nurse[able], km[able], starts[able], fits[able]
        # By request, then nearest first: one float key sorts faster than two.
        order = np.argsort(slot + km / (2 * km.max(initial=0.0) + 1), kind="stable")
        slot, nurse, km, starts, fits = (
            slot[order],
            nurse[order],
            km[order],
            starts[order],
            fits[order],
        )
        eligible = counts[-1]
        if nearest is not None:
            first_of = np.concatenate([[0], np.cumsum(eligible)[:-1]])
            rank = np.arange(len(slot)) - first_of[slot]
            keep = (rank < nearest) | (nurse == self.usual[block][slot])
            slot, nurse, km, starts, fits = (
                slot[keep],
                nurse[keep],
                km[keep],
                starts[keep],
                fits[keep],
            )
        # One candidate per fitting window, made from flat lists (row-major: by pair, then window).
        pair, window = np.nonzero(fits)
        numbers = block.tolist()
        lists: dict[int, list[Candidate]] = defaultdict(list)
        for s, n, d, w, time in zip(
            slot[pair].tolist(),
            nurse[pair].tolist(),
            km[pair].tolist(),
            window.tolist(),
            starts[pair, window].tolist(),
            strict=True,
        ):
            r = numbers[s]
            lists[r].append(Candidate(r, n, w, d, time))
        found.by_request.update(lists)
        for s, r in enumerate(block.tolist()):
            found.eligible[r] = int(eligible[s])
            if not eligible[s]:
                stage = next(k for k, count in enumerate(counts) if not count[s])
                found.refusals[r] = _STAGES[stage]


# The rule that stops a request, by the first filter that leaves it no nurse.
_STAGES = (
    "no eligible nurse",
    "no nurse with the skills",
    "no nurse speaking the language",
    "no capacity",
    "no window before due time",
)


def _expand(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For ranges [lo[i], hi[i]): the i of each element and the element, as flat arrays."""
    counts = hi - lo
    owner = np.repeat(np.arange(len(lo)), counts)
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    return owner, np.repeat(lo, counts) + offsets


class _NurseGrid:
    """Nurses bucketed by practice, in one grid per class of radius whose cells are as tall as
    the class's largest radius: the nurses that can reach a patient are among the cells around
    hers in each grid, and a town's many short-radius nurses are not scanned from afar. Each grid
    is one sorted array of cell keys, searched for many patients at once."""

    def __init__(self, nurses: tuple[Nurse, ...]):
        self.lats = np.array([n.lat for n in nurses], dtype=np.float64)
        self.lons = np.array([n.lon for n in nurses], dtype=np.float64)
        self.radii = np.array([n.radius_km for n in nurses], dtype=np.float64)
        power = np.ceil(np.log2(np.maximum(self.radii, 1.0))).astype(np.int64)
        self.grids = []
        for level in np.unique(power).tolist():
            members = np.flatnonzero(power == level)
            cell = max(2.0**level / KM_PER_DEGREE, 0.01)
            keys = _keys(self.lats[members] // cell, self.lons[members] // cell)
            order = np.argsort(keys, kind="stable")
            self.grids.append((cell, keys[order], members[order]))

    def distances(self, lats, lons, nurses) -> np.ndarray:
        return great_circle_km_pairs(lats, lons, self.lats[nurses], self.lons[nurses])

    def pairs(self, lats: np.ndarray, lons: np.ndarray):
        """(patient position, nurse, km) for every nurse whose radius covers each patient."""
        slots, nurses = [], []
        for cell, keys, members in self.grids:
            rows, columns = lats // cell, lons // cell
            # A degree of longitude shrinks with latitude: look as many columns wide as a radius.
            shrink = np.maximum(np.cos(np.radians(np.minimum(np.abs(lats) + cell, 89.0))), 0.01)
            span = np.ceil(1 / shrink)
            for dr in (-1, 0, 1):
                for dc in range(-int(span.max()), int(span.max()) + 1):
                    wanted = np.flatnonzero(np.abs(dc) <= span)
                    key = _keys(rows[wanted] + dr, columns[wanted] + dc)
                    lo = np.searchsorted(keys, key, "left")
                    hi = np.searchsorted(keys, key, "right")
                    owner, rank = _expand(lo, hi)
                    slots.append(wanted[owner])
                    nurses.append(members[rank])
        slot = np.concatenate(slots) if slots else np.empty(0, dtype=np.int64)
        nurse = np.concatenate(nurses) if nurses else np.empty(0, dtype=np.int64)
        # Most nurses of the cells around are out of reach: a flat-Earth test with a wide margin
        # sets them aside before the exact distance (their trigonometry costs far more).
        north = (lats[slot] - self.lats[nurse]) * KM_PER_DEGREE
        east = (lons[slot] - self.lons[nurse]) * (KM_PER_DEGREE * np.cos(np.radians(lats)))[slot]
        reach = self.radii[nurse] * 1.05 + 1.0
        near = north * north + east * east <= reach * reach
        slot, nurse = slot[near], nurse[near]
        km = self.distances(lats[slot], lons[slot], nurse)
        close = km <= self.radii[nurse]
        return slot[close], nurse[close], km[close]


def _keys(rows: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """One integer per grid cell (rows and columns are small: degrees over a cell size)."""
    return (rows.astype(np.int64) + (1 << 20)) * (1 << 21) + columns.astype(np.int64) + (1 << 20)
