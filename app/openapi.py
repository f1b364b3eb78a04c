"""The OpenAPI 3.1 document of the JSON API (`/api/v1/…`), as Python data.

It is written by hand, next to the routes, and `tests/test_openapi.py` keeps the two in step:
every API route is described here, with the same roles, and nothing here is missing from the app.
Descriptions are in French: they are read by the CPAM's developers on `/api/docs`.
"""

from typing import Any

from registry.accounts import Role
from registry.nurses.models import LANGUAGE_LABELS, NurseStatus, Skill
from registry.nurses.schema import MAX_RADIUS_KM, MAX_VISITS_PER_DAY, REQUIRED_ON_CREATE
from registry.requests.models import RequestStatus
from registry.requests.schema import MAX_HOUSEHOLD, PRIORITIES, TEST_KINDS, TIMES_OF_DAY
from registry.requests.schema import REQUIRED as REQUIRED_FOR_REQUEST

Schema = dict[str, Any]

API = "/api/v1"
ALL_ROLES = tuple(Role)
MANAGERS = (Role.COORDINATOR, Role.ADMIN)
INSEE = r"^(\d{5}|2[AB]\d{3})$"
HOUR = r"^([01]\d|2[0-3]):[0-5]\d$"


# Schema helpers: JSON Schema 2020-12, as OpenAPI 3.1 uses it.


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def string(description: str = "", **constraints: Any) -> Schema:
    return _described({"type": "string", **constraints}, description)


def integer(description: str = "", **constraints: Any) -> Schema:
    return _described({"type": "integer", **constraints}, description)


def number(description: str = "", **constraints: Any) -> Schema:
    return _described({"type": "number", **constraints}, description)


def boolean(description: str = "", **constraints: Any) -> Schema:
    return _described({"type": "boolean", **constraints}, description)


def array(items: Schema, description: str = "", **constraints: Any) -> Schema:
    return _described({"type": "array", "items": items, **constraints}, description)


def obj(
    properties: dict[str, Schema],
    required: tuple[str, ...] = (),
    description: str = "",
    *,
    closed: bool = False,
) -> Schema:
    """An object; `closed` when the API refuses unknown fields (« Champ inconnu »)."""
    schema: Schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    if closed:
        schema["additionalProperties"] = False
    return _described(schema, description)


def answer_object(properties: dict[str, Schema], description: str = "") -> Schema:
    """An answer's object: every property is always present (null when it has no value)."""
    return obj(properties, tuple(properties), description)


def nullable(schema: Schema) -> Schema:
    schema = {**schema, "type": [schema["type"], "null"]}
    if "enum" in schema:
        schema["enum"] = [*schema["enum"], None]
    return schema


def _described(schema: Schema, description: str) -> Schema:
    return {**schema, "description": description} if description else schema


# Operation helpers.


def json_content(schema: Schema) -> dict:
    return {"application/json": {"schema": schema}}


def answer(description: str, schema: Schema, **extra: Any) -> dict:
    return {"description": description, "content": json_content(schema), **extra}


def problem(description: str, schema: str = "Problem") -> dict:
    return {
        "description": description,
        "content": {"application/problem+json": {"schema": ref(schema)}},
    }


def shared(name: str) -> dict:
    return {"$ref": f"#/components/responses/{name}"}


def parameter(name: str) -> dict:
    return {"$ref": f"#/components/parameters/{name}"}


def query(name: str, schema: Schema, description: str) -> dict:
    """An optional query parameter; sent empty (as a form sends it) it counts as absent."""
    return {
        "name": name,
        "in": "query",
        "required": False,
        "allowEmptyValue": True,
        "schema": schema,
        "description": description,
    }


def path_id(name: str, what: str) -> dict:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": {"type": "integer"},
        "description": f"Identifiant {what}.",
    }


