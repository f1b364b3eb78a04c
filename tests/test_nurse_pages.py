"""The registry's pages: self-enrolment, the nurse's own profile, the coordinator's screens."""

import io

from sqlmodel import func, select

from registry.accounts import Role, User
from registry.nurses.models import AvailabilityWindow, Nurse, NurseStatus
from tests.conftest import csrf_token, fresh, login
from tests.nurse_data import am_number, rpps
from tests.test_eligibility import enrol  # noqa: F401 (fixture)
from tests.test_nurse_import import HEADER, row

PASSWORD = "Un-mot-de-passe-solide-2021"


def enrolment_form(**changes) -> dict:
    form = {
        "first_name": "Léa",
        "last_name": "Pujol",
        "rpps": rpps(901),
        "am_number": am_number(901),
        "phone": "06 11 22 33 44",
        "email": "lea.pujol@exemple.fr",
        "street": "3 rue du Rival",
        "postal_code": "09000",
        "commune": "foix",
        "radius_km": "12",
        "sector_communes": "09100 Pamiers\n09122",
        "skills": ["tag", "pcr"],
        "languages": ["fr", "oc"],
        "max_visits_per_day": "5",
        "password": PASSWORD,
        "confirm": PASSWORD,
    }
    form.update(changes)
    return form


