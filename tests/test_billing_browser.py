"""CPAM staff reconcile a claims extract in Debian's Chromium: the upload, the classes with one
claim each, the drill-down to the bill behind an anomaly, and the weekly charts drawn by the
locally served charting library (nothing fetched from outside)."""

import pytest

from registry.accounts import Role
from tests.billing_data import claims_scenario
from tests.browser import ARTIFACTS, CHROMIUM, watched_page
from tests.test_browser import sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is installed by make test"),
]


def test_cpam_staff_import_an_extract_and_drill_down_to_an_anomaly(
    browser, site, db, client, make_user, tmp_path
):
    content, expected = claims_scenario(db, client, make_user(Role.AGENT))
    staff = make_user(Role.CPAM)
    extract = tmp_path / "releve-mars-2021.csv"
    extract.write_bytes(content)
    with watched_page(browser, site) as watched:
        page = watched.page
        sign_in(page, staff.email)
        page.get_by_role("link", name="Rapprochement").click()
        page.get_by_label("Extraction de la CPAM (CSV)").set_input_files(str(extract))
        with page.expect_navigation():
            page.get_by_role("button", name="Importer et rapprocher").click()
        assert "6 facturation(s) rapprochée(s)" in page.get_by_role("status").first.inner_text()
        classes = page.locator("table").first
        for label in ("Conforme", "Montant différent", "IK au-delà de l'estimation"):
            assert classes.get_by_role("row", name=label).locator("td").nth(1).inner_text() == "1"
        with page.expect_navigation():
            classes.get_by_role("link", name="IK au-delà de l'estimation").click()
        rows = page.locator("table").nth(1).locator("tbody tr")
        assert rows.count() == 1 and "km facturés" in rows.first.inner_text()
        with page.expect_navigation():
            rows.first.get_by_role("link", name="facture").click()
        assert f"/cpam/billing/{expected['ik_above_estimate']}" in page.url
        assert "ISOLEMENT COVID" in page.content()

        with page.expect_navigation():
            page.get_by_role("link", name="Rapprochement").click()
        page.get_by_label("Extraction de la CPAM (CSV)").set_input_files(str(extract))
        page.get_by_role("button", name="Importer et rapprocher").click()
        page.get_by_text("déjà été importé").wait_for()
        page.wait_for_function(
            "[...document.querySelectorAll('canvas[data-chart]')]"
            ".every(c => c.toDataURL().length > 3000)"
        )
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "cpam-reconciliation-1280.png"), full_page=True)
    assert watched.outside == set()
    assert not watched.csp_violations, watched.errors