def operation(
    operation_id: str,
    summary: str,
    *,
    tag: str,
    roles: tuple[Role, ...],
    responses: dict[str, dict],
    description: str = "",
    parameters: tuple[dict, ...] = (),
    body: Schema | None = None,
    body_required: bool = True,
) -> dict:
    """One operation; 401 always (every call needs a token), 403 unless every role may call it.

    `x-roles` lists the roles whose tokens are accepted: the test compares it with the route's.
    """
    op: dict[str, Any] = {"operationId": operation_id, "summary": summary, "tags": [tag]}
    if description:
        op["description"] = description
    op["x-roles"] = [role.value for role in roles]
    if parameters:
        op["parameters"] = list(parameters)
    if body is not None:
        op["requestBody"] = {"required": body_required, "content": json_content(body)}
    errors = {"401": shared("Unauthorized")}
    if set(roles) != set(ALL_ROLES):
        errors["403"] = shared("Forbidden")
    op["responses"] = dict(sorted({**errors, **responses}.items()))
    return op


JSON_BODY_ERRORS = {"400": shared("NotJson")}
LOCATION = {"Location": {"schema": string(), "description": "Chemin de la ressource."}}


def page_of(name: str, description: str) -> Schema:
    return answer_object(
        {
            "items": array(ref(name)),
            "page": integer("Numéro de la page (à partir de 1).", minimum=1),
            "per_page": integer("Taille de la page.", minimum=1),
            "total": integer("Nombre total de résultats, toutes pages confondues.", minimum=0),
        },
        description,
    )


# Schemas.


def _address() -> Schema:
    return obj(
        {
            "street": string("Numéro et voie.", maxLength=200, examples=["12 rue du Palais"]),
            "postal_code": string("Code postal.", pattern=r"^\d{5}$", examples=["09000"]),
            "commune": string("Nom de la commune.", maxLength=100, examples=["Foix"]),
        },
        ("postal_code", "commune"),
        "Adresse postale ; géocodée à l'enregistrement (erreur 422 avec des suggestions si la "
        "commune ou le code postal sont introuvables).",
    )


def _window() -> Schema:
    return obj(
        {
            "weekday": integer(
                "Jour de la semaine : 0 (lundi) à 6 (dimanche).", minimum=0, maximum=6
            ),
            "date": string("Date d'une exception (au lieu de weekday).", format="date"),
            "start": string("Heure de début, heure locale du cabinet.", pattern=HOUR),
            "end": string("Heure de fin, après start.", pattern=HOUR),
            "unavailable": boolean("Absence (sur une date ; toute la journée sans start/end)."),
        },
        description="Créneau hebdomadaire {weekday, start, end}, créneau daté {date, start, end} "
        "ou absence {date, unavailable: true}.",
    )


def _nurse_fields(*, for_answer: bool) -> dict[str, Schema]:
    identifiers_note = "" if for_answer else " Espaces, points et tirets ignorés."
    radius = number(
        "Rayon desservi autour du cabinet, en km.", exclusiveMinimum=0, maximum=MAX_RADIUS_KM
    )
    practice = ref("Address")
    if for_answer:
        practice = answer_object(
            {
                **_address()["properties"],
                "insee": string("Code INSEE de la commune.", pattern=INSEE),
                "lat": number("Latitude (WGS 84)."),
                "lon": number("Longitude (WGS 84)."),
                "precision": string(
                    "Précision du géocodage : commune, street ou housenumber.",
                    examples=["housenumber"],
                ),
            },
            "Adresse du cabinet, géocodée.",
        )
    return {
        "rpps": string(f"Numéro RPPS : 11 chiffres, clé de Luhn.{identifiers_note}"),
        "am_number": string(f"N° AM (facturation) : 9 chiffres, clé de Luhn.{identifiers_note}"),
        "first_name": string("Prénom.", maxLength=100),
        "last_name": string("Nom.", maxLength=100),
        "phone": string(
            "Téléphone, rendu au format E.164 (+33…, outre-mer +590, +594, +596, +262)."
            if for_answer
            else "Téléphone français (métropole ou outre-mer), national ou international."
        ),
        "email": string("Adresse e-mail, aussi identifiant de connexion.", format="email"),
        "practice": practice,
        "sector": obj(
            {
                "communes": array(
                    string(pattern=INSEE),
                    "Codes INSEE des communes desservies quelle que soit la distance "
                    "(arrondissements pour Paris, Lyon et Marseille).",
                ),
                "radius_km": nullable(radius) if for_answer else radius,
            },
            ("communes", "radius_km") if for_answer else (),
            "Secteur d'intervention : un rayon et/ou une liste de communes.",
        ),
        "mountain": boolean("Exerce en zone de montagne."),
        "skills": array(string(enum=[skill.value for skill in Skill]), "Compétences."),
        "languages": array(
            string(enum=list(LANGUAGE_LABELS)),
            'Langues parlées, codes ISO 639-1 ; ["fr"] par défaut.',
        ),
        "max_visits_per_day": integer(
            "Nombre maximum de visites par jour.", minimum=1, maximum=MAX_VISITS_PER_DAY
        ),
        "availability": array(ref("AvailabilityWindow"), "Disponibilités et absences."),
    }