def test_a_nurse_enrols_herself_and_waits_for_validation(client, db):
    data = {**enrolment_form(), "csrf_token": csrf_token(client, "/enrol")}
    response = client.post("/enrol", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    nurse = db.exec(select(Nurse)).one()
    assert nurse.status == NurseStatus.PENDING
    assert nurse.practice_commune == "Foix"
    assert login(client, "lea.pujol@exemple.fr", PASSWORD).status_code == 302
    page = client.get("/nurse/").get_data(as_text=True)
    assert "En attente de validation" in page


def test_a_wrong_commune_on_the_enrolment_form_shows_suggestions_and_stores_nothing(client, db):
    data = {**enrolment_form(commune="Foixe"), "csrf_token": csrf_token(client, "/enrol")}
    response = client.post("/enrol", data=data)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Suggestions : 09000 Foix" in page
    assert db.exec(select(func.count()).select_from(User)).one() == 0


def test_a_bad_rpps_on_the_enrolment_form_is_explained(client):
    data = {**enrolment_form(rpps="123"), "csrf_token": csrf_token(client, "/enrol")}
    page = client.post("/enrol", data=data).get_data(as_text=True)
    assert "11 chiffres" in page


def signed_in_nurse(client, db, enrol):  # noqa: F811
    nurse = enrol()
    user = db.get(User, nurse.user_id)
    assert login(client, user.email, PASSWORD).status_code == 302
    return nurse


def test_a_nurse_adds_and_removes_availability_from_her_phone(client, db, enrol):  # noqa: F811
    nurse = signed_in_nurse(client, db, enrol)
    token = csrf_token(client, "/nurse/profile")
    added = client.post(
        "/nurse/profile/availability/weekly",
        data={
            "weekly-weekday": "5",
            "weekly-start": "09:00",
            "weekly-end": "12:00",
            "weekly-csrf_token": token,
        },
    )
    assert added.status_code == 302
    refused = client.post(
        "/nurse/profile/availability/weekly",
        data={
            "weekly-weekday": "5",
            "weekly-start": "18:00",
            "weekly-end": "09:00",
            "weekly-csrf_token": token,
        },
    )
    assert refused.status_code == 422
    assert "avant de commencer" in refused.get_data(as_text=True)
    absence = client.post(
        "/nurse/profile/availability/dated",
        data={"dated-on_date": "2021-02-08", "dated-unavailable": "y", "dated-csrf_token": token},
    )
    assert absence.status_code == 302
    db.rollback()
    windows = db.exec(select(AvailabilityWindow).where(AvailabilityWindow.nurse_id == nurse.id))
    windows = list(windows)
    assert len(windows) == 3
    saturday = next(w.id for w in windows if w.weekday == 5)
    client.post(f"/nurse/profile/availability/{saturday}/delete", data={"csrf_token": token})
    db.rollback()
    assert db.exec(select(AvailabilityWindow).where(AvailabilityWindow.id == saturday)).all() == []


def test_a_nurse_cannot_delete_another_nurses_window(client, db, enrol):  # noqa: F811
    other = enrol()
    signed_in_nurse(client, db, enrol)
    window = db.exec(
        select(AvailabilityWindow).where(AvailabilityWindow.nurse_id == other.id)
    ).first()
    token = csrf_token(client, "/nurse/profile")
    response = client.post(
        f"/nurse/profile/availability/{window.id}/delete", data={"csrf_token": token}
    )
    assert response.status_code == 404
    db.rollback()
    assert db.get(AvailabilityWindow, window.id) is not None


def test_a_nurse_changes_her_sector_and_skills(client, db, enrol):  # noqa: F811
    nurse = signed_in_nurse(client, db, enrol)
    token = csrf_token(client, "/nurse/profile")
    response = client.post(
        "/nurse/profile/capabilities",
        data={
            "radius_km": "20",
            "sector_communes": "09100 pamiers",
            "skills": ["vaccination"],
            "languages": ["fr"],
            "max_visits_per_day": "8",
            "csrf_token": token,
        },
    )
    assert response.status_code == 302
    assert fresh(db, nurse).sector_radius_km == 20
    assert nurse.max_visits_per_day == 8
    wrong = client.post(
        "/nurse/profile/capabilities",
        data={
            "radius_km": "20",
            "sector_communes": "09100 Pamiez",
            "max_visits_per_day": "8",
            "languages": ["fr"],
            "csrf_token": token,
        },
    )
    assert wrong.status_code == 422
    assert "Ligne 1" in wrong.get_data(as_text=True)


def test_a_coordinator_validates_then_suspends_only_with_a_reason(client, db, enrol, logged_in):  # noqa: F811
    nurse = enrol(status=NurseStatus.PENDING)
    logged_in(Role.COORDINATOR)
    page = client.get(f"/coordinator/nurses/{nurse.id}").get_data(as_text=True)
    assert "Valider l&#39;inscription" in page or "Valider l'inscription" in page
    token = csrf_token(client, f"/coordinator/nurses/{nurse.id}")
    unconfirmed = client.post(
        f"/coordinator/nurses/{nurse.id}/validate", data={"validate-csrf_token": token}
    )
    assert unconfirmed.status_code == 422
    validated = client.post(
        f"/coordinator/nurses/{nurse.id}/validate",
        data={"validate-csrf_token": token, "validate-confirm": "y"},
    )
    assert validated.status_code == 302, validated.get_data(as_text=True)
    assert fresh(db, nurse).status == NurseStatus.ACTIVE
    no_reason = client.post(
        f"/coordinator/nurses/{nurse.id}/suspend",
        data={"suspend-csrf_token": token, "suspend-confirm": "y"},
    )
    assert no_reason.status_code == 422
    assert "motif" in no_reason.get_data(as_text=True)
    client.post(
        f"/coordinator/nurses/{nurse.id}/suspend",
        data={
            "suspend-csrf_token": token,
            "suspend-confirm": "y",
            "suspend-reason": "Radiation temporaire",
        },
    )
    assert fresh(db, nurse).status == NurseStatus.SUSPENDED


def test_the_coordinator_list_filters_by_commune_and_skill(client, enrol, logged_in):  # noqa: F811
    enrol(skills=["pcr"])
    enrol(skills=["tag"], practice={"street": "", "postal_code": "09100", "commune": "Pamiers"})
    logged_in(Role.COORDINATOR)
    by_commune = client.get("/coordinator/nurses?commune=Pamiers").get_data(as_text=True)
    assert "1 résultat" in by_commune
    by_postal_code = client.get("/coordinator/nurses?commune=09000").get_data(as_text=True)
    assert "1 résultat" in by_postal_code
    by_skill = client.get("/coordinator/nurses?skill=pcr").get_data(as_text=True)
    assert "1 résultat" in by_skill


def test_the_coordinator_imports_the_urps_list_and_reads_the_report(client, db, logged_in):
    logged_in(Role.COORDINATOR)
    content = "\n".join([HEADER, row(951), row(952, am_number="123")]).encode()
    token = csrf_token(client, "/coordinator/import")
    response = client.post(
        "/coordinator/import",
        data={"file": (io.BytesIO(content), "urps.csv"), "activate": "y", "csrf_token": token},
        content_type="multipart/form-data",
    )
    page = response.get_data(as_text=True)
    assert "1</strong> créée" in page
    assert "1</strong> refusée" in page
    assert "am_number" in page
    template = client.get("/coordinator/import/template.csv")
    assert template.mimetype == "text/csv"
    assert template.get_data().decode("utf-8-sig").startswith(HEADER)
