"""Who may reach which object: a nurse another nurse's offers, visits, bills or hours, an agent or
CPAM clerk another CPAM's requests, bills or claim imports, each id guessed or enumerated on
every page and API route of the URL map that takes one, answered 404 with nothing of the
patient and nothing changed; lists and exports, searched and filtered, show none of the other
party's patients (a nurse naming another nurse in the API is told 403, as documented); CPAM
staff's steering figures are their CPAM's alone, and the simulation runs belong to
coordinators.

The object rule of each route argument is written here: a route taking an id this file has no
rule for fails the test until someone decides whose objects it reaches.
"""

import html
import itertools
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
import time_machine
from flask import url_for
from sqlmodel import select
from werkzeug.routing import IntegerConverter

from app.db import begin_write
from billing import claims
from billing import reconciliation as reconciliation_service
from billing.models import BillingRecord
from registry.accounts import Role, User
from registry.audit import AuditEntry
from registry.nurses.models import AvailabilityWindow, Nurse
from registry.requests.models import VisitRequest
from registry.timeutil import utcnow
from registry.visits import offers, reports
from registry.visits.models import Offer
from registry.visits.offers import OfferRules
from registry.visits.planning import plan_pass
from steering.simulation import parse_parameters, runs
from tests.billing_data import HEADER, NurseApi, at, bearer, claim_lines, visit_at
from tests.conftest import csrf_token, login
from tests.request_data import nir
from tests.test_authorization import expected_roles
from tests.visit_data import FOIX, PAMIERS, REPORT, book, enrol_nurse

PARIS = ZoneInfo("Europe/Paris")
OWNER_ROLES = (Role.NURSE, Role.AGENT, Role.CPAM)

# Whose objects each id argument names, per role reaching the route: "own" (the caller's only:
# anyone else's is 404) or "all" (the role manages every one of them).
OBJECT_RULES = {
    "offer_id": {Role.NURSE: "own"},
    "request_id": {Role.NURSE: "own", Role.AGENT: "own", Role.CPAM: "own"},
    "record_id": {Role.NURSE: "own", Role.CPAM: "own"},
    "import_id": {Role.CPAM: "own"},
    "window_id": {Role.NURSE: "own"},
    "nurse_id": {Role.NURSE: "own", Role.COORDINATOR: "all", Role.ADMIN: "all"},
    "run_id": {Role.COORDINATOR: "all"},
    "user_id": {Role.ADMIN: "all"},
    "token_id": {Role.ADMIN: "all"},
    "message_id": {Role.ADMIN: "all"},
}
FIRST_NAMES = ["Apolline", "Bérénice", "Capucine", "Domitille", "Eulalie", "Fleurine", "Hortense"]
LAST_NAMES = ["Arnaudiès", "Bordenave", "Cazaubon", "Dufourcq", "Escarguel", "Fourcade", "Hourcq"]
_patients = itertools.count()


