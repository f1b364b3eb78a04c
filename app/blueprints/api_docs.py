"""The JSON API's documentation, public: the OpenAPI document for programs, and a page for people
rendered from that same document (so the two never disagree)."""

import json
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, Response, render_template

from app.openapi import openapi_document
from registry.accounts import Role

blueprint = Blueprint("api_docs", __name__)

HTTP_METHODS = ("get", "post", "put", "patch", "delete")
TYPE_LABELS = {
    "string": "texte",
    "integer": "entier",
    "number": "nombre",
    "boolean": "booléen",
    "object": "objet",
    "array": "liste",
    "null": "null",
}

PARAMETER_PLACES = {"path": "chemin", "query": "requête", "header": "en-tête"}


@blueprint.get("/api/v1/openapi.json")
def openapi_json():
    # Not jsonify: it sorts keys, and the document reads best in the order it was written.
    body = json.dumps(openapi_document(), ensure_ascii=False, indent=2)
    return Response(body, mimetype="application/json")


@blueprint.get("/api/docs")
def documentation():
    document = openapi_document()
    return render_template(
        "api_docs.html",
        info=document["info"],
        security=document["components"]["securitySchemes"],
        sections=_sections(document),
        schemas={
            name: _rows(document, schema)
            for name, schema in document["components"]["schemas"].items()
        },
        descriptions={
            name: schema.get("description", "")
            for name, schema in document["components"]["schemas"].items()
        },
    )


@dataclass(frozen=True)
class Row:
    """One field of a schema, as the page shows it."""

    name: str
    kind: str
    link: str | None = None
    required: bool = False
    description: str = ""
    constraints: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Content:
    """A request or response body: a named schema (link), or the fields of an inline one."""

    media_type: str
    kind: str
    link: str | None
    rows: list[Row]


def _sections(document: dict) -> list[dict]:
    """The operations grouped by tag, in the document's tag order."""
    sections = [{**tag, "operations": []} for tag in document["tags"]]
    by_tag = {section["name"]: section for section in sections}
    for path, item in document["paths"].items():
        shared_parameters = item.get("parameters", [])
        for method in HTTP_METHODS:
            if method in item:
                operation = item[method]
                by_tag[operation["tags"][0]]["operations"].append(
                    _operation(document, method, path, operation, shared_parameters)
                )
    return [section for section in sections if section["operations"]]


def _operation(document: dict, method: str, path: str, operation: dict, shared: list) -> dict:
    roles = operation["x-roles"]
    body = operation.get("requestBody")
    return {
        "id": operation["operationId"],
        "method": method.upper(),
        "path": path,
        "summary": operation["summary"],
        "description": operation.get("description", ""),
        "roles": "tous"
        if set(roles) == {role.value for role in Role}
        else ", ".join(Role(role).label for role in roles),
        "parameters": [
            _parameter(_resolve(document, parameter)[1])
            for parameter in [*shared, *operation.get("parameters", [])]
        ],
        "body": body and _contents(document, body)[0],
        "body_required": bool(body and body["required"]),
        "responses": [
            {
                "status": status,
                "description": _resolve(document, response)[1]["description"],
                "contents": _contents(document, _resolve(document, response)[1]),
            }
            for status, response in operation["responses"].items()
        ],
    }


def _parameter(parameter: dict) -> dict:
    kind, link = _kind(parameter["schema"])
    row = Row(
        parameter["name"],
        kind,
        link,
        parameter.get("required", False),
        parameter.get("description", ""),
        _constraints(parameter["schema"]),
    )
    return {"in": PARAMETER_PLACES[parameter["in"]], "row": row}


def _contents(document: dict, holder: dict) -> list[Content]:
    contents = []
    for media_type, media in holder.get("content", {}).items():
        kind, link = _kind(media["schema"])
        rows = [] if link else _rows(document, media["schema"])
        contents.append(Content(media_type, kind, link, rows))
    return contents


def _resolve(document: dict, node: dict) -> tuple[str | None, dict]:
    """The node a `$ref` points to (with its name), or the node itself."""
    if "$ref" not in node:
        return None, node
    target: Any = document
    for part in node["$ref"].removeprefix("#/").split("/"):
        target = target[part]
    return node["$ref"].rsplit("/", 1)[1], target


def _rows(document: dict, schema: dict, prefix: str = "") -> list[Row]:
    """The fields of an object schema (`allOf` parts merged), nested inline objects flattened
    into dotted names: `address.street`, `household_tests[].kind`."""
    properties: dict[str, dict] = {}
    required: set[str] = set()
    for part in schema.get("allOf", [schema]):
        _name, part = _resolve(document, part)
        properties.update(part.get("properties", {}))
        required.update(part.get("required", []))
    rows = []
    for name, prop in properties.items():
        kind, link = _kind(prop)
        rows.append(
            Row(
                prefix + name,
                kind,
                link,
                name in required,
                prop.get("description", ""),
                _constraints(prop),
            )
        )
        if prop.get("type") == "object":
            rows.extend(_rows(document, prop, f"{prefix}{name}."))
        elif prop.get("type") == "array" and prop["items"].get("type") == "object":
            rows.extend(_rows(document, prop["items"], f"{prefix}{name}[]."))
    return rows


def _kind(schema: dict) -> tuple[str, str | None]:
    """A French label of the schema's type, and the name of the schema it refers to, if any."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        return name, name
    if "allOf" in schema:
        return "objet", None
    types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
    labels = []
    link = None
    for kind in types:
        label = TYPE_LABELS[kind]
        if kind == "array":
            item_label, link = _kind(schema["items"])
            label = f"{label} ({item_label})"
        elif kind != "null" and "format" in schema:
            label = f"{label} ({schema['format']})"
        labels.append(label)
    return " ou ".join(labels), link


def _constraints(schema: dict) -> list[str]:
    found = []
    if "enum" in schema:
        found.append("valeurs : " + ", ".join(str(value) for value in schema["enum"]))
    if "pattern" in schema:
        found.append(f"motif {schema['pattern']}")
    for key, label in (
        ("minLength", "caractères au moins"),
        ("maxLength", "caractères au plus"),
        ("maxItems", "éléments au plus"),
    ):
        if key in schema:
            found.append(f"{schema[key]} {label}")
    if "minimum" in schema and "maximum" in schema:
        found.append(f"de {schema['minimum']:g} à {schema['maximum']:g}")
    else:
        for key, symbol in (("minimum", "≥"), ("maximum", "≤")):
            if key in schema:
                found.append(f"{symbol} {schema[key]:g}")
    if "exclusiveMinimum" in schema:
        found.append(f"> {schema['exclusiveMinimum']:g}")
    if "default" in schema:
        found.append(f"par défaut : {json.dumps(schema['default'], ensure_ascii=False)}")
    if schema.get("writeOnly"):
        found.append("jamais renvoyé")
    if "examples" in schema:
        found.append("ex. : " + ", ".join(str(example) for example in schema["examples"]))
    if schema.get("type") == "array" and "$ref" not in schema["items"]:
        found.extend(_constraints(schema["items"]))
    return found
