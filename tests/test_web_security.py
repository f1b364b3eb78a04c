"""Web security, route by route from the URL map: the security headers on every kind of answer
(and HSTS outside development), pages that run no inline script or style and load nothing from
elsewhere, CSRF on every state-changing form, a new session at login, login throttling per
e-mail and per address, the password rules on every form that sets one, and no secret among the
repository's tracked files."""

import html
import re
import subprocess
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
import time_machine
from flask import url_for
from flask.testing import FlaskClient
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlmodel import select

from app import create_app
from registry import api_tokens
from registry.accounts import Role, User
from registry.passwords import COMMON_PASSWORDS, MIN_LENGTH, password_problems
from registry.timeutil import utcnow
from tests.conftest import PASSWORD, csrf_token, login, settings_for
from tests.test_authorization import ANY_SIGNED_IN, expected_roles
from tests.test_nurse_pages import enrolment_form
from tests.test_object_access import (
    CSRF_PREFIXES,
    OBJECT_RULES,
    Caller,
    build_world,
    database_state,
    form_of,
    id_argument,
    ids_of,
    url_with,
    user_of,
)

PROJECT = Path(__file__).resolve().parent.parent
YEAR = 31536000
CSRF_REFUSAL = "Le formulaire a expiré ou n'est pas valide"


def directives(policy: str) -> dict[str, list[str]]:
    parsed = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            parsed[words[0]] = words[1:]
    return parsed


def assert_secure_headers(response, where: str, *, hsts: bool) -> None:
    headers = response.headers
    policy = directives(headers.get("Content-Security-Policy", ""))
    scripts = policy.get("script-src", policy.get("default-src"))
    assert policy.get("default-src") == ["'self'"], where
    assert scripts == ["'self'"], f"{where}: script-src {scripts}"
    assert policy.get("style-src", policy["default-src"]) == ["'self'"], where
    assert policy.get("object-src") == ["'none'"], where
    assert policy.get("frame-ancestors") == ["'none'"], where
    assert policy.get("base-uri") == ["'self'"], where
    assert headers.get("X-Frame-Options") == "DENY", where
    assert headers.get("X-Content-Type-Options") == "nosniff", where
    assert headers.get("Referrer-Policy") in ("same-origin", "no-referrer"), where
    transport = headers.get("Strict-Transport-Security")
    if hsts:
        assert transport, f"{where}: no HSTS"
        max_age = int(re.search(r"max-age=(\d+)", transport).group(1))
        assert max_age >= YEAR and "includeSubDomains" in transport, where
    else:
        assert transport is None, f"{where}: HSTS over plain HTTP in development"


LOADING_TAGS = {"script", "img", "iframe", "link", "source", "embed", "object", "video", "audio"}
LOADED_LINKS = {"stylesheet", "icon", "manifest", "preload", "modulepreload", "apple-touch-icon"}


class PageScan(HTMLParser):
    """What the Content-Security-Policy would block, or what leaves the platform."""

    def __init__(self):
        super().__init__()
        self.problems: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=…> handler")
            if name == "style":
                self.problems.append(f"<{tag} style=…> inline style")
            link = name in ("href", "src", "action", "formaction") and value
            if link and value.strip().lower().startswith("javascript:"):
                self.problems.append(f"<{tag} {name}=javascript:…>")
        if tag == "style":
            self.problems.append("<style> element")
        if tag == "script" and not values.get("src"):
            self._in_script = values.get("type") not in ("application/json",)
        url = values.get("src") or values.get("data") or ""
        if tag == "link" and set((values.get("rel") or "").split()) & LOADED_LINKS:
            url = values.get("href") or ""
        if tag in LOADING_TAGS and re.match(r"^(https?:)?//", url.strip()):
            self.problems.append(f"<{tag}> loads {url} from outside the platform")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.problems.append(f"inline <script>: {data.strip()[:60]}")


def page_problems(body: str) -> list[str]:
    scan = PageScan()
    scan.feed(body)
    return scan.problems


def get_urls(app, db, world, role) -> list[str]:
    """A URL for every GET route the role reaches, with one of its own ids where it takes one."""
    urls = []
    for rule in app.url_map.iter_rules():
        allowed = expected_roles(rule.endpoint)
        if "GET" not in rule.methods or allowed == "public" or role not in allowed:
            continue
        argument = id_argument(rule)
        if argument is None and not rule._converters:
            urls.append(rule.rule)
        elif argument is not None:
            urls.append(url_with(app, rule, argument, _an_id(db, world, argument, role)))
    return urls


