"""A URPS coordinator steers the territory in Debian's Chromium: the dashboard's charts drawn by
the locally served library, the department map, the CSV export link, and the printable weekly
report; nothing is fetched from outside and the content security policy holds."""

import pytest

from registry.accounts import Role
from tests.browser import ARTIFACTS, CHROMIUM, watched_page
from tests.steering_data import steering_scenario
from tests.test_browser import sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is installed by make test"),
]


def test_a_coordinator_reads_the_dashboard_the_map_and_the_weekly_report(
    browser, site, db, client, make_user
):
    steering_scenario(db, client, make_user)
    coordinator = make_user(Role.COORDINATOR)
    with watched_page(browser, site) as watched:
        page = watched.page
        sign_in(page, coordinator.email)
        page.get_by_role("link", name="Indicateurs").click()
        page.get_by_label("Du").fill("2021-03-01")
        page.get_by_label("au", exact=True).fill("2021-03-14")
        page.get_by_label("Département").select_option("09")
        with page.expect_navigation():
            page.get_by_role("button", name="Afficher").click()
        assert "Indicateurs · Ariège (09)" in page.locator("h1").inner_text()
        page.wait_for_function(
            "[...document.querySelectorAll('canvas[data-chart]')]"
            ".every(c => c.toDataURL().length > 3000)"
        )
        map_svg = page.locator("svg[role=img]").first
        assert map_svg.is_visible() and map_svg.bounding_box()["width"] > 300
        page.get_by_text("Les chiffres en tableau").click()
        total = page.locator("table.indicators tr.total td")
        assert total.nth(3).inner_text() == "4"  # visits, after the two dates
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "steering-dashboard-1280.png"), full_page=True)
        with page.expect_navigation():
            page.get_by_role("link", name="Rapport hebdomadaire").click()
        assert "Semaine du lundi 08/03/2021" in page.content()
        assert page.get_by_role("link", name="Télécharger le PDF").is_visible()
        page.emulate_media(media="print")
        assert not page.locator("section.no-print").is_visible()
        page.screenshot(path=str(ARTIFACTS / "steering-weekly-report-print.png"), full_page=True)
    assert watched.outside == set()
    assert not watched.csp_violations, watched.errors
