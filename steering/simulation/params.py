"""The parameters of a capacity simulation, read from the command line or the coordinator's form
(text as people type it, decimal comma accepted) and checked with French messages."""

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from functools import cache
from typing import Any

from registry.errors import ErrorCollector
from registry.geo.communes import arrondissement_city, commune_directory

# The fifth week of the 2021 campaign, France as a whole (seed 000: ~11 000 visits that week).
NATIONAL_VISITS_PER_WEEK = 11_000
POLICIES = ("both", "platform", "broadcast")
MAX_DAYS = 28
MAX_PER_DAY = 5_000
MAX_ADDED_NURSES = 500


@dataclass(frozen=True)
class SimulationParams:
    department: str
    per_day: float
    days: int = 7
    seed: int = 1
    # Nurse behaviour, drawn once per (request, nurse) pair.
    answer_rate: float = 0.8  # she answers at all
    answer_median_minutes: float = 20.0  # how soon (lognormal delay, this median)
    answer_spread: float = 1.0  # the lognormal's sigma: 1.0 puts a tenth of answers past 72 min
    decline_rate: float = 0.2  # she answers no
    visit_min_minutes: int = 30
    visit_max_minutes: int = 45
    policy: str = "both"
    # Capacity search: nurses added until this share of requests is visited within 24 h.
    target: float | None = None
    max_added_nurses: int = 100
    # Seconds the planner may take per pass; None: the deployment's own setting.
    plan_time_limit: float | None = None
    # The product's scheduler plans every minute; between events the simulation does it at
    # this interval while requests wait (a nurse's day frees up as her visits pass).
    replan_minutes: int = 15

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def population(department: str) -> int:
    """The department's population, each commune once (arrondissements, not their city)."""
    return sum(c.population for c in _communes(department))


def patient_communes(department: str) -> list:
    """Where patients live: every commune of the department, the arrondissements of Paris,
    Lyon and Marseille rather than the city itself."""
    return _communes(department)


def _communes(department: str) -> list:
    cities = _cities_with_arrondissements()
    return [c for c in commune_directory().in_department(department) if c.insee not in cities]


@cache
def _cities_with_arrondissements() -> frozenset[str]:
    return frozenset({arrondissement_city(c.insee) for c in commune_directory()} - {None})


@cache
def _national_population() -> int:
    return sum(population(code) for code in commune_directory().departments())


def national_share(department: str) -> float:
    return population(department) / _national_population()


def default_per_day(department: str) -> float:
    """The department's share (by population) of the 2021 national volume, per day."""
    return round(NATIONAL_VISITS_PER_WEEK * national_share(department) / 7, 2)


def parse_parameters(values: Mapping[str, Any]) -> SimulationParams:
    """Parameters from text or numbers; every invalid one is reported at once (422). An absent
    or empty value takes its default (per_day: the department's share of the 2021 volume)."""
    errors = ErrorCollector()
    department = str(values.get("department") or "").strip().upper()
    if len(department) == 1 and department.isdigit():
        department = "0" + department
    if not department:
        errors.add("department", "Indiquez le département (ex. 09, 2A, 971).")
    elif department not in commune_directory().departments():
        errors.add("department", f"Département « {department} » inconnu.")
    read = _Reader(values, errors)
    days = read.integer("days", SimulationParams.days, 1, MAX_DAYS, "Nombre de jours")
    seed = read.integer("seed", SimulationParams.seed, 0, 2**31 - 1, "La graine")
    per_day = read.number("per_day", None, 0, MAX_PER_DAY, "Demandes par jour")
    answer_rate = read.share("answer_rate", SimulationParams.answer_rate, "Taux de réponse")
    median = read.number(
        "answer_median_minutes",
        SimulationParams.answer_median_minutes,
        0.5,
        24 * 60,
        "Délai médian de réponse (minutes)",
    )
    spread = read.number("answer_spread", SimulationParams.answer_spread, 0, 3, "Dispersion")
    decline_rate = read.share("decline_rate", SimulationParams.decline_rate, "Taux de refus")
    target = read.share("target", None, "Objectif", low_exclusive=True)
    added = read.integer(
        "max_added_nurses",
        SimulationParams.max_added_nurses,
        1,
        MAX_ADDED_NURSES,
        "Nombre maximum d'infirmières ajoutées",
    )
    limit = read.number(
        "plan_time_limit", SimulationParams.plan_time_limit, 0.1, 60, "Temps du planificateur (s)"
    )
    replan = read.integer(
        "replan_minutes", SimulationParams.replan_minutes, 1, 24 * 60, "Replanification (minutes)"
    )
    policy = str(values.get("policy") or "both").strip()
    if policy not in POLICIES:
        errors.add("policy", f"Politique « {policy} » inconnue : {', '.join(POLICIES)}.")
    errors.raise_if_any()
    if per_day is None:
        per_day = default_per_day(department)
    return SimulationParams(
        department=department,
        per_day=per_day,
        days=days,
        seed=seed,
        answer_rate=answer_rate,
        answer_median_minutes=median,
        answer_spread=spread,
        decline_rate=decline_rate,
        policy=policy,
        target=target,
        max_added_nurses=added,
        plan_time_limit=limit,
        replan_minutes=replan,
    )


class _Reader:
    def __init__(self, values: Mapping[str, Any], errors: ErrorCollector):
        self.values, self.errors = values, errors

    def _raw(self, name: str):
        value = self.values.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        return value

    def number(self, name, default, low, high, label) -> float | None:
        value = self._raw(name)
        if value is None:
            return default
        try:
            number = float(str(value).strip().replace(",", ".").replace("\u202f", ""))
        except ValueError:
            self.errors.add(name, f"{label} : un nombre est attendu (« {value} » illisible).")
            return default
        if not math.isfinite(number) or not low <= number <= high:
            self.errors.add(name, f"{label} : entre {_fr(low)} et {_fr(high)}.")
            return default
        return number

    def integer(self, name, default, low, high, label) -> int:
        value = self._raw(name)
        if value is None:
            return default
        text = str(value).strip()
        if not text.lstrip("-").isdigit():
            self.errors.add(name, f"{label} : un nombre entier est attendu (« {value} »).")
            return default
        number = int(text)
        if not low <= number <= high:
            self.errors.add(name, f"{label} : un entier entre {low} et {high}.")
            return default
        return number

    def share(self, name, default, label, *, low_exclusive=False) -> float | None:
        """A rate as 0.8, 0,8 or 80 %."""
        value = self._raw(name)
        if value is None:
            return default
        text = str(value).strip()
        percent = text.endswith("%")
        try:
            number = float(text.rstrip("% \u202f\u00a0").replace(",", "."))
        except ValueError:
            self.errors.add(name, f"{label} : un nombre est attendu (« {value} » illisible).")
            return default
        if percent:
            number /= 100
        inside = (number > 0 if low_exclusive else number >= 0) and number <= 1
        if not math.isfinite(number) or not inside:
            bounds = "plus de 0 et au plus 1" if low_exclusive else "entre 0 et 1"
            self.errors.add(name, f"{label} : {bounds} (ex. 0,8 ou 80 %).")
            return default
        return number


def _fr(number: float) -> str:
    return f"{number:g}".replace(".", ",")
