"""Hostile input: the whole JSON API fuzzed from its own OpenAPI document (schemathesis), then
the attacks a fuzzer only stumbles on, one by one: oversized bodies, wrong content types, SQL and
HTML in every text field, spreadsheet formulas in every CSV export.

The fuzzer runs FUZZ_EXAMPLES generated cases per operation (10 in `make test`), seeded and
derandomized so that a failure comes back on the next run; `make fuzz` runs it longer."""

import csv
import io
import itertools
import json
import os
import re
import shutil

import pytest
import schemathesis
import sqlalchemy as sa
import time_machine
from sqlmodel import Session, select
from werkzeug.http import HTTP_STATUS_CODES

from app import create_app
from app.db import begin_write, load_reference_data, make_engine
from app.openapi import openapi_document
from billing.models import BillingRecord, ClaimImport
from registry import accounts
from registry.accounts import Role, User
from registry.audit import AuditEntry
from registry.nurses.models import Nurse
from registry.requests.models import VisitRequest
from registry.requests.services import cancel_request
from registry.visits.models import Offer
from registry.visits.offers import OfferRules
from registry.visits.planning import plan_pass
from steering.tables import TABLES
from tests.billing_data import HEADER, NurseApi, at, bearer, claim_lines, claims_scenario, visit_at
from tests.browser import live_server
from tests.conftest import BACKENDS, PASSWORD, csrf_token, login, settings_for
from tests.nurse_data import nurse_document
from tests.request_data import request_document
from tests.test_agent_pages import booking_form
from tests.visit_data import book, enrol_nurse

FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10"))
# Tables a refused request may still write to: caches and the scheduler's own.
CACHES = {"alembic_version", "geocode_cache", "job_lease", "apscheduler_jobs"}
HOSTILE = [
    "'; DROP TABLE visit_request; --",
    "' OR '1'='1",
    "Robert'); DELETE FROM nurse; --",
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "{{ 7 * 7 }}",
    '=HYPERLINK("http://exemple.invalid")',
    "+33 1 2",
    "-2+3",
    "@SUM(A1)",
    "\u202eevil",
    "%00",
    "nul\x00",
]
TRACES = ("Traceback", 'File "', "sqlalchemy", "psycopg", "sqlite3", "werkzeug", "Exception")

config = schemathesis.Config.from_dict(
    {
        "seed": 20210208,
        "suppress-health-check": ["too_slow"],
        "dictionaries": {"hostile": {"values": HOSTILE}},
        # Paging is forgiving by design ("1 si illisible", README): its leniency has its own test.
        "parameters": {"query.page": 1, "query.per_page": 20},
        "generation": {
            "max-examples": FUZZ_EXAMPLES,
            "deterministic": True,
            "database": "none",
            # One generated string in five is an attack from the list above.
            "dictionaries": {"string": {"dictionary": "hostile", "probability": 0.2}},
        },
        "checks": {
            # What the schema cannot say (check digits, a commune that exists, a known NIR) is
            # refused with a documented 422: schema-valid input may get one.
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", "401", "403", "404", "409", "422"]
            },
        },
    }
)
schema = schemathesis.openapi.from_dict(json.loads(json.dumps(openapi_document())), config=config)
# The real bearer tokens and row ids of the backend being fuzzed, set by its fixture.
TOKENS: dict[Role, str] = {}
IDS: dict[str, list[int]] = {}
ROLE_MARK = "role:"
ID_TURNS = itertools.count()


@schemathesis.check
def errors_are_problem_documents(ctx, response, case):
    """An error is a problem document whose title is ours, in French, not Werkzeug's."""
    if response.status_code >= 400:
        assert response.headers["content-type"][0] == "application/problem+json"
        body = response.json()
        assert body["status"] == response.status_code, body
        assert body["title"] != HTTP_STATUS_CODES[response.status_code] and body["detail"], body


@schemathesis.check
def no_stack_trace(ctx, response, case):
    if not response.headers.get("content-type", [""])[0].startswith("text/csv"):
        text = response.content.decode("utf-8", "replace")
        assert not [trace for trace in TRACES if trace in text], text[:500]


@schema.auth(refresh_interval=None)
class RoleTokens:
    """Each role the operation accepts, in turn; the test puts the role's real token in its
    place (the first cases are drawn at collection, before any database exists)."""

    turns = itertools.count()

    def get(self, case, context):
        roles = context.operation.definition.raw["x-roles"]
        return roles[next(self.turns) % len(roles)]

    def set(self, case, data, context):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {ROLE_MARK}{data}"}


