"""A simulation's answer for people, in French: the comparison table of the policies and the
capacity answer, from the stored JSON values (the command line prints them, the page shows
them)."""

from registry.geo.departments import department_label

POLICY_LABELS = {"platform": "Plateforme", "broadcast": "Diffusion à toutes (concurrents)"}
NO_VALUE = "—"


def introduction(result: dict) -> str:
    """What was simulated, in one sentence."""
    params = result["parameters"]
    share = decimal(result["national_share"] * 100, 2)
    return (
        f"{department_label(result['department'])}, {_int(result['population'])} habitants "
        f"({share} % de la population) : {result['nurses']} infirmière(s) active(s) ; "
        f"{_int(result['requests'])} demande(s) sur {params['days']} jour(s) à partir du "
        f"{_date(result['first_day'])} ({decimal(params['per_day'], 2)} par jour en moyenne), "
        f"graine {params['seed']} ; calcul en {decimal(result['seconds'], 0)} s."
    )


def headings(result: dict) -> list[str]:
    return [POLICY_LABELS[name] for name in result["policies"]]


def comparison(result: dict) -> list[tuple[str, list[str]]]:
    """(indicator, one value per policy) rows."""
    figures = list(result["policies"].values())
    return [(label, [cell(f) for f in figures]) for label, cell in ROWS]


# Each indicator and how one policy's figures show it.
ROWS = (
    ("Demandes", lambda f: _int(f["requests"])),
    (
        "Visitées dans les 24 h",
        lambda f: f"{_int(f['within_24h'])} ({percent(f['within_24h_share'])})",
    ),
    ("Délai consentement → visite, médiane", lambda f: hours(f["median_hours"])),
    ("Délai consentement → visite, 90e centile", lambda f: hours(f["p90_hours"])),
    (
        "Km par visite (cabinet → domicile, à vol d'oiseau)",
        lambda f: decimal(f["km_per_visit"]),
    ),
    (
        "Infirmières ayant au moins une visite",
        lambda f: (
            f"{f['nurses_with_visits']} / {f['nurses']} ({percent(f['nurses_with_visits_share'])})"
        ),
    ),
    (
        "Visites par infirmière : moyenne / maximum",
        lambda f: f"{decimal(f['visits_per_nurse_mean'], 2)} / {f['visits_per_nurse_max']}",
    ),
    ("Concentration de la charge (Gini, 0 = égale)", lambda f: decimal(f["load_gini"], 2)),
    ("Le plus de visites d'une infirmière en un jour", lambda f: str(f["most_visits_in_a_day"])),
    ("Journées au-delà du maximum déclaré", lambda f: str(f["nurse_days_over_capacity"])),
    (
        "Sans visite",
        lambda f: f"{_int(f['unassigned'])} ({percent(f['unassigned_share'])})",
    ),
    (
        "… jamais proposées (aucune infirmière éligible et libre)",
        lambda f: _int(f["unassigned_never_asked"]),
    ),
    (
        "… proposées, acceptées par personne à temps",
        lambda f: _int(f["unassigned_after_asking"]),
    ),
    (
        "… infirmières sollicitées pour chacune (moyenne)",
        lambda f: decimal(f["nurses_asked_per_unassigned"]),
    ),
    ("Propositions envoyées", lambda f: _int(f["offers_sent"])),
    ("… déclinées", lambda f: _int(f["offers_declined"])),
    ("… restées sans réponse", lambda f: _int(f["offers_unanswered"])),
    ("« Oui » arrivés quand la visite était prise", lambda f: _int(f["accepts_lost"])),
    (
        "Passes de planification (temps du planificateur)",
        lambda f: (
            f"{_int(f['passes'])} ({decimal(f['planner_seconds'])} s)" if f["passes"] else NO_VALUE
        ),
    ),
    ("Durée du calcul", lambda f: f"{decimal(f['seconds'])} s"),
)


def capacity_lines(result: dict) -> list[str]:
    """The capacity answer in sentences; none without a target."""
    answer = result.get("capacity")
    if not answer:
        return []
    target = percent(answer["target"])
    if answer["added"] == 0 and answer["reached"]:
        return [f"Objectif {target} dans les 24 h : déjà atteint sans infirmière de plus."]
    places = ", ".join(f"{c['name']} ({c['insee']}) × {c['nurses']}" for c in answer["communes"])
    if answer["reached"]:
        first = (
            f"Objectif {target} dans les 24 h : atteint avec {answer['added']} infirmière(s) "
            f"de plus, installées à {places} ; la plateforme visite alors "
            f"{percent(answer['share'])} des demandes dans les 24 h."
        )
    else:
        first = (
            f"Objectif {target} dans les 24 h : non atteint ; avec {answer['added']} "
            f"infirmière(s) de plus ({places}), la plateforme visite "
            f"{percent(answer['share'])} des demandes dans les 24 h."
        )
    lines = [first]
    if answer.get("broadcast_share") is not None:
        lines.append(
            "Avec ces mêmes infirmières, la diffusion à toutes en visiterait "
            f"{percent(answer['broadcast_share'])}."
        )
    steps = " ; ".join(f"+{r['added']} : {percent(r['share'])}" for r in answer["rounds"])
    lines.append(f"Tours de la recherche : {steps}.")
    return lines


def text_table(result: dict) -> str:
    """The comparison as a plain-text table, then the capacity answer."""
    names = ["Indicateur", *headings(result)]
    rows = comparison(result)
    widths = [max(len(names[0]), *(len(label) for label, _v in rows))]
    for column in range(len(names) - 1):
        widths.append(max(len(names[column + 1]), *(len(v[column]) for _l, v in rows)))
    lines = [
        _line(names, widths),
        "  ".join("-" * width for width in widths),
        *(_line([label, *values], widths) for label, values in rows),
    ]
    capacity = capacity_lines(result)
    if capacity:
        lines += ["", *capacity]
    return "\n".join(lines)


def _line(cells: list[str], widths: list[int]) -> str:
    first = cells[0].ljust(widths[0])
    rest = [cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True)]
    return "  ".join([first, *rest]).rstrip()


def percent(value: float | None) -> str:
    return NO_VALUE if value is None else f"{value * 100:.1f} %".replace(".", ",")


def decimal(value: float | None, places: int = 1) -> str:
    return NO_VALUE if value is None else f"{value:.{places}f}".replace(".", ",")


def hours(value: float | None) -> str:
    if value is None:
        return NO_VALUE
    minutes = round(value * 60)
    return f"{minutes // 60} h {minutes % 60:02d}"


def _date(iso: str) -> str:
    year, month, day = iso.split("-")
    return f"{day}/{month}/{year}"


def _int(value: int) -> str:
    return f"{value:,}".replace(",", "\u202f")
