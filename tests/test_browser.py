"""The pages people use, in a real browser: phone-sized, French, self-contained."""

import pytest

from registry.accounts import Role, User
from registry.nurses.models import NurseStatus
from tests.browser import ARTIFACTS, CHROMIUM
from tests.conftest import PASSWORD
from tests.nurse_data import am_number, rpps
from tests.test_eligibility import enrol  # noqa: F401 (fixture)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is installed by make test"),
]
PHONE = {"width": 360, "height": 740}


@pytest.fixture
def phone(browser, site):
    context = browser.new_context(viewport=PHONE, locale="fr-FR", base_url=site)
    page = context.new_page()
    page.requested_hosts = set()
    page.on("request", lambda request: page.requested_hosts.add(request.url.split("/")[2]))
    yield page
    context.close()


def sign_in(page, email: str, password: str = PASSWORD) -> None:
    page.goto("/login")
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe").fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="Se connecter").click()


def fits_the_screen(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.parametrize(
    ("role", "heading"),
    [
        (Role.NURSE, "Bonjour"),
        (Role.AGENT, "Mes demandes"),
        (Role.CPAM, "Factures VDSI de la CPAM 091"),
        (Role.COORDINATOR, "Suivi des visites"),
        (Role.ADMIN, "Administration"),
    ],
)
def test_each_role_signs_in_on_a_phone_and_lands_on_its_home(phone, make_user, role, heading):
    user = make_user(role)
    sign_in(phone, user.email)
    assert phone.get_by_role("heading", level=1).inner_text().startswith(heading)
    assert fits_the_screen(phone)
    ARTIFACTS.mkdir(exist_ok=True)
    phone.screenshot(path=str(ARTIFACTS / f"home-{role.value}-360.png"), full_page=True)
    assert phone.requested_hosts == {phone.url.split("/")[2]}


def test_a_wrong_password_shows_a_french_error(phone, make_user):
    user = make_user(Role.AGENT)
    sign_in(phone, user.email, "pas-le-bon-mot-de-passe")
    assert "mot de passe incorrect" in phone.get_by_role("alert").inner_text()
    assert fits_the_screen(phone)


def test_an_admin_creates_then_deactivates_an_account(phone, make_user):
    admin = make_user(Role.ADMIN)
    sign_in(phone, admin.email)
    phone.get_by_role("link", name="Comptes").click()
    phone.get_by_role("link", name="Créer un compte").click()
    phone.get_by_label("Nom complet").fill("Jeanne Enquêtrice")
    phone.get_by_label("Adresse e-mail").fill("jeanne@cpam.fr")
    phone.get_by_label("Rôle").select_option("agent")
    phone.get_by_label("Code CPAM").fill("091")
    phone.get_by_label("Mot de passe initial").fill(PASSWORD)
    phone.get_by_role("button", name="Créer le compte").click()
    assert "Compte créé pour jeanne@cpam.fr" in phone.get_by_role("status").first.inner_text()
    assert fits_the_screen(phone)

    confirmation = phone.get_by_label("Je confirme ce changement")
    phone.get_by_role("button", name="Désactiver").click()
    assert confirmation.evaluate("box => box.validity.valueMissing")
    confirmation.check()
    phone.get_by_role("button", name="Désactiver").click()
    assert "désactivé" in phone.get_by_role("status").first.inner_text()
    phone.screenshot(path=str(ARTIFACTS / "admin-user-360.png"), full_page=True)


def test_a_nurse_cannot_open_the_admin_pages(phone, make_user):
    nurse = make_user(Role.NURSE)
    sign_in(phone, nurse.email)
    response = phone.goto("/admin/users")
    assert response.status == 403
    assert "Accès refusé" in phone.get_by_role("heading", level=1).inner_text()


def test_keyboard_users_can_skip_to_the_content(phone, make_user):
    user = make_user(Role.COORDINATOR)
    sign_in(phone, user.email)
    phone.keyboard.press("Tab")
    assert phone.evaluate("document.activeElement.textContent") == "Aller au contenu"
    phone.keyboard.press("Enter")
    assert phone.evaluate("document.activeElement.id") == "contenu"


def test_a_nurse_enrols_on_her_phone(phone):
    phone.goto("/login")
    phone.get_by_role("link", name="Inscrivez-vous").click()
    phone.get_by_label("Prénom").fill("Léa")
    phone.get_by_label("Nom", exact=True).fill("Pujol")
    phone.get_by_label("N° RPPS").fill(rpps(977))
    phone.get_by_label("N° AM").fill(am_number(977))
    phone.get_by_label("Téléphone portable").fill("06 11 22 33 44")
    phone.get_by_label("Adresse e-mail").fill("lea@exemple.fr")
    phone.get_by_label("Adresse du cabinet").fill("3 rue du Rival")
    phone.get_by_label("Code postal", exact=True).fill("09000")
    phone.get_by_label("Commune", exact=True).fill("Foixe")
    phone.get_by_label("Rayon d'intervention").fill("12")
    phone.get_by_label("Tests antigéniques (TAG)").check()
    phone.get_by_label("Mot de passe (12 caractères au moins)").fill(PASSWORD)
    phone.get_by_label("Confirmez le mot de passe").fill(PASSWORD)
    phone.get_by_role("button", name="M'inscrire").click()
    assert "Suggestions : 09000 Foix" in phone.locator(".has-error").first.inner_text()
    assert fits_the_screen(phone)
    phone.screenshot(path=str(ARTIFACTS / "enrol-error-360.png"), full_page=True)
    phone.get_by_label("Commune", exact=True).fill("Foix")
    phone.get_by_label("Mot de passe (12 caractères au moins)").fill(PASSWORD)
    phone.get_by_label("Confirmez le mot de passe").fill(PASSWORD)
    with phone.expect_navigation():
        phone.get_by_role("button", name="M'inscrire").click()
    assert "Inscription enregistrée" in phone.get_by_role("status").first.inner_text()


def test_a_nurse_sets_her_availability_on_her_phone(phone, enrol, db):  # noqa: F811
    nurse = enrol()
    sign_in(phone, db.get(User, nurse.user_id).email)
    phone.get_by_role("link", name="Mes disponibilités").first.click()
    phone.get_by_label("Jour", exact=True).select_option(label="Samedi")
    phone.get_by_label("De", exact=True).fill("09:00")
    phone.get_by_label("À", exact=True).first.fill("12:00")
    with phone.expect_navigation():
        phone.get_by_role("button", name="Ajouter", exact=True).first.click()
    assert "Samedi 09:00–12:00" in phone.locator(".windows").inner_text()
    assert fits_the_screen(phone)
    phone.screenshot(path=str(ARTIFACTS / "nurse-availability-360.png"), full_page=True)


def test_a_coordinator_validates_an_enrolment(phone, enrol, make_user):  # noqa: F811
    nurse = enrol(status=NurseStatus.PENDING)
    coordinator = make_user(Role.COORDINATOR)
    sign_in(phone, coordinator.email)
    phone.get_by_role("link", name=f"{nurse.last_name} {nurse.first_name}").click()
    validate = phone.locator("form", has=phone.get_by_role("button", name="Valider l'inscription"))
    validate.get_by_label("Je confirme ce changement").check()
    with phone.expect_navigation():
        validate.get_by_role("button", name="Valider l'inscription").click()
    assert "active" in phone.get_by_role("status").first.inner_text()
    assert fits_the_screen(phone)
    phone.screenshot(path=str(ARTIFACTS / "coordinator-nurse-360.png"), full_page=True)