def row_counter(engine: sa.Engine):
    """The row count of every table but the caches, in one query."""
    with engine.connect() as connection:
        names = [n for n in sa.inspect(connection).get_table_names() if n not in CACHES]
    counts = sa.select(
        *(sa.select(sa.func.count()).select_from(sa.table(n)).scalar_subquery() for n in names)
    )

    def count() -> dict[str, int]:
        with engine.connect() as connection:
            return dict(zip(names, connection.execute(counts).one(), strict=True))

    return count


def _fresh_database(request, tmp_path_factory) -> str:
    """An empty migrated database for the module (the conftest's, but for many tests)."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("fuzz") / "fuzz.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("postgres_migrated")
    engine = make_engine(url)
    with engine.begin() as connection:
        tables = [n for n in sa.inspect(connection).get_table_names() if n != "alembic_version"]
        connection.execute(sa.text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    load_reference_data(engine)
    engine.dispose()
    return url


def _populate(app, db) -> None:
    """A platform with something behind every path: a user of each role, bills, an import of
    claims with anomalies, and an offer waiting for the nurse's answer."""
    client = app.test_client()
    users = {}
    for role in (Role.AGENT, Role.CPAM, Role.COORDINATOR, Role.ADMIN):
        users[role] = accounts.create_user(
            db,
            email=f"{role.value}@exemple.fr",
            role=role,
            password=PASSWORD,
            name=role.label,
            actor="test",
            cpam_code="091" if role in (Role.AGENT, Role.CPAM) else None,
        )
    db.commit()
    content, _expected = claims_scenario(db, client, users[Role.AGENT])
    imported = client.post(
        "/api/v1/reconciliation/imports",
        data={"file": (io.BytesIO(content), "extrait.csv")},
        headers=bearer(db, users[Role.CPAM]),
    )
    assert imported.status_code == 201, imported.get_json()
    waiting = book(db, users[Role.AGENT])
    begin_write(db)
    plan_pass(db, rules=OfferRules(plan_time_limit=1.0))
    db.commit()
    # The nurse's account is the enrolled nurse's, so that her visits and bills are found.
    users[Role.NURSE] = db.get(User, db.exec(select(Nurse)).first().user_id)
    for role, user in users.items():
        TOKENS[role] = bearer(db, user)["Authorization"].removeprefix("Bearer ")
    bills = db.exec(select(BillingRecord)).all()
    IDS.update(
        nurse_id=list(db.exec(select(Nurse.id))),
        request_id=[waiting.id, *(bill.request_id for bill in bills)],
        offer_id=list(db.exec(select(Offer.id))),
        record_id=[bill.id for bill in bills],
        import_id=list(db.exec(select(ClaimImport.id))),
    )


@pytest.fixture(scope="module", params=BACKENDS)
def fuzzed(request, tmp_path_factory):
    """The app served on loopback over a populated database, and its row counter."""
    app = create_app(settings_for(_fresh_database(request, tmp_path_factory)))
    with Session(app.extensions["engine"], expire_on_commit=False) as db:
        _populate(app, db)
    with live_server(app) as base_url:
        yield base_url, row_counter(app.extensions["engine"])
    app.extensions["engine"].dispose()


@schema.parametrize()
def test_the_api_holds_against_generated_input(case, fuzzed):
    """No 500, no stack trace, every error a problem document, every answer as documented
    (status, media type, headers, body), invalid input refused and nothing written by a
    refused request."""
    base_url, row_counts = fuzzed
    header = (case.headers or {}).get("Authorization", "")
    if header.startswith(f"Bearer {ROLE_MARK}"):
        case.headers["Authorization"] = f"Bearer {TOKENS[Role(header.split(ROLE_MARK)[1])]}"
    # One generated id in two is replaced by an id that exists, to reach past the 404.
    if case.path_parameters and next(ID_TURNS) % 2:
        case.path_parameters = {
            name: IDS[name][value % len(IDS[name])] if isinstance(value, int) else value
            for name, value in case.path_parameters.items()
        }
    before = row_counts()
    response = case.call(base_url=base_url)
    if response.status_code >= 400:
        after = row_counts()
        assert after == before, {n: (before[n], after[n]) for n in before if before[n] != after[n]}
    case.validate_response(response, transport_kwargs={"base_url": base_url})


# The attacks one by one.

