"""The nurse registry over the JSON API: enrolment, reading, updates and status changes."""

import pytest
from sqlmodel import func, select

from registry import api_tokens
from registry.accounts import Role, User
from registry.audit import AuditEntry
from registry.nurses.models import Nurse
from tests.nurse_data import nurse_document, rpps


@pytest.fixture
def call(client, db, make_user):
    """call(role, method, path, json=None) with a bearer token of a user of that role."""
    tokens = {}

    def _call(role: Role, method: str, path: str, json=None, user=None):
        if user is not None or role not in tokens:
            owner = user or make_user(role)
            _token, tokens[role] = api_tokens.issue_token(db, owner, name="test", actor="test")
            db.commit()
        headers = {"Authorization": f"Bearer {tokens[role]}"}
        return client.open(path, method=method, json=json, headers=headers)

    return _call


def errors_of(response) -> dict[str, dict]:
    assert response.mimetype == "application/problem+json"
    return {error["field"]: error for error in response.get_json()["errors"]}


def count(db, model) -> int:
    return db.exec(select(func.count()).select_from(model)).one()


def test_a_coordinator_enrols_a_nurse_in_foix(call):
    response = call(Role.COORDINATOR, "POST", "/api/v1/nurses", nurse_document())
    assert response.status_code == 201, response.get_json()
    nurse = response.get_json()
    assert nurse["status"] == "pending"
    assert nurse["practice"]["insee"] == "09122"
    assert nurse["practice"]["lat"] == pytest.approx(42.96, abs=0.05)
    assert nurse["practice"]["lon"] == pytest.approx(1.61, abs=0.05)
    assert nurse["overseas"] is False
    assert nurse["phone"] == "+33612345678"
    assert response.headers["Location"].endswith(f"/api/v1/nurses/{nurse['id']}")


def test_a_nurse_in_guadeloupe_is_overseas_in_her_own_time_zone(call):
    document = nurse_document(
        practice={"street": "", "postal_code": "97110", "commune": "Pointe-à-Pitre"},
        phone="0690 12 34 56",
    )
    nurse = call(Role.ADMIN, "POST", "/api/v1/nurses", document).get_json()
    assert nurse["overseas"] is True
    assert nurse["timezone"] == "America/Guadeloupe"
    assert nurse["practice"]["insee"] == "97120"
    assert nurse["phone"] == "+590690123456"


def test_the_account_created_with_the_nurse_can_log_in(call, client, db):
    document = nurse_document()
    call(Role.COORDINATOR, "POST", "/api/v1/nurses", document)
    user = db.exec(select(User).where(User.email == document["email"])).one()
    assert user.role == Role.NURSE
    assert user.password_hash.startswith("$argon2id$")


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"rpps": "1234567890"}, "rpps", "11 chiffres"),
        ({"rpps": rpps(1)[:-1] + str((int(rpps(1)[-1]) + 1) % 10)}, "rpps", "clé de contrôle"),
        ({"am_number": "291991197"}, "am_number", "clé de contrôle"),
        ({"am_number": "12345"}, "am_number", "9 chiffres"),
        ({"phone": "12"}, "phone", "10 chiffres"),
        ({"email": "pas-une-adresse"}, "email", "invalide"),
        ({"password": "court"}, "password", "12 caractères"),
        ({"skills": ["chant"]}, "skills[0]", "inconnu"),
        ({"sector": {"radius_km": 500}}, "sector.radius_km", "entre 0 et 100"),
        ({"sector": {"communes": ["99999"]}}, "sector.communes[0]", "inconnue"),
        ({"max_visits_per_day": 0}, "max_visits_per_day", "entre 1 et 30"),
        (
            {"availability": [{"weekday": 1, "start": "18:00", "end": "09:00"}]},
            "availability[0]",
            "avant de commencer",
        ),
        (
            {"availability": [{"weekday": 9, "start": "08:00", "end": "09:00"}]},
            "availability[0]",
            "0 (lundi)",
        ),
        (
            {"availability": [{"date": "2021-02-30", "unavailable": True}]},
            "availability[0]",
            "invalide",
        ),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_nothing_is_stored(
    call, db, changes, field, words
):
    response = call(Role.COORDINATOR, "POST", "/api/v1/nurses", nurse_document(**changes))
    assert response.status_code == 422
    errors = errors_of(response)
    assert field in errors, errors
    assert words in errors[field]["message"]
    assert count(db, Nurse) == 0
    assert count(db, User) == 1  # only the coordinator calling