def _an_id(db, world, argument: str, role: Role) -> int:
    if OBJECT_RULES[argument][role] == "own":
        return ids_of(world, db, argument, role, world.mine)[0]
    return {
        "nurse_id": world.mine.nurse.id,
        "run_id": world.run_id,
        "user_id": world.mine.agent.id,
    }.get(argument, 987654)


@pytest.fixture
def world(app, db, make_user):
    return build_world(app, db, make_user)


def _sweep(app, db, world, *, hsts: bool) -> set[str]:
    """Every GET route as each role that reaches it, the anonymous routes, static files and
    errors: their headers checked; the kinds of answer seen."""
    kinds = set()
    anonymous = app.test_client()
    answers = []
    for path in (
        "/login",
        "/enrol",
        "/healthz",
        "/manifest.webmanifest",
        "/api/docs",
        "/api/v1/openapi.json",
        "/api/v1/me",
        "/nulle-part",
        "/agent/",
        "/password/reset/inconnu",
    ):
        answers.append((f"GET {path} anonymously", anonymous.get(path)))
    for static in sorted((PROJECT / "app" / "static").rglob("*")):
        if static.is_file():
            path = "/static/" + static.relative_to(PROJECT / "app" / "static").as_posix()
            answers.append((f"GET {path}", anonymous.get(path)))
    for role in Role:
        caller = Caller(app, db, user_of(world, role))
        for url in get_urls(app, db, world, role):
            answers.append((f"GET {url} as {role}", caller.call("", "GET", url)))
        answers.append((f"POST /api/v1/me as {role}", caller.call("", "POST", "/api/v1/me")))
    for where, response in answers:
        assert_secure_headers(response, where, hsts=hsts)
        kinds.add(response.mimetype)
        if response.mimetype == "text/html":
            problems = page_problems(response.get_data(as_text=True))
            assert not problems, f"{where}: {problems}"
    return kinds


PAGE_KINDS = {
    "text/html",
    "application/json",
    "application/problem+json",
    "text/csv",
    "application/pdf",
    "text/css",
    "text/javascript",
    "image/svg+xml",
    "image/png",
    "application/manifest+json",
}


def test_every_kind_of_answer_carries_the_security_headers_without_hsts_in_test(app, db, world):
    kinds = _sweep(app, db, world, hsts=False)
    assert kinds >= PAGE_KINDS, f"never answered: {PAGE_KINDS - kinds}"


def test_production_adds_hsts_to_every_kind_of_answer(database_url, db, make_user):
    settings = settings_for(database_url, env="production", secret_key="p" * 32)
    production = create_app(settings)
    try:
        assert production.config["SESSION_COOKIE_SECURE"] is True
        world = build_world(production, db, make_user)
        kinds = _sweep_https(production, db, world)
        assert kinds >= PAGE_KINDS
    finally:
        production.extensions["engine"].dispose()


def _sweep_https(app, db, world) -> set[str]:
    """The production sweep over HTTPS (its cookies are Secure)."""

    class HttpsClient(FlaskClient):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.environ_base["wsgi.url_scheme"] = "https"
            # Flask-WTF checks over HTTPS that a form comes from the platform's own pages.
            self.environ_base["HTTP_REFERER"] = "https://localhost/"

    app.test_client_class = HttpsClient
    return _sweep(app, db, world, hsts=True)


def test_development_sends_no_hsts_over_plain_http(database_url):
    development = create_app(settings_for(database_url, env="development"))
    try:
        response = development.test_client().get("/login")
        assert_secure_headers(response, "GET /login in development", hsts=False)
    finally:
        development.extensions["engine"].dispose()


def test_the_page_scan_finds_what_the_policy_would_block():
    samples = {
        "<script>alert(1)</script>": "inline <script>",
        '<a href="#" onclick="go()">x</a>': "handler",
        '<p style="color:red">x</p>': "inline style",
        "<style>p{}</style>": "<style> element",
        '<a href="javascript:go()">x</a>': "javascript:",
        '<script src="https://cdn.example/x.js"></script>': "from outside",
        '<img src="//tracker.example/p.gif">': "from outside",
    }
    for sample, problem in samples.items():
        assert any(problem in found for found in page_problems(sample)), sample
    assert page_problems('<script src="/static/js/charts.js"></script><a href="/x">x</a>') == []


# --- CSRF -------------------------------------------------------------------------------------

