"""Stored XSS attempts in a real browser (Debian's Chromium through Playwright): payloads in
a report's description, address and attribute answer, a comment, the reporter's contact
name and a clerk's name, rendered on every page that shows them (the public report page
and map, the resident's list, the workspace queue and ticket, the dashboard). No script of
theirs may run: each payload would set `window.__xss` or open a dialog."""

from __future__ import annotations

import pytest

from reports.models import Comment
from reports.services import Contact, report_create

from .. import factories as f
from ..browser import shot
from .figures import tally

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PAYLOADS = [
    '<script>window.__xss=1</script>',
    '<img src=x onerror="window.__xss=1">',
    '"><svg onload="window.__xss=1">',
    "javascript:window.__xss=1",
    "</textarea><script>window.__xss=1</script>",
    "{{ 7*7 }}<iframe srcdoc=\"<script>parent.__xss=1</script>\"></iframe>",
]
ALL = " ".join(PAYLOADS)


def login(page, username: str, next_url: str) -> None:
    page.goto(f"/accounts/login/?next={next_url}")
    page.fill("main input[name=username]", username)
    page.fill("main input[name=password]", "pass")
    with page.expect_navigation():
        page.click("main form [type=submit]")
    page.wait_for_load_state("load")


def test_stored_xss_never_runs(page, desktop_page, live_server, city, users):
    # given a report whose every free text is a script injection attempt
    question = f.CategoryAttributeFactory(category=city.pothole, code="where",
                                          required=False)
    clerk = users["roads"]
    clerk.first_name, clerk.last_name = PAYLOADS[1], PAYLOADS[0]
    clerk.save()
    report = report_create(category=city.pothole, location=city.centre, description=ALL,
                           address=PAYLOADS[2], attributes={question.code: PAYLOADS[1]},
                           reporter=users["resident"],
                           contact=Contact(name=ALL[:200], phone="+380501234567"))
    report.assignee = clerk
    report.save(update_fields=["assignee"])
    Comment.objects.create(report=report, author=users["resident"], text=ALL)
    dialogs = []
    visits = []
    for p in (page, desktop_page):
        p.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

    def visit(p, url: str, name: str) -> None:
        # when the page that shows them is opened
        p.goto(url)
        p.wait_for_load_state("networkidle")
        # then the text is there, as text, and nothing of it ran
        assert p.evaluate("window.__xss === undefined"), (url, "a payload ran")
        visits.append(url)
        shot(p, f"xss-{name}")

    visit(page, f"/reports/{report.pk}/", "report-page")
    assert "window.__xss=1" in page.inner_text("main")
    visit(page, "/", "map")
    login(page, "resident", "/my/")
    visit(page, "/my/", "my-reports")
    login(desktop_page, "staff.roads", "/workspace/")
    visit(desktop_page, "/workspace/", "queue")
    visit(desktop_page, f"/workspace/reports/{report.pk}/", "ticket")
    assert "window.__xss=1" in desktop_page.inner_text("main")
    desktop_page.context.clear_cookies()
    login(desktop_page, "official", "/dashboard/")
    visit(desktop_page, "/dashboard/", "dashboard")
    assert not dialogs
    tally("probe", probe="stored-xss-browser", pages=len(visits), payloads=len(PAYLOADS),
          ran=0)
