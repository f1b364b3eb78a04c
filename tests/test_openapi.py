"""The API's OpenAPI document stays in step with the app, and its documentation page is readable
by anyone, in French."""

import re

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from registry import api_tokens
from registry.accounts import Role
from tests.nurse_data import nurse_document
from tests.request_data import request_document

DOCUMENT = "/api/v1/openapi.json"
PAGE = "/api/docs"
HTTP_METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture
def document(client) -> dict:
    response = client.get(DOCUMENT)
    assert response.status_code == 200
    return response.get_json()


def _openapi_path(flask_rule: str) -> str:
    """`/nurses/<int:nurse_id>` as OpenAPI writes it: `/nurses/{nurse_id}`."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", flask_rule)


def _app_operations(app) -> dict[tuple[str, str], str]:
    """(method, path) of every API route, with its endpoint."""
    return {
        (method.lower(), _openapi_path(rule.rule)): rule.endpoint
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("api.")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }


def _documented_operations(document: dict) -> dict[tuple[str, str], dict]:
    return {
        (method, path): operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    }


def test_the_document_is_served_without_a_token_and_is_valid_openapi_3_1(client):
    response = client.get(DOCUMENT)
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    document = response.get_json()
    assert document["openapi"].startswith("3.1")
    validate(document)


def test_every_api_route_is_documented_and_the_document_invents_none(app, document):
    in_app = set(_app_operations(app))
    documented = set(_documented_operations(document))
    assert in_app - documented == set(), "routes missing from app/openapi.py"
    assert documented - in_app == set(), "paths the app lacks"


def test_each_operation_names_the_roles_its_route_accepts(app, document):
    documented = _documented_operations(document)
    for key, endpoint in _app_operations(app).items():
        allowed = app.view_functions[endpoint].allowed_roles
        assert set(documented[key]["x-roles"]) == {role.value for role in allowed}, key


def test_every_call_needs_a_bearer_token(document):
    scheme = document["components"]["securitySchemes"]["bearerToken"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    assert document["security"] == [{"bearerToken": []}]
    for key, operation in _documented_operations(document).items():
        assert "security" not in operation, key
        assert "401" in operation["responses"], key


def test_every_error_answer_is_a_problem_document(document):
    responses = document["components"]["responses"]
    for key, operation in _documented_operations(document).items():
        for status, response in operation["responses"].items():
            if "$ref" in response:
                response = responses[response["$ref"].rsplit("/", 1)[1]]
            expected = "application/json" if int(status) < 400 else "application/problem+json"
            if key[1].endswith(".csv") and int(status) < 400:
                expected = "text/csv"
            assert list(response["content"]) == [expected], (key, status)


def test_invalid_input_lists_each_field_in_error(document):
    schemas = document["components"]["schemas"]
    field_error = schemas["FieldError"]
    assert set(field_error["properties"]) == {"field", "message", "suggestions"}
    assert field_error["required"] == ["field", "message"]
    errors = schemas["ValidationProblem"]["allOf"][1]["properties"]["errors"]
    assert errors["items"] == {"$ref": "#/components/schemas/FieldError"}


@pytest.fixture
def call(client, db, make_user, document):
    """call(role, method, path, json=None) → the answer, checked against the document: its
    status is documented for that operation and its body has the documented schema."""
    tokens = {}

    def _call(role: Role, method: str, path: str, json=None):
        if role not in tokens:
            _token, tokens[role] = api_tokens.issue_token(
                db, make_user(role), name="openapi", actor="test"
            )
            db.commit()
        headers = {"Authorization": f"Bearer {tokens[role]}"}
        response = client.open(path, method=method, json=json, headers=headers)
        _assert_documented(document, method, path, response)
        return response

    return _call


def _assert_documented(document: dict, method: str, url: str, response) -> None:
    route = url.partition("?")[0]
    path = next(p for p in document["paths"] if re.fullmatch(re.sub(r"{\w+}", r"\\d+", p), route))
    where = f"{method} {url} → {response.status_code}"
    answers = document["paths"][path][method.lower()]["responses"]
    answer = answers.get(str(response.status_code))
    assert answer is not None, f"{where}: status not documented"
    if "$ref" in answer:
        answer = document["components"]["responses"][answer["$ref"].rsplit("/", 1)[1]]
    (media_type, content), *_ = answer["content"].items()
    assert response.mimetype == media_type, where
    # The document is the root resource, so its "#/components/..." references resolve.
    schema = {"$ref": "#/$defs/answer", "$defs": {"answer": content["schema"]}}
    validator = Draft202012Validator({**schema, "components": document["components"]})
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(response.json)]
    assert not errors, f"{where}: {errors}"


def test_answers_of_the_registry_have_their_documented_shape(call):
    call(Role.NURSE, "GET", "/api/v1/me")
    call(Role.AGENT, "GET", "/api/v1/geo/communes?q=foix")
    created = call(Role.COORDINATOR, "POST", "/api/v1/nurses", nurse_document())
    nurse = f"/api/v1/nurses/{created.json['id']}"
    call(Role.COORDINATOR, "GET", "/api/v1/nurses?status=pending")
    call(Role.COORDINATOR, "PATCH", nurse, {"mountain": True})
    call(Role.COORDINATOR, "POST", f"{nurse}/validate")
    call(Role.COORDINATOR, "POST", f"{nurse}/suspend", {"reason": "Congé"})
    call(Role.COORDINATOR, "POST", f"{nurse}/reactivate")
    call(Role.COORDINATOR, "POST", f"{nurse}/withdraw", {"reason": "Départ"})
    call(Role.COORDINATOR, "GET", nurse)
    assert call(Role.COORDINATOR, "POST", f"{nurse}/validate").status_code == 409
    assert call(Role.COORDINATOR, "POST", "/api/v1/nurses", {"rpps": "1"}).status_code == 422
    assert call(Role.AGENT, "GET", "/api/v1/nurses").status_code == 403


def test_answers_about_visit_requests_have_their_documented_shape(call):
    body = request_document(external_ref="SI-42", preferred_windows=[])
    created = call(Role.AGENT, "POST", "/api/v1/visit-requests", body)
    visit = f"/api/v1/visit-requests/{created.json['id']}"
    assert created.status_code == 201
    assert call(Role.AGENT, "POST", "/api/v1/visit-requests", body).status_code == 409
    call(Role.AGENT, "GET", "/api/v1/visit-requests?status=received")
    call(Role.AGENT, "GET", visit)
    call(Role.AGENT, "POST", f"{visit}/cancel", {"reason": "Patient hospitalisé"})
    assert call(Role.AGENT, "POST", f"{visit}/cancel", {"reason": "Encore"}).status_code == 409
    assert call(Role.AGENT, "GET", "/api/v1/visit-requests/987654").status_code == 404


def test_the_documentation_page_lists_every_path_in_french_without_login(client, document):
    response = client.get(PAGE)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert '<html lang="fr">' in page
    assert "Authentification" in page and "Rôles autorisés" in page
    for path in document["paths"]:
        assert f"<code>{path}</code>" in page, path
    for name in document["components"]["schemas"]:
        assert f'id="schema-{name}"' in page, name
    assert DOCUMENT in page


def test_the_documentation_page_keeps_to_the_content_security_policy(client):
    response = client.get(PAGE)
    page = response.get_data(as_text=True)
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert "<script" not in page
    assert "<style" not in page and " style=" not in page
    assert "http://" not in page and "https://" not in page


def test_answers_about_indicators_have_their_documented_shape(call):
    call(Role.AGENT, "POST", "/api/v1/visit-requests", request_document())
    for role in (Role.COORDINATOR, Role.CPAM, Role.ADMIN):
        assert call(role, "GET", "/api/v1/indicators").status_code == 200
    call(Role.COORDINATOR, "GET", "/api/v1/indicators?granularity=day&department=09")
    refused = call(Role.COORDINATOR, "GET", "/api/v1/indicators?department=XX&granularity=year")
    assert refused.status_code == 422
    assert {e["field"] for e in refused.json["errors"]} == {"department", "granularity"}
