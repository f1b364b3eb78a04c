"""Which nurse, in which window, could make each visit on its own, found through a spatial grid
so a national instance is not compared pair by pair; and, for the requests no one can make, the
first rule that stops them."""

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from matching.model import Instance, Nurse, Request
from matching.travel import great_circle_km, great_circle_km_many

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


def find_candidates(instance: Instance) -> Candidates:
    travel = TravelModel(instance)
    grid = _NurseGrid(instance.nurses)
    by_commune: dict[str, list[int]] = defaultdict(list)
    for index, nurse in enumerate(instance.nurses):
        for commune in nurse.communes:
            by_commune[commune].append(index)
    by_request: dict[int, list[Candidate]] = {}
    refusals: dict[int, str] = {}
    held = _held(instance, travel)
    for index, request in enumerate(instance.requests):
        if index in held:
            by_request[index] = [held[index]]
            continue
        zone = grid.within_reach(request)
        for nurse_index in by_commune.get(request.commune or "", ()):
            if nurse_index not in zone:
                nurse = instance.nurses[nurse_index]
                zone[nurse_index] = great_circle_km(nurse.lat, nurse.lon, request.lat, request.lon)
        found, refusal = _candidates_of(index, request, zone, instance.nurses, travel)
        if found:
            by_request[index] = found
        else:
            refusals[index] = refusal
    return Candidates(by_request, refusals, held)


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


def _candidates_of(index, request: Request, zone: dict[int, float], nurses, travel):
    if not zone:
        return [], "no eligible nurse"
    skilled = {n: d for n, d in zone.items() if request.skills <= nurses[n].skills}
    if not skilled:
        return [], "no nurse with the skills"
    speaking = {
        n: d
        for n, d in skilled.items()
        if not request.languages or request.languages & nurses[n].languages
    }
    if not speaking:
        return [], "no nurse speaking the language"
    if all(nurses[n].capacity <= 0 for n in speaking):
        return [], "no capacity"
    found = []
    for nurse_index, distance in sorted(speaking.items(), key=lambda item: item[1]):
        nurse = nurses[nurse_index]
        if nurse.capacity <= 0:
            continue
        for window, (opens, closes) in enumerate(nurse.windows):
            start = earliest_start(request, distance, travel.at(opens), travel.at(closes), travel)
            if start is not None:
                found.append(Candidate(index, nurse_index, window, distance, start))
    if not found:
        return [], "no window before due time"
    return found, ""


def earliest_start(request: Request, distance_km: float, opens: float, closes: float, travel):
    """When the nurse can start this visit alone in a window [opens, closes] (seconds since now),
    leaving her practice at the window's start and back by its end; None if she cannot."""
    drive = travel.drive_seconds(distance_km)
    service = request.service_minutes * 60
    start = max(max(opens, 0.0) + drive, travel.at(request.earliest))
    if start + service > travel.at(request.due) or start + service + drive > closes:
        return None
    return start


class _NurseGrid:
    """Nurses bucketed by practice in cells as tall as the largest radius, so the nurses that can
    reach a patient are among the nine cells around her."""

    def __init__(self, nurses: tuple[Nurse, ...]):
        self.nurses = nurses
        largest = max((n.radius_km for n in nurses), default=0.0)
        self.cell = max(largest / KM_PER_DEGREE, 0.01)
        cells: dict[tuple[int, int], list[int]] = defaultdict(list)
        for index, nurse in enumerate(nurses):
            cells[self._cell_of(nurse.lat, nurse.lon)].append(index)
        self.cells = {key: np.array(members) for key, members in cells.items()}
        self.lats = np.array([n.lat for n in nurses], dtype=np.float64)
        self.lons = np.array([n.lon for n in nurses], dtype=np.float64)
        self.radii = np.array([n.radius_km for n in nurses], dtype=np.float64)

    def _cell_of(self, lat: float, lon: float) -> tuple[int, int]:
        return math.floor(lat / self.cell), math.floor(lon / self.cell)

    def within_reach(self, request: Request) -> dict[int, float]:
        """Nurses whose radius covers the patient, with their great-circle distance."""
        row, column = self._cell_of(request.lat, request.lon)
        # A degree of longitude shrinks with latitude: look as many columns wide as the radius.
        shrink = max(math.cos(math.radians(min(abs(request.lat) + self.cell, 89.0))), 0.01)
        span = math.ceil(1 / shrink)
        members = [
            self.cells[key]
            for key in (
                (row + dr, column + dc) for dr in (-1, 0, 1) for dc in range(-span, span + 1)
            )
            if key in self.cells
        ]
        if not members:
            return {}
        indices = np.concatenate(members)
        distances = great_circle_km_many(
            request.lat, request.lon, self.lats[indices], self.lons[indices]
        )
        close = distances <= self.radii[indices]
        return dict(zip(indices[close].tolist(), distances[close].tolist(), strict=True))