CSRF_FORMS = {
    "auth.login": lambda w: {"email": w.mine.agent.email, "password": PASSWORD},
    "auth.account": lambda w: {
        "current": PASSWORD,
        "password": "Un-autre-mot-de-passe-2022",
        "confirm": "Un-autre-mot-de-passe-2022",
    },
    "auth.forgot_password": lambda w: {"email": w.mine.agent.email},
    "auth.reset_password": lambda w: {
        "password": "Un-autre-2022-xyz",
        "confirm": "Un-autre-2022-xyz",
    },
    "enrolment.enrol": lambda w: enrolment_form(),
    "admin.user_new": lambda w: {
        "email": "nouvelle@exemple.fr",
        "role": "agent",
        "password": PASSWORD,
        "name": "Nouvelle",
        "cpam_code": "091",
    },
    "admin.user_role": lambda w: {"role": "coordinator"},
    "admin.user_activation": lambda w: {"confirm": "y"},
    "admin.token_create": lambda w: {"name": "SI"},
    "admin.notifications_retry_all": lambda w: {"confirm": "y"},
    "coordinator.simulation": lambda w: {"department": "09", "days": "1", "policy": "platform"},
    "nurse.update_capabilities": lambda w: {"radius_km": "20", "max_visits_per_day": "5"},
    "nurse.add_weekly_window": lambda w: {
        "weekly-weekday": "2",
        "weekly-start": "08:00",
        "weekly-end": "10:00",
    },
    "nurse.add_dated_window": lambda w: {
        "dated-on_date": (utcnow() + timedelta(days=3)).date().isoformat(),
        "dated-unavailable": "y",
    },
}
# Posted with a valid token only to show it gets through (the rest of the suite tests what
# they do); the simulation would start a run in the background, so it is not posted.
NOT_POSTED_VALID = {"coordinator.simulation"}


def state_changing_routes(app):
    """Every route outside the API with a method other than GET."""
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api."):
            continue
        for method in sorted(rule.methods - {"GET", "HEAD", "OPTIONS"}):
            found.append((rule, method))
    return found


def _posting(app, db, world, rule):
    """Who posts to `rule` (anonymous for the public forms) and to which URL."""
    allowed = expected_roles(rule.endpoint)
    if allowed == "public":
        role = None
    elif rule.endpoint in ANY_SIGNED_IN:
        role = "signed-in"
    else:
        role = sorted(allowed)[0]
    argument = id_argument(rule)
    if argument is None:
        with app.test_request_context():  # a reset link's token: one that was never sent
            url = url_for(rule.endpoint, **{name: "x" for name in rule._converters})
    else:
        value = _an_id(db, world, argument, role)
        if argument == "token_id":
            token, _clear = api_tokens.issue_token(db, world.mine.agent, name="x", actor="t")
            db.commit()
            value = token.id
        # The nurse is active: suspending her is the status change that would happen.
        url = url_with(app, rule, argument, value, other="suspend")
    form = {**form_of(rule.endpoint), **CSRF_FORMS.get(rule.endpoint, lambda w: {})(world)}
    return role, url, form


def test_every_state_changing_form_refuses_a_post_without_a_valid_csrf_token(
    app, db, make_user, world
):
    routes = state_changing_routes(app)
    assert len(routes) > 30
    callers = {role: Caller(app, db, user_of(world, role)) for role in Role}
    # Changing one's password or logging out ends the session: someone of their own does it.
    callers["signed-in"] = Caller(app, db, make_user(Role.AGENT))
    stranger = app.test_client()
    foreign = csrf_token(stranger, "/login")  # valid, but another session's
    plan = [(rule, method, *_posting(app, db, world, rule)) for rule, method in routes]
    db.rollback()
    before = database_state(world.engine)
    for _rule, method, role, url, form in plan:
        client = callers[role].client if role else app.test_client()
        for token in (None, foreign, "forgé." + foreign[6:]):
            data = dict(form) | ({"csrf_token": token} if token else {})
            response = client.open(url, method=method, data=data)
            where = f"{method} {url} as {role or 'anonymous'} with token {token and token[:8]}"
            assert response.status_code == 400, f"{where} → {response.status_code}"
            assert CSRF_REFUSAL in html.unescape(response.get_data(as_text=True)), where
    assert database_state(world.engine) == before
    # With the session's own token the same posts get through the check: the refusals above
    # were the token's. Logging out and account changes last (they end the session).
    order = sorted(plan, key=lambda p: (p[2] == "signed-in", p[2] == Role.ADMIN, p[0].rule))
    for rule, method, role, url, form in order:
        if rule.endpoint in NOT_POSTED_VALID:
            continue
        client = callers[role].client if role else app.test_client()
        page = "/account" if role else "/login"
        data = dict(form) | {"csrf_token": csrf_token(client, page)}
        data |= {f"{prefix}-csrf_token": data["csrf_token"] for prefix in CSRF_PREFIXES}
        response = client.open(url, method=method, data=data)
        where = f"{method} {url} as {role or 'anonymous'} → {response.status_code}"
        assert CSRF_REFUSAL not in html.unescape(response.get_data(as_text=True)), where
        assert not response.headers.get("Location", "").startswith("/login?next"), where


