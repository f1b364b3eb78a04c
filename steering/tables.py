"""The indicators as tables (one row a period, then the whole period), for the pages, the CSV
exports and the JSON API: one list of columns, so the three always agree."""

from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal

from registry.errors import invalid
from registry.geo.departments import department_names
from steering.indicators import Figures, Indicators

TENTH = Decimal("0.1")
THOUSANDTH = Decimal("0.001")


def _tenth(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(TENTH, ROUND_HALF_UP)


def _share(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(THOUSANDTH, ROUND_HALF_UP)


# (column, French heading, value of a period)
PERIOD_COLUMNS: tuple[tuple[str, str, Callable[[Figures], object]], ...] = (
    ("debut", "Du", lambda f: f.start),
    ("fin", "Au", lambda f: f.end),
    ("demandes", "Demandes reçues", lambda f: f.requests),
    ("visites", "Visites faites", lambda f: f.visits),
    ("demandes_comptees_24h", "Demandes dont l'issue est connue", lambda f: f.counted),
    ("visitees_24h", "Visitées en 24 h", lambda f: f.visited_within_24h),
    ("part_24h", "Part visitée en 24 h", lambda f: _share(f.share_within_24h)),
    ("acceptation_mediane_min", "Consentement → acceptation, médiane (min)",
     lambda f: _tenth(f.acceptance_median_minutes)),
    ("acceptation_p90_min", "Consentement → acceptation, 90e centile (min)",
     lambda f: _tenth(f.acceptance_p90_minutes)),
    ("visite_mediane_min", "Consentement → visite, médiane (min)",
     lambda f: _tenth(f.visit_median_minutes)),
    ("visite_p90_min", "Consentement → visite, 90e centile (min)",
     lambda f: _tenth(f.visit_p90_minutes)),
    ("sans_infirmiere", "Sans infirmière", lambda f: f.unassigned),
    ("annulees", "Annulées", lambda f: f.cancelled),
    ("refusees_patient", "Refusées par le patient", lambda f: f.refused_by_patient),
    ("injoignables", "Patient injoignable", lambda f: f.unreachable),
    ("en_cours", "En cours", lambda f: f.open),
    ("escaladees", "Signalées avant l'échéance", lambda f: f.escalated),
    ("propositions", "Propositions", lambda f: f.offers),
    ("propositions_acceptees", "Propositions acceptées", lambda f: f.offers_accepted),
    ("propositions_declinees", "Propositions déclinées", lambda f: f.offers_declined),
    ("propositions_expirees", "Propositions expirées", lambda f: f.offers_expired),
    ("infirmieres_inscrites", "Infirmières validées (cumul)", lambda f: f.nurses_enrolled),
    ("infirmieres_actives", "Infirmières ayant répondu", lambda f: f.nurses_answering),
    ("infirmieres_ayant_visite", "Infirmières ayant fait une visite",
     lambda f: f.nurses_visiting),
    ("visites_par_infirmiere", "Visites par infirmière ayant visité",
     lambda f: _tenth(f.visits_per_nurse)),
    ("km_par_visite", "km par visite (cabinet → domicile)", lambda f: _tenth(f.km_per_visit)),
    ("membres_testes", "Membres du foyer testés", lambda f: f.tested),
    ("orientations_ctai", "Orientations vers la CTAI", lambda f: f.ctai_referrals),
    ("montant_facture", "Montant facturé (€)", lambda f: f.billed),
)  # fmt: skip
COLUMNS = tuple(name for name, _heading, _value in PERIOD_COLUMNS)
HEADINGS = {name: heading for name, heading, _value in PERIOD_COLUMNS}


def period_row(figures: Figures) -> dict:
    return {name: value(figures) for name, _heading, value in PERIOD_COLUMNS}


CSV_COLUMNS = ("ligne", *COLUMNS)


def period_rows(indicators: Indicators) -> list[dict]:
    """One row a day or week, then the whole period's (`ligne` says which)."""
    unit = indicators.filters.granularity.label
    rows = [{"ligne": unit, **period_row(figures)} for figures in indicators.periods]
    rows.append({"ligne": "total", **period_row(indicators.total)})
    return rows


# The other tables, each behind one chart: (columns, rows).
def delay_table(indicators: Indicators) -> tuple[tuple[str, ...], list[dict]]:
    return ("delai", "visites"), [
        {"delai": label, "visites": count} for label, count in indicators.delay_classes
    ]


def load_table(indicators: Indicators) -> tuple[tuple[str, ...], list[dict]]:
    return ("visites_faites", "infirmieres"), [
        {"visites_faites": visits, "infirmieres": nurses} for visits, nurses in indicators.load
    ]


def outcomes(figures: Figures) -> list[tuple[str, int]]:
    """The period's requests that ended, or wait, without a visit, by how."""
    return [
        ("Sans infirmière", figures.unassigned),
        ("Annulée par l'enquêteur", figures.cancelled),
        ("Refusée par le patient", figures.refused_by_patient),
        ("Patient injoignable", figures.unreachable),
    ]


def reason_table(indicators: Indicators) -> tuple[tuple[str, ...], list[dict]]:
    rows = [
        {"tableau": kind, "motif": reason, "nombre": count}
        for kind, reasons in (
            ("demandes sans visite", outcomes(indicators.total)),
            ("demandes sans infirmière", indicators.unassigned_reasons),
            ("propositions déclinées", indicators.decline_reasons),
        )
        for reason, count in reasons
    ]
    return ("tableau", "motif", "nombre"), rows


def department_table(indicators: Indicators) -> tuple[tuple[str, ...], list[dict]]:
    """One row a department (when the platform is shown), with the period's columns."""
    names = department_names()
    rows = [
        {"departement": code, "nom": names.get(code, ""), **period_row(figures)}
        for code, figures in indicators.departments.items()
    ]
    return ("departement", "nom", *COLUMNS), rows


TABLES = {
    "delais": delay_table,
    "charge": load_table,
    "motifs": reason_table,
    "departements": department_table,
}


def csv_table(indicators: Indicators, name: str) -> tuple[tuple[str, ...], list[dict]]:
    """The table a CSV export names: `periodes` (the default), `departements`, `delais`,
    `charge`, `motifs`."""
    if name == "periodes":
        return CSV_COLUMNS, period_rows(indicators)
    if name not in TABLES:
        invalid("table", f"Tableaux : periodes, {', '.join(TABLES)}.")
    return TABLES[name](indicators)


def csv_filename(indicators: Indicators, name: str, french: bool) -> str:
    filters = indicators.filters
    where = filters.department or "plateforme"
    suffix = "-fr" if french else ""
    return f"indicateurs-{name}-{where}-{filters.start}-{filters.end}{suffix}.csv"


def _json(name: str, value):
    if name == "montant_facture":
        return str(value)  # money as the billing API gives it: "1234.50"
    if isinstance(value, Decimal):
        return float(value)  # a share, a time or a mean, already rounded: a JSON number
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def document(indicators: Indicators) -> dict:
    """The JSON API's answer."""
    filters = indicators.filters

    def figures(f: Figures) -> dict:
        return {name: _json(name, value) for name, value in period_row(f).items()}

    return {
        "from": filters.start.isoformat(),
        "to": filters.end.isoformat(),
        "department": filters.department,
        "cpam": filters.cpam_code,
        "granularity": filters.granularity.value,
        "periods": [figures(f) for f in indicators.periods],
        "total": figures(indicators.total),
        "unassigned_reasons": [{"reason": r, "count": n} for r, n in indicators.unassigned_reasons],
        "outcomes": [{"reason": r, "count": n} for r, n in outcomes(indicators.total)],
        "decline_reasons": [{"reason": r, "count": n} for r, n in indicators.decline_reasons],
        "time_to_visit": [{"class": c, "visits": n} for c, n in indicators.delay_classes],
        "departments": [
            {"department": code, **figures(f)} for code, f in indicators.departments.items()
        ],
        "load_per_nurse": {
            "histogram": [{"visits": v, "nurses": n} for v, n in indicators.load],
            "median": indicators.load_median,
            "p90": indicators.load_p90,
            "max": indicators.load_max,
        },
    }
