"""Benchmark of the eligibility query at national scale: 35 000 active nurses spread over
France like the population, queried at random patients' communes over a 24 h window.

    python -m benchmarks.eligibility [--nurses N] [--queries Q] [--database-url URL]

Without --database-url it runs on a temporary SQLite file, and also on PostgreSQL when
BENCH_DATABASE_URL is set. A PostgreSQL database is wiped first, so it must be named on purpose:
--database-url needs --wipe. Nurses are bulk-inserted (the enrolment
service hashes a password per nurse, which would only measure argon2).
"""

import argparse
import os
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session

from app.db import make_engine, upgrade
from registry.accounts import Role, User
from registry.geo.communes import commune_directory
from registry.nurses.eligibility import eligible_nurses
from registry.nurses.models import (
    AvailabilityWindow,
    Nurse,
    NurseLanguage,
    NurseSectorCommune,
    NurseSkill,
    NurseStatus,
)

PATTERNS = [
    ((0, 1, 2, 3, 4), "13:30", "18:30"),
    ((0, 1, 2, 3, 4, 5), "08:00", "12:00"),
    ((0, 2, 4), "09:00", "17:00"),
    ((1, 3, 5, 6), "14:00", "19:00"),
]


def populate(engine: sa.Engine, count: int, rng: random.Random) -> None:
    communes = list(commune_directory())
    weights = [max(c.population, 1) for c in communes]
    homes = rng.choices(communes, weights, k=count)
    now = datetime.now(UTC)
    users = [
        {
            "email": f"idel{i}@bench.fr",
            "name": f"IDEL {i}",
            "role": Role.NURSE,
            "password_hash": "-",
            "active": True,
            "session_nonce": "x",
            "created_at": now,
        }
        for i in range(count)
    ]
    with engine.begin() as connection:
        connection.execute(sa.insert(User), users)
        first_user = connection.execute(sa.select(sa.func.min(User.id))).scalar()
        nurses = [nurse_row(i, first_user + i, home, now, rng) for i, home in enumerate(homes)]
        connection.execute(sa.insert(Nurse), nurses)
        first_nurse = connection.execute(sa.select(sa.func.min(Nurse.id))).scalar()
        skills, languages, windows, sectors = [], [], [], []
        for i, _home in enumerate(homes):
            nurse_id = first_nurse + i
            skills += [
                {"nurse_id": nurse_id, "skill": s} for s in ("tag", "pcr") if rng.random() < 0.6
            ]
            languages.append({"nurse_id": nurse_id, "language": "fr"})
            days, start, end = rng.choice(PATTERNS)
            windows += [
                {
                    "nurse_id": nurse_id,
                    "weekday": d,
                    "on_date": None,
                    "unavailable": False,
                    "start_time": datetime.strptime(start, "%H:%M").time(),
                    "end_time": datetime.strptime(end, "%H:%M").time(),
                }
                for d in days
            ]
            if rng.random() < 0.2:
                sectors.append({"nurse_id": nurse_id, "insee": rng.choice(communes).insee})
        for model, rows in (
            (NurseSkill, skills),
            (NurseLanguage, languages),
            (AvailabilityWindow, windows),
            (NurseSectorCommune, sectors),
        ):
            connection.execute(sa.insert(model), rows)


def nurse_row(i, user_id, home, now, rng) -> dict:
    return {
        "user_id": user_id,
        "rpps": f"{i:011d}",
        "am_number": "291991198",
        "last_name": f"Nom{i}",
        "first_name": "Prénom",
        "phone": "+33600000000",
        "email": f"idel{i}@bench.fr",
        "practice_street": "",
        "practice_postal_code": home.postal_codes[0] if home.postal_codes else "",
        "practice_commune": home.name,
        "practice_insee": home.insee,
        "practice_latitude": home.latitude + rng.uniform(-0.01, 0.01),
        "practice_longitude": home.longitude + rng.uniform(-0.01, 0.01),
        "practice_precision": "commune",
        "department": home.department,
        "overseas": home.overseas,
        "timezone": home.timezone,
        "sector_radius_km": rng.choice([5, 10, 15, 20, 30]),
        "mountain": False,
        "max_visits_per_day": 6,
        "status": NurseStatus.ACTIVE,
        "status_reason": "",
        "created_at": now,
        "updated_at": now,
        "validated_at": now,
    }


def measure(engine: sa.Engine, queries: int, rng: random.Random) -> dict:
    communes = list(commune_directory())
    weights = [max(c.population, 1) for c in communes]
    timings, found = [], []
    start_day = datetime(2021, 2, 1, 6, tzinfo=UTC)
    with Session(engine) as session:
        for _ in range(queries):
            patient = rng.choices(communes, weights)[0]
            start = start_day + timedelta(hours=rng.randint(0, 24 * 7))
            began = time.perf_counter()
            result = eligible_nurses(
                session,
                latitude=patient.latitude,
                longitude=patient.longitude,
                insee=patient.insee,
                start=start,
                end=start + timedelta(hours=24),
                skills=("tag",) if rng.random() < 0.5 else (),
                min_duration=timedelta(minutes=40),
            )
            timings.append((time.perf_counter() - began) * 1000)
            found.append(len(result))
    timings.sort()
    return {
        "p50": statistics.median(timings),
        "p95": timings[int(len(timings) * 0.95) - 1],
        "max": timings[-1],
        "found": statistics.mean(found),
    }


def run(url: str, label: str, nurses: int, queries: int) -> dict:
    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    upgrade(engine)
    rng = random.Random(35000)
    began = time.perf_counter()
    populate(engine, nurses, rng)
    load_seconds = time.perf_counter() - began
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(sa.text("ANALYZE"))
    figures = measure(engine, queries, rng)
    engine.dispose()
    return {
        "backend": label,
        "nurses": nurses,
        "queries": queries,
        "load_s": load_seconds,
        **figures,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nurses", type=int, default=35_000)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--wipe", action="store_true", help="allow wiping --database-url")
    args = parser.parse_args()
    if args.database_url and not args.wipe:
        parser.error("--database-url wipes that database: add --wipe to confirm")
    targets = []
    with tempfile.TemporaryDirectory() as folder:
        if args.database_url:
            targets.append((args.database_url, args.database_url.split(":")[0]))
        else:
            targets.append((f"sqlite:///{Path(folder) / 'bench.sqlite3'}", "sqlite"))
            if os.environ.get("BENCH_DATABASE_URL"):
                targets.append((os.environ["BENCH_DATABASE_URL"], "postgresql"))
        rows = [run(url, label, args.nurses, args.queries) for url, label in targets]
    print("\nEligibility query: active nurses able to serve a point within 24 h")
    print(
        f"{'backend':<12}{'nurses':>8}{'queries':>9}{'load s':>8}{'found':>8}"
        f"{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}"
    )
    for r in rows:
        print(
            f"{r['backend']:<12}{r['nurses']:>8}{r['queries']:>9}{r['load_s']:>8.1f}"
            f"{r['found']:>8.1f}{r['p50']:>9.2f}{r['p95']:>9.2f}{r['max']:>9.2f}"
        )


if __name__ == "__main__":
    main()