def _nurse_schemas() -> dict[str, Schema]:
    inputs = _nurse_fields(for_answer=False)
    password = string(
        "Mot de passe du compte créé (règles de robustesse de la plateforme).", writeOnly=True
    )
    return {
        "NurseEnrolment": obj(
            {**inputs, "password": password},
            (*REQUIRED_ON_CREATE, "password"),
            "Inscription d'un·e infirmier·e et création de son compte.",
            closed=True,
        ),
        "NurseUpdate": obj(
            inputs,
            description="Les champs fournis remplacent les valeurs enregistrées. Le mot de passe "
            "se change par « Mot de passe oublié » ; rpps et am_number sont réservés à la "
            "coordination.",
            closed=True,
        ),
        "Nurse": answer_object(
            {
                "id": integer("Identifiant."),
                "status": string("Statut.", enum=[status.value for status in NurseStatus]),
                "status_reason": string("Motif du dernier changement de statut (vide sinon)."),
                **_nurse_fields(for_answer=True),
                "department": string("Code du département.", examples=["09", "2A", "971"]),
                "overseas": boolean("Cabinet en outre-mer."),
                "timezone": string("Fuseau horaire du cabinet.", examples=["Europe/Paris"]),
                "created_at": string("Inscription.", format="date-time"),
                "validated_at": nullable(string("Première validation.", format="date-time")),
            },
            "Un·e infirmier·e du registre.",
        ),
        "NursePage": page_of("Nurse", "Une page d'infirmier·e·s, par nom."),
        "AvailabilityWindow": _window(),
    }


def _visit_request_fields() -> dict[str, Schema]:
    instant = "ISO 8601 ; sans décalage horaire, heure de Paris."
    return {
        "nir": string(
            "NIR du patient : 15 caractères, 13 et une clé de 2 chiffres (Corse : 2A ou 2B). "
            "Espaces, points et tirets ignorés.",
            examples=["185052A00608435"],
        ),
        "first_name": string("Prénom du patient.", maxLength=100),
        "last_name": string("Nom du patient.", maxLength=100),
        "birth_date": string("Date de naissance.", format="date"),
        "phone": string("Téléphone français du patient, rendu au format E.164."),
        "address": ref("Address"),
        "languages": array(
            string(enum=list(LANGUAGE_LABELS)),
            'Langues parlées, codes ISO 639-1 ; ["fr"] par défaut.',
        ),
        "household_size": integer(
            "Personnes au foyer, patient compris.", minimum=1, maximum=MAX_HOUSEHOLD, default=1
        ),
        "household_tests": array(
            obj(
                {
                    "kind": string("Type de test.", enum=list(TEST_KINDS)),
                    "count": integer("Personnes à tester.", minimum=1, maximum=MAX_HOUSEHOLD),
                },
                ("kind", "count"),
            ),
            "Tests à réaliser au foyer ; pas plus de personnes que household_size.",
        ),
        "consent_at": string(
            f"Recueil du consentement ; maintenant par défaut, jamais dans le futur. {instant}",
            format="date-time",
        ),
        "preferred_windows": array(
            obj(
                {"start": string(format="date-time"), "end": string(format="date-time")},
                ("start", "end"),
            ),
            f"Créneaux préférés du patient, end après start. {instant}",
        ),
        "preferred_times": array(
            string(enum=list(TIMES_OF_DAY)),
            "Moments préférés : matin (8 h–12 h), après-midi (12 h–18 h), soir (18 h–21 h), "
            "heure locale du patient ; ajoutés à preferred_windows jusqu'à l'échéance.",
        ),
        "usual_nurse_rpps": string("RPPS de l'infirmier·e habituel·le : 11 chiffres."),
        "priority": string("Priorité.", enum=list(PRIORITIES), default="normal"),
        "vulnerable": boolean("Patient vulnérable.", default=False),
        "language_barrier": boolean("Barrière de la langue.", default=False),
        "notes": string("Remarques pour l'infirmier·e.", maxLength=1000),
        "external_ref": string("Référence dans le SI de la CPAM, unique par CPAM.", maxLength=64),
    }