def test_the_api_takes_no_session_cookie_so_a_forged_cross_site_post_is_refused(app, db, world):
    """The API is exempt from CSRF because it authenticates by bearer token only: a browser's
    session cookie opens none of its routes."""
    caller = Caller(app, db, world.mine.agent)
    checked = 0
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("api.") or rule.endpoint.startswith("api_docs"):
            continue
        argument = id_argument(rule)
        url = url_with(app, rule, argument, 1) if argument else rule.rule
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = caller.client.open(url, method=method, json={})
            assert response.status_code == 401, f"{method} {url} with a session cookie"
            checked += 1
    assert checked > 25


# --- Sessions -----------------------------------------------------------------------------------


def _session_cookie(client) -> str | None:
    cookie = client.get_cookie("vdsi_session")
    return cookie.value if cookie else None


def test_login_starts_a_new_session_and_the_one_before_it_is_useless(app, make_user):
    user = make_user(Role.AGENT)
    victim = app.test_client()
    before_token = csrf_token(victim, "/login")
    before = _session_cookie(victim)
    assert before
    # Someone who planted or copied the visitor's cookie before she signs in…
    attacker = app.test_client()
    attacker.set_cookie("vdsi_session", before)
    assert login(victim, user.email).status_code == 302
    after = _session_cookie(victim)
    assert after and after != before
    assert victim.get("/agent/").status_code == 200
    # …holds a session that is still anonymous, and its form token is not hers any more.
    refused = attacker.get("/agent/")
    assert refused.status_code == 302 and refused.headers["Location"].startswith("/login")
    assert victim.post("/logout", data={"csrf_token": before_token}).status_code == 400
    assert victim.get("/agent/").status_code == 200


# --- Login throttling ---------------------------------------------------------------------------


def _login_from(client, email: str, password: str, address: str):
    return login(client, email, password, environ_base={"REMOTE_ADDR": address})


def test_failures_from_one_address_lock_it_for_every_account(app, make_user):
    """30 failures from one address, on as many e-mails, stop that address signing in to any
    account, even with the right password; another address is not held back."""
    target = make_user(Role.AGENT)
    client = app.test_client()
    for n in range(30):
        refused = _login_from(
            client, f"personne{n}@exemple.fr", "mauvais-mot-de-passe", "203.0.113.7"
        )
        assert refused.status_code == 401
    locked = _login_from(client, target.email, PASSWORD, "203.0.113.7")
    assert locked.status_code == 429
    assert "Trop de tentatives de connexion" in locked.get_data(as_text=True)
    assert _login_from(app.test_client(), target.email, PASSWORD, "198.51.100.2").status_code == 302


def test_an_e_mail_is_locked_whatever_address_or_spelling_the_attempts_come_from(app, make_user):
    user = make_user(Role.NURSE)
    spellings = [user.email, user.email.upper(), f"  {user.email} ", user.email.title()]
    for n in range(5):
        client = app.test_client()
        email = spellings[n % len(spellings)]
        assert _login_from(client, email, "pas-le-bon", f"192.0.2.{n + 1}").status_code == 401
    client = app.test_client()
    assert _login_from(client, user.email, PASSWORD, "192.0.2.99").status_code == 429
    # The lock lasts the window, then the right password opens the account again.
    with time_machine.travel(utcnow() + timedelta(minutes=16)):
        assert _login_from(app.test_client(), user.email, PASSWORD, "192.0.2.99").status_code == 302