def _code(n: int) -> str:
    """Three letters of its own for each patient: no name is a part of another's."""
    return "".join("abcdefghijklmnopqrstuvwxyz"[n // 26**i % 26] for i in (2, 1, 0)).title()


def patient(commune=FOIX, **changes) -> dict:
    """A booking whose patient is recognisable anywhere: her own names, NIR, phone and street."""
    n = next(_patients)
    document = {
        "nir": nir(),
        "first_name": f"{FIRST_NAMES[n % 7]}-{_code(n)}",
        "last_name": f"{LAST_NAMES[n % 7]}-{_code(n)}",
        "phone": f"06 47 {n // 100 % 100:02d} {n % 100:02d} 19",
        "address": {**commune, "street": f"{n % 900 + 100} chemin de la Barguillère"},
        "household_tests": [],
        "notes": f"Digicode {4100 + n} bâtiment Sorgeat",
    }
    document.update(changes)
    return document


def identity_of(request: VisitRequest) -> list[str]:
    """What names the patient: her names, NIR, phone (as stored and as typed) and street."""
    national = "0" + request.phone[3:]
    spaced = " ".join(national[i : i + 2] for i in range(0, 10, 2))
    return [
        request.first_name,
        request.last_name,
        request.nir,
        request.phone,
        national,
        spaced,
        request.address_street,
    ]


def shown(body: str, requests: list[VisitRequest]) -> list[str]:
    text = html.unescape(body)
    return [part for request in requests for part in identity_of(request) if part and part in text]


def text_of(response) -> str:
    """The body as text, whatever it is (an export in Windows-1252, a PDF's bytes)."""
    data = response.get_data()
    try:
        return data.decode()
    except UnicodeDecodeError:
        return data.decode("cp1252", "replace")


def offer_to(db, request: VisitRequest, nurse: Nurse) -> Offer:
    begin_write(db)
    plan_pass(db, rules=OfferRules(plan_time_limit=1.0))
    db.commit()
    offer = db.exec(select(Offer).where(Offer.request_id == request.id)).one()
    assert offer.nurse_id == nurse.id, "the planner offered the visit to the other nurse"
    return offer


@dataclass
class Side:
    """One party's users and objects: a nurse, a CPAM's agent and clerk, what they own."""

    nurse: Nurse
    nurse_user: User
    agent: User
    clerk: User
    live_offer: Offer | None = None
    held: VisitRequest | None = None
    billed: VisitRequest | None = None
    bill: BillingRecord | None = None
    waiting: VisitRequest | None = None
    claim_import: int | None = None
    offers: list[Offer] = field(default_factory=list)
    # Requests booked by this side's CPAM, and those its nurse holds.
    booked: list[VisitRequest] = field(default_factory=list)


@dataclass
class World:
    mine: Side
    theirs: Side
    coordinator: User
    admin: User
    run_id: int
    engine: sa.Engine

    def requests(self) -> list[VisitRequest]:
        return [*self.mine.booked, *self.theirs.booked]


def _visit(db, agent, nurse, commune, *, report: bool):
    """A request of `agent`'s CPAM offered to `nurse`, accepted, and reported when asked."""
    request = book(db, agent, **patient(commune))
    offer = offer_to(db, request, nurse)
    begin_write(db)
    offers.accept_offer(db, offer.id, nurse, actor="test")
    db.commit()
    if report:
        begin_write(db)
        body = {**REPORT, "visited_at": utcnow().isoformat()}
        reports.file_report(db, request.id, nurse, body, actor="test")
        db.commit()
    db.refresh(request)
    return request, offer


def _import(db, clerk: User, record: BillingRecord) -> int:
    content = ("\n".join([HEADER, *claim_lines(record)]) + "\n").encode()
    batch = reconciliation_service.import_claims(
        db, claims.parse_claims(content), cpam_code=clerk.cpam_code, filename="x.csv", actor=clerk
    )
    db.commit()
    return batch.id


def build_world(app, db, make_user) -> World:
    """Two parties side by side: my nurse in Pamiers and my CPAM 091, their nurse in Foix and
    their CPAM 311; each nurse holds an offer, an accepted visit and a billed one, each CPAM
    booked some of them and imported a claims file; a simulation run of the coordinators."""
    mine_nurse = enrol_nurse(db, practice=PAMIERS)
    theirs_nurse = enrol_nurse(db, practice=FOIX)
    mine = Side(
        mine_nurse,
        db.get(User, mine_nurse.user_id),
        make_user(Role.AGENT, cpam_code="091"),
        make_user(Role.CPAM, cpam_code="091"),
    )
    theirs = Side(
        theirs_nurse,
        db.get(User, theirs_nurse.user_id),
        make_user(Role.AGENT, cpam_code="311"),
        make_user(Role.CPAM, cpam_code="311"),
    )
    # My nurse's visits come from my CPAM; theirs from both CPAMs, so that a bill of their CPAM
    # and a visit of my CPAM held by their nurse both exist.
    for side, agent, commune in ((mine, mine.agent, PAMIERS), (theirs, theirs.agent, FOIX)):
        side.held, offer_held = _visit(db, agent, side.nurse, commune, report=False)
        side.billed, offer_billed = _visit(db, agent, side.nurse, commune, report=True)
        side.bill = db.exec(
            select(BillingRecord).where(BillingRecord.request_id == side.billed.id)
        ).one()
        side.offers += [offer_held, offer_billed]
        side.booked += [side.held, side.billed]
    crossed, offer_crossed = _visit(db, mine.agent, theirs.nurse, FOIX, report=False)
    theirs.offers.append(offer_crossed)
    mine.booked.append(crossed)
    for side, agent, commune in ((mine, mine.agent, PAMIERS), (theirs, theirs.agent, FOIX)):
        live = book(db, agent, **patient(commune))
        side.live_offer = offer_to(db, live, side.nurse)
        side.offers.append(side.live_offer)
        side.booked.append(live)
    for side in (mine, theirs):
        side.waiting = book(db, side.agent, **patient())  # booked last: no offer yet
        side.booked.append(side.waiting)
        side.claim_import = _import(db, side.clerk, side.bill)
    coordinator = make_user(Role.COORDINATOR)
    run = runs.start_run(db, parse_parameters({"department": "09"}), actor=coordinator)
    db.commit()
    for request in [*mine.booked, *theirs.booked]:
        db.refresh(request)
    return World(mine, theirs, coordinator, make_user(Role.ADMIN), run.id, app.extensions["engine"])


def ids_of(world: World, db, argument: str, role: Role, side: Side) -> list[int]:
    """The ids of `side`'s objects an id argument can name, for a caller of `role`."""
    if argument == "offer_id":
        return [side.live_offer.id, *(o.id for o in side.offers if o.id != side.live_offer.id)]
    if argument == "request_id":
        if role == Role.NURSE:
            return [side.held.id, side.billed.id]
        # The one still waiting first: it can be cancelled, and its pages show it.
        return [side.waiting.id, *(r.id for r in side.booked if r.id != side.waiting.id)]
    if argument == "record_id":
        if role == Role.NURSE:
            rows = select(BillingRecord.id).where(BillingRecord.nurse_id == side.nurse.id)
        else:
            rows = select(BillingRecord.id).where(BillingRecord.cpam_code == side.clerk.cpam_code)
        return list(db.exec(rows))
    if argument == "import_id":
        return [side.claim_import]
    if argument == "window_id":
        rows = select(AvailabilityWindow.id).where(AvailabilityWindow.nurse_id == side.nurse.id)
        return list(db.exec(rows))
    if argument == "nurse_id":
        return [side.nurse.id]
    raise AssertionError(f"no ids for {argument}")


def foreign_ids(world: World, db, argument: str, role: Role) -> list[int]:
    """Every id the caller does not own, among those that exist, and one past the last."""
    own = set(ids_of(world, db, argument, role, world.mine))
    table = {
        "offer_id": Offer,
        "request_id": VisitRequest,
        "record_id": BillingRecord,
        "window_id": AvailabilityWindow,
        "nurse_id": Nurse,
    }.get(argument)
    if table is None:
        existing = set(ids_of(world, db, argument, role, world.theirs)) | own
    else:
        existing = set(db.exec(select(table.id)))
    return sorted((existing - own) | {max(existing | own) + 1})


def id_argument(rule) -> str | None:
    ints = [name for name, conv in rule._converters.items() if isinstance(conv, IntegerConverter)]
    assert len(ints) <= 1, f"{rule.endpoint}: several ids"
    return ints[0] if ints else None


def id_routes(app, role: Role):
    """(rule, method, argument) of every route taking an id that `role` may reach."""
    found = []
    for rule in app.url_map.iter_rules():
        argument = id_argument(rule)
        allowed = expected_roles(rule.endpoint)
        if argument is None or allowed == "public" or role not in allowed:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((rule, method, argument))
    return found


def local(moment: datetime) -> str:
    return moment.astimezone(PARIS).strftime("%Y-%m-%dT%H:%M")


def form_of(endpoint: str) -> dict:
    """A valid form for each state-changing page: only whose object it is may refuse it."""
    now = utcnow()
    forms = {
        "nurse.decline": {"reason": "other", "decline-note": ""},
        "nurse.reschedule": {"appointment-appointment_at": local(now + timedelta(hours=2))},
        "nurse.hand_back": {"hand_back-reason": "Empêchement"},
        "nurse.unreachable": {"unreachable-reason": "Trois appels sans réponse"},
        "nurse.report_page": {"visited_at": local(now), "isolation_feasible": "y"},
        "nurse.billing_correct": {"ik_km": "4", "reason": "Distance revue", "confirm": "y"},
        "cpam.billing_correct": {"ik_km": "4", "reason": "Distance revue", "confirm": "y"},
        "agent.cancel": {"reason": "Doublon"},
        "coordinator.change_status": {"reason": "Contrôle", "confirm": "y"},
    }
    return forms.get(endpoint, {})


def body_of(endpoint: str) -> dict:
    """A valid JSON body for each state-changing API endpoint."""
    now = utcnow()
    bodies = {
        "api.decline_offer": {"reason": "other"},
        "api.report_visit": {**REPORT, "visited_at": now.isoformat()},
        "api.visit_unreachable": {"reason": "Trois appels sans réponse"},
        "api.hand_back_visit": {"reason": "Empêchement"},
        "api.reschedule_visit": {"appointment_at": (now + timedelta(hours=2)).isoformat()},
        "api.cancel_visit_request": {"reason": "Doublon"},
        "api.update_nurse": {"max_visits_per_day": 5},
    }
    return bodies.get(endpoint, {})


CSRF_PREFIXES = ("accept", "decline", "appointment", "hand_back", "unreachable")


class Caller:
    """One person, on the pages (signed in) and on the API (a token of hers)."""

    def __init__(self, app, db, user: User):
        self.user = user
        self.client = app.test_client()
        assert login(self.client, user.email).status_code == 302
        db.rollback()  # the test's read snapshot ends: its token is written after the app's rows
        self.token = bearer(db, user)
        self._csrf = None

    def csrf(self) -> dict:
        if self._csrf is None:
            self._csrf = csrf_token(self.client, "/account")
        return {"csrf_token": self._csrf} | {f"{p}-csrf_token": self._csrf for p in CSRF_PREFIXES}

    def call(self, endpoint: str, method: str, url: str):
        if url.startswith("/api/"):
            body = body_of(endpoint) if method != "GET" else None
            return self.client.open(url, method=method, json=body, headers=self.token)
        if method == "GET":
            return self.client.get(url)
        return self.client.open(url, method=method, data={**form_of(endpoint), **self.csrf()})


def url_with(app, rule, argument: str, value: int, other: str = "validate") -> str:
    """The rule's URL naming `value`; another argument (a status change's action) is `other`."""
    values = {name: value if name == argument else other for name in rule._converters}
    with app.test_request_context():
        return url_for(rule.endpoint, **values)


def database_state(engine: sa.Engine, skip=("api_token",)) -> dict[str, list]:
    """Every row of every table, in order: what a refused request must leave as it was."""
    with engine.connect() as connection:
        names = sorted(sa.inspect(connection).get_table_names())
        state = {}
        for name in names:
            if name in skip:
                continue
            table = sa.Table(name, sa.MetaData(), autoload_with=connection)
            order = list(table.primary_key.columns) or list(table.columns)
            rows = connection.execute(sa.select(table).order_by(*order)).all()
            state[name] = [tuple(row) for row in rows]
    return state


def user_of(world: World, role: Role) -> User:
    return {
        Role.NURSE: world.mine.nurse_user,
        Role.AGENT: world.mine.agent,
        Role.CPAM: world.mine.clerk,
        Role.COORDINATOR: world.coordinator,
        Role.ADMIN: world.admin,
    }[role]


def foreign_patients(world: World, role: Role) -> list[VisitRequest]:
    """The patients whose identity the caller must never see."""
    if role == Role.NURSE:
        mine = {world.mine.held.id, world.mine.billed.id}
        return [r for r in world.requests() if r.id not in mine]
    if role in (Role.AGENT, Role.CPAM):
        return list(world.theirs.booked)
    return world.requests()


@pytest.fixture
def world(app, db, make_user) -> World:
    return build_world(app, db, make_user)


def test_every_route_taking_an_id_has_an_object_rule(app):
    for rule in app.url_map.iter_rules():
        argument = id_argument(rule)
        allowed = expected_roles(rule.endpoint)
        if argument is None:
            continue
        assert argument in OBJECT_RULES, f"{rule.endpoint}: no object rule for {argument}"
        assert allowed != "public", f"{rule.endpoint} takes an id and is public"
        for role in allowed:
            assert role in OBJECT_RULES[argument], (
                f"{rule.endpoint}: {role} reaches {argument} with no rule for whose they are"
            )


@pytest.mark.parametrize("role", OWNER_ROLES)
def test_another_partys_ids_guessed_or_enumerated_are_404_with_nothing_shown_or_changed(
    app, db, world, role
):
    caller = Caller(app, db, user_of(world, role))
    hidden = foreign_patients(world, role)
    routes = [route for route in id_routes(app, role) if OBJECT_RULES[route[2]][role] == "own"]
    assert routes, f"no id route for {role}"
    audit_before = db.exec(select(sa.func.max(AuditEntry.id))).one()
    state = database_state(world.engine)
    tried = 0
    for rule, method, argument in routes:
        for value in foreign_ids(world, db, argument, role):
            url = url_with(app, rule, argument, value)
            response = caller.call(rule.endpoint, method, url)
            where = f"{method} {url} as {role}"
            assert response.status_code == 404, f"{where} → {response.status_code}"
            body = text_of(response)
            assert not shown(body, hidden), f"{where} shows {shown(body, hidden)}"
            tried += 1
    db.rollback()
    assert database_state(world.engine) == state
    written = db.exec(select(AuditEntry).where(AuditEntry.id > (audit_before or 0))).all()
    assert [(e.action, e.target_id) for e in written] == []
    assert tried >= 2 * len(routes)
    # The same calls on the caller's own objects are answered: the refusals were about whose.
    for rule, method, argument in sorted(routes, key=_own_order):
        value = ids_of(world, db, argument, role, world.mine)[0]
        url = url_with(app, rule, argument, value)
        response = caller.call(rule.endpoint, method, url)
        assert response.status_code in (200, 201, 302, 409), f"own {method} {url} → " + (
            f"{response.status_code} {text_of(response)[:300]}"
        )


# Own objects are used by the controls in an order that keeps them reachable: answers to an
# offer before it is gone, the report before ending a visit otherwise (which then is a 409).
OWN_ORDER = ["accept", "decline", "report", "hand", "unreachable", "cancel", "correct", "delete"]


def _own_order(route) -> tuple:
    rule, method, _argument = route
    if method == "GET":
        return (0, rule.endpoint)
    name = rule.endpoint.split(".")[1]
    rank = next((i for i, word in enumerate(OWN_ORDER) if word in name), len(OWN_ORDER))
    return (1 + rank, rule.endpoint)


@pytest.mark.parametrize("role", OWNER_ROLES)
def test_lists_and_exports_show_no_other_partys_patient(app, db, world, role):
    """Every page and API answer without an id that the role reaches, searched and filtered as
    far as its parameters go, names none of the patients of the other party."""
    caller = Caller(app, db, user_of(world, role))
    hidden = foreign_patients(world, role)
    theirs = world.theirs
    queries = [
        "",
        "?status=all",
        f"?status=all&q={hidden[0].last_name}",  # the API's and the admin's search
        f"?q={hidden[0].nir}&status=all",
        f"?nurse={theirs.nurse.id}",
        f"?nurse={theirs.nurse.rpps}",
        f"?nurse={theirs.nurse.id}&month={utcnow():%Y-%m}",
        "?cpam=311&status=all",
    ]
    seen = 0
    for rule in app.url_map.iter_rules():
        allowed = expected_roles(rule.endpoint)
        if rule._converters or allowed == "public" or role not in allowed:
            continue
        if "GET" not in rule.methods or rule.endpoint == "auth.index":
            continue
        for query in queries:
            url = rule.rule + query
            response = caller.call(rule.endpoint, "GET", url)
            where = f"GET {url} as {role} → {response.status_code}"
            assert response.status_code < 500, where
            # What the caller typed may come back in her own search box and links.
            leaked = [s for s in shown(text_of(response), hidden) if s not in query]
            assert not leaked, f"{where} shows {leaked}"
            seen += response.status_code == 200
    assert seen > 10
    if role == Role.AGENT:  # her search box is posted, and kept in her session, not the URL
        for text in (hidden[0].last_name, hidden[0].nir):
            searched = caller.client.post("/agent/", data={"q": text, **caller.csrf()})
            assert searched.status_code == 302 and text not in searched.headers["Location"]
            listed = text_of(caller.client.get("/agent/?status=all&search=1"))
            assert not [s for s in shown(listed, hidden) if s != text], f"search {text}"
    # A nurse naming another nurse in the API is told no (documented: her own bills only).
    other = caller.client.get(
        f"/api/v1/billing/records?nurse={theirs.nurse.id}", headers=caller.token
    )
    if role == Role.NURSE:
        assert other.status_code == 403
        assert "vos propres factures" in other.get_json()["detail"]


def test_coordinators_and_admins_never_see_a_patients_identity(app, db, world):
    """Steering and administration need no patient: no page or API answer of theirs, over
    every id that exists, names one."""
    everyone = world.requests()
    for role in (Role.COORDINATOR, Role.ADMIN):
        caller = Caller(app, db, user_of(world, role))
        for rule in app.url_map.iter_rules():
            allowed = expected_roles(rule.endpoint)
            if allowed == "public" or role not in allowed or "GET" not in rule.methods:
                continue
            argument = id_argument(rule)
            if argument is None:
                urls = [rule.rule] if not rule._converters else []
            else:
                urls = [url_with(app, rule, argument, v) for v in _all_ids(db, world, argument)]
            for url in urls:
                response = caller.call(rule.endpoint, "GET", url)
                body = text_of(response)
                assert not shown(body, everyone), f"GET {url} as {role}: {shown(body, everyone)}"


def _all_ids(db, world: World, argument: str) -> list[int]:
    if argument == "nurse_id":
        return list(db.exec(select(Nurse.id)))
    if argument == "run_id":
        return [world.run_id]
    if argument == "user_id":
        return list(db.exec(select(User.id)))
    raise AssertionError(f"no ids for {argument}")


def test_a_simulation_run_belongs_to_the_coordinators(app, db, world):
    urls = [
        f"/coordinator/simulation/{world.run_id}",
        f"/coordinator/simulation/{world.run_id}/progress",
    ]
    for role in Role:
        caller = Caller(app, db, user_of(world, role))
        for url in urls:
            status = caller.client.get(url).status_code
            assert status == (200 if role == Role.COORDINATOR else 403), f"{url} as {role}"
    anonymous = app.test_client().get(urls[0])
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]


FROZEN = datetime(2021, 3, 20, 10, tzinfo=PARIS)
SHARED = {"api.me", "api.communes"}  # the caller's account, the commune table
PERIOD = "from=2021-03-01&to=2021-03-14&month=2021-03&week=2021-03-08&department=09&nurse={}"


def steering_answers(clients: dict, routes: list[tuple[str, bool]], nurse_id: int) -> dict:
    """Each route's answer, bare and with a period, a department and a nurse chosen."""
    with time_machine.travel(FROZEN, tick=False):
        answers = {}
        for path, api in routes:
            client, token = clients["api" if api else "page"]
            for query in ("", "?" + PERIOD.format(nurse_id)):
                response = client.get(path + query, headers=token if api else None)
                assert response.status_code < 500, f"{path}{query} → {response.status_code}"
                answers[path + query] = (response.status_code, response.data)
    assert sum(status == 200 for status, _data in answers.values()) >= len(answers) - 1
    return answers


def test_cpam_staffs_figures_and_bills_ignore_every_other_cpam(app, db, client, make_user):
    """Every page and API answer of CPAM staff without an id (indicators, their CSV, the weekly
    report and its PDF, bills, statement, reconciliation) is the same, byte for byte, before and
    after another CPAM's visits, bills and claims; the coordinator's figures do change."""
    api = NurseApi(db, client)
    nurse = enrol_nurse(db)
    agent_091 = make_user(Role.AGENT, cpam_code="091")
    agent_311 = make_user(Role.AGENT, cpam_code="311")
    clerk_311 = make_user(Role.CPAM, cpam_code="311")
    visit_at(db, api, agent_091, nurse, at(9))
    visit_at(db, api, agent_091, nurse, at(10, 15))
    clerk = make_user(Role.CPAM, cpam_code="091")
    coordinator = make_user(Role.COORDINATOR)
    clients = {}
    for name, user in (("cpam", clerk), ("coordinator", coordinator)):
        browser = app.test_client()
        with time_machine.travel(FROZEN, tick=False):  # a session signed later would be refused
            assert login(browser, user.email).status_code == 302
        clients[name] = {"page": (browser, None), "api": (app.test_client(), bearer(db, user))}
    routes = []
    for rule in app.url_map.iter_rules():
        allowed = expected_roles(rule.endpoint)
        if rule._converters or allowed == "public" or Role.CPAM not in allowed:
            continue
        ours = rule.endpoint.startswith(("cpam.", "api.")) and rule.endpoint not in SHARED
        if "GET" in rule.methods and ours:
            routes.append((rule.rule, rule.endpoint.startswith("api.")))
    assert len(routes) >= 12
    coordinator_routes = [("/coordinator/indicators.csv", False), ("/api/v1/indicators", True)]
    before = steering_answers(clients["cpam"], routes, nurse.id)
    coordinator_before = steering_answers(clients["coordinator"], coordinator_routes, nurse.id)

    db.rollback()  # the test's read snapshot ends before it writes after the app
    record = visit_at(db, api, agent_311, nurse, at(11))
    visit_at(db, api, agent_311, nurse, at(12, 9))
    _import(db, clerk_311, record)
    with time_machine.travel(at(13), tick=False):
        book(db, agent_311, **patient())

    after = steering_answers(clients["cpam"], routes, nurse.id)
    changed = [path for path in before if before[path] != after[path]]
    assert changed == []
    coordinator_after = steering_answers(clients["coordinator"], coordinator_routes, nurse.id)
    assert all(
        coordinator_before[p] != coordinator_after[p] for p in coordinator_before if "?" in p
    )


def test_a_nurse_filter_naming_no_nurse_is_refused_in_french(app, db, world):
    """A clerk typing an RPPS, a huge number or a word where the list's nurse goes gets a
    French explanation, on both databases (not an integer overflow in PostgreSQL)."""
    caller = Caller(app, db, world.mine.clerk)
    for value in (world.theirs.nurse.rpps, "99999999999999999999", "Martin", "-3"):
        for path in ("/cpam/billing", "/cpam/billing/statement"):
            refused = caller.client.get(f"{path}?nurse={value}", follow_redirects=True)
            assert refused.status_code == 200, f"{path}?nurse={value}"
            assert "ne désigne aucun·e infirmier·e de la liste" in html.unescape(text_of(refused))
        export = caller.client.get(f"/cpam/billing/records.csv?nurse={value}")
        assert export.status_code == 422
        assert "ne désigne aucun·e infirmier·e" in html.unescape(text_of(export))
        batch = f"/cpam/reconciliation/{world.mine.claim_import}"
        page = caller.client.get(f"{batch}?nurse={value}", follow_redirects=True)
        assert "ne désigne aucun·e infirmier·e" in html.unescape(text_of(page))
        assert caller.client.get(f"{batch}/anomalies.csv?nurse={value}").status_code == 422
    listed = caller.client.get(f"/cpam/billing?nurse={world.mine.nurse.id}")
    assert listed.status_code == 200 and f"/cpam/billing/{world.mine.bill.id}" in text_of(listed)
