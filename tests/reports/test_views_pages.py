"""The map page, the reporting form, the JS catalogue and the language switch."""

from __future__ import annotations

import json
import re

import pytest

from reports.models import CategoryAttribute

from .. import factories as f

pytestmark = pytest.mark.django_db


def _config(html: str, name: str) -> dict:
    match = re.search(rf'<script id="{name}" type="application/json">(.*?)</script>', html, re.S)
    return json.loads(match.group(1))


def test_map_page_is_ukrainian_and_has_filters_and_the_report_button(client, city):
    response = client.get("/")
    html = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="uk">' in html
    assert "Повідомити про проблему" in html
    assert 'href="/report/new/"' in html
    # the category filter is grouped, with every active category
    for category in (city.pothole, city.streetlight, city.explosive):
        assert f'<option value="{category.service_code}">' in html
    config = _config(html, "map-config")
    assert config["staff"] is False
    assert set(config["statusGroups"]) == {"open", "progress", "done", "other"}


def test_map_page_offers_department_areas_to_staff_only(client, city, users):
    assert 'value="responsibility"' not in client.get("/").content.decode()
    client.force_login(users["roads"])
    html = client.get("/").content.decode()
    assert 'value="responsibility"' in html
    assert _config(html, "map-config")["staff"] is True


def test_only_local_assets_are_referenced(client, city):
    # no CDN: every script and stylesheet is served by this site
    for url in ("/", "/report/new/"):
        html = client.get(url).content.decode()
        for src in re.findall(r'(?:src|href)="([^"]+)"', html):
            assert not re.match(r"^(https?:)?//", src), src


def test_report_form_carries_categories_with_their_questions(client, city):
    # given a category with one question of each of the six datatypes
    for order, datatype in enumerate(CategoryAttribute.Datatype.values):
        values = [{"key": "a", "name_uk": "А", "name_en": "A"},
                  {"key": "b", "name_uk": "Б", "name_en": "B"}] if "list" in datatype else []
        f.CategoryAttributeFactory(category=city.pothole, code=f"q_{datatype}",
                                   datatype=datatype, order=order, required=order == 0,
                                   description_uk=f"Питання {datatype}", values=values)
    # when the form is opened with a pin from the map
    html = client.get("/report/new/?lat=48.4647&lon=35.0462").content.decode()
    config = _config(html, "report-config")
    # then the form has the grouped radio picker, and the questions for the script
    assert 'name="category" value="pothole"' in html
    pothole = next(c for c in config["categories"] if c["code"] == "pothole")
    assert [a["datatype"] for a in pothole["attributes"]] == CategoryAttribute.Datatype.values
    assert pothole["attributes"][0]["required"] is True
    single = next(a for a in pothole["attributes"] if a["datatype"] == "singlevaluelist")
    assert single["values"] == [{"key": "a", "name": "А"}, {"key": "b", "name": "Б"}]
    explosive = next(c for c in config["categories"] if c["code"] == "explosive")
    assert explosive["isHazard"] is True
    assert config["initial"] == {"lat": 48.4647, "lon": 35.0462}
    assert config["notice"]["phone"] == "101"
    assert config["signedIn"] is False
    # the ДСНС notice is in the page, ready for the full-screen warning
    assert 'role="alertdialog"' in html and 'href="tel:101"' in html


def test_report_form_ignores_bad_coordinates(client, city):
    html = client.get("/report/new/?lat=91&lon=abc").content.decode()
    assert _config(html, "report-config")["initial"] is None


def test_report_form_for_signed_in_users_skips_name_and_email(client, city, users):
    client.force_login(users["resident"])
    html = client.get("/report/new/").content.decode()
    assert 'name="contact_email"' not in html
    assert 'name="contact_phone"' in html
    assert users["resident"].email in html


@pytest.mark.parametrize(("lang", "expected"), [("uk", "Надіслати звернення"),
                                                 ("en", "Send the report")])
def test_javascript_catalogue_per_language(client, lang, expected):
    response = client.get(f"/jsi18n/{lang}/")
    assert response.status_code == 200
    assert "max-age=3600" in response["Cache-Control"]
    body = response.content.decode()
    if lang == "uk":
        assert json.dumps(expected)[1:-1] in body or expected in body
    else:
        assert "Надіслати звернення" not in body


def test_unknown_catalogue_language_is_404(client):
    assert client.get("/jsi18n/xx/").status_code == 404


def test_language_switch_turns_the_pages_english(client, city):
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"}, follow=True)
    html = response.content.decode()
    assert '<html lang="en">' in html
    assert "Report a problem" in html
    assert "Українська" in html  # the way back
    html = client.get("/report/new/").content.decode()
    assert "Where is it?" in html and "Send the report" in html


def test_map_and_form_pages_query_count_does_not_grow_with_categories(
        client, city, django_assert_max_num_queries):
    # given many categories in several groups, each with questions
    for g in range(4):
        group = f.CategoryGroupFactory(code=f"g{g}")
        for c in range(6):
            category = f.CategoryFactory(group=group, service_code=f"c{g}-{c}")
            f.CategoryAttributeFactory(category=category, code="q1")
            f.CategoryAttributeFactory(category=category, code="q2",
                                       datatype=CategoryAttribute.Datatype.SINGLEVALUELIST,
                                       values=[{"key": "a", "name_uk": "А"}])
    # then each page is a handful of queries: categories, their questions (and the session)
    for url in ("/", "/report/new/"):
        with django_assert_max_num_queries(4):
            assert client.get(url).status_code == 200
