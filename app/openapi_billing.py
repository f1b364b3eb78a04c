"""The billing part of the OpenAPI document: records, their CSV export, reconciliation imports."""

from app.billing_params import CSV_FORMATS
from app.openapi import (
    API,
    Schema,
    answer,
    answer_object,
    array,
    boolean,
    integer,
    nullable,
    obj,
    operation,
    page_of,
    parameter,
    path_id,
    problem,
    query,
    ref,
    shared,
    string,
)
from billing.claims import COLUMNS
from billing.models import Classification
from registry.accounts import Role

READERS = (Role.NURSE, Role.CPAM)
STAFF = (Role.CPAM,)
TAG = "Facturation"
DECIMAL = r"^-?\d+(\.\d+)?$"


def _amount(description: str) -> Schema:
    return string(description + " En euros, point décimal (ex. « 25.14 »).", pattern=DECIMAL)


def billing_schemas() -> dict[str, Schema]:
    line = answer_object(
        {
            "act": string("Acte facturé : VDSI, TAG, PCR, ou vide pour les frais."),
            "code": string("Code : AMI, MCI, IFD, IK, F."),
            "label": string("Libellé."),
            "coefficient": nullable(string("Coefficient AMI, ou km pour les IK.")),
            "unit_price": _amount("Valeur de la lettre clé ou montant unitaire."),
            "quantity": integer("Quantité (personnes testées pour les tests).", minimum=1),
            "amount": _amount("Montant de la ligne, arrondi au centime."),
        }
    )
    return {
        "BillingLine": line,
        "BillingRecord": answer_object(
            {
                "id": integer("Identifiant."),
                "number": integer("Numéro dans la série de l'infirmier·e, sans trou."),
                "reference": string("RPPS-numéro."),
                "kind": string("Facture ou avoir.", enum=["invoice", "credit"]),
                "status": string("État.", enum=["issued", "cancelled", "credit"]),
                "cancels": nullable(integer("Facture annulée par cet avoir.")),
                "replaces": nullable(integer("Facture remplacée par celle-ci.")),
                "cancelled_by": nullable(integer("Avoir qui annule cette facture.")),
                "replaced_by": nullable(integer("Facture qui remplace celle-ci.")),
                "reason": string("Motif de la correction."),
                "request_id": integer("Demande de visite."),
                "nurse": answer_object(
                    {
                        "id": integer(),
                        "rpps": string(),
                        "am_number": string("N° AM de facturation."),
                        "name": string(),
                    }
                ),
                "patient": answer_object(
                    {
                        "nir": string(),
                        "last_name": string(),
                        "first_name": string(),
                        "birth_date": string(format="date"),
                    }
                ),
                "commune": string(),
                "insee": string(),
                "zone": string("Zone tarifaire.", enum=["metropole", "drom"]),
                "cared_at": string("Heure des soins.", format="date-time"),
                "care_date": string("Jour des soins (heure locale).", format="date"),
                "prescriber": answer_object(
                    {"name": string(examples=["ISOLEMENT COVID"]), "number": string()}
                ),
                "exoneration": string(examples=["EXO DIV 3"]),
                "third_party_payment": boolean("Tiers payant (toujours vrai)."),
                "ik": answer_object(
                    {
                        "estimated_km": nullable(string("Distance estimée (vol d'oiseau).")),
                        "declared_km": nullable(string("Distance déclarée par l'infirmier·e.")),
                        "mountain": boolean("Tarif montagne."),
                    }
                ),
                "lines": array(ref("BillingLine")),
                "total": _amount("Total (négatif pour un avoir)."),
                "amo_amount": _amount("Part de l'Assurance Maladie (= total)."),
                "patient_share": _amount("Part du patient : toujours 0.00."),
                "issued_at": string(format="date-time"),
            },
            "Une facture VDSI en tiers payant, ou l'avoir qui en annule une.",
        ),
        "BillingRecordPage": page_of("BillingRecord", "Une page de factures."),
        "ClaimImport": answer_object(
            {
                "id": integer(),
                "filename": string(),
                "imported_at": string(format="date-time"),
                "imported_by": string(),
                "lines": integer("Lignes d'actes lues."),
                "claims": integer("Facturations (n° AM, NIR, jour)."),
                "period": answer_object(
                    {"from": string(format="date"), "to": string(format="date")}
                ),
                "counts": answer_object(
                    {c.value: integer(c.label, minimum=0) for c in Classification},
                    "Nombre d'éléments par classe.",
                ),
                "anomalies": integer("Éléments hors « matched ».", minimum=0),
            }
        ),
        "Anomaly": answer_object(
            {
                "id": integer(),
                "classification": string(enum=[c.value for c in Classification]),
                "label": string(),
                "care_date": string(format="date"),
                "num_am": string(),
                "nir": string(),
                "commune": string(),
                "insee": string(),
                "claimed_amount": nullable(string()),
                "paid_amount": nullable(string()),
                "expected_amount": nullable(string()),
                "claimed_ik_km": nullable(string()),
                "expected_ik_km": nullable(string()),
                "line": nullable(integer("Première ligne du fichier.")),
                "lines": array(obj({})),
                "record_id": nullable(integer("Facture de la plateforme.")),
                "request_id": nullable(integer("Demande de visite.")),
                "nurse_id": nullable(integer()),
                "detail": string(),
            }
        ),
        "AnomalyPage": page_of("Anomaly", "Une page d'anomalies."),
    }


