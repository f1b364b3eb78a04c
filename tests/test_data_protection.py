"""Data protection: every answer showing a patient's identity is in the audit log (the routes
found from the URL map, not listed by hand); the retention purge leaves the identity nowhere in
the database while the bills keep what they bill; and a whole flow, from booking to the report,
writes the patient's identity in no log record, no e-mail and no SMS."""

import html
import io
import json
import logging
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa
import time_machine
from sqlmodel import select

from app.jobs import tasks
from billing.models import BillingLine, BillingRecord
from registry.accounts import Role, User
from registry.audit import AuditEntry
from registry.geo.communes import commune_directory
from registry.requests.models import VisitRequest
from registry.timeutil import utcnow
from registry.visits.models import Offer
from registry.visits.upkeep import pseudonym
from tests.billing_data import HEADER, NurseApi, bearer
from tests.conftest import csrf_token, login
from tests.request_data import request_document
from tests.test_agent_pages import booking_form
from tests.test_authorization import expected_roles
from tests.test_ban_geocoder import ban, ban_feature  # noqa: F401 (fixture)
from tests.test_object_access import (
    OBJECT_RULES,
    Caller,
    _own_order,
    build_world,
    database_state,
    id_argument,
    identity_of,
    ids_of,
    patient,
    shown,
    text_of,
    url_with,
    user_of,
)
from tests.visit_data import REPORT, enrol_nurse

# The platform's own loggers (Flask's app.logger is "app"); the libraries' are their own.
APP_LOGGERS = ("app", "vdsi", "registry", "billing", "steering", "matching")
READS = {"visit_request.read", "visit_request.listed", "billing_record.read", "claim_import.read"}


# --- The audit log of every display of a patient --------------------------------------------


def _covers(entry: AuditEntry, request: VisitRequest, bills: dict, imports: dict) -> bool:
    """Whether an audit entry records the display of this patient."""
    details = entry.details or {}
    if entry.target_type == "visit_request":
        return entry.target_id == str(request.id) or request.id in details.get("ids", [])
    if entry.target_type == "billing_record":
        named = {entry.target_id, *map(str, details.get("records", []))}
        return bool(named & {str(b) for b in bills.get(request.id, ())})
    if entry.target_type == "claim_import":
        return request.nir in imports.get(entry.target_id, ())
    return False


def _routes(app, db, world, role):
    """Every route the role reaches, with one of its own ids, reads first, then the changes in
    an order that keeps its objects reachable."""
    found = []
    queries = ["", "?status=all", f"?nurse={world.mine.nurse.id}&month={utcnow():%Y-%m}"]
    for rule in app.url_map.iter_rules():
        allowed = expected_roles(rule.endpoint)
        if allowed == "public" or role not in allowed or rule.endpoint == "auth.logout":
            continue
        argument = id_argument(rule)
        if argument is None and rule._converters:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if argument is None:
                urls = [rule.rule + q for q in (queries if method == "GET" else [""])]
            elif OBJECT_RULES[argument][role] == "own":
                urls = [
                    url_with(app, rule, argument, ids_of(world, db, argument, role, world.mine)[0])
                ]
            else:
                continue  # managers' objects name no patient (test_object_access)
            found += [(rule, method, url) for url in urls]
    return sorted(found, key=lambda route: _own_order((*route[:2], None)))


def test_every_answer_showing_a_patient_writes_an_audit_entry_naming_her(app, db, world):
    everyone = world.requests()
    imports = {
        str(world.mine.claim_import): {world.mine.bill.patient_nir},
        str(world.theirs.claim_import): {world.theirs.bill.patient_nir},
    }
    showing = set()
    for role in Role:
        user = user_of(world, role)
        caller = Caller(app, db, user)
        for rule, method, url in _routes(app, db, world, role):
            last = db.exec(select(sa.func.max(AuditEntry.id))).one() or 0
            db.rollback()
            response = caller.call(rule.endpoint, method, url)
            body = text_of(response)
            patients = [r for r in everyone if shown(body, [r])]
            if not patients:
                continue
            showing.add(rule.endpoint)
            written = db.exec(
                select(AuditEntry).where(AuditEntry.id > last, AuditEntry.actor_id == user.id)
            ).all()
            bills = {}  # bills are issued along the sweep: read them now
            for record in db.exec(select(BillingRecord)):
                bills.setdefault(record.request_id, set()).add(record.id)
            db.rollback()
            reads = [e for e in written if e.action in READS or e.action == "visit_request.created"]
            for request in patients:
                assert any(_covers(e, request, bills, imports) for e in reads), (
                    f"{method} {url} as {role} shows {identity_of(request)[:2]} unaudited; "
                    f"written: {[(e.action, e.target_type, e.target_id) for e in written]}"
                )
    # The sweep reached the answers everyone knows show a patient.
    assert {
        "agent.home",
        "agent.request_detail",
        "agent.cancel",
        "nurse.visit_page",
        "nurse.billing_detail",
        "cpam.request_detail",
        "cpam.billing_detail",
        "cpam.billing_statement",
        "api.get_visit_request",
        "api.list_visit_requests",
        "api.get_visit",
        "api.get_record",
        "api.list_records",
    } <= showing, showing