class TestAConfiguredLimit:
    @pytest.fixture
    def settings_overrides(self):
        return {"login_max_failures": 2, "login_lockout_minutes": 3}

    def test_the_lock_follows_the_configured_limit_and_window(self, app, make_user):
        user = make_user(Role.CPAM)
        for _ in range(2):
            refused = _login_from(app.test_client(), user.email, "faux-faux-faux", "192.0.2.1")
            assert refused.status_code == 401
        locked = _login_from(app.test_client(), user.email, PASSWORD, "192.0.2.1")
        assert locked.status_code == 429
        assert "Réessayez dans 3 minutes" in locked.get_data(as_text=True)
        with time_machine.travel(utcnow() + timedelta(minutes=4)):
            opened = _login_from(app.test_client(), user.email, PASSWORD, "192.0.2.1")
            assert opened.status_code == 302


# --- Password rules -----------------------------------------------------------------------------

STRONG = st.text(
    alphabet=st.characters(codec="utf-8", categories=("L", "N", "P", "S")),
    min_size=MIN_LENGTH,
    max_size=64,
).filter(
    lambda p: len(set(p)) >= 4 and "camille" not in p.lower() and p.lower() not in COMMON_PASSWORDS
)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=MIN_LENGTH - 1))
def test_a_password_shorter_than_twelve_characters_is_always_refused(password):
    assert f"au moins {MIN_LENGTH} caractères" in " ".join(password_problems(password))


@settings(max_examples=200, deadline=None)
@given(STRONG)
def test_a_long_varied_password_not_naming_its_owner_is_accepted(password):
    assert password_problems(password, "camille.roux@exemple.fr") == []


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("Password1234", "trop courant"),
        ("AZERTYUIOP12", "trop courant"),
        ("aaaaaaaaaaaaaaa", "trop simple"),
        ("abcabcabcabc", "trop simple"),
        ("Camille.Roux-2021!", "adresse e-mail"),
        ("x" * 200 + "Ab1!" * 20, "256 caractères"),
    ],
)
def test_weak_passwords_are_refused_with_the_reason_in_french(password, problem):
    assert any(problem in found for found in password_problems(password, "camille.roux@exemple.fr"))


def test_every_form_that_sets_a_password_applies_the_rules(app, db, client, make_user):
    """The account page, the admin's new account, self-enrolment and the API's enrolment
    refuse a short password in French and store nothing; the reset page is tested with its
    e-mail in test_password_reset."""
    weak = "court-1"
    admin = make_user(Role.ADMIN)
    user = make_user(Role.AGENT)
    page = app.test_client()
    login(page, user.email)
    answer = page.post(
        "/account",
        data={
            "current": PASSWORD,
            "password": weak,
            "confirm": weak,
            "csrf_token": csrf_token(page, "/account"),
        },
    )
    assert "au moins 12 caractères" in answer.get_data(as_text=True)
    assert login(app.test_client(), user.email).status_code == 302  # the old one still works

    login(client, admin.email)
    answer = client.post(
        "/admin/users/new",
        data={
            "email": "faible@exemple.fr",
            "role": "agent",
            "password": weak,
            "name": "F",
            "cpam_code": "091",
            "csrf_token": csrf_token(client, "/admin/users/new"),
        },
    )
    assert answer.status_code == 422 and "au moins 12 caractères" in answer.get_data(as_text=True)

    enrol = app.test_client()
    answer = enrol.post(
        "/enrol",
        data={
            **enrolment_form(password=weak, confirm=weak),
            "csrf_token": csrf_token(enrol, "/enrol"),
        },
    )
    assert answer.status_code == 422 and "au moins 12 caractères" in answer.get_data(as_text=True)

    from tests.billing_data import bearer
    from tests.nurse_data import nurse_document

    answer = app.test_client().post(
        "/api/v1/nurses", json=nurse_document(password=weak), headers=bearer(db, admin)
    )
    assert answer.status_code == 422
    assert any("12 caractères" in e["message"] for e in answer.get_json()["errors"])
    db.rollback()
    emails = set(db.exec(select(User.email)))
    assert "faible@exemple.fr" not in emails and "lea.pujol@exemple.fr" not in emails


# --- Secrets ------------------------------------------------------------------------------------

