"""The workspace in a real browser (Debian's Chromium): queue, map, bulk action, ticket page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from reports.models import Report, ResponseTemplate
from reports.services import photo_add, report_transition
from reports.workflow import Status

from .. import factories as f
from ..browser import shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def login(page, username: str, next_url: str, password: str = "pass") -> None:
    """Log in through the real form and land on `next_url` (the header's language switch
    is a form too, so the submit button is looked up inside <main>)."""
    page.goto(f"/accounts/login/?next={next_url}")
    page.fill("main input[name=username]", username)
    page.fill("main input[name=password]", password)
    with page.expect_navigation():
        page.click("main form [type=submit]")
    page.wait_for_load_state("load")


@pytest.fixture
def queue(city, users):
    now = timezone.now()
    made = []
    for i in range(12):
        made.append(f.ReportFactory(
            category=city.pothole, department=city.roads, district=city.east,
            location=f.offset(city.centre, 150 * (i % 4), 120 * (i // 4)),
            address=f"вулиця Тестова, {i + 1}", description=f"Яма на дорозі {i + 1}",
            created=now - timedelta(days=i + 1), due_at=now + timedelta(days=5 - i),
            status=Status.IN_PROGRESS if i % 3 == 0 else Status.ASSIGNED,
            supporters_count=i % 3,
        ))
    f.ReportFactory(category=city.streetlight, department=city.lighting,
                    description="Не світить ліхтар")  # another department's ticket
    ResponseTemplate.objects.create(
        category=city.pothole, title="Уточнити місце",
        text_uk="Будь ласка, уточніть, з якого боку дороги яма.",
        text_en="Please tell us which side of the road the pothole is on.")
    return made


def _collect_errors(page):
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


def test_queue_bulk_and_ticket(desktop_page, live_server, users, queue):
    page = desktop_page
    errors = _collect_errors(page)
    # given a roads clerk signed in
    login(page, "staff.roads", "/workspace/")
    # when they open the workspace
    page.wait_for_selector(".queue-table tbody tr[data-number]")
    # then they see their 12 tickets, overdue first, and not the lighting one
    rows = page.locator(".queue-table tbody tr[data-number]")
    assert rows.count() == 12
    assert "is-overdue" in (rows.first.get_attribute("class") or "")
    assert page.locator("text=Не світить ліхтар").count() == 0
    page.wait_for_selector("#queue-map.leaflet-container")
    page.wait_for_timeout(500)
    shot(page, "workspace-queue")

    # when they select two tickets and assign them to themselves
    numbers = [rows.nth(i).get_attribute("data-number") for i in (0, 1)]
    for n in numbers:
        page.check(f'input[name="ids"][value="{n}"]')
    assert page.locator("[data-bulk-count] output").inner_text() == "2"
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#bulk-form button[type=submit]")
    page.wait_for_selector("[data-bulk-result]")
    # then the page reports both done, and the tickets are theirs
    assert Report.objects.filter(pk__in=numbers, assignee=users["roads"]).count() == 2
    shot(page, "workspace-bulk-result")

    # when they open a ticket with some history, pick a response template and ask the
    # reporter
    target = queue[0]
    report_transition(report_id=target.pk, actor=users["roads"], to_status="assigned",
                      internal_note="Бригада зайнята до четверга")
    photo_add(report_id=target.pk, actor=users["roads"], files=[f.image_file("before.jpg")])
    page.goto(f"/workspace/reports/{target.pk}/")
    page.click('details[data-action="transition:needs_info"] summary')
    picker = page.locator('details[data-action="transition:needs_info"] .template-picker')
    picker.select_option(label="Уточнити місце")
    note = page.locator('details[data-action="transition:needs_info"] textarea[name=note]')
    assert "з якого боку дороги" in note.input_value()
    shot(page, "workspace-ticket")
    page.click('details[data-action="transition:needs_info"] button[type=submit]')
    page.wait_for_selector('[data-status="needs_info"]')
    target.refresh_from_db()
    assert target.status == Status.NEEDS_INFO

    # nothing left the server's origin, and no script failed
    assert all(url.startswith(live_server.url) or url.startswith("data:")
               for url in page.requests_seen), page.requests_seen
    assert errors == []


def test_domain_error_keeps_what_was_typed(desktop_page, live_server, users, queue):
    page = desktop_page
    login(page, "staff.roads", "/workspace/")
    report = queue[1]
    # given a ticket whose deadline is already 40 days after it was received
    Report.objects.filter(pk=report.pk).update(due_at=report.created + timedelta(days=40))
    page.goto(f"/workspace/reports/{report.pk}/")
    # when the clerk tries to extend it by 10 more days (the law allows 45 in total)
    page.click('details[data-action="extend"] summary')
    page.fill('details[data-action="extend"] input[name=days]', "10")
    page.fill('details[data-action="extend"] [name=reason]', "Потрібна експертиза")
    page.click('details[data-action="extend"] button[type=submit]')
    # then the error shows next to the form, with the reason still typed in
    page.wait_for_selector('[data-error="extend"]')
    assert page.locator('details[data-action="extend"] [name=reason]').input_value() \
        == "Потрібна експертиза"
    shot(page, "workspace-ticket-error")