@pytest.fixture
def world(app, db, make_user):
    return build_world(app, db, make_user)


def test_each_nurse_api_answer_naming_the_patient_is_audited(app, db, world):
    """Moving the appointment, reading the visit, declaring the patient unreachable: each answer
    carries the patient's identity, and each writes its read in the audit log."""
    nurse = Caller(app, db, world.mine.nurse_user)
    held = world.mine.held
    later = (utcnow() + timedelta(hours=3)).isoformat()
    calls = [
        ("POST", f"/api/v1/visits/{held.id}/appointment", {"appointment_at": later}),
        ("GET", f"/api/v1/visits/{held.id}", None),
        ("POST", f"/api/v1/visits/{held.id}/unreachable", {"reason": "Trois appels"}),
    ]
    for method, path, body in calls:
        last = db.exec(select(sa.func.max(AuditEntry.id))).one()
        db.rollback()
        answer = nurse.client.open(path, method=method, json=body, headers=nurse.token)
        assert answer.status_code == 200, answer.get_json()
        assert answer.get_json()["patient"]["last_name"] == held.last_name
        reads = db.exec(
            select(AuditEntry).where(
                AuditEntry.id > last, AuditEntry.action == "visit_request.read"
            )
        ).all()
        db.rollback()
        assert [(e.actor_id, e.target_id) for e in reads] == [(nurse.user.id, str(held.id))]


# --- Loopback servers: the SMTP inbox, the SMS gateway ----------------------------------------


class Gateway:
    """An SMS gateway on loopback: every text posted to it, and the key it was given."""

    def __init__(self):
        self.texts: list[dict] = []
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                gateway.texts.append(json.loads(self.rfile.read(length)))
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,))
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/sms"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def gateway():
    with Gateway() as running:
        yield running


@pytest.fixture
def settings_overrides(inbox, gateway, ban):  # noqa: F811
    """Everything a deployment talks to, on loopback: SMTP, the SMS gateway, the address base."""
    return {
        "mail_backend": "smtp",
        "mail_server": "127.0.0.1",
        "mail_port": inbox[1],
        "notification_channels": ("email", "sms", "console"),
        "sms_gateway_url": gateway.url,
        "sms_gateway_key": "gateway-test-key",
        "geocoder": "ban",
        "ban_url": ban.url,
        "public_base_url": "https://vdsi.exemple.fr",
    }


def house(street: str) -> dict:
    """BAN's answer for a street of Foix: the house's own point, not the commune's."""
    number, name = street.split(" ", 1)
    return ban_feature(housenumber=number, street=name, lon=1.5912, lat=42.9701)


