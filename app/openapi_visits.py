"""The nurse's part of the OpenAPI document: offers, visits, reports."""

from app.openapi import (
    API,
    JSON_BODY_ERRORS,
    Schema,
    answer,
    answer_object,
    array,
    boolean,
    integer,
    nullable,
    number,
    obj,
    operation,
    path_id,
    problem,
    ref,
    shared,
    string,
)
from registry.accounts import Role
from registry.visits.models import DeclineReason, OfferStatus
from registry.visits.reports import MEASURES, SYMPTOMS, TEST_KINDS

NURSES = (Role.NURSE,)
TAG = "Visites (infirmier·e)"


def visit_schemas() -> dict[str, Schema]:
    test = obj(
        {
            "kind": string("Type de test.", enum=list(TEST_KINDS)),
            "count": integer("Personnes testées.", minimum=1, maximum=20),
            "positives": integer("Dont positives.", minimum=0),
        },
        ("kind", "count"),
    )
    clinical = obj(
        {
            **{
                name: number(f"Entre {low} et {high}.", minimum=low, maximum=high)
                for name, (low, high) in MEASURES.items()
            },
            "symptoms": array(string(enum=list(SYMPTOMS)), "Symptômes observés."),
        },
        description="Examen clinique ; chaque mesure est facultative.",
    )
    return {
        "Offer": answer_object(
            {
                "id": integer("Identifiant de la proposition."),
                "request_id": integer("Identifiant de la demande."),
                "status": string(enum=[s.value for s in OfferStatus]),
                "commune": string("Commune du patient."),
                "insee": string("Code INSEE."),
                "distance_km": number("Distance à vol d'oiseau depuis le cabinet."),
                "due_at": string("Échéance de la visite.", format="date-time"),
                "planned_start": string("Début prévu par la planification.", format="date-time"),
                "planned_end": string("Fin prévue.", format="date-time"),
                "expires_at": string("Fin du délai de réponse.", format="date-time"),
                "household_size": integer("Personnes au foyer."),
                "skills_needed": array(string(), "Tests à faire (tag, pcr)."),
                "languages": array(string(), "Langues du patient."),
                "priority": string(enum=["normal", "high"]),
                "usual_nurse": boolean("Vous êtes l'infirmier·e habituel·le du patient."),
            },
            "Une proposition, sans l'identité du patient.",
        ),
        "Visit": answer_object(
            {
                "id": integer("Identifiant de la demande."),
                "status": string("Statut de la demande."),
                "appointment_at": nullable(string(format="date-time")),
                "due_at": string(format="date-time"),
                "follow_up_at": string(format="date-time"),
                "patient": {"type": "object", "description": "Identité et coordonnées."},
                "languages": array(string()),
                "household_size": integer(),
                "household_tests": array({"type": "object"}),
                "notes": string("Notes de l'agent."),
                "report": {"type": ["object", "null"], "description": "Le compte rendu déposé."},
            },
            "Une visite acceptée, avec l'identité du patient.",
        ),
        "Decline": obj(
            {
                "reason": string("Motif.", enum=[r.value for r in DeclineReason]),
                "note": string("Précision (500 caractères au plus)."),
            },
            ("reason",),
        ),
        "Appointment": obj(
            {
                "appointment_at": string(
                    "Heure du rendez-vous, avant l'échéance.", format="date-time"
                )
            }
        ),
        "VisitReport": obj(
            {
                "visited_at": string("Heure de la visite.", format="date-time"),
                "clinical": clinical,
                "isolation_feasible": boolean("L'isolement est possible."),
                "social_needs": string("Besoins sociaux (1 000 caractères au plus)."),
                "ctai_referral": boolean("Orientation vers la CTAI."),
                "gp_informed": boolean("Médecin traitant informé."),
                "household_tests": array(test, "Tests faits au foyer."),
                "vaccination_offered": boolean("Vaccination proposée."),
                "ik_km": {
                    "type": ["number", "string", "null"],
                    "description": "Distance cabinet → domicile déclarée pour les IK, en km "
                    "aller simple (0 à 500) ; absente : l'estimation à vol d'oiseau.",
                },
            },
            ("visited_at", "isolation_feasible"),
        ),
    }


