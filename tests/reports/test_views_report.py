"""The public report page /reports/{n}/: what it shows, what it never shows, and its forms."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from layers.geometry import lat_lon
from reports import services
from reports.models import Comment, Report, Subscription, Supporter
from reports.services import Contact
from reports.workflow import Status

from .. import factories as f

pytestmark = pytest.mark.django_db


def _report(city, **kwargs) -> Report:
    defaults = {"category": city.pothole, "department": city.roads,
                "location": f.offset(city.centre, 40, 30)}
    return f.ReportFactory(**{**defaults, **kwargs})


def _page_config(html: str) -> dict:
    import json

    match = re.search(r'<script id="report-page-config" type="application/json">(.*?)</script>',
                      html, re.S)
    return json.loads(match.group(1))


def test_page_shows_the_report_without_contact_data(client, city):
    # given a report with private contact details and an HTML-ish description
    report = _report(city, description='Яма <script>alert("x")</script> & <b>глибока</b>',
                     address="вулиця Тестова, 5")
    # when the public opens its page
    response = client.get(f"/reports/{report.pk}/")
    html = response.content.decode()
    # then it shows the public facts, escaped, and none of the contact data
    assert response.status_code == 200
    assert f"№{report.pk}" in html
    assert "Міськдор" in html and "вулиця Тестова, 5" in html
    assert ("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; "
            "&lt;b&gt;глибока&lt;/b&gt;") in html
    assert "<script>alert" not in html
    for private in (report.contact_email, report.contact_phone, report.contact_name):
        assert private not in html


@pytest.mark.parametrize("viewer", [None, "resident", "roads", "moderator"])
def test_contact_data_never_on_the_page_whoever_looks(client, city, users, viewer):
    # the public page is public even for staff: contact data lives in the workspace only
    report = _report(city)
    if viewer:
        client.force_login(users[viewer])
    html = client.get(f"/reports/{report.pk}/").content.decode()
    assert report.contact_email not in html
    assert report.contact_phone not in html


def test_hazard_report_shows_only_the_generalised_cell_to_the_public(client, city, users):
    # given an explosive-object report at an exact spot with an address
    exact = f.offset(city.centre, 123, 77)
    report = _report(city, category=city.explosive, department=city.dsns, is_hazard=True,
                     location=exact, address="вулиця Секретна, 1")
    exact_lat, exact_lon = lat_lon(exact)
    # when the public opens it
    html = client.get(f"/reports/{report.pk}/").content.decode()
    config = _page_config(html)
    # then the map gets the cell centre, flagged generalised, and no address
    assert config["generalised"] is True
    assert config["point"] != [exact_lat, exact_lon]
    assert abs(config["point"][0] - exact_lat) < 0.01  # same neighbourhood, not the spot
    assert str(exact_lat) not in html and str(exact_lon) not in html
    assert "вулиця Секретна" not in html
    assert "500" in html  # the note about the approximate area
    # and ДСНС staff see the exact point and the address
    client.force_login(users["dsns"])
    staff_html = client.get(f"/reports/{report.pk}/").content.decode()
    staff_config = _page_config(staff_html)
    assert staff_config["generalised"] is False
    assert staff_config["point"] == [exact_lat, exact_lon]
    assert "вулиця Секретна, 1" in staff_html


def test_timeline_shows_public_notes_and_hides_internal_ones(client, city, users,
                                                             django_capture_on_commit_callbacks):
    # given a report the department worked on, with a public and an internal note
    with django_capture_on_commit_callbacks(execute=True):
        report = services.report_create(category=city.pothole, location=city.centre,
                                         description="Яма", contact=Contact(email="a@example.org"))
        services.report_transition(report_id=report.pk, actor=users["roads"],
                                   to_status=Status.IN_PROGRESS, note="Бригада виїхала",
                                   internal_note="Бригада Петренка, наряд 17")
    # when the public opens it
    html = client.get(f"/reports/{report.pk}/").content.decode()
    # then the public note and the status change are there, the internal note is not
    assert "Бригада виїхала" in html
    assert "Бригада Петренка" not in html
    assert "Звернення отримано" in html  # the created event, in Ukrainian by default


def test_resident_and_after_photos_are_shown(client, city, users,
                                             django_capture_on_commit_callbacks):
    # given a report with a resident photo and the department's "after" photo
    with django_capture_on_commit_callbacks(execute=True):
        report = services.report_create(category=city.pothole, location=city.centre,
                                         description="Яма", photos=[f.image_file("a.jpg")])
        services.photo_add(report_id=report.pk, actor=users["roads"],
                           files=[f.image_file("after.jpg", colour=(10, 200, 10))])
    # when the page is opened
    html = client.get(f"/reports/{report.pk}/").content.decode()
    # then both photos appear, the after photo in its own section, as public display sizes
    photos = list(report.photos.order_by("id"))
    assert all(p.state == "ready" for p in photos)
    assert photos[0].thumbnail.url in html and photos[1].thumbnail.url in html
    assert "Після виконання робіт" in html
    assert "/private" not in html and photos[0].original.name not in html


def test_overdue_badge_and_due_date(client, city):
    created = timezone.now() - timedelta(days=20)
    late = _report(city, created=created, due_at=created + timedelta(days=15))
    on_time = _report(city)
    assert "Прострочено" in client.get(f"/reports/{late.pk}/").content.decode()
    assert "Прострочено" not in client.get(f"/reports/{on_time.pk}/").content.decode()


def test_hidden_report_is_not_found_for_the_public(client, city, users):
    report = _report(city, is_hidden=True)
    assert client.get(f"/reports/{report.pk}/").status_code == 404
    client.force_login(users["moderator"])
    assert client.get(f"/reports/{report.pk}/").status_code == 200


def test_unknown_report_is_a_friendly_404(client, city):
    response = client.get("/reports/999999/")
    assert response.status_code == 404
    assert "999999" in response.content.decode()


def test_report_page_query_count_does_not_grow_with_history(client, city, users,
                                                            django_assert_max_num_queries):
    # given a report with a long history and comments
    report = _report(city)
    for i in range(15):
        Comment.objects.create(report=report, author=users["resident"], author_name="R",
                               text=f"comment {i}")
    for status in (Status.IN_PROGRESS, Status.NEEDS_INFO, Status.IN_PROGRESS):
        services.report_transition(report_id=report.pk, actor=users["roads"],
                                   to_status=status, note=f"to {status}")
    client.force_login(users["resident"])
    client.get(f"/reports/{report.pk}/")  # warm the session
    # then the page is a fixed number of queries (report, photos, answers, events,
    # comments, supporter check, session, user, roles)
    with django_assert_max_num_queries(14):
        response = client.get(f"/reports/{report.pk}/")
    assert response.status_code == 200
    assert response.content.decode().count("comment ") >= 15


def test_anonymous_support_needs_an_email_and_counts_once(client, city):
    report = _report(city)
    # without an e-mail: refused with a message, nothing counted
    response = client.post(f"/reports/{report.pk}/support/", {"email": ""}, follow=True)
    assert "правильну адресу е-пошти" in response.content.decode()
    assert Supporter.objects.filter(report=report).count() == 0
    # with one: counted, subscribed; twice: still once
    client.post(f"/reports/{report.pk}/support/", {"email": "Olena@Example.org"})
    client.post(f"/reports/{report.pk}/support/", {"email": "olena@example.org"})
    report.refresh_from_db()
    assert report.supporters_count == 1
    assert Subscription.objects.filter(report=report, email="olena@example.org").exists()
    # and the supporter's e-mail never shows on the page
    assert "olena@example.org" not in client.get(f"/reports/{report.pk}/").content.decode()


def test_signed_in_support_and_own_report(client, city, users):
    mine = _report(city, reporter=users["resident"])
    other = _report(city)
    client.force_login(users["resident"])
    response = client.post(f"/reports/{mine.pk}/support/", follow=True)
    assert "Ви самі повідомили" in response.content.decode()
    response = client.post(f"/reports/{other.pk}/support/", follow=True)
    assert "Ви підтримали це звернення" in response.content.decode()
    assert Supporter.objects.filter(report=other, user=users["resident"]).exists()


def test_comments_need_an_account_and_are_escaped(client, city, users):
    report = _report(city)
    response = client.post(f"/reports/{report.pk}/comment/", {"text": "Hi"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not Comment.objects.exists()
    client.force_login(users["resident"])
    client.post(f"/reports/{report.pk}/comment/", {"text": "<img src=x onerror=alert(1)>"})
    html = client.get(f"/reports/{report.pk}/").content.decode()
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<img src=x" not in html


def test_subscribe_by_email(client, city):
    report = _report(city)
    response = client.post(f"/reports/{report.pk}/subscribe/", {"email": "watch@example.org"},
                           follow=True)
    assert response.status_code == 200
    assert Subscription.objects.filter(report=report, email="watch@example.org",
                                       is_active=True).exists()
    response = client.post(f"/reports/{report.pk}/subscribe/", {"email": "not-an-email"},
                           follow=True)
    assert "правильну адресу" in response.content.decode()


@pytest.mark.parametrize(
    ("status", "answer", "note", "expected"),
    [
        (Status.RESOLVED, Status.CLOSED, "", Status.CLOSED),
        (Status.RESOLVED, Status.ASSIGNED, "Яма знову є", Status.ASSIGNED),
        (Status.NEEDS_INFO, Status.ASSIGNED, "Біля під'їзду 3", Status.ASSIGNED),
        (Status.RESOLVED, Status.ASSIGNED, "", Status.RESOLVED),  # reopening needs a reason
    ],
)
def test_reporter_answers_through_the_workflow(client, city, users, status, answer, note,
                                               expected):
    # given the resident's report in `status`
    report = _report(city, reporter=users["resident"], status=status,
                     resolved_at=timezone.now() if status == Status.RESOLVED else None)
    client.force_login(users["resident"])
    page = client.get(f"/reports/{report.pk}/").content.decode()
    assert f'value="{answer.value}"' in page  # the page offers the answer
    # when they answer
    client.post(f"/reports/{report.pk}/respond/", {"status": answer.value, "note": note})
    # then the report moved (or not, when the workflow's required reason is missing)
    report.refresh_from_db()
    assert report.status == expected


def test_others_cannot_answer_for_the_reporter(client, city, users):
    report = _report(city, reporter=users["resident"], status=Status.RESOLVED,
                     resolved_at=timezone.now())
    client.force_login(users["other_resident"])
    assert 'name="status"' not in client.get(f"/reports/{report.pk}/").content.decode()
    client.post(f"/reports/{report.pk}/respond/", {"status": "closed"})
    report.refresh_from_db()
    assert report.status == Status.RESOLVED


def test_submitted_page_shows_number_department_and_due_date(client, city):
    report = services.report_create(category=city.pothole, location=city.centre,
                                    description="Яма")
    html = client.get(f"/reports/{report.pk}/submitted/").content.decode()
    assert f"№{report.pk}" in html
    assert "Міськдор" in html
    assert f'href="/reports/{report.pk}/"' in html
    assert timezone.localtime(report.due_at).strftime("%Y") in html


def test_submitted_page_of_a_hazard_report_repeats_the_safety_rules(client, city):
    report = services.report_create(category=city.explosive, location=city.centre,
                                    description="Снаряд")
    html = client.get(f"/reports/{report.pk}/submitted/").content.decode()
    assert "ДСНС" in html and 'href="tel:101"' in html
    assert "Не наближайтеся до предмета" in html  # the first ДСНС rule, in Ukrainian


def test_officials_read_but_are_not_offered_resident_actions(client, city, users):
    report = _report(city)
    client.force_login(users["official"])
    html = client.get(f"/reports/{report.pk}/").content.decode()
    assert "Посадовці мають доступ лише для перегляду." in html
    assert f'action="/reports/{report.pk}/support/"' not in html
    assert f'action="/reports/{report.pk}/comment/"' not in html
    # and a forged POST is refused by the service, with the reason shown
    response = client.post(f"/reports/{report.pk}/support/", follow=True)
    assert "лише для перегляду" in response.content.decode()
    report.refresh_from_db()
    assert report.supporters_count == 0