class Platform:
    """The platform driven through its API and jobs, as its users and scheduler drive it."""

    def __init__(self, app, db, make_user, ban):  # noqa: F811
        self.app, self.db, self.ban = app, db, ban
        self.client = app.test_client()
        self.agent = make_user(Role.AGENT)
        self.clerk = make_user(Role.CPAM)
        self.coordinator = make_user(Role.COORDINATOR)
        self.nurses = [enrol_nurse(db), enrol_nurse(db)]
        self.nurse_api = NurseApi(db, self.client)
        self.headers = {
            name: bearer(db, user) for name, user in (("agent", self.agent), ("clerk", self.clerk))
        }

    def call(self, who: str, method: str, path: str, json=None, status=200):
        answer = self.client.open(path, method=method, json=json, headers=self.headers[who])
        assert answer.status_code == status, answer.get_data(as_text=True)
        return answer.get_json() if answer.is_json else answer.get_data(as_text=True)

    def book(self, **changes) -> int:
        document = request_document(**patient(**changes))
        self.ban.features = [house(document["address"]["street"])]
        return self.call("agent", "POST", "/api/v1/visit-requests", document, 201)["id"]

    def plan(self) -> list[Offer]:
        with self.app.app_context():
            summary = tasks.planning()
        return summary.offered

    def offer_of(self, request_id: int) -> tuple[Offer, object]:
        self.db.rollback()
        offer = self.db.exec(
            select(Offer).where(Offer.request_id == request_id, Offer.status == "live")
        ).one()
        return offer, next(n for n in self.nurses if n.id == offer.nurse_id)

    def accept(self, request_id: int):
        offer, nurse = self.offer_of(request_id)
        answer = self.nurse_api(nurse, "POST", f"/api/v1/offers/{offer.id}/accept")
        assert answer.status_code == 200, answer.get_json()
        return nurse

    def nurse_call(self, nurse, method, path, body, status=200):
        answer = self.nurse_api(nurse, method, path, body)
        assert answer.status_code == status, answer.get_json()
        return answer.get_json()

    def stored(self, request_id: int) -> VisitRequest:
        self.db.rollback()
        return self.db.get(VisitRequest, request_id)


@pytest.fixture
def platform(app, db, make_user, ban):  # noqa: F811
    return Platform(app, db, make_user, ban)


def _words(request: VisitRequest) -> list[str]:
    return [part for part in identity_of(request) if part]


def test_the_purge_leaves_the_identity_nowhere_and_the_bills_keep_what_they_bill(app, db, platform):
    p = platform
    # A visit handed back, taken by the other nurse and reported: its bill.
    billed = p.book()
    p.plan()
    first = p.accept(billed)
    name = p.stored(billed).last_name
    p.nurse_call(
        first,
        "POST",
        f"/api/v1/visits/{billed}/hand-back",
        {"reason": f"Mme {name} préfère le matin"},
    )
    p.plan()
    second = p.accept(billed)
    report = {
        **REPORT,
        "visited_at": utcnow().isoformat(),
        "social_needs": f"Prévenir la fille de Mme {name}",
    }
    p.nurse_call(second, "POST", f"/api/v1/visits/{billed}/report", report, 201)
    # A request cancelled for a reason naming the patient; one whose patient never answered.
    cancelled = p.book()
    cancelled_name = p.stored(cancelled).last_name
    p.call(
        "agent",
        "POST",
        f"/api/v1/visit-requests/{cancelled}/cancel",
        {"reason": f"{cancelled_name} hospitalisée à Foix"},
    )
    unreachable = p.book()
    p.plan()
    nurse = p.accept(unreachable)
    phone = p.stored(unreachable).phone
    p.nurse_call(
        nurse,
        "POST",
        f"/api/v1/visits/{unreachable}/unreachable",
        {"reason": f"Trois appels au {phone} sans réponse"},
    )
    # Still open: kept whole.
    still_open = p.book()

    closed = [p.stored(i) for i in (billed, cancelled, unreachable)]
    assert closed[0].latitude == 42.9701  # the house's point, from the address base
    secrets = {r.id: [*_words(r), r.notes] for r in closed}
    secrets[billed] += [f"Mme {name} préfère le matin", f"Prévenir la fille de Mme {name}"]
    secrets[cancelled] += [f"{cancelled_name} hospitalisée"]
    secrets[unreachable] += [f"Trois appels au {phone}"]
    original_nirs = {r.id: r.nir for r in closed}
    record = db.exec(select(BillingRecord).where(BillingRecord.request_id == billed)).one()
    bill_path = f"/api/v1/billing/records/{record.id}"
    bill_before = p.call("clerk", "GET", bill_path)
    csv_before = p.call("clerk", "GET", "/api/v1/billing/records.csv")
    lines_before = _lines(db, record.id)

    with time_machine.travel(utcnow() + timedelta(days=91)):
        with app.app_context():
            assert tasks.purge() == 3
        secret = app.config["SETTINGS"].secret_key
        for request in (p.stored(i) for i in (billed, cancelled, unreachable)):
            assert request.nir == pseudonym(original_nirs[request.id], secret)
            assert (request.first_name, request.last_name, request.phone) == ("", "", "")
            assert (request.address_street, request.notes, request.cancel_reason) == ("", "", "")
            foix = commune_directory().get(request.insee)
            assert (request.latitude, request.longitude) == (foix.latitude, foix.longitude)
            assert (request.birth_date.month, request.birth_date.day) == (1, 1)
        # Nowhere in the database but in the bill, which bills the patient by name and NIR.
        state = database_state(app.extensions["engine"], skip=("api_token", "apscheduler_jobs"))
        text = {table: html.unescape(repr(rows)) for table, rows in state.items()}
        for request_id, words in secrets.items():
            kept = {"billing_record"} if request_id == billed else set()
            for word in words:
                found = [t for t, rows in text.items() if word in rows and t not in kept]
                assert found == [], f"{word!r} of request {request_id} still in {found}"
        assert p.stored(still_open).last_name in text["visit_request"]  # the scan finds
        assert original_nirs[billed] in text["billing_record"]
        # The bill is as issued, its export and page still name the patient, and a claims
        # extract arriving after the purge is matched with it.
        assert p.call("clerk", "GET", bill_path) == bill_before
        assert p.call("clerk", "GET", "/api/v1/billing/records.csv") == csv_before
        assert _lines(db, record.id) == lines_before
        extract = ("\n".join([HEADER, *claimed(db, record)]) + "\n").encode()
        imported = p.client.post(
            "/api/v1/reconciliation/imports",
            data={"file": (io.BytesIO(extract), "extrait.csv")},
            headers=p.headers["clerk"],
        )
        assert imported.status_code == 201, imported.get_json()
        assert imported.get_json()["counts"]["matched"] == 1, imported.get_json()
        # The agent's page of the request shows its history, without a word of the patient.
        history = p.call("agent", "GET", f"/api/v1/visit-requests/{cancelled}")["history"]
        assert [e["to_status"] for e in history] == ["received", "cancelled"]
        assert all(e["reason"] == "" for e in history)


