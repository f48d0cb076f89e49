"""The officials' dashboard: access, rendering, query counts, local assets, exports."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from reports.workflow import Status

from .. import factories as f

pytestmark = pytest.mark.django_db

URLS = ["/dashboard/", "/dashboard/print/", "/dashboard/export.csv",
        "/dashboard/export.geojson", "/dashboard/departments.csv"]


def reports(city, n, *, now=None):
    """n reports spread over departments, districts, statuses and the last 40 days."""
    now = now or timezone.now()
    statuses = [Status.ASSIGNED, Status.IN_PROGRESS, Status.RESOLVED, Status.NEEDS_INFO,
                Status.CLOSED]
    made = []
    for i in range(n):
        created = now - timedelta(days=i % 40, hours=i)
        status = statuses[i % len(statuses)]
        done = status in (Status.RESOLVED, Status.CLOSED)
        made.append(f.ReportFactory(
            category=city.pothole if i % 2 else city.streetlight,
            department=city.roads if i % 2 else city.lighting,
            district=city.east if i % 3 else city.west,
            location=f.offset(city.centre, (i % 7) * 400 - 1200, (i % 5) * 300),
            created=created, status=status,
            resolved_at=created + timedelta(hours=5 + i) if done else None,
            closed_at=created + timedelta(days=2) if status == Status.CLOSED else None,
            due_at=created + timedelta(days=3), supporters_count=i % 4,
        ))
    return made


@pytest.mark.parametrize("url", URLS)
@pytest.mark.parametrize(("who", "expected"), [
    ("resident", 403), ("roads", 403), ("moderator", 403), ("official", 200), ("admin", 200),
])
def test_access(client, users, url, who, expected):
    # given a user of each role; when they open a dashboard page; then only officials/admins
    client.force_login(users[who])
    response = client.get(url)
    assert response.status_code == expected
    if expected == 403:
        assert 'class="forbidden"' in response.content.decode()


@pytest.mark.parametrize("url", URLS)
def test_anonymous_is_sent_to_login(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def _count_queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_query_count_is_bounded_and_independent_of_data_size(
        client, users, city, django_assert_max_num_queries):
    # given an official, and first 5 then 50 reports
    client.force_login(users["official"])
    reports(city, 5)
    # (a render that finds dirty rollup days refreshes them first: five queries more)
    with django_assert_max_num_queries(25):
        small = client.get("/dashboard/")
    assert small.status_code == 200
    from django.core.cache import cache
    cache.clear()
    small_count = _count_queries(client, "/dashboard/")
    reports(city, 45)
    cache.clear()
    with django_assert_max_num_queries(25):
        big = client.get("/dashboard/")
    assert big.status_code == 200
    cache.clear()
    # then the number of queries does not grow with the data
    assert _count_queries(client, "/dashboard/") == small_count


def test_cached_render_is_cheaper_and_busted_by_a_change(client, users, city):
    client.force_login(users["official"])
    reports(city, 5)
    cold = _count_queries(client, "/dashboard/")
    warm = _count_queries(client, "/dashboard/")
    assert warm < cold


def test_page_shows_kpis_table_charts_map(client, users, city):
    client.force_login(users["official"])
    reports(city, 20)
    html = client.get("/dashboard/").content.decode()
    for key in ("received", "resolved", "backlog", "median_hours", "p90_hours", "within_sla",
                "overdue", "reopen_rate", "supporters"):
        assert f'data-kpi="{key}"' in html
    assert 'data-department="roads"' in html and 'data-department="lighting"' in html
    assert html.count('class="dot dot-received"') >= 12  # weekly points, zero-filled
    assert 'class="bar-overdue"' in html
    assert "L.map(" in html and "/tiles/heat/{z}/{x}/{y}.png?weight=open" in html
    assert 'data-district="east"' in html


def _external_urls(html: str) -> set[str]:
    return set(re.findall(r"https?://[^\s\"'<>)]+", html))


@pytest.mark.parametrize("basemap", ["", "https://tiles.example.org/{z}/{x}/{y}.png"])
def test_no_asset_leaves_the_origin(client, users, city, settings, basemap):
    # given a hazard zone and reports, with and without a configured basemap
    settings.BASEMAP_URL = basemap
    f.HazardZoneFactory()
    reports(city, 10)
    client.force_login(users["official"])
    for url in ("/dashboard/", "/dashboard/print/"):
        html = client.get(url).content.decode()
        # then the only absolute URL in the page is the basemap's
        assert _external_urls(html) <= ({basemap} if basemap else set())
        assert "/static/vendor/leaflet/leaflet.js" in html
        for cdn in ("jquery", "bootstrap", "font-awesome", "fontawesome", "awesome-markers"):
            assert cdn not in html.lower()


def test_print_view_has_no_map_controls(client, users, city):
    client.force_login(users["official"])
    reports(city, 5)
    html = client.get("/dashboard/print/").content.decode()
    assert '"zoomControl": false' in html
    assert "L.control.layers" not in html
    assert "dashboard-print.css" in html
    assert 'name="period"' not in html  # no filter form
    interactive = client.get("/dashboard/").content.decode()
    assert "L.control.layers" in interactive


def test_filters_narrow_the_figures(client, users, city):
    client.force_login(users["official"])
    reports(city, 10)
    html = client.get("/dashboard/?department=roads&period=90d").content.decode()
    assert 'data-department="roads"' in html
    assert 'data-department="lighting"' not in html


def test_bad_filters_fall_back_with_a_message(client, users, city):
    client.force_login(users["official"])
    response = client.get("/dashboard/?department=nope&period=custom")
    assert response.status_code == 200
    assert response.content.decode().count('class="field-error"') == 2


def test_csv_export_streams_the_filtered_reports(client, users, city):
    client.force_login(users["official"])
    made = reports(city, 12)
    response = client.get("/dashboard/export.csv?period=30d&department=roads")
    assert response.status_code == 200
    assert response.streaming
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(body)))
    now = timezone.now()
    expected = {r.pk for r in made if r.department_id == city.roads.pk
                and r.created >= now - timedelta(days=30)}
    assert {int(r["number"]) for r in rows} == expected
    assert "contact_email" not in rows[0] and "description" not in rows[0]


def test_geojson_export(client, users, city):
    client.force_login(users["official"])
    reports(city, 6)
    response = client.get("/dashboard/export.geojson?period=90d")
    data = json.loads(b"".join(response.streaming_content))
    assert data["type"] == "FeatureCollection"
    assert len(data["features"]) == 6
    lon, lat = data["features"][0]["geometry"]["coordinates"]
    assert 35.0 < lon < 35.1 and 48.4 < lat < 48.5


def test_departments_csv(client, users, city):
    client.force_login(users["official"])
    reports(city, 10)
    response = client.get("/dashboard/departments.csv?period=90d")
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(body)))
    assert {r["department"] for r in rows} == {"roads", "lighting"}
    assert sum(int(r["received"]) for r in rows) == 10


@pytest.mark.parametrize(("rate", "colour_index"), [
    (0, 0), (49.9, 0), (50, 1), (65, 2), (79.99, 3), (80, 4), (95, 5), (100, 5), (None, None),
])
def test_choropleth_classes(rate, colour_index):
    from dashboard.maps import NO_DATA_COLOUR, RATE_COLOURS, rate_colour

    expected = NO_DATA_COLOUR if colour_index is None else RATE_COLOURS[colour_index]
    assert rate_colour(rate) == expected