def visit_paths() -> dict[str, dict]:
    offer_id = path_id("offer_id", "de la proposition")
    request_id = path_id("request_id", "de la demande")
    offer_missing = problem("Proposition introuvable ou adressée à quelqu'un d'autre.")
    visit_missing = problem("Visite introuvable, non acceptée ou tenue par quelqu'un d'autre.")
    closed = problem("La visite a changé d'état ou est close.")

    def visit_action(name, summary, body, ok="200") -> dict:
        return operation(
            name,
            summary,
            tag=TAG,
            roles=NURSES,
            body=body,
            responses={
                ok: answer("La visite.", ref("Visit")),
                **JSON_BODY_ERRORS,
                "404": visit_missing,
                "409": closed,
                "422": shared("ValidationFailed"),
            },
        )

    return {
        f"{API}/offers": {
            "get": operation(
                "list_offers",
                "Mes propositions en attente",
                tag=TAG,
                roles=NURSES,
                responses={
                    "200": answer(
                        "Les propositions.", answer_object({"items": array(ref("Offer"))})
                    )
                },
            )
        },
        f"{API}/offers/{{offer_id}}/accept": {
            "parameters": [offer_id],
            "post": operation(
                "accept_offer",
                "Accepter une proposition",
                tag=TAG,
                roles=NURSES,
                description="Une proposition expirée s'accepte encore tant que personne n'a "
                "pris la visite et que son échéance n'est pas passée ; la proposition alors "
                "en attente chez une autre infirmière lui est retirée.",
                body=ref("Appointment"),
                body_required=False,
                responses={
                    "200": answer("La visite, désormais la vôtre.", ref("Visit")),
                    **JSON_BODY_ERRORS,
                    "404": offer_missing,
                    "409": problem(
                        "Déjà prise par une autre infirmière, déclinée, retirée, ou expirée "
                        "après l'échéance."
                    ),
                    "422": shared("ValidationFailed"),
                },
            ),
        },
        f"{API}/offers/{{offer_id}}/decline": {
            "parameters": [offer_id],
            "post": operation(
                "decline_offer",
                "Décliner une proposition",
                tag=TAG,
                roles=NURSES,
                body=ref("Decline"),
                responses={
                    "200": answer(
                        "La proposition déclinée.",
                        answer_object({"id": integer(), "status": string(), "reason": string()}),
                    ),
                    **JSON_BODY_ERRORS,
                    "404": offer_missing,
                    "409": problem("Déjà répondue ou expirée."),
                    "422": shared("ValidationFailed"),
                },
            ),
        },
        f"{API}/visits/{{request_id}}": {
            "parameters": [request_id],
            "get": operation(
                "get_visit",
                "Lire une visite acceptée",
                tag=TAG,
                roles=NURSES,
                responses={"200": answer("La visite.", ref("Visit")), "404": visit_missing},
            ),
        },
        f"{API}/visits/{{request_id}}/report": {
            "parameters": [request_id],
            "post": visit_action(
                "report_visit", "Déposer le compte rendu", ref("VisitReport"), ok="201"
            ),
        },
        f"{API}/visits/{{request_id}}/unreachable": {
            "parameters": [request_id],
            "post": visit_action(
                "visit_unreachable", "Déclarer le patient injoignable", ref("RequiredReason")
            ),
        },
        f"{API}/visits/{{request_id}}/hand-back": {
            "parameters": [request_id],
            "post": operation(
                "hand_back_visit",
                "Rendre une visite avant le rendez-vous",
                tag=TAG,
                roles=NURSES,
                body=ref("RequiredReason"),
                responses={
                    "200": answer(
                        "La demande, de nouveau à planifier.",
                        answer_object({"id": integer(), "status": string()}),
                    ),
                    **JSON_BODY_ERRORS,
                    "404": visit_missing,
                    "409": closed,
                    "422": shared("ValidationFailed"),
                },
            ),
        },
        f"{API}/visits/{{request_id}}/appointment": {
            "parameters": [request_id],
            "post": visit_action(
                "reschedule_visit", "Changer l'heure du rendez-vous", ref("Appointment")
            ),
        },
    }