# Text a person types freely, and text with a form of its own (an identifier, a code, a phone).
BOOKING_FREE_TEXT = ("first_name", "last_name", "notes", "external_ref", "address.street")
BOOKING_FORMATTED = ("nir", "phone", "address.postal_code", "address.commune")
NURSE_FREE_TEXT = ("first_name", "last_name", "practice.street")
NURSE_FORMATTED = (
    "rpps",
    "am_number",
    "phone",
    "email",
    "password",
    "practice.postal_code",
    "practice.commune",
)
SCRIPT = "<script>alert(1)</script>"
IMAGE = '"><img src=x onerror=alert(1)>'
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def with_field(document: dict, path: str, value) -> dict:
    """A copy of `document` with the field at the dotted `path` set to `value`."""
    head, _, rest = path.partition(".")
    return {**document, head: with_field(document[head], rest, value) if rest else value}


def field(document: dict, path: str):
    for part in path.split("."):
        document = document.get(part) if isinstance(document, dict) else None
    return document


def count(db, model) -> int:
    db.rollback()
    return db.exec(select(sa.func.count()).select_from(model)).one()


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    return response.get_json()


def test_a_body_beyond_the_size_limit_is_a_413_in_french_and_stores_nothing(
    app, client, db, make_user
):
    limit = app.config["MAX_CONTENT_LENGTH"]
    assert limit == 5 * 1024 * 1024
    booking = json.dumps({**request_document(), "notes": "x" * limit})
    refused = client.post(
        "/api/v1/visit-requests",
        data=booking,
        content_type="application/json",
        headers=bearer(db, make_user(Role.AGENT)),
    )
    assert (
        assert_problem(refused, 413)["detail"] == "Le contenu envoyé dépasse la taille autorisée."
    )
    extract = (HEADER + "\n").encode() + b"x" * limit
    too_large = client.post(
        "/api/v1/reconciliation/imports",
        data={"file": (io.BytesIO(extract), "extrait.csv")},
        headers=bearer(db, make_user(Role.CPAM)),
    )
    assert assert_problem(too_large, 413)["title"] == "Contenu trop volumineux"
    assert count(db, VisitRequest) == 0 and count(db, ClaimImport) == 0


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "application/xml", "multipart/form-data"],
)
def test_json_sent_as_another_content_type_is_refused_in_french(
    client, db, make_user, content_type
):
    agent = bearer(db, make_user(Role.AGENT))
    coordinator = bearer(db, make_user(Role.COORDINATOR))
    nurse = enrol_nurse(db)
    calls = (
        ("POST", "/api/v1/visit-requests", agent, request_document()),
        ("POST", "/api/v1/nurses", coordinator, nurse_document()),
        ("PATCH", f"/api/v1/nurses/{nurse.id}", coordinator, {"first_name": "Autre"}),
    )
    for method, path, headers, body in calls:
        response = client.open(
            path, method=method, data=json.dumps(body), content_type=content_type, headers=headers
        )
        assert "Content-Type: application/json" in assert_problem(response, 400)["detail"], path
    assert count(db, VisitRequest) == 0 and count(db, Nurse) == 1
    assert fresh_nurse(db, nurse.id).first_name == nurse.first_name


def fresh_nurse(db, nurse_id: int) -> Nurse:
    db.rollback()
    return db.get(Nurse, nurse_id)


def test_sql_and_markup_in_every_text_field_are_stored_as_typed_or_refused_by_field(
    client, db, make_user
):
    """Never run: free text is kept as typed (spaces tidied) but for a NUL character, a
    formatted field refuses what is not of its form, each refusal names its field; and the
    tables the statements name are all still there."""
    forms = (
        (
            "/api/v1/visit-requests",
            Role.AGENT,
            request_document,
            BOOKING_FREE_TEXT,
            BOOKING_FORMATTED,
        ),
        ("/api/v1/nurses", Role.COORDINATOR, nurse_document, NURSE_FREE_TEXT, NURSE_FORMATTED),
    )
    for path, role, document, free_text, formatted in forms:
        headers = bearer(db, make_user(role))
        created = 0
        for value in HOSTILE:
            typed = document()
            for name in free_text:
                typed = with_field(typed, name, value)
            response = client.post(path, json=typed, headers=headers)
            if "\x00" in value:  # no database keeps it: refused, each field named
                errors = assert_problem(response, 422)["errors"]
                assert {e["field"] for e in errors} == set(free_text), errors
            else:
                assert response.status_code == 201, (path, value, response.get_json())
                created += 1
                for name in free_text:
                    assert field(response.get_json(), name) == " ".join(value.split()), name
            for name in formatted:
                response = client.post(
                    path, json=with_field(document(), name, value), headers=headers
                )
                if response.status_code == 201:  # a password may well be this text
                    created += 1
                    continue
                errors = assert_problem(response, 422)["errors"]
                assert any(e["field"].startswith(name) for e in errors), (name, value, errors)
        assert count(db, VisitRequest if role == Role.AGENT else Nurse) == created


