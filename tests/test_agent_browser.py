"""The agent's booking, in a real browser at a desk, with the keyboard only: errors appear as
fields are left, without a reload; the commune is chosen from the list; Entrée books."""

import pytest
from sqlmodel import select

from registry.accounts import Role
from registry.requests.models import VisitRequest
from tests.browser import CHROMIUM, live_server
from tests.request_data import nir
from tests.test_browser import sign_in
from tests.visit_data import book

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is installed by make test"),
]
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture
def desk(browser, app, make_user):
    with live_server(app) as base_url:
        context = browser.new_context(viewport=DESKTOP, locale="fr-FR", base_url=base_url)
        page = context.new_page()
        agent = make_user(Role.AGENT)
        sign_in(page, agent.email)
        page.agent = agent
        yield page
        context.close()


def type_and_tab(page, text: str) -> None:
    page.keyboard.type(text)
    page.keyboard.press("Tab")


def test_an_agent_books_a_visit_with_the_keyboard_only(desk, db):
    desk.goto("/agent/requests/new")
    desk.evaluate("window.sameDocument = true")
    assert desk.evaluate("document.activeElement.id") == "nir"
    patient = nir()
    type_and_tab(desk, patient)
    type_and_tab(desk, "Dupont")
    type_and_tab(desk, "Jeanne")
    type_and_tab(desk, "12051985")
    type_and_tab(desk, "0698765432")
    type_and_tab(desk, "4 rue de la Préfecture")
    type_and_tab(desk, "09000")
    assert desk.evaluate("document.activeElement.id") == "address-commune"
    desk.keyboard.press("Control+A")
    desk.keyboard.type("Foi")
    desk.get_by_role("option", name="Foix — 09000 (09)").wait_for()
    desk.keyboard.press("ArrowDown")
    desk.keyboard.press("Enter")
    assert desk.get_by_role("combobox", name="Commune").input_value() == "Foix"
    assert desk.evaluate("window.sameDocument") is True
    with desk.expect_navigation():
        desk.keyboard.press("Enter")  # Entrée in a field books
    assert desk.get_by_role("heading", level=1).inner_text().startswith("Demande n°")
    db.rollback()
    visit = db.exec(select(VisitRequest).where(VisitRequest.nir == patient)).one()
    assert (visit.insee, visit.birth_date.isoformat()) == ("09122", "1985-05-12")


def test_errors_show_as_fields_are_left_without_reloading(desk, db):
    desk.goto("/agent/requests/new")
    desk.evaluate("window.sameDocument = true")
    type_and_tab(desk, "185050912345600")
    nir_error = desk.locator("#error-nir")
    nir_error.wait_for(state="visible")
    assert "clé" in nir_error.inner_text()
    assert desk.get_by_label("N° de sécurité sociale (NIR)").get_attribute("aria-invalid") == "true"
    desk.get_by_role("button", name="Enregistrer la demande").press("Enter")
    desk.locator("#error-last_name").wait_for(state="visible")
    assert "obligatoire" in desk.locator("#error-last_name").inner_text()
    assert desk.evaluate("document.activeElement.getAttribute('aria-invalid')") == "true"
    assert desk.evaluate("window.sameDocument") is True
    db.rollback()
    assert db.exec(select(VisitRequest)).first() is None


def test_a_patient_with_an_open_request_is_flagged_while_typing(desk, db):
    visit = book(db, desk.agent)
    desk.goto("/agent/requests/new")
    for field, value in [
        ("nir", visit.nir),
        ("last_name", "Dupont"),
        ("first_name", "Jeanne"),
        ("birth_date", "12/05/1985"),
        ("phone", "0698765432"),
        ("address-postal_code", "09000"),
        ("address-commune", "Foix"),
    ]:
        desk.locator(f"#{field}").fill(value)
    desk.keyboard.press("Escape")
    desk.keyboard.press("Tab")
    desk.locator("#conflict").wait_for(state="visible")
    assert "déjà en cours" in desk.locator("#conflict").inner_text()
    assert (
        desk.get_by_role("link", name="Voir la demande existante").get_attribute("href")
        == f"/agent/requests/{visit.id}"
    )


def test_the_list_refreshes_itself_and_warns(desk, db):
    desk.goto("/agent/")
    assert "Aucune demande" in desk.locator("#requests-live").inner_text()
    book(db, desk.agent, last_name="Retardataire", consent_at="2020-01-01T10:00:00+01:00")
    desk.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
    desk.locator("#requests-live").get_by_text("Retardataire").wait_for()
    assert "Échéance dépassée" in desk.locator("#requests-live").inner_text()