def _visit_request_schemas() -> dict[str, Schema]:
    inputs = _visit_request_fields()
    answers = {
        **inputs,
        "nir": string("NIR du patient.", pattern=r"^[1-478]\d{4}(\d{2}|2[AB])\d{8}$"),
        "phone": string("Téléphone au format E.164."),
        "usual_nurse_rpps": nullable(
            string("RPPS de l'infirmier·e habituel·le.", pattern=r"^\d{11}$")
        ),
        "external_ref": nullable(inputs["external_ref"]),
    }
    statuses = [status.value for status in RequestStatus]
    return {
        "VisitRequestInput": obj(
            inputs,
            REQUIRED_FOR_REQUEST,
            "Une demande de visite saisie par un·e enquêteur·rice de la CPAM.",
            closed=True,
        ),
        "VisitRequest": answer_object(
            {
                "id": integer("Identifiant."),
                "status": string("Statut.", enum=statuses),
                "cpam_code": string("CPAM du compte qui a saisi la demande."),
                **answers,
                "due_at": string("Échéance de la visite.", format="date-time"),
                "follow_up_at": string("Rappel de suivi du patient.", format="date-time"),
                "skills_needed": array(
                    string(enum=list(TEST_KINDS)), "Compétences requises (d'après les tests)."
                ),
                "location": answer_object(
                    {
                        "lat": number("Latitude (WGS 84)."),
                        "lon": number("Longitude (WGS 84)."),
                        "insee": string("Code INSEE.", pattern=INSEE),
                        "commune": string("Commune."),
                        "department": string("Code du département."),
                    },
                    "L'adresse géocodée.",
                ),
                "created_at": string("Saisie.", format="date-time"),
                "cancel_reason": string("Motif d'annulation (vide sinon)."),
            },
            "Une demande de visite.",
        ),
        "VisitRequestDetail": {
            "allOf": [
                ref("VisitRequest"),
                answer_object(
                    {"history": array(ref("StatusChange"), "Historique, du plus ancien.")}
                ),
            ],
            "description": "Une demande de visite et son historique.",
        },
        "StatusChange": answer_object(
            {
                "at": string("Date du changement.", format="date-time"),
                "from_status": nullable(
                    string("Statut précédent (null à la création).", enum=statuses)
                ),
                "to_status": string("Nouveau statut.", enum=statuses),
                "actor": string("Auteur du changement."),
                "reason": string("Motif (vide sinon)."),
            }
        ),
        "VisitRequestPage": page_of(
            "VisitRequest", "Une page de demandes de la CPAM, par échéance."
        ),
    }


def _problem_schemas() -> dict[str, Schema]:
    return {
        "Problem": obj(
            {
                "type": string("Toujours about:blank.", examples=["about:blank"]),
                "title": string("Intitulé de l'erreur, en français."),
                "status": integer("Code HTTP."),
                "detail": string("Explication, en français."),
                "instance": string("Chemin appelé."),
            },
            ("type", "title", "status", "detail", "instance"),
            "Erreur au format RFC 9457 (application/problem+json).",
        ),
        "FieldError": obj(
            {
                "field": string(
                    "Chemin du champ (practice.postal_code, availability[2]…) ; vide pour le "
                    "corps entier."
                ),
                "message": string("Ce qui ne va pas, en français."),
                "suggestions": array(string(), "Valeurs proches connues (communes…)."),
            },
            ("field", "message"),
        ),
        "ValidationProblem": {
            "allOf": [
                ref("Problem"),
                obj({"errors": array(ref("FieldError"))}, ("errors",)),
            ],
            "description": "Données invalides : tous les champs en erreur à la fois.",
        },
        "BookingConflictProblem": {
            "allOf": [
                ref("Problem"),
                obj({"existing_id": integer("La demande en cause.")}, ("existing_id",)),
            ],
            "description": "Demande refusée : existing_id désigne la demande en cause.",
        },
        "StatusConflictProblem": {
            "allOf": [
                ref("Problem"),
                obj(
                    {"current_status": string("Statut actuel de la demande.")}, ("current_status",)
                ),
            ],
            "description": "Changement de statut impossible depuis le statut actuel.",
        },
    }