def test_markup_typed_by_a_client_is_shown_as_text_on_the_pages(app, client, db, make_user):
    agent, coordinator = make_user(Role.AGENT), make_user(Role.COORDINATOR)
    booking = request_document(
        first_name=SCRIPT,
        last_name=IMAGE,
        notes=f"{SCRIPT} {IMAGE}",
        address={"street": SCRIPT, "postal_code": "09000", "commune": "Foix"},
    )
    booked = client.post("/api/v1/visit-requests", json=booking, headers=bearer(db, agent))
    enrolment = nurse_document(
        first_name=SCRIPT,
        last_name=IMAGE,
        practice={"street": IMAGE, "postal_code": "09000", "commune": "Foix"},
    )
    enrolled = client.post("/api/v1/nurses", json=enrolment, headers=bearer(db, coordinator))
    assert booked.status_code == enrolled.status_code == 201
    pages = (
        (agent, f"/agent/requests/{booked.get_json()['id']}"),
        (coordinator, f"/coordinator/nurses/{enrolled.get_json()['id']}"),
    )
    for user, path in pages:
        browser = app.test_client()
        login(browser, user.email)
        page = browser.get(path)
        assert page.status_code == 200, path
        text = page.get_data(as_text=True)
        assert SCRIPT not in text and "<img src=x" not in text, path
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text and "&lt;img src=x" in text, path


def formula_cells(text: str, delimiter: str) -> list[str]:
    """The cells a spreadsheet would run as a formula: starting with = + - @ (or a tab, a
    carriage return), but for negative numbers."""
    rows = csv.reader(io.StringIO(text.removeprefix("\ufeff")), delimiter=delimiter)
    return [
        cell
        for row in rows
        for cell in row
        if cell.startswith(FORMULA_STARTS) and not NEGATIVE_NUMBER.fullmatch(cell)
    ]


NEGATIVE_NUMBER = re.compile(r"-\d+([.,]\d+)?")


def test_formulas_typed_by_clients_are_neutralised_in_every_csv_export(app, client, db, make_user):
    """A patient's and a nurse's names starting with = + - @ reach the bills, the anomalies of
    an import and, with a cancellation's reason, the steering figures; no export hands a
    spreadsheet a formula, and the names are there, behind an apostrophe."""
    agent, cpam, coordinator = (
        make_user(role) for role in (Role.AGENT, Role.CPAM, Role.COORDINATOR)
    )
    api = NurseApi(db, client)
    nurse = enrol_nurse(db, first_name='=HYPERLINK("http://x")', last_name="@SUM(A1)")
    names = [(f"{start}1+1", f"{start}cmd|' /C calc'!A0") for start in ("=", "+", "-", "@")]
    bills = [
        visit_at(db, api, agent, nurse, at(9, hour), first_name=first, last_name=last)
        for hour, (first, last) in zip((9, 11, 14, 16), names, strict=True)
    ]
    with time_machine.travel(at(10), tick=False):
        begin_write(db)
        cancel_request(db, book(db, agent, household_tests=[]), "=2+3", actor=agent)
        db.commit()
    extract = "\n".join(
        [HEADER, *(line for bill in bills for line in claim_lines(bill, ifd="2,75"))]
    )
    imported = client.post(
        "/api/v1/reconciliation/imports",
        data={"file": (io.BytesIO(extract.encode()), "extrait.csv")},
        headers=bearer(db, cpam),
    )
    assert imported.status_code == 201, imported.get_json()
    staff = app.test_client()
    login(staff, cpam.email)
    period = "from=2021-03-01&to=2021-03-31"
    exports = [
        (client, bearer(db, cpam), "/api/v1/billing/records.csv"),
        (staff, {}, "/cpam/billing/records.csv"),
        (staff, {}, f"/cpam/reconciliation/{imported.get_json()['id']}/anomalies.csv"),
        *(
            (client, bearer(db, coordinator), f"/api/v1/indicators.csv?{period}&table={table}")
            for table in TABLES
        ),
    ]
    seen = ""
    for browser, headers, path in exports:
        for french, delimiter in ((False, ","), (True, ";")):
            url = f"{path}{'&' if '?' in path else '?'}format=fr" if french else path
            response = browser.get(url, headers=headers)
            assert response.status_code == 200 and response.mimetype == "text/csv", url
            text = response.get_data(as_text=True)
            assert formula_cells(text, delimiter) == [], url
            seen += text
    for first, last in names:
        assert f"'{first}" in seen and f"'{last}" in seen, (first, last)
    assert "'@SUM(A1) =HYPERLINK" in seen  # the nurse, named last name first


