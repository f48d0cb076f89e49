"""Accounts (sign up, log in, password reset), "My reports" and unsubscribing."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail

from reports import services
from reports.models import Subscription

from .. import factories as f

pytestmark = pytest.mark.django_db
User = get_user_model()


def test_signup_creates_a_resident_and_signs_in(client):
    response = client.post("/accounts/signup/", {
        "email": "Maria@Example.org", "first_name": "Марія",
        "password1": "a-long-Passphrase-42", "password2": "a-long-Passphrase-42",
        "next": "/report/new/",
    })
    assert response.status_code == 302 and response["Location"] == "/report/new/"
    user = User.objects.get(email="maria@example.org")
    assert user.username == "maria@example.org"
    assert list(user.groups.values_list("name", flat=True)) == ["resident"]
    assert client.get("/my/").status_code == 200  # signed in


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"email": "resident@example.org"}, "вже існує"),
        ({"email": "not-an-email"}, "коректну адресу електронної пошти"),
        ({"email": "x@example.org", "password2": "different-Passphrase-43"},
         "Паролі не збігаються"),
    ],
)
def test_signup_errors_are_shown_next_to_their_fields(client, users, data, error):
    form = {"email": "new@example.org", "password1": "a-long-Passphrase-42",
            "password2": "a-long-Passphrase-42", **data}
    response = client.post("/accounts/signup/", form)
    html = response.content.decode()
    assert response.status_code == 200
    assert 'class="error-summary"' in html
    assert error in html
    assert User.objects.filter(email=form["email"]).count() == (
        1 if form["email"] == "resident@example.org" else 0)


def test_signup_refuses_an_outside_next(client):
    response = client.post("/accounts/signup/", {
        "email": "n@example.org", "password1": "a-long-Passphrase-42",
        "password2": "a-long-Passphrase-42", "next": "https://evil.example/",
    })
    assert response["Location"] == "/"


def test_login_page_and_login_with_the_email_username(client):
    html = client.get("/accounts/login/").content.decode()
    assert 'autocomplete="current-password"' in html and "Забули пароль?" in html
    f.UserFactory(username="olena@example.org", email="olena@example.org")
    response = client.post("/accounts/login/", {"username": "olena@example.org",
                                                "password": "pass"})
    assert response.status_code == 302


def test_password_reset_by_email(client):
    f.UserFactory(username="taras@example.org", email="taras@example.org")
    response = client.post("/accounts/password_reset/", {"email": "taras@example.org"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    link = re.search(r"https?://[^/]+(/accounts/reset/\S+)", mail.outbox[0].body).group(1)
    response = client.get(link, follow=True)
    assert "Новий пароль" in response.content.decode()
    response = client.post(response.redirect_chain[-1][0], {
        "new_password1": "another-Passphrase-77", "new_password2": "another-Passphrase-77"})
    assert response.status_code == 302
    assert client.login(username="taras@example.org", password="another-Passphrase-77")


def test_my_reports_lists_own_and_supported_reports_only(client, city, users):
    mine = f.ReportFactory(category=city.pothole, department=city.roads,
                           reporter=users["resident"], description="Моя яма")
    supported = f.ReportFactory(category=city.pothole, department=city.roads,
                                description="Чужа яма")
    services.report_support(report_id=supported.pk, user=users["resident"])
    other = f.ReportFactory(category=city.pothole, department=city.roads)
    client.force_login(users["resident"])
    html = client.get("/my/").content.decode()
    assert f"/reports/{mine.pk}/" in html and f"/reports/{supported.pk}/" in html
    assert f"/reports/{other.pk}/" not in html
    assert "Ви підтримали" in html  # the supported one is marked


def test_my_reports_hide_the_address_of_a_hazard_report(client, city, users):
    # given a resident's pothole and explosive-object reports, both with an address
    f.ReportFactory(category=city.pothole, department=city.roads, reporter=users["resident"],
                    address="вулиця Відкрита, 3")
    f.ReportFactory(category=city.explosive, department=city.dsns, is_hazard=True,
                    reporter=users["resident"], address="вулиця Секретна, 1")
    client.force_login(users["resident"])
    # when they open their reports
    html = client.get("/my/").content.decode()
    # then the ordinary address is there and the ordnance one is not
    assert "вулиця Відкрита, 3" in html
    assert "вулиця Секретна" not in html


def test_my_reports_needs_login(client):
    response = client.get("/my/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_my_reports_query_count(client, city, users, django_assert_max_num_queries):
    for _ in range(12):
        f.ReportFactory(category=city.pothole, department=city.roads,
                        reporter=users["resident"])
    client.force_login(users["resident"])
    client.get("/my/")
    with django_assert_max_num_queries(10):
        assert client.get("/my/").status_code == 200


def test_unsubscribe_asks_then_cancels(client, city):
    report = f.ReportFactory(category=city.pothole, department=city.roads)
    sub = services.subscription_create(report_id=report.pk, email="watch@example.org")
    url = f"/unsubscribe/{sub.token}/"
    # GET only asks (mail scanners follow links)
    html = client.get(url).content.decode()
    assert "watch@example.org" in html and "<form" in html
    assert Subscription.objects.get(pk=sub.pk).is_active
    # POST cancels
    html = client.post(url).content.decode()
    assert not Subscription.objects.get(pk=sub.pk).is_active
    assert "більше не надходитимуть" in html


def test_unknown_unsubscribe_token_is_404(client):
    response = client.get("/unsubscribe/00000000-0000-0000-0000-000000000000/")
    assert response.status_code == 404


def test_subscription_is_confirmed_from_the_mailed_link(client, city,
                                                       django_capture_on_commit_callbacks):
    # given a visitor who asked for updates on a report's page
    report = f.ReportFactory(category=city.pothole, department=city.roads)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/reports/{report.pk}/subscribe/",
                               {"email": "watch@example.org"}, follow=True)
    assert "watch@example.org" in response.content.decode()  # "open the link we sent to …"
    sub = Subscription.objects.get(report=report)
    assert sub.confirmed_at is None
    # when they open the mailed link: the page asks, the POST confirms
    path = re.search(r"https?://[^/]+(/subscriptions/confirm/\S+/)", mail.outbox[-1].body)[1]
    assert "<form" in client.get(path).content.decode()
    sub.refresh_from_db()
    assert sub.confirmed_at is None
    html = client.post(path).content.decode()
    sub.refresh_from_db()
    assert sub.confirmed_at is not None
    assert f"№{report.pk}" in html


def test_unknown_confirmation_token_is_404(client):
    response = client.get("/subscriptions/confirm/00000000-0000-0000-0000-000000000000/")
    assert response.status_code == 404