def claimed(db, record: BillingRecord) -> list[str]:
    """The claim lines a nurse sends the CPAM for her bill, act by act, as billed."""
    day = record.care_date.strftime("%d/%m/%Y")
    rows = db.exec(select(BillingLine).where(BillingLine.record_id == record.id)).all()
    text = lambda value: "" if value is None else str(value).replace(".", ",")  # noqa: E731
    return [
        f"{record.nurse_am_number};{record.patient_nir};{day};{line.code};"
        f"{text(line.coefficient)};{text(line.amount)};{text(line.amount)}"
        for line in rows
    ]


def _lines(db, record_id: int) -> list[tuple]:
    db.rollback()
    rows = db.exec(select(BillingLine).where(BillingLine.record_id == record_id)).all()
    return sorted((line.code, str(line.amount), line.quantity) for line in rows)


# --- No identity in logs or messages ------------------------------------------------------------


@pytest.fixture
def app_logs(caplog):
    """Every record of the platform's loggers, down to DEBUG."""
    for name in APP_LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def _log_text(caplog) -> str:
    parts = []
    for record in caplog.records:
        if record.name.split(".")[0] not in APP_LOGGERS:
            continue
        parts.append(record.getMessage())
        if record.exc_info:
            parts.append(logging.Formatter().formatException(record.exc_info))
        if record.stack_info:
            parts.append(record.stack_info)
    return "\n".join(parts)


def _mail_text(message) -> str:
    parts = [str(value) for value in message.values()]
    for part in message.walk():
        payload = part.get_payload(decode=True)
        if payload:
            parts.append(payload.decode(part.get_content_charset() or "utf-8", "replace"))
    return "\n".join(parts)


def _page(client, path):
    answer = client.get(path)
    assert answer.status_code == 200, f"{path} → {answer.status_code}"
    return answer


def _as_form(document: dict, key: str) -> dict:
    """A booking document as the agent's page posts it."""
    address = document["address"]
    return booking_form(
        nir=document["nir"],
        first_name=document["first_name"],
        last_name=document["last_name"],
        phone=document["phone"],
        notes=document["notes"],
        idempotency_key=key,
        **{f"address.{name}": address[name] for name in ("street", "postal_code", "commune")},
    )


def _book_on_the_page(client, document: dict, key: str) -> int:
    form = {**_as_form(document, key), "csrf_token": csrf_token(client, "/agent/requests/new")}
    answer = client.post("/agent/requests/new", data=form)
    assert answer.status_code == 302, answer.get_data(as_text=True)
    return int(answer.headers["Location"].rsplit("/", 1)[1])


