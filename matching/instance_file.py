"""The file interface: an instance read from JSON, every problem in it named by its path, and a
solution written as JSON."""

import itertools
import math
from datetime import datetime, timedelta
from typing import Any

from matching.model import (
    DEFAULT_DETOUR_FACTOR,
    DEFAULT_SERVICE_MINUTES,
    DEFAULT_SPEED_KMH,
    Fixed,
    Instance,
    Nurse,
    Request,
    Solution,
)


class InstanceError(ValueError):
    """The instance cannot be solved as written; `problems` names each fault by its path."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


class _Reader:
    def __init__(self) -> None:
        self.problems: list[str] = []

    def fail(self, path: str, message: str) -> None:
        self.problems.append(f"{path}: {message}")

    def required(self, data: dict, key: str, path: str) -> Any:
        if key not in data or data[key] is None:
            self.fail(f"{path}.{key}", "missing")
            return None
        return data[key]

    def number(self, data: dict, key: str, path: str, *, default=None, low=None, high=None):
        if default is not None:
            value = data.get(key)
            value = default if value is None else value
        else:
            value = self.required(data, key, path)
        if value is None:
            return None
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            self.fail(f"{path}.{key}", f"a number is expected, not {value!r}")
            return None
        if (low is not None and value < low) or (high is not None and value > high):
            self.fail(f"{path}.{key}", f"{value} is outside [{low}, {high}]")
            return None
        return value

    def instant(self, value: Any, path: str) -> datetime | None:
        try:
            moment = datetime.fromisoformat(value)
        except (TypeError, ValueError):
            self.fail(path, f"an ISO 8601 date-time is expected, not {value!r}")
            return None
        if moment.tzinfo is None:
            self.fail(path, "the date-time needs its UTC offset")
            return None
        return moment

    def strings(self, data: dict, key: str, path: str) -> frozenset[str]:
        value = data.get(key) or []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail(f"{path}.{key}", "a list of strings is expected")
            return frozenset()
        return frozenset(value)

    def identifier(self, data: dict, path: str, seen: set[str]) -> str | None:
        value = self.required(data, "id", path)
        if value is None:
            return None
        if not isinstance(value, str) or not value:
            self.fail(f"{path}.id", "a non-empty string is expected")
            return None
        if value in seen:
            self.fail(f"{path}.id", f"{value!r} is used twice")
        seen.add(value)
        return value


def read_instance(data: Any) -> Instance:
    """The instance a decoded JSON document describes. Raises InstanceError listing every fault."""
    reader = _Reader()
    if not isinstance(data, dict):
        raise InstanceError(["the instance must be a JSON object"])
    now = reader.instant(reader.required(data, "now", "$"), "$.now")
    speed = reader.number(data, "speed_kmh", "$", default=DEFAULT_SPEED_KMH, low=1, high=200)
    detour = reader.number(data, "detour_factor", "$", default=DEFAULT_DETOUR_FACTOR, low=1, high=5)
    nurse_ids: set[str] = set()
    nurses = _nurses(reader, data.get("nurses"), nurse_ids)
    requests = _requests(reader, data.get("requests"), nurse_ids)
    fixed = _fixed(
        reader, data.get("fixed") or [], {n.id: n for n in nurses}, {r.id: r for r in requests}
    )
    if reader.problems:
        raise InstanceError(reader.problems)
    return Instance(
        now=now,
        nurses=tuple(nurses),
        requests=tuple(requests),
        speed_kmh=float(speed),
        detour_factor=float(detour),
        fixed=tuple(fixed),
    )


def _list(reader: _Reader, value: Any, path: str) -> list:
    if not isinstance(value, list):
        reader.fail(path, "a list is expected")
        return []
    return value


def _objects(reader: _Reader, value: Any, path: str):
    """(path, object) for each item of a list of objects; anything else is a fault."""
    for index, item in enumerate(_list(reader, value, path)):
        if isinstance(item, dict):
            yield f"{path}[{index}]", item
        else:
            reader.fail(f"{path}[{index}]", "an object is expected")


def _nurses(reader: _Reader, value: Any, seen: set[str]) -> list[Nurse]:
    nurses = []
    for path, item in _objects(reader, value, "$.nurses"):
        before = len(reader.problems)
        nurse_id = reader.identifier(item, path, seen)
        lat = reader.number(item, "lat", path, low=-90, high=90)
        lon = reader.number(item, "lon", path, low=-180, high=180)
        radius = reader.number(item, "radius_km", path, default=0, low=0, high=500)
        capacity = reader.number(item, "capacity", path, low=0, high=1000)
        if capacity is not None and capacity != int(capacity):
            reader.fail(f"{path}.capacity", "a whole number is expected")
        windows = _windows(reader, item.get("windows"), f"{path}.windows")
        communes = reader.strings(item, "communes", path)
        skills = reader.strings(item, "skills", path)
        languages = reader.strings(item, "languages", path)
        if len(reader.problems) == before:
            nurses.append(
                Nurse(
                    nurse_id, lat, lon, radius, int(capacity), windows, communes, skills, languages
                )
            )
    return nurses


def _windows(reader: _Reader, value: Any, path: str) -> tuple[tuple[datetime, datetime], ...]:
    windows = []
    for index, pair in enumerate(_list(reader, value, path)):
        where = f"{path}[{index}]"
        if not isinstance(pair, list) or len(pair) != 2:
            reader.fail(where, "a window is [start, end]")
            continue
        start, end = reader.instant(pair[0], f"{where}[0]"), reader.instant(pair[1], f"{where}[1]")
        if start and end:
            if end <= start:
                reader.fail(where, "the window ends before it starts")
            else:
                windows.append((start, end))
    windows.sort()
    for (_s1, end1), (start2, _e2) in itertools.pairwise(windows):
        if start2 < end1:
            reader.fail(path, "two windows overlap: a nurse is in one place at a time")
            break
    return tuple(windows)


def _requests(reader: _Reader, value: Any, nurse_ids: set[str]) -> list[Request]:
    requests, seen = [], set()
    for path, item in _objects(reader, value, "$.requests"):
        before = len(reader.problems)
        request_id = reader.identifier(item, path, seen)
        lat = reader.number(item, "lat", path, low=-90, high=90)
        lon = reader.number(item, "lon", path, low=-180, high=180)
        earliest = reader.instant(reader.required(item, "earliest", path), f"{path}.earliest")
        due = reader.instant(reader.required(item, "due", path), f"{path}.due")
        if earliest and due and due <= earliest:
            reader.fail(f"{path}.due", "the due time is not after the earliest start")
        service = reader.number(
            item, "service_minutes", path, default=DEFAULT_SERVICE_MINUTES, low=1, high=600
        )
        priority = reader.number(item, "priority", path, default=0, low=0, high=10)
        preferred = item.get("preferred_nurse")
        if preferred is not None and not isinstance(preferred, str):
            reader.fail(f"{path}.preferred_nurse", "a nurse id (string) is expected")
            preferred = None
        elif preferred is not None and preferred not in nurse_ids:
            reader.fail(f"{path}.preferred_nurse", f"unknown nurse {preferred!r}")
        commune = item.get("commune")
        if commune is not None and not isinstance(commune, str):
            reader.fail(f"{path}.commune", "a string is expected")
        skills = reader.strings(item, "skills", path)
        languages = reader.strings(item, "languages", path)
        excluded = reader.strings(item, "excluded_nurses", path)
        if len(reader.problems) == before:
            requests.append(
                Request(
                    request_id,
                    lat,
                    lon,
                    earliest,
                    due,
                    int(service),
                    commune,
                    skills,
                    languages,
                    preferred,
                    int(priority),
                    excluded,
                )
            )
    return requests


def _fixed(reader: _Reader, value: Any, nurses: dict, requests: dict) -> list[Fixed]:
    fixed, seen = [], set()
    for path, item in _objects(reader, value, "$.fixed"):
        nurse = nurses.get(_text(reader, item, "nurse", path))
        request = requests.get(_text(reader, item, "request", path))
        start = reader.instant(reader.required(item, "start", path), f"{path}.start")
        if nurse is None:
            reader.fail(f"{path}.nurse", f"unknown nurse {item.get('nurse')!r}")
        if request is None:
            reader.fail(f"{path}.request", f"unknown request {item.get('request')!r}")
        elif request.id in seen:
            reader.fail(f"{path}.request", f"{request.id!r} is accepted twice")
        if nurse is None or request is None or start is None:
            continue
        seen.add(request.id)
        end = start + timedelta(minutes=request.service_minutes)
        if not any(opens <= start and end <= closes for opens, closes in nurse.windows):
            reader.fail(f"{path}.start", f"not inside one of {nurse.id}'s windows")
        elif start < request.earliest or end > request.due:
            reader.fail(f"{path}.start", f"outside {request.id}'s earliest start and due time")
        else:
            fixed.append(Fixed(request.id, nurse.id, start))
    return fixed


def _text(reader: _Reader, item: dict, key: str, path: str) -> str | None:
    value = reader.required(item, key, path)
    return value if isinstance(value, str) else None


def solution_document(solution: Solution, instance: Instance) -> dict:
    """The solution as the file interface writes it, times in the offset of `now`."""
    zone = instance.now.tzinfo
    return {
        "assignments": [
            {
                "request": a.request,
                "nurse": a.nurse,
                "window": a.window,
                "start": a.start.astimezone(zone).isoformat(),
                "end": a.end.astimezone(zone).isoformat(),
                "distance_km": round(a.distance_km, 3),
                "reason": a.reason,
            }
            for a in solution.assignments
        ],
        "routes": [
            {
                "nurse": r.nurse,
                "window": r.window,
                "requests": list(r.requests),
                "road_km": round(r.road_km, 3),
            }
            for r in solution.routes
        ],
        "unassigned": [
            {"request": u.request, "reason": u.reason, "detail": u.detail}
            for u in solution.unassigned
        ],
        "stats": {
            "served": solution.served,
            "unassigned": len(solution.unassigned),
            "travel_km": round(solution.travel_km, 3),
            "seconds": round(solution.seconds, 3),
        },
    }