def _schemas() -> dict[str, Schema]:
    return {
        "Me": answer_object(
            {
                "id": integer("Identifiant du compte."),
                "email": string(format="email"),
                "name": string("Nom affiché."),
                "role": string("Rôle.", enum=[role.value for role in Role]),
            },
            "Le compte auquel appartient le jeton.",
        ),
        "Address": _address(),
        **_nurse_schemas(),
        "Reason": obj(
            {"reason": string("Motif, conservé dans l'historique.")},
            description="Motif facultatif.",
        ),
        "RequiredReason": obj(
            {"reason": string("Motif, conservé dans l'historique.", minLength=1)},
            ("reason",),
            "Motif obligatoire.",
        ),
        "Commune": answer_object(
            {
                "insee": string("Code INSEE.", pattern=INSEE),
                "name": string("Nom."),
                "postal_codes": array(string(pattern=r"^\d{5}$"), "Codes postaux."),
                "department": string("Code du département."),
                "lat": number("Latitude (WGS 84)."),
                "lon": number("Longitude (WGS 84)."),
                "overseas": boolean("Commune d'outre-mer."),
            }
        ),
        **_visit_request_schemas(),
        **visit_schemas(),
        **billing_schemas(),
        **steering_schemas(),
        **_problem_schemas(),
    }


def _components() -> dict:
    return {
        "securitySchemes": {
            "bearerToken": {
                "type": "http",
                "scheme": "bearer",
                "description": "En-tête « Authorization: Bearer <jeton> ». Les jetons sont créés "
                "par l'administration (ses pages, ou « flask --app app tokens create »), stockés "
                "hachés et révocables.",
            }
        },
        "schemas": _schemas(),
        "parameters": {
            "Page": query(
                "page", integer(minimum=1, default=1), "Numéro de la page ; 1 si illisible."
            ),
            "PerPage": query(
                "per_page",
                integer(minimum=1, maximum=200, default=50),
                "Résultats par page ; ramené à 200 au-delà, 50 si illisible.",
            ),
            "IdempotencyKey": {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "schema": string(maxLength=200),
                "description": "Clé choisie par le client, propre à son compte : renvoyer la "
                "même requête avec la même clé ne crée pas de doublon.",
            },
        },
        "responses": {
            "Unauthorized": {
                **problem("Jeton absent, invalide ou révoqué, ou compte désactivé."),
                "headers": {
                    "WWW-Authenticate": {
                        "schema": string(examples=['Bearer realm="vdsi"']),
                        "description": "Schéma d'authentification attendu.",
                    }
                },
            },
            "Forbidden": problem("Le rôle du jeton ne permet pas cet appel."),
            "NotJson": problem("Le corps de la requête n'est pas un document JSON."),
            "ValidationFailed": problem(
                "Données invalides : errors liste chaque champ en cause.", "ValidationProblem"
            ),
        },
    }