@pytest.fixture
def jobs(app):
    """The jobs' entry points bound to the app, as the scheduler runs them (logging results)."""
    tasks.bind(app)
    yield tasks
    tasks.bind(None)


def test_a_whole_flow_writes_no_patient_identity_in_logs_emails_or_sms(
    app,
    db,
    platform,
    app_logs,
    inbox,
    gateway,
    ban,  # noqa: F811
    jobs,
):
    p = platform
    messages, _port = inbox
    agent_page, nurse_page = app.test_client(), app.test_client()
    login(agent_page, p.agent.email)
    first_nurse = p.nurses[0]
    login(nurse_page, db.get(User, first_nurse.user_id).email)

    # Booked on the page while the address base is down, then while it cannot place the
    # street; by the API with the house found; and where no nurse goes (Toulouse).
    ban.status = 503
    down = _book_on_the_page(agent_page, patient(), "form-down")
    ban.status, ban.features = 200, []
    unplaced = _book_on_the_page(agent_page, patient(), "form-unplaced")
    visited = p.book()
    toulouse = {"street": "", "postal_code": "31000", "commune": "Toulouse"}
    nobody = p.call(
        "agent", "POST", "/api/v1/visit-requests", request_document(**patient(toulouse)), 201
    )["id"]
    booked = (down, unplaced, visited, nobody)
    words = {i: [*_words(p.stored(i)), p.stored(i).notes] for i in booked}
    _page(agent_page, f"/agent/requests/{down}")
    _page(agent_page, "/agent/?status=all")

    jobs.planning_job()
    jobs.delivery_job()
    # The nurses answer: the first on her phone's pages, the other by the API.
    for request_id in (down, unplaced, visited):
        offer, nurse = p.offer_of(request_id)
        if nurse.id != first_nurse.id:
            p.nurse_call(nurse, "POST", f"/api/v1/offers/{offer.id}/accept", None)
            continue
        _page(nurse_page, "/nurse/offers")
        token = csrf_token(nurse_page, "/nurse/offers")
        answer = nurse_page.post(
            f"/nurse/offers/{offer.id}/accept", data={"accept-csrf_token": token}
        )
        assert answer.status_code == 302
        _page(nurse_page, answer.headers["Location"])
    holder = next(n for n in p.nurses if n.id == p.stored(visited).nurse_id)
    report = {**REPORT, "visited_at": utcnow().isoformat()}
    p.nurse_call(holder, "POST", f"/api/v1/visits/{visited}/report", report, 201)
    p.call("agent", "POST", f"/api/v1/visit-requests/{unplaced}/cancel", {"reason": "Doublon"})
    jobs.delivery_job()
    # Later: the at-risk warning, the J+4 reminder, the purge, as the scheduler runs them.
    with time_machine.travel(utcnow() + timedelta(hours=20)):
        jobs.escalation_job()
        jobs.delivery_job()
    with time_machine.travel(utcnow() + timedelta(days=5)):
        jobs.follow_up_job()
        jobs.delivery_job()
    with time_machine.travel(utcnow() + timedelta(days=100)):
        jobs.purge_job()
        jobs.planning_job()

    sent = [_mail_text(message) for message in messages.messages]
    texts = [text["text"] for text in gateway.texts]
    logs = _log_text(app_logs)
    # Every channel carried the flow, and the jobs and the geocoder's fallback logged.
    everything = "\n".join(sent)
    for subject in (
        "Nouvelle visite proposée à Foix",
        "Visite sans infirmière à Toulouse",
        "Visite annulée à Foix",
        "Visite non acceptée à Toulouse",
        "Compte rendu attendu",
    ):
        assert subject in everything, subject
    assert len(texts) >= 5 and "Nouvelle visite proposée" in texts[0]
    for logged in (
        "job planning",
        "job purge",
        "Notification (console)",
        "Address service unavailable",
        "Address not found",
    ):
        assert logged in logs, logged
    for request_id in booked:
        for word in words[request_id]:
            assert word not in logs, f"{word!r} of request {request_id} in the logs"
            assert not [t for t in sent if word in t], f"{word!r} in an e-mail"
            assert not [t for t in texts if word in t], f"{word!r} in an SMS"
