"""Who may reach what: every route of the URL map × every role and anonymous.

The expected rule of each route is written here, not read from the application, so a route added
without a rule in this table fails the test until someone decides who may use it.
"""

import pytest
from flask import url_for

from registry import api_tokens
from registry.accounts import Role
from tests.conftest import csrf_token, login

PUBLIC = {
    "auth.index",
    "auth.login",
    "auth.forgot_password",
    "auth.reset_password",
    "enrolment.enrol",
    "healthz",
    "manifest",
    "api_docs.openapi_json",
    "api_docs.documentation",
    "static",
}
ANY_SIGNED_IN = {"auth.logout", "auth.account"}
BLUEPRINT_ROLES = {
    "nurse": {Role.NURSE},
    "agent": {Role.AGENT},
    "cpam": {Role.CPAM},
    "coordinator": {Role.COORDINATOR},
    "admin": {Role.ADMIN},
}
MANAGERS = {Role.COORDINATOR, Role.ADMIN}
API_ROLES = {
    "api.me": set(Role),
    "api.communes": set(Role),
    "api.create_nurse": MANAGERS,
    "api.list_nurses_endpoint": MANAGERS,
    "api.get_nurse": MANAGERS | {Role.NURSE},
    "api.update_nurse": MANAGERS | {Role.NURSE},
    "api.validate_nurse": MANAGERS,
    "api.suspend_nurse": MANAGERS,
    "api.reactivate_nurse": MANAGERS,
    "api.withdraw_nurse": MANAGERS,
    "api.create_visit_request": {Role.AGENT},
    "api.get_visit_request": {Role.AGENT},
    "api.list_visit_requests": {Role.AGENT},
    "api.cancel_visit_request": {Role.AGENT},
    "api.list_offers": {Role.NURSE},
    "api.accept_offer": {Role.NURSE},
    "api.decline_offer": {Role.NURSE},
    "api.get_visit": {Role.NURSE},
    "api.report_visit": {Role.NURSE},
    "api.visit_unreachable": {Role.NURSE},
    "api.hand_back_visit": {Role.NURSE},
    "api.reschedule_visit": {Role.NURSE},
    "api.list_records": {Role.NURSE, Role.CPAM},
    "api.get_record": {Role.NURSE, Role.CPAM},
    "api.records_csv": {Role.NURSE, Role.CPAM},
    "api.post_import": {Role.CPAM},
    "api.get_import": {Role.CPAM},
    "api.get_anomalies": {Role.CPAM},
    "api.get_indicators": {Role.COORDINATOR, Role.CPAM, Role.ADMIN},
    "api.indicators_csv": {Role.COORDINATOR, Role.CPAM, Role.ADMIN},
}
# Ids that exist in no table: the sweep must not change the data it runs on (revoke a token…).
SAMPLE_ARGUMENTS = {"integer": 987654, "unicode": "x", "path": "css/app.css"}
IDENTITIES = [None, *Role]


def expected_roles(endpoint: str) -> set[Role] | str:
    if endpoint in PUBLIC:
        return "public"
    if endpoint in ANY_SIGNED_IN:
        return set(Role)
    if endpoint in API_ROLES:
        return API_ROLES[endpoint]
    blueprint = endpoint.split(".")[0]
    if blueprint in BLUEPRINT_ROLES and blueprint != "api":
        return BLUEPRINT_ROLES[blueprint]
    raise AssertionError(f"route {endpoint} has no rule in the authorization matrix")


def sample_url(app, rule) -> str:
    values = {}
    for name, converter in rule._converters.items():
        kind = type(converter).__name__.replace("Converter", "").lower()
        values[name] = SAMPLE_ARGUMENTS.get(kind, "x")
    with app.test_request_context():
        return url_for(rule.endpoint, **values)


@pytest.fixture
def identities(app, db, make_user):
    """For each role: a signed-in browser client and an API token; and an anonymous client."""
    clients, tokens = {}, {}
    for role in Role:
        user = make_user(role)
        client = app.test_client()
        assert login(client, user.email).status_code == 302
        clients[role] = client
        _token, tokens[role] = api_tokens.issue_token(db, user, name="matrix", actor="test")
    db.commit()
    clients[None] = app.test_client()
    return clients, tokens


def test_every_route_has_a_rule_and_each_role_gets_exactly_what_it_should(app, identities):
    clients, tokens = identities
    checked = 0
    # Logging out ends the clients' sessions, so it is checked last.
    rules = sorted(app.url_map.iter_rules(), key=lambda rule: rule.endpoint == "auth.logout")
    for rule in rules:
        expected = expected_roles(rule.endpoint)
        url = sample_url(app, rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            for identity in IDENTITIES:
                status, location = _call(clients, tokens, identity, method, url)
                _assert_outcome(rule.endpoint, method, identity, expected, status, location)
                checked += 1
    assert checked > 50


def _call(clients, tokens, identity, method, url):
    client = clients[identity]
    if url.startswith("/api/"):
        headers = {"Authorization": f"Bearer {tokens[identity]}"} if identity else {}
        response = client.open(url, method=method, headers=headers, json={})
    elif method == "GET":
        response = client.get(url)
    else:
        token = csrf_token(client, "/account" if identity else "/login")
        response = client.open(url, method=method, data={"csrf_token": token})
    return response.status_code, response.headers.get("Location", "")


def _assert_outcome(endpoint, method, identity, expected, status, location):
    where = f"{method} {endpoint} as {identity or 'anonymous'} → {status} {location}"
    # Flask-Login sends a refused visitor to the login page with the page asked for in `next`.
    sent_to_login = status == 302 and location.startswith("/login?next=")
    if expected == "public":
        assert status not in (401, 403), where
        return
    if identity in expected:
        assert status not in (401, 403) and not sent_to_login, where
    elif endpoint.startswith("api."):
        assert status == (401 if identity is None else 403), where
    elif identity is None:
        assert sent_to_login, where
    else:
        assert status == 403, where


def test_a_role_is_refused_another_roles_page_with_a_french_403(client, logged_in):
    logged_in(Role.NURSE)
    response = client.get("/admin/users")
    assert response.status_code == 403
    assert "Accès refusé" in response.get_data(as_text=True)