def test_an_unknown_postal_code_is_refused_with_suggestions(call, db):
    document = nurse_document(practice={"street": "", "postal_code": "09990", "commune": "Foix"})
    response = call(Role.COORDINATOR, "POST", "/api/v1/nurses", document)
    assert response.status_code == 422
    error = errors_of(response)["practice.postal_code"]
    assert "09990" in error["message"]
    assert any("Foix" in suggestion for suggestion in error["suggestions"])


def test_a_misspelt_commune_is_refused_with_the_postal_codes_communes(call):
    document = nurse_document(practice={"street": "", "postal_code": "09000", "commune": "Foixe"})
    response = call(Role.COORDINATOR, "POST", "/api/v1/nurses", document)
    assert response.status_code == 422
    assert "09000 Foix" in errors_of(response)["practice.commune"]["suggestions"]


def test_a_duplicate_rpps_is_a_conflict(call, db):
    document = nurse_document()
    assert call(Role.COORDINATOR, "POST", "/api/v1/nurses", document).status_code == 201
    again = nurse_document(rpps=document["rpps"])
    response = call(Role.COORDINATOR, "POST", "/api/v1/nurses", again)
    assert response.status_code == 409
    assert document["rpps"] in response.get_json()["detail"]
    assert count(db, Nurse) == 1


def test_a_body_that_is_not_json_is_refused_clearly(call):
    response = call(Role.COORDINATOR, "POST", "/api/v1/nurses")
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"


def test_only_managers_enrol_and_list(call):
    assert call(Role.AGENT, "POST", "/api/v1/nurses", nurse_document()).status_code == 403
    assert call(Role.NURSE, "GET", "/api/v1/nurses").status_code == 403


def test_a_nurse_reads_and_edits_her_own_record_only(call, db):
    mine = nurse_document()
    theirs = nurse_document()
    my_id = call(Role.COORDINATOR, "POST", "/api/v1/nurses", mine).get_json()["id"]
    their_id = call(Role.COORDINATOR, "POST", "/api/v1/nurses", theirs).get_json()["id"]
    me = db.exec(select(User).where(User.email == mine["email"])).one()
    assert call(Role.NURSE, "GET", f"/api/v1/nurses/{my_id}", user=me).status_code == 200
    assert call(Role.NURSE, "GET", f"/api/v1/nurses/{their_id}").status_code == 404
    window = {"availability": [{"weekday": 5, "start": "09:00", "end": "12:00"}]}
    updated = call(Role.NURSE, "PATCH", f"/api/v1/nurses/{my_id}", window)
    assert updated.get_json()["availability"] == [{"weekday": 5, "start": "09:00", "end": "12:00"}]
    locked = call(Role.NURSE, "PATCH", f"/api/v1/nurses/{my_id}", {"rpps": rpps()})
    assert locked.status_code == 403


def test_patch_changes_only_what_is_given_and_is_audited(call, db):
    created = call(Role.COORDINATOR, "POST", "/api/v1/nurses", nurse_document()).get_json()
    response = call(
        Role.COORDINATOR,
        "PATCH",
        f"/api/v1/nurses/{created['id']}",
        {"skills": ["tag", "pcr"], "sector": {"radius_km": 20, "communes": ["09225"]}},
    )
    nurse = response.get_json()
    assert nurse["skills"] == ["pcr", "tag"]
    assert nurse["sector"] == {"communes": ["09225"], "radius_km": 20.0}
    assert nurse["availability"] == created["availability"]
    entry = db.exec(select(AuditEntry).where(AuditEntry.action == "nurse.updated")).one()
    assert set(entry.details["fields"]) == {"skills", "sector"}