# What the fuzzer found, each kept by its own test.


def test_a_method_a_path_lacks_is_a_405_naming_the_allowed_ones(client, db, make_user):
    refused = client.delete("/api/v1/nurses", headers=bearer(db, make_user(Role.COORDINATOR)))
    assert assert_problem(refused, 405)["title"] == "Méthode non autorisée"
    assert set(refused.headers["Allow"].split(", ")) >= {"GET", "POST"}


def test_an_id_no_row_can_have_is_a_404_for_every_method(client, db, make_user):
    headers = bearer(db, make_user(Role.COORDINATOR))
    for method in ("GET", "PATCH"):
        response = client.open(
            "/api/v1/nurses/24880211381", method=method, json={}, headers=headers
        )
        assert_problem(response, 404)


def test_preferred_times_that_are_not_names_are_refused_by_field(client, db, make_user):
    booking = request_document(preferred_times=[{}, ["morning"], "morning"])
    response = client.post("/api/v1/visit-requests", json=booking, headers=bearer(db, make_user()))
    errors = {e["field"] for e in assert_problem(response, 422)["errors"]}
    assert errors == {"preferred_times[0]", "preferred_times[1]"}
    assert count(db, VisitRequest) == 0


def test_unknown_filters_of_the_nurse_list_are_refused_rather_than_ignored(client, db, make_user):
    headers = bearer(db, make_user(Role.COORDINATOR))
    response = client.get("/api/v1/nurses?skill=vaccin&insee=Foix", headers=headers)
    assert {e["field"] for e in assert_problem(response, 422)["errors"]} == {"skill", "insee"}
    assert client.get("/api/v1/nurses?skill=&insee=", headers=headers).status_code == 200


def test_an_unknown_csv_format_is_refused_before_any_bill_is_read(client, db, make_user):
    cpam = make_user(Role.CPAM)
    visit_at(db, NurseApi(db, client), make_user(Role.AGENT), enrol_nurse(db), at(9))
    reads = select(AuditEntry).where(AuditEntry.action == "billing_record.read")
    before = len(db.exec(reads).all())
    response = client.get("/api/v1/billing/records.csv?format=xlsx", headers=bearer(db, cpam))
    assert [e["field"] for e in assert_problem(response, 422)["errors"]] == ["format"]
    db.rollback()
    assert len(db.exec(reads).all()) == before


def test_the_steering_times_and_shares_are_json_numbers(client, db, make_user):
    visit_at(db, NurseApi(db, client), make_user(Role.AGENT), enrol_nurse(db), at(9))
    response = client.get(
        "/api/v1/indicators?from=2021-03-01&to=2021-03-31",
        headers=bearer(db, make_user(Role.COORDINATOR)),
    )
    total = response.get_json()["total"]
    assert isinstance(total["acceptation_mediane_min"], float), total
    assert isinstance(total["part_24h"], float) and isinstance(total["montant_facture"], str)


def test_a_nul_character_is_refused_by_field_wherever_the_api_stores_text(client, db, make_user):
    """PostgreSQL stores no NUL (a 500 there, stored as is on SQLite): refused on both."""
    coordinator, cpam = bearer(db, make_user(Role.COORDINATOR)), bearer(db, make_user(Role.CPAM))
    nurse = enrol_nurse(db)
    calls = (
        (
            "/api/v1/visit-requests",
            bearer(db, make_user()),
            {"json": request_document(notes="\x00")},
        ),
        (f"/api/v1/nurses/{nurse.id}/suspend", coordinator, {"json": {"reason": "congé\x00"}}),
        (
            "/api/v1/reconciliation/imports",
            cpam,
            {"data": {"file": (io.BytesIO(HEADER.encode()), "extrait\x00.csv")}},
        ),
        (
            "/api/v1/reconciliation/imports",
            cpam,
            {"data": {"file": (io.BytesIO(b""), "x.csv"), "mapping": '{"nir": "NIR\\u0000"}'}},
        ),
    )
    named = []
    for path, headers, body in calls:
        errors = assert_problem(client.post(path, headers=headers, **body), 422)["errors"]
        named += [e["field"] for e in errors]
    assert named == ["notes", "reason", "file", "mapping.nir"]
    assert count(db, VisitRequest) == count(db, ClaimImport) == 0
    assert fresh_nurse(db, nurse.id).status == "active"


