"""The requests of a simulated period, drawn once from the seed and shared by every policy: they
arrive while the tracing platforms are open (8h–19h local time, 7 days a week) as a Poisson
process, from communes drawn in proportion to their population, each with its household, the
tests offered to it and how long its visit will last."""

import random
from bisect import bisect
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import accumulate
from zoneinfo import ZoneInfo

from registry.geo import Commune
from registry.identifiers import nir_key
from registry.requests.schema import skills_needed
from steering.simulation.params import SimulationParams

OPENS, CLOSES = time(8), time(19)
# People per household of the patients asked (INSEE household sizes, a little larger: a
# positive patient's household is more often a family).
HOUSEHOLD_SIZES = (1, 2, 3, 4, 5, 6)
HOUSEHOLD_WEIGHTS = (30, 30, 17, 14, 6, 3)
# Of the households of two or more, how many have their other members tested at the visit.
ANTIGEN_TESTS_ODDS = 0.5
PCR_SAMPLES_ODDS = 0.15


@dataclass(frozen=True)
class Arrival:
    index: int
    at: datetime  # the patient's consent, which is also the booking
    commune: Commune
    household_size: int
    tests: tuple[tuple[str, int], ...]  # (kind, people) offered to the rest of the household
    visit_minutes: int

    @property
    def key(self) -> str:
        """The request's name in the behaviour draws: the same in every policy and run."""
        return f"demande-{self.index}"

    @property
    def skills(self) -> tuple[str, ...]:
        return tuple(skills_needed(self.household_tests))

    @property
    def household_tests(self) -> list[dict]:
        return [{"kind": kind, "count": count} for kind, count in self.tests]

    def booking_document(self, birth_year: int = 1970) -> dict:
        """The request as a tracing agent would book it (a NIR valid and unique to it)."""
        born = date(birth_year + self.index % 50, 1 + self.index % 12, 1 + self.index % 28)
        body = f"{1 + self.index % 2}{born.year % 100:02d}{born.month:02d}75"
        body += f"{(self.index // 1000) % 1000:03d}{self.index % 1000:03d}"
        commune = self.commune
        return {
            "nir": body + nir_key(body),
            "first_name": "Patient",
            "last_name": f"Simulé {self.index}",
            "birth_date": born.isoformat(),
            "phone": f"06{10 + self.index % 80:02d}{self.index % 10**6:06d}",
            "address": {
                "street": "",
                "postal_code": commune.postal_codes[0],
                "commune": commune.name,
            },
            "household_size": self.household_size,
            "household_tests": self.household_tests,
            "consent_at": self.at.isoformat(),
            "external_ref": f"SIM-{self.index:06d}",
        }


def draw_arrivals(
    params: SimulationParams, communes: list[Commune], first_day: datetime
) -> list[Arrival]:
    """`params.days` days from `first_day` (a local midnight); reproducible from the seed."""
    rng = random.Random(f"{params.seed}:arrivals")
    places = [c for c in communes if c.population > 0 and c.postal_codes]
    cumulative = list(accumulate(c.population for c in places))
    zone = ZoneInfo(places[0].timezone) if places else first_day.tzinfo
    open_minutes = (CLOSES.hour - OPENS.hour) * 60
    rate = params.per_day / open_minutes  # per minute of opening
    arrivals: list[Arrival] = []
    if rate <= 0 or not places:
        return arrivals
    for day in range(params.days):
        local = (first_day.astimezone(zone) + timedelta(days=day)).date()
        opens = datetime.combine(local, OPENS, zone)
        closes = datetime.combine(local, CLOSES, zone)
        moment = opens
        while True:
            moment += timedelta(minutes=rng.expovariate(rate))
            if moment >= closes:
                break
            commune = places[bisect(cumulative, rng.random() * cumulative[-1])]
            size = rng.choices(HOUSEHOLD_SIZES, HOUSEHOLD_WEIGHTS)[0]
            arrivals.append(
                Arrival(
                    index=len(arrivals),
                    at=moment.replace(second=0, microsecond=0).astimezone(UTC),
                    commune=commune,
                    household_size=size,
                    tests=_tests(rng, size),
                    visit_minutes=rng.randint(params.visit_min_minutes, params.visit_max_minutes),
                )
            )
    return arrivals


def _tests(rng: random.Random, size: int) -> tuple[tuple[str, int], ...]:
    if size < 2:
        return ()
    draw = rng.random()
    if draw < PCR_SAMPLES_ODDS:
        return (("pcr", size - 1),)
    if draw < PCR_SAMPLES_ODDS + ANTIGEN_TESTS_ODDS:
        return (("tag", size - 1),)
    return ()