def test_validation_then_suspension_with_a_reason(call, db):
    nurse_id = call(Role.COORDINATOR, "POST", "/api/v1/nurses", nurse_document()).get_json()["id"]
    validated = call(Role.COORDINATOR, "POST", f"/api/v1/nurses/{nurse_id}/validate")
    assert validated.get_json()["status"] == "active"
    assert validated.get_json()["validated_at"]
    without_reason = call(Role.COORDINATOR, "POST", f"/api/v1/nurses/{nurse_id}/suspend", {})
    assert without_reason.status_code == 422
    assert "reason" in errors_of(without_reason)
    suspended = call(
        Role.COORDINATOR, "POST", f"/api/v1/nurses/{nurse_id}/suspend", {"reason": "Congé maladie"}
    )
    assert suspended.get_json()["status"] == "suspended"
    assert suspended.get_json()["status_reason"] == "Congé maladie"
    illegal = call(Role.COORDINATOR, "POST", f"/api/v1/nurses/{nurse_id}/suspend", {"reason": "x"})
    assert illegal.status_code == 409
    moves = db.exec(select(AuditEntry.details).where(AuditEntry.action == "nurse.status_changed"))
    assert [(d["from"], d["to"]) for d in moves] == [("pending", "active"), ("active", "suspended")]


def test_the_list_filters_by_status_and_commune_and_pages(call):
    ids = [
        call(Role.COORDINATOR, "POST", "/api/v1/nurses", nurse_document()).get_json()["id"]
        for _ in range(3)
    ]
    pamiers = nurse_document(practice={"street": "", "postal_code": "09100", "commune": "Pamiers"})
    call(Role.COORDINATOR, "POST", "/api/v1/nurses", pamiers)
    call(Role.COORDINATOR, "POST", f"/api/v1/nurses/{ids[0]}/validate")
    active = call(Role.COORDINATOR, "GET", "/api/v1/nurses?status=active").get_json()
    assert [n["id"] for n in active["items"]] == [ids[0]]
    in_foix = call(Role.COORDINATOR, "GET", "/api/v1/nurses?insee=09122&per_page=2").get_json()
    assert in_foix["total"] == 3
    assert len(in_foix["items"]) == 2
    bad = call(Role.COORDINATOR, "GET", "/api/v1/nurses?status=asleep")
    assert bad.status_code == 422


def test_communes_autocomplete_by_name_or_postal_code(call):
    by_name = call(Role.AGENT, "GET", "/api/v1/geo/communes?q=foix").get_json()["items"]
    assert by_name[0]["insee"] == "09122"
    by_code = call(Role.AGENT, "GET", "/api/v1/geo/communes?q=97110").get_json()["items"]
    assert any(item["name"] == "Pointe-à-Pitre" for item in by_code)
    assert call(Role.AGENT, "GET", "/api/v1/geo/communes?q=f").status_code == 422


def test_an_unknown_field_or_a_password_in_a_patch_is_refused(call):
    nurse_id = call(Role.COORDINATOR, "POST", "/api/v1/nurses", nurse_document()).get_json()["id"]
    unknown = call(Role.COORDINATOR, "PATCH", f"/api/v1/nurses/{nurse_id}", {"status": "active"})
    assert unknown.status_code == 422
    assert "status" in errors_of(unknown)
    password = call(Role.COORDINATOR, "PATCH", f"/api/v1/nurses/{nurse_id}", {"password": "x"})
    assert password.status_code == 422


def test_changing_the_email_changes_the_login_and_refuses_a_taken_address(call, db):
    first, second = nurse_document(), nurse_document()
    first_id = call(Role.COORDINATOR, "POST", "/api/v1/nurses", first).get_json()["id"]
    call(Role.COORDINATOR, "POST", "/api/v1/nurses", second)
    taken = call(
        Role.COORDINATOR, "PATCH", f"/api/v1/nurses/{first_id}", {"email": second["email"]}
    )
    assert taken.status_code == 409
    moved = call(
        Role.COORDINATOR, "PATCH", f"/api/v1/nurses/{first_id}", {"email": "nouvelle@exemple.fr"}
    )
    assert moved.get_json()["email"] == "nouvelle@exemple.fr"
    assert db.exec(select(User).where(User.email == "nouvelle@exemple.fr")).one().role == "nurse"


def test_a_city_code_in_a_sector_asks_for_its_arrondissements(call):
    document = nurse_document(sector={"communes": ["75056"]})
    response = call(Role.COORDINATOR, "POST", "/api/v1/nurses", document)
    assert "75101" in errors_of(response)["sector.communes[0]"]["message"]


def test_odd_page_numbers_do_not_break_the_list(call):
    for query in ("page=%C2%B2", "page=99999999999999999999", "per_page=0", "page=-1"):
        assert call(Role.COORDINATOR, "GET", f"/api/v1/nurses?{query}").status_code == 200
