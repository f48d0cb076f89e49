"""Automated accessibility checks (axe-core, WCAG 2.1 A and AA plus best practices) of the
resident pages in a real browser, in the states a resident meets: panels and the hazard
warning open, errors shown, English.

axe-core comes from npm (node_modules/axe-core) like every other browser library.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from .. import factories as f

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]


def violations(page) -> list[str]:
    """axe's findings as readable lines (rule, impact, first elements)."""
    assert AXE.exists(), "npm package axe-core is missing: npm install (see package.json)"
    page.add_script_tag(path=str(AXE))
    found = page.evaluate(
        """async (tags) => {
            const r = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
            return r.violations.map(v => `${v.id} (${v.impact}): ` +
                v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', '));
        }""",
        TAGS,
    )
    return found


def test_map_page_with_its_panels(page, live_server, city):
    f.ReportFactory(category=city.pothole, department=city.roads)
    page.goto("/")
    page.wait_for_load_state("networkidle")
    assert violations(page) == []
    page.click("#btn-layers")
    assert violations(page) == []
    page.click("[data-close=panel-layers]")
    page.click("#btn-list")
    page.wait_for_load_state("networkidle")
    assert violations(page) == []


def test_report_form_with_errors_and_the_hazard_warning(page, live_server, city):
    page.goto("/report/new/")
    assert violations(page) == []
    page.click("#submit")
    expect(page.locator("#error-summary")).to_be_visible()
    assert violations(page) == []
    page.click(".cat-option:has-text('Вибухонебезпечний предмет')")
    expect(page.get_by_role("alertdialog")).to_be_visible()
    assert violations(page) == []


def test_report_page_and_accounts(page, live_server, city, users):
    report = f.ReportFactory(category=city.pothole, department=city.roads)
    for url in (f"/reports/{report.pk}/", "/accounts/login/", "/accounts/signup/",
                "/accounts/password_reset/"):
        page.goto(url)
        page.wait_for_load_state("networkidle")
        assert violations(page) == [], url


def test_english_pages(page, live_server, city):
    page.goto("/")
    page.click("button[name=language][value=en]")
    page.wait_for_load_state("networkidle")
    assert violations(page) == []
    page.goto("/report/new/")
    assert violations(page) == []


def test_not_found_page(page, live_server, city):
    response = page.goto("/no-such-page/")
    assert response.status == 404
    expect(page.locator("h1")).to_have_text("Сторінку не знайдено")
    assert violations(page) == []
    page.get_by_role("link", name="Повернутися до карти").click()
    expect(page.locator("#map.leaflet-container")).to_be_visible()