def _nurse_paths() -> dict[str, dict]:
    nurse_id = path_id("nurse_id", "de l'infirmier·e")
    one_nurse = answer("L'infirmier·e.", ref("Nurse"))
    not_found = problem("Infirmier·e introuvable (ou pas la vôtre, pour un jeton infirmier·e).")

    def status_change(action: str, summary: str, *, reason_required: bool) -> dict:
        return operation(
            f"{action}_nurse",
            summary,
            tag="Infirmier·e·s",
            roles=MANAGERS,
            description="Le motif (500 caractères au plus) est "
            + ("obligatoire." if reason_required else "facultatif."),
            body=ref("RequiredReason" if reason_required else "Reason"),
            body_required=reason_required,
            responses={
                "200": one_nurse,
                "404": not_found,
                "409": problem("Ce changement de statut n'est pas permis depuis le statut actuel."),
                "422": shared("ValidationFailed"),
            },
        )

    return {
        f"{API}/nurses": {
            "post": operation(
                "create_nurse",
                "Inscrire un·e infirmier·e",
                tag="Infirmier·e·s",
                roles=MANAGERS,
                description="Crée l'infirmier·e (statut pending) et son compte.",
                body=ref("NurseEnrolment"),
                responses={
                    "201": answer("Inscrit·e.", ref("Nurse"), headers=LOCATION),
                    **JSON_BODY_ERRORS,
                    "409": problem(
                        "Un compte existe déjà pour cet e-mail, ou ce RPPS est inscrit."
                    ),
                    "422": shared("ValidationFailed"),
                },
            ),
            "get": operation(
                "list_nurses",
                "Lister les infirmier·e·s",
                tag="Infirmier·e·s",
                roles=MANAGERS,
                parameters=(
                    query(
                        "status",
                        string(enum=[status.value for status in NurseStatus]),
                        "Statut (422 si inconnu).",
                    ),
                    query("insee", string(pattern=INSEE), "Commune du cabinet (code INSEE)."),
                    query("skill", string(enum=[skill.value for skill in Skill]), "Compétence."),
                    parameter("Page"),
                    parameter("PerPage"),
                ),
                responses={
                    "200": answer("Une page.", ref("NursePage")),
                    "422": shared("ValidationFailed"),
                },
            ),
        },
        f"{API}/nurses/{{nurse_id}}": {
            "parameters": [nurse_id],
            "get": operation(
                "get_nurse",
                "Lire un·e infirmier·e",
                tag="Infirmier·e·s",
                roles=(*MANAGERS, Role.NURSE),
                description="Un jeton infirmier·e ne lit que sa propre fiche.",
                responses={"200": one_nurse, "404": not_found},
            ),
            "patch": operation(
                "update_nurse",
                "Modifier un·e infirmier·e",
                tag="Infirmier·e·s",
                roles=(*MANAGERS, Role.NURSE),
                description="Seuls les champs fournis changent. Un jeton infirmier·e ne modifie "
                "que sa fiche, sans rpps ni am_number (403).",
                body=ref("NurseUpdate"),
                responses={
                    "200": one_nurse,
                    **JSON_BODY_ERRORS,
                    "403": problem(
                        "Rôle non autorisé, ou rpps / am_number par un jeton infirmier·e."
                    ),
                    "404": not_found,
                    "422": shared("ValidationFailed"),
                },
            ),
        },
        **{
            f"{API}/nurses/{{nurse_id}}/{action}": {
                "parameters": [nurse_id],
                "post": status_change(action, summary, reason_required=required),
            }
            for action, summary, required in (
                ("validate", "Valider une inscription", False),
                ("suspend", "Suspendre", True),
                ("reactivate", "Réactiver", False),
                ("withdraw", "Retirer du registre", True),
            )
        },
    }


def _visit_request_paths() -> dict[str, dict]:
    request_id = path_id("request_id", "de la demande")
    agents = (Role.AGENT,)
    tag = "Demandes de visite"
    not_found = problem("Demande introuvable ou d'une autre CPAM.")
    return {
        f"{API}/visit-requests": {
            "post": operation(
                "create_visit_request",
                "Créer une demande de visite",
                tag=tag,
                roles=agents,
                parameters=(parameter("IdempotencyKey"),),
                body=ref("VisitRequestInput"),
                responses={
                    "201": answer("Demande créée.", ref("VisitRequest"), headers=LOCATION),
                    "200": answer(
                        "Même Idempotency-Key et même corps qu'une demande déjà créée : cette "
                        "demande, inchangée.",
                        ref("VisitRequest"),
                        headers=LOCATION,
                    ),
                    **JSON_BODY_ERRORS,
                    "403": problem("Rôle autre qu'enquêteur·rice, ou compte sans CPAM."),
                    "409": problem(
                        "Même Idempotency-Key avec un autre corps ; demande déjà ouverte pour ce "
                        "NIR ; visite à ce NIR il y a moins de 14 jours (réglable : "
                        "REVISIT_BLOCK_DAYS) ; ou external_ref déjà utilisée par la CPAM.",
                        "BookingConflictProblem",
                    ),
                    "422": problem(
                        "Données invalides (errors), Idempotency-Key de plus de 200 caractères "
                        "comprise, ou adresse introuvable (avec suggestions).",
                        "ValidationProblem",
                    ),
                },
            ),
            "get": operation(
                "list_visit_requests",
                "Lister les demandes de la CPAM",
                tag=tag,
                roles=agents,
                parameters=(
                    query(
                        "status",
                        string(enum=[status.value for status in RequestStatus]),
                        "Statut (422 si inconnu).",
                    ),
                    parameter("Page"),
                    parameter("PerPage"),
                ),
                responses={
                    "200": answer("Une page.", ref("VisitRequestPage")),
                    "422": shared("ValidationFailed"),
                },
            ),
        },
        f"{API}/visit-requests/{{request_id}}": {
            "parameters": [request_id],
            "get": operation(
                "get_visit_request",
                "Lire une demande et son historique",
                tag=tag,
                roles=agents,
                responses={
                    "200": answer("La demande.", ref("VisitRequestDetail")),
                    "404": not_found,
                },
            ),
        },
        f"{API}/visit-requests/{{request_id}}/cancel": {
            "parameters": [request_id],
            "post": operation(
                "cancel_visit_request",
                "Annuler une demande",
                tag=tag,
                roles=agents,
                description="Possible tant que la visite n'a pas eu lieu (reçue, proposée, "
                "acceptée, sans infirmière). Le motif (500 caractères au plus) est obligatoire.",
                body=ref("RequiredReason"),
                responses={
                    "200": answer(
                        "La demande annulée, et son historique.", ref("VisitRequestDetail")
                    ),
                    **JSON_BODY_ERRORS,
                    "404": not_found,
                    "409": problem(
                        "Le statut de la demande ne permet plus de l'annuler.",
                        "StatusConflictProblem",
                    ),
                    "422": shared("ValidationFailed"),
                },
            ),
        },
    }