def test_a_null_is_refused_by_field_rather_than_read_as_absent(client, db, make_user):
    headers = bearer(db, make_user(Role.COORDINATOR))
    nurse = enrol_nurse(db)
    changed = client.patch(
        f"/api/v1/nurses/{nurse.id}", json={"sector": None, "am_number": None}, headers=headers
    )
    assert {e["field"] for e in assert_problem(changed, 422)["errors"]} == {"sector", "am_number"}
    suspended = client.post(
        f"/api/v1/nurses/{nurse.id}/suspend", json={"reason": None}, headers=headers
    )
    assert [e["field"] for e in assert_problem(suspended, 422)["errors"]] == ["reason"]
    assert fresh_nurse(db, nurse.id).status == "active"  # not suspended for the reason "None"


def test_a_claims_file_that_is_not_text_is_refused_in_french(client, db, make_user):
    cpam = bearer(db, make_user(Role.CPAM))
    for content in (b"Y\r\x08`\xff\xfe", HEADER.encode() + b"\n\x00"):
        response = client.post(
            "/api/v1/reconciliation/imports",
            data={"file": (io.BytesIO(content), "extrait.csv")},
            headers=cpam,
        )
        assert [e["field"] for e in assert_problem(response, 422)["errors"]] == ["file"]
    assert count(db, ClaimImport) == 0


def test_a_commune_filter_that_is_no_insee_code_is_refused(client, db, make_user):
    cpam = bearer(db, make_user(Role.CPAM))
    for path in ("/api/v1/billing/records", "/api/v1/billing/records.csv"):
        response = client.get(f"{path}?insee=%C3%88yw%00", headers=cpam)
        assert [e["field"] for e in assert_problem(response, 422)["errors"]] == ["insee"]
    assert client.get("/api/v1/billing/records?insee=2a004", headers=cpam).status_code == 200


def test_a_nul_character_in_a_page_filter_or_form_field_is_refused_by_name(
    app, client, db, logged_in, make_user
):
    """Every route, pages included: a filter with a NUL (a 500 on PostgreSQL when compared with
    a column) or a form field with one gets a French refusal naming it, and stores nothing."""
    logged_in(Role.CPAM)
    for path in (
        "/cpam/reconciliation?insee=750%0056",
        "/cpam/billing?insee=%00",
        "/cpam/indicators?department=0%009",
        "/cpam/?page=1%00",
    ):
        response = client.get(path)
        assert response.status_code == 422, path
        page = response.get_data(as_text=True)
        assert "contient un caractère nul" in page and "Traceback" not in page, path
    token = csrf_token(client, "/cpam/reconciliation")
    upload = {"csrf_token": token, "file": (io.BytesIO(HEADER.encode()), "ex\x00trait.csv")}
    imported = client.post("/cpam/reconciliation", data=upload, content_type="multipart/form-data")
    assert imported.status_code == 422
    assert "« file » contient un caractère nul" in imported.get_data(as_text=True)
    assert count(db, ClaimImport) == 0
    agent = app.test_client()
    assert login(agent, make_user(Role.AGENT).email).status_code == 302
    token = csrf_token(agent, "/agent/requests/new")
    data = {**booking_form(notes="Sonner deux fois\x00"), "csrf_token": token}
    response = agent.post("/agent/requests/new", data=data)
    assert response.status_code == 422
    assert "« notes » contient un caractère nul" in response.get_data(as_text=True)
    assert count(db, VisitRequest) == 0


def test_a_form_part_without_a_name_is_answered_as_any_bad_import(client, db, make_user):
    """Found by the fuzzer: a multipart part with no name came as a field named None."""
    body = b"--b\r\nContent-Disposition: form-data\r\n\r\nvaleur\r\n--b--\r\n"
    response = client.post(
        "/api/v1/reconciliation/imports",
        data=body,
        content_type="multipart/form-data; boundary=b",
        headers=bearer(db, make_user(Role.CPAM)),
    )
    assert [e["field"] for e in assert_problem(response, 422)["errors"]] == ["file"]
    assert count(db, ClaimImport) == 0
