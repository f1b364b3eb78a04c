"""Why each request went to its nurse, or to no one, in words a coordinator reads (French)."""

from matching.candidates import Candidate
from matching.model import Instance, Nurse, Request


def _km(value: float) -> str:
    return f"{value:.1f}".replace(".", ",") + " km"


def assignment_reason(
    instance: Instance,
    request: Request,
    nurse: Nurse,
    window: int,
    chosen: Candidate,
    candidates: list[Candidate],
    eligible: int,
) -> str:
    """`candidates` are the nearest nurses' windows the planner weighed; `eligible` counts every
    nurse who could have made the visit alone."""
    opens, closes = nurse.windows[window]  # as written, in the nurse's own offset
    parts = []
    if any(f.request == request.id for f in instance.fixed):
        parts.append("visite déjà acceptée")
    elif request.preferred_nurse == nurse.id:
        parts.append("infirmière habituelle du patient")
    where = (
        f"à {_km(chosen.distance_km)} du cabinet"
        if chosen.distance_km <= nurse.radius_km
        else f"commune de son secteur, à {_km(chosen.distance_km)}"
    )
    parts.append(where)
    parts.append(f"créneau {opens:%H:%M}–{closes:%H:%M}")
    nurses = sorted({(c.distance_km, c.nurse) for c in candidates})
    rank = [n for _d, n in nurses].index(chosen.nurse) + 1
    eligible = max(eligible, len(nurses))
    if eligible == 1:
        parts.append("seule infirmière possible")
    elif rank == 1:
        parts.append(f"la plus proche des {eligible} possibles")
    else:
        parts.append(
            f"{rank}e plus proche des {eligible} possibles (les plus proches ont une tournée "
            "plus utile ailleurs ou sont complètes)"
        )
    return " ; ".join(parts)


DETAILS = {
    "no eligible nurse": (
        "Aucune infirmière n'a le domicile du patient dans sa zone d'intervention."
    ),
    "no nurse with the skills": "Aucune infirmière de la zone ne pratique les tests demandés.",
    "no nurse speaking the language": "Aucune infirmière de la zone ne parle la langue du patient.",
    "no window before due time": (
        "Aucune infirmière de la zone n'a de créneau qui permette la visite avant l'échéance."
    ),
}


# The same reasons in a few words, for counts ("sans infirmière : 3 × aucun créneau…").
SHORT_LABELS = {
    "no eligible nurse": "hors de toute zone d'intervention",
    "no nurse with the skills": "tests non pratiqués dans la zone",
    "no nurse speaking the language": "langue non parlée dans la zone",
    "no window before due time": "aucun créneau avant l'échéance",
    "no capacity": "créneaux déjà pris",
}


def unassigned_detail(reason: str, request: Request, candidates: int) -> str:
    if reason == "no capacity":
        return (
            f"{candidates} infirmière(s) pouvai(en)t faire cette visite seule, mais leurs créneaux "
            "sont pris par des visites prioritaires ou plus proches avant l'échéance."
        )
    return DETAILS[reason]