def openapi_document() -> dict:
    """The whole document, ready for `json.dumps`."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "API de la plateforme VDSI",
            "version": "1",
            "description": "API JSON pour les systèmes d'information des CPAM et les scripts : "
            "demandes de visite, registre des infirmier·e·s libéral·e·s, géographie. Chaque "
            "appel porte un jeton (Authorization: Bearer <jeton>) ; les erreurs sont au format "
            "application/problem+json (RFC 9457), en français.",
        },
        "security": [{"bearerToken": []}],
        "tags": [
            {"name": "Compte", "description": "Le compte du jeton."},
            {"name": "Demandes de visite", "description": "Saisie et suivi par la CPAM."},
            {"name": "Infirmier·e·s", "description": "Le registre, tenu par la coordination."},
            {"name": "Géographie", "description": "Référentiel des communes."},
            {
                "name": "Visites (infirmier·e)",
                "description": "Propositions, visites, comptes rendus.",
            },
            {
                "name": "Facturation",
                "description": "Factures en tiers payant et rapprochement avec la CPAM.",
            },
            {"name": "Pilotage", "description": "Indicateurs du territoire, par jour ou semaine."},
        ],
        "paths": {
            f"{API}/me": {
                "get": operation(
                    "me",
                    "Qui suis-je ?",
                    tag="Compte",
                    roles=ALL_ROLES,
                    responses={"200": answer("Le compte du jeton.", ref("Me"))},
                )
            },
            **_visit_request_paths(),
            **_nurse_paths(),
            **visit_paths(),
            **billing_paths(),
            **steering_paths(),
            f"{API}/geo/communes": {
                "get": operation(
                    "search_communes",
                    "Rechercher une commune",
                    tag="Géographie",
                    roles=ALL_ROLES,
                    description="Par nom ou code postal ; 10 communes au plus.",
                    parameters=(
                        {
                            "name": "q",
                            "in": "query",
                            "required": True,
                            "schema": string(minLength=2),
                            "description": "Nom ou code postal, 2 caractères au moins (seuls "
                            "les 100 premiers comptent).",
                        },
                    ),
                    responses={
                        "200": answer(
                            "Les communes trouvées.",
                            answer_object({"items": array(ref("Commune"), maxItems=10)}),
                        ),
                        "422": shared("ValidationFailed"),
                    },
                )
            },
        },
        "components": _components(),
    }


from app.openapi_billing import billing_paths, billing_schemas  # noqa: E402 (as below)
from app.openapi_steering import steering_paths, steering_schemas  # noqa: E402 (as below)
from app.openapi_visits import visit_paths, visit_schemas  # noqa: E402 (uses the helpers above)
