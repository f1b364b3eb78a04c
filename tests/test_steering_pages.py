"""The steering pages and API: coordinators and admins see the platform, CPAM staff their own
CPAM; the dashboard's charts, tables and CSV exports agree; bad filters are refused in French;
the weekly report compares the week with the one before and comes as a PDF."""

from html import unescape
from pathlib import Path

import pytest

from registry.accounts import Role
from tests.billing_data import bearer
from tests.conftest import login
from tests.steering_data import steering_scenario

WEEK = "from=2021-03-01&to=2021-03-14"


@pytest.fixture
def scenario(db, client, make_user):
    return steering_scenario(db, client, make_user)


def _signed_in(app, make_user, role, **kwargs):
    client = app.test_client()
    user = make_user(role, **kwargs)
    assert login(client, user.email).status_code == 302
    return client


def test_coordinators_see_the_platform_and_cpam_staff_only_their_cpam(app, db, make_user, scenario):
    coordinator = bearer(db, make_user(Role.COORDINATOR))
    cpam = bearer(db, make_user(Role.CPAM, cpam_code="091"))
    client = app.test_client()
    whole = client.get(f"/api/v1/indicators?{WEEK}", headers=coordinator).get_json()
    own = client.get(f"/api/v1/indicators?{WEEK}&department=09", headers=cpam).get_json()
    assert (whole["total"]["demandes"], whole["total"]["visites"]) == (5, 4)
    assert (own["cpam"], own["total"]["demandes"], own["total"]["visites"]) == ("091", 4, 3)
    assert [p["visites"] for p in own["periods"]] == [2, 1]
    assert [(d["department"], d["demandes"]) for d in whole["departments"]] == [("09", 5)]
    assert own["departments"] == []  # a department chosen: no breakdown
    assert own["total"]["annulees"] == 1
    assert {"reason": "Annulée par l'enquêteur", "count": 1} in own["outcomes"]
    # The agent's free-text reason for cancelling is not for steering.
    assert "HYPERLINK" not in str(own)
    # A CPAM's figures cannot be widened by asking: the scope is the token's.
    assert (
        client.get(f"/api/v1/indicators?{WEEK}&cpam=311", headers=cpam).get_json()["total"][
            "demandes"
        ]
        == 4
    )


@pytest.mark.parametrize("role", [Role.COORDINATOR, Role.ADMIN, Role.CPAM])
def test_every_steering_role_has_the_dashboard_with_its_charts_and_tables(
    app, make_user, scenario, role
):
    client = _signed_in(app, make_user, role)
    page = client.get(f"/{role.value}/indicators?{WEEK}").get_data(as_text=True)
    assert "Indicateurs" in page
    assert page.count("data-chart=") == 6
    assert "Les chiffres en tableau" in page
    assert "vendor/chart-4.5.1.umd.min.js" in page
    assert f'href="/{role.value}/indicators"' in page  # in the navigation


def test_the_csv_exports_hold_the_dashboard_figures_and_no_free_text(app, make_user, scenario):
    client = _signed_in(app, make_user, Role.COORDINATOR)
    plain = client.get(f"/coordinator/indicators.csv?{WEEK}&department=09")
    assert plain.mimetype == "text/csv"
    lines = plain.get_data(as_text=True).splitlines()
    header = lines[0].split(",")
    rows = [dict(zip(header, line.split(","), strict=True)) for line in lines[1:]]
    assert [(r["ligne"], r["debut"], r["visites"]) for r in rows] == [
        ("semaine", "2021-03-01", "2"),
        ("semaine", "2021-03-08", "2"),
        ("total", "2021-03-01", "4"),
    ]
    french = client.get(f"/coordinator/indicators.csv?{WEEK}&format=fr").get_data(as_text=True)
    assert french.startswith("\ufeffligne;debut;fin;")
    assert "semaine;01/03/2021;07/03/2021;" in french
    reasons = client.get(f"/coordinator/indicators.csv?{WEEK}&table=motifs").get_data(as_text=True)
    assert "demandes sans visite,Annulée par l'enquêteur,1" in reasons
    assert "HYPERLINK" not in reasons
    by_department = client.get(f"/coordinator/indicators.csv?{WEEK}&table=departements")
    assert by_department.get_data(as_text=True).splitlines()[1].startswith("09,Ariège,2021-03-01")
    assert client.get(f"/coordinator/indicators.csv?{WEEK}&table=x").status_code == 422