SECRET_PATTERNS = {
    "private key": re.compile(r"-----BEGIN (?:[A-Z]+ )*PRIVATE KEY-----"),
    "AWS access key": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"),
    "Slack token": re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),
    "Stripe key": re.compile(r"\b[sr]k_live_[A-Za-z0-9]{16,}"),
    "Google API key": re.compile(r"\bAIza[0-9A-Za-z_\-]{35}\b"),
    "JSON web token": re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\."),
    "platform API token": re.compile(r"\bvdsi_[A-Za-z0-9_-]{30,}"),
    "password in a URL": re.compile(r"[a-z+]+://[^/\s:@'\"]+:([^@\s/'\"]+)@"),
    "secret assigned": re.compile(
        r"(?i)\b\w*(?:password|passwd|secret|api_key|private_key|gateway_key|token)\w*[\"']?\s*[:=]\s*"
        r"[\"']([^\"'\s]{8,})[\"']"
    ),
}
# Values the documentation and the tests show on purpose.
DOCUMENTED = {
    "Demo-VDSI-2021!",  # the demonstration's password (README)
    "…",  # README's elided database password
    "pass",  # README's database URL form: user:pass@host
    PASSWORD,  # tests.conftest
    "test-secret-key",
    "restart-test-secret",
    "an unused password for constant-time refusals",  # registry.passwords
    "!unusable",  # registry.accounts: the hash no password matches
}
# Test constants: a test file may write its own fixed passwords and keys.
TEST_CONSTANT = re.compile(r"^[A-Za-z][A-Za-z0-9._!-]*$")
NEVER_TRACKED = re.compile(
    r"(^|/)(\.env(\..*)?|instance/.*|.*\.(pem|key|p12|pfx|sqlite3?|db)|id_(rsa|ed25519).*)$"
)


def secrets_in(path: str, text: str) -> list[str]:
    found = []
    for name, pattern in SECRET_PATTERNS.items():
        for match in pattern.finditer(text):
            value = match.group(1) if pattern.groups else match.group(0)
            if value in DOCUMENTED or value.startswith(("{", "$", "<", "%(")):
                continue
            constant = name in ("secret assigned", "password in a URL") and TEST_CONSTANT.match(
                value
            )
            if path.startswith("tests/") and constant:
                continue
            line = text.count("\n", 0, match.start()) + 1
            found.append(f"{path}:{line}: {name}")
    return found


def tracked_files() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=PROJECT, capture_output=True, check=True
    ).stdout.decode()
    return [name for name in listed.split("\0") if name]


def test_no_secret_is_tracked_in_the_repository():
    files = tracked_files()
    assert len(files) > 100
    assert not [name for name in files if NEVER_TRACKED.search(name)]
    found = []
    for name in files:
        path = PROJECT / name
        if not path.is_file() or path.stat().st_size > 2_000_000:
            continue
        data = path.read_bytes()
        if b"\0" in data[:4096]:
            continue  # binary: icons, compressed tables
        found += secrets_in(name, data.decode("utf-8", "replace"))
    assert found == []
    ignored = subprocess.run(
        ["git", "check-ignore", "instance/secret_key", "instance/vdsi.sqlite3", ".venv/x"],
        cwd=PROJECT,
        capture_output=True,
        text=True,
    ).stdout.split()
    assert ignored == ["instance/secret_key", "instance/vdsi.sqlite3", ".venv/x"]


def test_the_secret_scan_finds_each_kind_it_looks_for():
    key_header = "-----BEGIN " + "RSA PRIVATE KEY-----"
    planted = {
        "private key": key_header,
        "AWS access key": "AKIA" + "ABCDEFGHIJKLMNOP",
        "GitHub token": "ghp_" + "a1" * 18,
        "platform API token": "vdsi_" + "Zx9" * 12,
        "password in a URL": "postgresql+psycopg://vdsi:" + "S3cr3t-pr0d" + "@db:5432/vdsi",
        "secret assigned": 'SECRET_KEY = "' + "9f8e7d6c5b4a3f2e1d" + '"',
    }
    for name, sample in planted.items():
        assert any(name in found for found in secrets_in("app/config.py", sample)), name
    assert secrets_in("README.md", "postgresql+psycopg://vdsi:…@db.example:5432/vdsi") == []
    assert secrets_in("app/demo.py", 'password = "Demo-VDSI-2021!"') == []


def test_after_logout_a_copy_of_the_session_cookie_opens_nothing(app, make_user):
    """Sessions live in signed cookies: logging out ends the account's sessions, so a cookie
    copied while signed in (a shared computer, a stolen backup) is refused afterwards."""
    user = make_user(Role.AGENT)
    desk = app.test_client()
    login(desk, user.email)
    copied = _session_cookie(desk)
    assert desk.post("/logout", data={"csrf_token": csrf_token(desk, "/agent/")}).status_code == 302
    thief = app.test_client()
    thief.set_cookie("vdsi_session", copied)
    refused = thief.get("/agent/")
    assert refused.status_code == 302 and refused.headers["Location"].startswith("/login")
    assert login(desk, user.email).status_code == 302 and desk.get("/agent/").status_code == 200
