"""Privacy through the REST API: reporters' contact data and routing explanations never reach
public output, and explosive-ordnance reports are never placed at their exact point for
anyone but staff.

Seeded reporters have known e-mails, phones and names; every public response (list with
every ordering, detail, nearby, comments, timeline) is scanned for them, as seen by an
anonymous visitor, a resident, staff of another department and an official.
"""

from __future__ import annotations

import pytest
from django.contrib.gis.geos import Point

from layers.geometry import lat_lon, to_api, to_storage
from reports.services import Contact, comment_create, report_create

from .. import factories as f

pytestmark = pytest.mark.django_db

SECRETS = [
    ("Olha Secretname", "olha.private@mail.example", "+380671112233"),
    ("Taras Hiddenson", "taras.hidden@mail.example", "+380931234567"),
    ("Iryna Quiet", "iryna.quiet@mail.example", "+380505550101"),
]
HAZARD_ADDRESS = "вулиця Секретна, 13, біля гаража"


@pytest.fixture
def seeded(city, users):
    reports = []
    for i, (name, email, phone) in enumerate(SECRETS):
        reports.append(report_create(
            category=city.pothole, location=f.offset(city.centre, 100 * i, 60),
            description=f"Pothole {i}", address=f"вулиця Тестова, {i + 1}",
            contact=Contact(name=name, email=email, phone=phone),
        ))
    # a resident with an account whose e-mail is also their username comments on it
    account = f.UserFactory(username="nadiya.login@mail.example",
                            email="nadiya.login@mail.example")
    reports.append(report_create(category=city.pothole, location=f.offset(city.centre, 30, 0),
                                 description="Account report", reporter=account))
    comment_create(report_id=reports[0].pk, author=account, text="Same here")
    hazard = report_create(category=city.explosive, location=f.offset(city.centre, 137, 211),
                           description="Shell in the grass", address=HAZARD_ADDRESS,
                           contact=Contact(name="Hazard Finder", email="finder@mail.example",
                                           phone="+380661010101"))
    return {"reports": reports, "hazard": hazard, "account": account}


def _secret_strings(seeded, *, staff: bool) -> list[str]:
    strings = [s for triple in SECRETS for s in triple]
    strings += ["nadiya.login@mail.example", "finder@mail.example", "+380661010101",
                "Hazard Finder"]
    if not staff:  # staff of any department see the exact place of ordnance, address too
        strings.append(HAZARD_ADDRESS)
    # routing explanations are for the department's staff only
    strings += [r.routing_explanation_uk for r in [*seeded["reports"], seeded["hazard"]]]
    strings += [r.routing_explanation_en for r in [*seeded["reports"], seeded["hazard"]]]
    return strings


def _public_responses(api, city, seeded):
    lat, lon = lat_lon(city.centre)
    urls = [f"/api/v1/reports/?ordering={o}" for o in
            ("-created", "created", "due_at", "-due_at", "-supporters_count")]
    urls.append("/api/v1/reports/?category=explosive")
    for report in [*seeded["reports"], seeded["hazard"]]:
        urls += [f"/api/v1/reports/{report.pk}/", f"/api/v1/reports/{report.pk}/comments/",
                 f"/api/v1/reports/{report.pk}/?lang=en"]
    urls += [f"/api/v1/reports/nearby/?lat={lat}&lon={lon}&category=pothole",
             f"/api/v1/reports/nearby/?lat={lat}&lon={lon}&category=explosive"]
    for url in urls:
        response = api.get(url)
        assert response.status_code == 200, (url, response.content)
        yield url, response


@pytest.mark.parametrize("viewer, staff", [(None, False), ("resident", False),
                                           ("lighting", True), ("official", True)])
def test_public_responses_never_carry_contact_data(api, city, users, seeded, viewer, staff):
    # given reports with known contact data, and a viewer without a right to it
    api.force_authenticate(users[viewer] if viewer else None)
    secrets = _secret_strings(seeded, staff=staff)
    # when every public response is read
    for url, response in _public_responses(api, city, seeded):
        text = response.content.decode()
        # then none of the secrets appears anywhere in it
        leaked = [s for s in secrets if s in text]
        assert not leaked, (url, leaked)


def test_insiders_do_see_contact_data(api, city, users, seeded):
    # given the same seeds (control: the scan above would find them if they were there)
    api.force_authenticate(users["roads"])
    # when the roads clerk reads a roads report
    text = api.get(f"/api/v1/reports/{seeded['reports'][0].pk}/").content.decode()
    # then its contact data is there
    assert all(s in text for s in SECRETS[0])


def _points(data) -> list[tuple[float, float]]:
    features = data["features"] if data.get("type") == "FeatureCollection" else [data]
    return [tuple(x["geometry"]["coordinates"]) for x in features]


@pytest.mark.parametrize("viewer, exact", [(None, False), ("resident", False),
                                           ("dsns", True), ("moderator", True)])
def test_hazard_point_is_generalised_for_the_public(api, city, users, seeded, viewer, exact):
    # given an explosive-ordnance report at a known point
    hazard = seeded["hazard"]
    real = to_api(hazard.location)
    lat, lon = lat_lon(hazard.location)
    api.force_authenticate(users[viewer] if viewer else None)
    # when the list, the detail and the duplicate check are read
    outputs = [
        api.get("/api/v1/reports/?category=explosive").json(),
        api.get(f"/api/v1/reports/{hazard.pk}/").json(),
        api.get(f"/api/v1/reports/nearby/?lat={lat}&lon={lon}&category=explosive").json(),
    ]
    points = [p for out in outputs for p in _points(out)]
    # then staff see the exact point; everyone else the same cell centre, never the point
    assert len(points) == 3
    if exact:
        assert all(p == pytest.approx((real.x, real.y), abs=1e-7) for p in points)
        return
    assert len(set(points)) == 1, "list, detail and nearby agree on the cell"
    shown = to_storage(Point(*points[0], srid=4326))
    assert shown.distance(hazard.location) > 1
    # within the hazard's cell (half a diagonal of 500 m), at a cell centre of the grid
    assert shown.distance(hazard.location) <= 500 * 2**0.5 / 2 + 1
    for coordinate in (shown.x, shown.y):
        assert abs((coordinate - 250) / 500 - round((coordinate - 250) / 500)) < 0.001
    detail = outputs[1]["properties"]
    assert detail["location_generalised"] is True
    assert detail["address"] == ""
