"""The nurse's day on her phone (360 × 640, in Debian's Chromium): she signs in, sees an offer
without the patient's identity, accepts it in one tap, sees the patient, files the report; the
agent who booked the visit watches its status change on her desk without reloading. The
screenshots of each step are kept in test-artifacts/."""

import pytest
from sqlmodel import select

from app.db import begin_write
from registry.accounts import Role, User
from registry.visits.models import VisitReport
from registry.visits.offers import OfferRules
from registry.visits.planning import plan_pass
from tests.browser import ARTIFACTS, CHROMIUM
from tests.conftest import fresh
from tests.test_browser import fits_the_screen, sign_in
from tests.visit_data import book, enrol_nurse

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is installed by make test"),
]
PHONE = {"width": 360, "height": 640}
DESKTOP = {"width": 1280, "height": 900}
THUMB = 44  # the smallest comfortable tap target, in CSS pixels


@pytest.fixture
def offered(db, make_user):
    """A request booked by an agent and offered to the Foix nurse by a planning pass."""
    agent = make_user(Role.AGENT)
    nurse = enrol_nurse(db)
    request = book(db, agent, notes="Sonner deux fois, interphone en panne.")
    begin_write(db)
    plan_pass(db, rules=OfferRules(plan_time_limit=1.0))
    db.commit()
    return agent, nurse, fresh(db, request)


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def tap_height(locator) -> float:
    return locator.bounding_box()["height"]


def test_a_nurse_accepts_an_offer_and_files_the_report_on_her_phone(browser, site, db, offered):
    agent, nurse, request = offered
    desk = browser.new_context(viewport=DESKTOP, locale="fr-FR", base_url=site).new_page()
    phone_context = browser.new_context(
        viewport=PHONE, locale="fr-FR", base_url=site, has_touch=True, is_mobile=True
    )
    phone = phone_context.new_page()
    outside: set[str] = set()
    phone.on(
        "request",
        lambda r: outside.add(r.url) if not r.url.startswith((site, "data:")) else None,
    )
    try:
        # The agent keeps the request open on her desk.
        sign_in(desk, agent.email)
        desk.goto(f"/agent/requests/{request.id}")
        assert "Proposée à une infirmière" in desk.locator("#status-live").inner_text()

        # 1. The offer: commune, distance, times, household; no name, no address, no phone.
        sign_in(phone, db.get(User, nurse.user_id).email)
        with phone.expect_navigation():
            phone.get_by_role("link", name="Mes propositions").first.tap()
        offer = phone.locator("article.offer")
        assert "Foix" in offer.inner_text() and "km de votre cabinet" in offer.inner_text()
        assert "3 personne(s)" in offer.inner_text()
        for secret in (request.last_name, request.phone, request.address_street, request.nir):
            assert secret not in phone.content()
        accept = offer.get_by_role("button", name="Accepter")
        assert tap_height(accept) >= THUMB
        assert fits_the_screen(phone)
        shot(phone, "nurse-1-offer-360x640")

        # 2. One tap: the patient, a number to call, a map link, the agent's notes.
        with phone.expect_navigation():
            accept.tap()
        assert "Visite acceptée" in phone.get_by_role("status").first.inner_text()
        assert phone.get_by_role("heading", level=1).inner_text() == (
            f"{request.first_name} {request.last_name}"
        )
        call = phone.get_by_role("link", name=f"Appeler le {request.phone}")
        assert call.get_attribute("href") == f"tel:{request.phone}"
        assert tap_height(call) >= THUMB
        geo = phone.get_by_role("link", name="Ouvrir dans l'application de cartes")
        assert geo.get_attribute("href").startswith("geo:42.9")
        assert "Sonner deux fois" in phone.content()
        assert fits_the_screen(phone)
        shot(phone, "nurse-2-patient-360x640")

        # The agent sees it accepted, by whom, without reloading her page.
        desk.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
        desk.locator("#status-live").get_by_text("Acceptée").first.wait_for()
        assert nurse.full_name in desk.locator("#status-live").inner_text()
        shot(desk, "agent-status-live-1280")

        # 3. The report.
        with phone.expect_navigation():
            phone.get_by_role("link", name="Remplir le compte rendu").tap()
        phone.get_by_label("Température (°C)").fill("38.1")
        phone.get_by_label("SpO2 (%)").fill("96")
        phone.get_by_label("Toux").check()
        phone.get_by_label("L'isolement est possible au domicile").check()
        phone.get_by_label("Médecin traitant informé").check()
        phone.get_by_label("Tests antigéniques : personnes testées").fill("2")
        phone.get_by_label("dont positives").fill("1")
        assert fits_the_screen(phone)
        shot(phone, "nurse-3-report-360x640")
        with phone.expect_navigation():
            phone.get_by_role("button", name="Déposer le compte rendu").tap()
        assert "Compte rendu déposé" in phone.get_by_role("status").first.inner_text()
        shot(phone, "nurse-4-visited-360x640")

        # 4. Her history shows it done; the agent's page too.
        with phone.expect_navigation():
            phone.get_by_role("link", name="Mes visites").first.tap()
        assert "Facturée" in phone.content() and "Facture n° 1" in phone.content()
        desk.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
        desk.locator("#status-live").get_by_text("Facturée").first.wait_for()
    finally:
        phone_context.close()
        desk.context.close()
    assert outside == set()
    assert fresh(db, request).status == "billed"
    report = db.exec(select(VisitReport).where(VisitReport.request_id == request.id)).one()
    assert report.clinical["symptoms"] == ["cough"] and report.household_tests[0]["positives"] == 1


def test_the_platform_can_be_added_to_a_phones_home_screen(browser, site):
    context = browser.new_context(viewport=PHONE, locale="fr-FR", base_url=site, is_mobile=True)
    page = context.new_page()
    try:
        page.goto("/login")
        link = page.locator("link[rel=manifest]").get_attribute("href")
        response = page.request.get(link)
        assert response.headers["content-type"].startswith("application/manifest+json")
        manifest = response.json()
        assert (manifest["lang"], manifest["display"], manifest["short_name"]) == (
            "fr",
            "standalone",
            "VDSI",
        )
        sizes = {icon["sizes"] for icon in manifest["icons"]}
        assert {"192x192", "512x512"} <= sizes
        assert any(icon["purpose"] == "maskable" for icon in manifest["icons"])
        for icon in manifest["icons"]:
            fetched = page.request.get(icon["src"])
            assert fetched.ok and fetched.headers["content-type"].startswith(icon["type"])
        assert page.request.get(manifest["start_url"]).ok
        theme = page.locator("meta[name=theme-color]").get_attribute("content")
        assert theme == manifest["theme_color"]
    finally:
        context.close()
