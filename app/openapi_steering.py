"""The steering part of the OpenAPI document: the indicators, as JSON and as CSV."""

from app.billing_params import CSV_FORMATS
from app.openapi import (
    API,
    Schema,
    answer,
    answer_object,
    array,
    integer,
    nullable,
    number,
    operation,
    query,
    ref,
    shared,
    string,
)
from app.openapi_billing import CSV_FORMAT_NOTE, DECIMAL, csv_responses
from registry.accounts import Role
from steering.tables import COLUMNS, HEADINGS, TABLES

READERS = (Role.COORDINATOR, Role.CPAM, Role.ADMIN)
TAG = "Pilotage"
# The columns that may be empty: a share, a time or a mean over nothing.
MAY_BE_EMPTY = {
    "part_24h",
    "acceptation_mediane_min",
    "acceptation_p90_min",
    "visite_mediane_min",
    "visite_p90_min",
    "visites_par_infirmiere",
    "km_par_visite",
}


def _column(name: str) -> Schema:
    heading = HEADINGS[name] + "."
    if name in ("debut", "fin"):
        return string(heading, format="date")
    if name in MAY_BE_EMPTY:
        return nullable(number(heading + " Null quand il n'y a rien à mesurer."))
    if name == "montant_facture":
        return string(
            heading + " Avoirs déduits ; point décimal (ex. « 1234.50 »).", pattern=DECIMAL
        )
    return integer(heading)


def _reasons(description: str) -> Schema:
    return array(answer_object({"reason": string(), "count": integer()}), description)


def steering_schemas() -> dict[str, Schema]:
    return {
        "IndicatorFigures": answer_object({name: _column(name) for name in COLUMNS}),
        "Indicators": answer_object(
            {
                "from": string("Premier jour (AAAA-MM-JJ).", format="date"),
                "to": string("Dernier jour, inclus.", format="date"),
                "department": nullable(string("Département (null : toute la plateforme).")),
                "cpam": nullable(string("CPAM (le personnel d'une CPAM : la sienne).")),
                "granularity": string("Périodes : day ou week.", enum=["day", "week"]),
                "periods": array(ref("IndicatorFigures"), "Un élément par jour ou semaine."),
                "total": ref("IndicatorFigures"),
                "unassigned_reasons": _reasons("Demandes sans infirmière, par motif."),
                "outcomes": _reasons("Demandes sans visite, par issue."),
                "decline_reasons": _reasons("Propositions déclinées, par motif."),
                "time_to_visit": array(
                    answer_object({"class": string(), "visits": integer()}),
                    "Visites par délai depuis le consentement.",
                ),
                "departments": array(
                    {
                        "allOf": [
                            ref("IndicatorFigures"),
                            answer_object({"department": string("Code du département.")}),
                        ]
                    },
                    "La période par département (vide quand un département est choisi).",
                ),
                "load_per_nurse": answer_object(
                    {
                        "histogram": array(
                            answer_object({"visits": integer(), "nurses": integer()})
                        ),
                        "median": nullable(number()),
                        "p90": nullable(number()),
                        "max": integer(),
                    },
                    "Visites par infirmière ayant visité.",
                ),
            }
        ),
    }


def steering_paths() -> dict[str, dict]:
    filters = (
        query("from", string(format="date"), "Premier jour (par défaut : 8 semaines)."),
        query("to", string(format="date"), "Dernier jour inclus (par défaut : dernière demande)."),
        query("department", string(), "Code du département (ex. 09, 2A, 971)."),
        query("granularity", string(enum=["week", "day"]), "Par semaine (défaut) ou par jour."),
    )
    description = (
        "Demandes comptées au jour du consentement, visites au jour de la visite, montants au "
        "jour des soins. Le personnel d'une CPAM ne voit que les demandes de sa CPAM."
    )
    return {
        f"{API}/indicators": {
            "get": operation(
                "get_indicators",
                "Indicateurs de pilotage",
                tag=TAG,
                roles=READERS,
                description=description,
                parameters=filters,
                responses={
                    "200": answer(
                        "Les indicateurs par période et sur la période.", ref("Indicators")
                    ),
                    "403": shared("Forbidden"),
                    "422": shared("ValidationFailed"),
                },
            )
        },
        f"{API}/indicators.csv": {
            "get": {
                **operation(
                    "indicators_csv",
                    "Indicateurs en CSV",
                    tag=TAG,
                    roles=READERS,
                    description=f"table : periodes (défaut), {', '.join(TABLES)}. format=fr : "
                    "« ; », virgule décimale, dates JJ/MM/AAAA.",
                    parameters=(
                        *filters,
                        query("table", string(enum=["periodes", *TABLES]), "Le tableau."),
                        query("format", string(enum=list(CSV_FORMATS)), CSV_FORMAT_NOTE),
                    ),
                    responses={"422": shared("ValidationFailed"), "403": shared("Forbidden")},
                ),
            }
            | {"responses": csv_responses()},
        },
    }