def test_bad_filters_are_refused_with_a_french_message(app, make_user):
    client = _signed_in(app, make_user, Role.COORDINATOR)
    refused = client.get("/coordinator/indicators?department=99&from=2021-13-01")
    assert refused.status_code == 302
    page = unescape(client.get(refused.headers["Location"]).get_data(as_text=True))
    assert "« 99 » n'est pas un code de département" in page
    assert "« 2021-13-01 » n'est pas une date" in page
    far = client.get("/coordinator/indicators?from=9999-12-25&to=9999-12-31")
    page = unescape(client.get(far.headers["Location"]).get_data(as_text=True))
    assert "Le 25/12/9999 est hors des dates possibles" in page
    old = client.get("/coordinator/indicators/weekly?week=0001-01-01")
    assert old.status_code == 302
    too_long = client.get("/coordinator/indicators?granularity=day&from=2021-01-01&to=2021-12-31")
    page = unescape(client.get(too_long.headers["Location"]).get_data(as_text=True))
    assert "Période trop longue pour un affichage par jour : 92 jours au plus." in page
    inverted = client.get("/coordinator/indicators?from=2021-03-10&to=2021-03-01")
    page = unescape(client.get(inverted.headers["Location"]).get_data(as_text=True))
    assert "La fin de la période précède son début." in page


def test_the_weekly_report_compares_the_week_with_the_previous_one(app, make_user, scenario):
    client = _signed_in(app, make_user, Role.COORDINATOR)
    page = client.get("/coordinator/indicators/weekly?department=09&week=2021-03-10")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Ariège (09)" in text
    assert "Semaine du lundi 08/03/2021 au dimanche 14/03/2021" in text
    # 2 visits this week, 2 the week before: no change; 2 requests this week against 2.
    assert "<strong>2 visite(s)</strong>" in text
    assert text.count("<svg") >= 6
    assert "style=" not in text.split("<article", 1)[1]


def test_the_weekly_report_downloads_as_a_pdf_drawn_offline(app, make_user, scenario):
    client = _signed_in(app, make_user, Role.CPAM, cpam_code="091")
    response = client.get("/cpam/indicators/weekly.pdf?department=09&week=2021-03-01")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF-")
    assert "rapport-vdsi-09-2021-03-01.pdf" in response.headers["Content-Disposition"]


def test_the_map_appears_once_a_department_is_chosen(app, make_user, scenario):
    client = _signed_in(app, make_user, Role.COORDINATOR)
    without = client.get(f"/coordinator/indicators?{WEEK}").get_data(as_text=True)
    assert "Choisissez un département" in without
    page = client.get(f"/coordinator/indicators?{WEEK}&department=09").get_data(as_text=True)
    assert "<svg" in page
    assert "Foix" in page


def test_a_cpam_account_without_a_cpam_sees_no_figures(app, db, make_user):
    staff = make_user(Role.CPAM)
    staff.cpam_code = None
    db.add(staff)
    db.commit()
    client = app.test_client()
    assert login(client, staff.email).status_code == 302
    assert client.get("/cpam/indicators").status_code == 403
    answer = app.test_client().get("/api/v1/indicators", headers=bearer(db, staff))
    assert answer.status_code == 403
    assert "aucune CPAM" in answer.get_json()["detail"]


def test_amounts_are_decimal_text_in_the_api(app, db, make_user, scenario):
    answer = app.test_client().get(
        f"/api/v1/indicators?{WEEK}", headers=bearer(db, make_user(Role.ADMIN))
    )
    assert answer.get_json()["total"]["montant_facture"] == "109.06"


def test_the_pdf_draws_only_the_platforms_own_files(app):
    from app.pdf import StaticFiles

    fetcher = StaticFiles(Path(app.static_folder), "/static/", "127.0.0.1:5000")
    assert fetcher.fetch("http://127.0.0.1:5000/static/css/report.css").read().startswith(b"/*")
    for url in (
        "http://example.org/static/css/report.css",
        "http://127.0.0.1:5000/static/../../app/config.py",
        "file:///etc/passwd",
    ):
        with pytest.raises(ValueError):
            fetcher.fetch(url)