def billing_paths() -> dict[str, dict]:
    filters = (
        query("nurse", string(), "Identifiant ou RPPS de l'infirmier·e (une infirmière : elle)."),
        query("from", string(format="date"), "Soins à partir de ce jour (AAAA-MM-JJ)."),
        query("to", string(format="date"), "Soins jusqu'à ce jour inclus."),
        query("insee", string(), "Commune du patient (code INSEE)."),
    )
    import_id = path_id("import_id", "de l'import")
    missing_import = problem("Import introuvable pour votre CPAM.")
    return {
        f"{API}/billing/records": {
            "get": operation(
                "list_records",
                "Factures",
                tag=TAG,
                roles=READERS,
                description="Une infirmière voit les siennes, la CPAM toutes les siennes.",
                parameters=(*filters, parameter("Page"), parameter("PerPage")),
                responses={
                    "200": answer("Les factures.", ref("BillingRecordPage")),
                    "403": shared("Forbidden"),
                    "422": shared("ValidationFailed"),
                },
            )
        },
        f"{API}/billing/records/{{record_id}}": {
            "parameters": [path_id("record_id", "de la facture")],
            "get": operation(
                "get_record",
                "Une facture",
                tag=TAG,
                roles=READERS,
                responses={
                    "200": answer("La facture, ses lignes et ses totaux.", ref("BillingRecord")),
                    "404": problem("Facture introuvable (ou d'une autre infirmière ou CPAM)."),
                },
            ),
        },
        f"{API}/billing/records.csv": {
            "get": {
                **operation(
                    "records_csv",
                    "Factures en CSV",
                    tag=TAG,
                    roles=READERS,
                    description="Une ligne par acte. format=fr : séparateur « ; », virgule "
                    "décimale et dates JJ/MM/AAAA, pour les tableurs français.",
                    parameters=(
                        *filters,
                        query("format", string(enum=list(CSV_FORMATS)), CSV_FORMAT_NOTE),
                    ),
                    responses={"422": shared("ValidationFailed"), "403": shared("Forbidden")},
                ),
            }
            | {"responses": csv_responses()},
        },
        f"{API}/reconciliation/imports": {
            "post": {
                **operation(
                    "post_import",
                    "Importer une extraction de facturation",
                    tag=TAG,
                    roles=STAFF,
                    description="Tout ou rien : une ligne mal formée refuse le fichier (422, "
                    "une erreur par ligne). Le même fichier deux fois : 409. Colonnes : "
                    + ";".join(COLUMNS),
                    responses={
                        "201": answer("Résumé de l'import, par classe.", ref("ClaimImport")),
                        "409": problem("Ce fichier a déjà été importé."),
                        "422": shared("ValidationFailed"),
                    },
                ),
                "requestBody": {
                    "required": True,
                    "content": {
                        "multipart/form-data": {
                            "schema": obj(
                                {
                                    "file": string("L'extraction CSV.", format="binary"),
                                    "mapping": string(
                                        "Objet JSON {colonne attendue: colonne du fichier} "
                                        "pour une extraction d'un autre format."
                                    ),
                                },
                                ("file",),
                            )
                        }
                    },
                },
            }
        },
        f"{API}/reconciliation/imports/{{import_id}}": {
            "parameters": [import_id],
            "get": operation(
                "get_import",
                "Un import",
                tag=TAG,
                roles=STAFF,
                responses={
                    "200": answer("Résumé de l'import.", ref("ClaimImport")),
                    "404": missing_import,
                },
            ),
        },
        f"{API}/reconciliation/imports/{{import_id}}/anomalies": {
            "parameters": [import_id],
            "get": operation(
                "get_anomalies",
                "Anomalies d'un import",
                tag=TAG,
                roles=STAFF,
                parameters=(
                    query(
                        "class",
                        string(enum=[c.value for c in Classification if c != "matched"]),
                        "Une classe d'anomalie.",
                    ),
                    query("from", string(format="date"), "Soins à partir de ce jour."),
                    query("to", string(format="date"), "Soins jusqu'à ce jour inclus."),
                    parameter("Page"),
                    parameter("PerPage"),
                ),
                responses={
                    "200": answer("Les anomalies.", ref("AnomalyPage")),
                    "404": missing_import,
                    "422": shared("ValidationFailed"),
                },
            ),
        },
    }


CSV_FORMAT_NOTE = "fr (ou excel, point-virgule) : variante tableur français ; absent : CSV simple."


def csv_responses() -> dict:
    return {
        "200": {
            "description": "Le CSV (UTF-8 ; avec BOM pour format=fr).",
            "content": {"text/csv": {"schema": string()}},
        },
        "401": shared("Unauthorized"),
        "403": shared("Forbidden"),
        "422": shared("ValidationFailed"),
    }
