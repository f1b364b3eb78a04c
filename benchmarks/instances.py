"""Realistic matching instances on the real commune table: practices and patients drawn by
population, a wider sector in the countryside than in town, capacities of 1 to 4 visits, one
round of 2 to 4 hours per nurse in her own time zone, and the mix of tests, languages and
vulnerable patients the tracing platforms send.

    python -m benchmarks.instances rural|urban|national|surge [--seed N] > instance.json

The document is the file interface of `python -m matching solve`."""

import argparse
import json
import math
import random
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from registry.geo.communes import Commune, load_communes

NOW = datetime(2026, 11, 24, 7, 0, tzinfo=ZoneInfo("Europe/Paris"))
KM_PER_DEGREE = 111.195


@dataclass(frozen=True)
class Size:
    key: str
    label: str
    requests: int
    nurses: int
    departments: tuple[str, ...]  # empty: the whole country
    budget: float  # our time limit, seconds
    target_seconds: float


SIZES = {
    size.key: size
    for size in (
        Size("rural", "rural department day (Ariège)", 30, 80, ("09",), 1.0, 1.0),
        Size("urban", "urban department surge (Rhône)", 150, 700, ("69",), 1.5, 2.0),
        Size("national", "national day (2021 peak)", 2000, 33000, (), 4.0, 5.0),
        Size("surge", "national surge (2022-scale wave)", 50000, 100000, (), 40.0, 60.0),
    )
}


def generate(size: Size, seed: int = 0) -> dict:
    rng = random.Random(f"{size.key}-{seed}")
    communes = [
        c for c in load_communes() if not size.departments or c.department in size.departments
    ]
    weights = [max(c.population, 1) for c in communes]
    nurses = [
        _nurse(f"n{i}", commune, rng)
        for i, commune in enumerate(rng.choices(communes, weights, k=size.nurses))
    ]
    requests = [
        _request(f"r{i}", commune, rng)
        for i, commune in enumerate(rng.choices(communes, weights, k=size.requests))
    ]
    return {
        "now": NOW.isoformat(),
        "speed_kmh": 40,
        "detour_factor": 1.3,
        "nurses": nurses,
        "requests": requests,
    }


def _near(commune: Commune, km: float, rng: random.Random) -> tuple[float, float]:
    """A point within `km` of the commune's centre (uniform on the disc)."""
    distance, bearing = km * math.sqrt(rng.random()), rng.uniform(0, 2 * math.pi)
    lat = commune.latitude + distance * math.cos(bearing) / KM_PER_DEGREE
    lon = commune.longitude + distance * math.sin(bearing) / (
        KM_PER_DEGREE * math.cos(math.radians(commune.latitude))
    )
    return round(lat, 5), round(lon, 5)


def _spread_km(commune: Commune) -> float:
    """How far from the commune's centre its people live, roughly."""
    return 1.0 if commune.population >= 10000 else 2.0


def _nurse(nurse_id: str, commune: Commune, rng: random.Random) -> dict:
    lat, lon = _near(commune, _spread_km(commune), rng)
    if commune.population >= 10000:
        radius = rng.uniform(3, 8)
    elif commune.population >= 2000:
        radius = rng.uniform(6, 15)
    else:
        radius = rng.uniform(12, 25)
    zone = ZoneInfo(commune.timezone)
    day = NOW.astimezone(zone).date()
    length = rng.choice((120, 150, 180, 210, 240))
    start_minute = rng.randrange(8 * 60, 20 * 60 - length + 1, 30)
    opens = datetime(day.year, day.month, day.day, tzinfo=zone) + timedelta(minutes=start_minute)
    skills = ["tag", "pcr"] if rng.random() < 0.6 else ["tag"]
    languages = ["fr"] + [
        language
        for language, share in (("en", 0.25), ("ar", 0.08), ("es", 0.05))
        if rng.random() < share
    ]
    return {
        "id": nurse_id,
        "lat": lat,
        "lon": lon,
        "radius_km": round(radius, 1),
        "communes": [commune.insee],
        "capacity": rng.randint(1, 4),
        "windows": [[opens.isoformat(), (opens + timedelta(minutes=length)).isoformat()]],
        "skills": skills,
        "languages": languages,
    }


def _request(request_id: str, commune: Commune, rng: random.Random) -> dict:
    lat, lon = _near(commune, _spread_km(commune), rng)
    # Consent given since yesterday noon: due (consent + 24 h) from today noon to tomorrow 7 h.
    consent = NOW - timedelta(minutes=rng.randrange(0, 19 * 60))
    draw = rng.random()
    skills = ["tag"] if draw < 0.7 else ["pcr"] if draw < 0.9 else ["tag", "pcr"]
    draw = rng.random()
    languages = ["ar"] if draw < 0.05 else ["en"] if draw < 0.08 else []
    return {
        "id": request_id,
        "lat": lat,
        "lon": lon,
        "commune": commune.insee,
        "earliest": NOW.isoformat(),
        "due": (consent + timedelta(hours=24)).isoformat(),
        "service_minutes": 40,
        "skills": skills,
        "languages": languages,
        "priority": 1 if rng.random() < 0.15 else 0,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.instances")
    parser.add_argument("size", choices=sorted(SIZES))
    parser.add_argument("--seed", type=int, default=0)
    arguments = parser.parse_args(argv)
    json.dump(generate(SIZES[arguments.size], arguments.seed), sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
