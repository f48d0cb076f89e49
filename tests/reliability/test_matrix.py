"""Roles x actions over every URL pattern: one declared table (ROWS, ADMIN_MODELS) gives the
expected status of each cell, and the URL resolver is enumerated so that a new pattern
without a row fails `test_every_url_pattern_has_a_row`.

Roles: anonymous, a resident (the reporter), another resident, a clerk of the report's
department (roads), a clerk of another department (lighting), ДСНС staff, a moderator, an
official, an administrator, and an Open311 API client (anonymous with a valid `api_key`).
The report under test is a roads pothole by `resident`, with a photo; `hazard` is an
explosive-ordnance report (ДСНС's). Writes are probed with an empty body: a role allowed
to act gets a validation answer (400, or the form again), one that is not gets 401/403/302.
The older matrix of REST writes and their effects stays in
tests/reports/test_permissions_matrix.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from open311.services import api_key_create
from reports.models import Photo, Subscription
from reports.services import Contact, report_create

from .. import factories as f
from .figures import tally

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "resident", "other_resident", "clerk", "clerk_other", "dsns",
         "moderator", "official", "admin", "api_client")
USER_OF_ROLE = {"anonymous": None, "resident": "resident", "other_resident": "other_resident",
                "clerk": "roads", "clerk_other": "lighting", "dsns": "dsns",
                "moderator": "moderator", "official": "official", "admin": "admin",
                "api_client": None}


def expect(codes: str) -> dict[str, int]:
    """'200 200 ...': one status per role, in ROLES order."""
    values = [int(c) for c in codes.split()]
    assert len(values) == len(ROLES), codes
    return dict(zip(ROLES, values, strict=True))


@dataclass
class Row:
    route: str  # the resolver's pattern, as enumerated (prefixes included)
    url: Callable  # World -> path
    expected: dict[str, int]
    method: str = "GET"
    data: dict = field(default_factory=dict)
    name: str = ""


@dataclass
class World:
    report: object
    hazard: object
    hidden: object
    photo: object
    subscription: object
    api_key: str


def walk(patterns, prefix: str = ""):
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from walk(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern)


def all_routes() -> list[str]:
    return list(walk(get_resolver().url_patterns))


@pytest.fixture
def world(city, users, django_capture_on_commit_callbacks) -> World:
    with django_capture_on_commit_callbacks(execute=True):  # the photo's display sizes
        report = report_create(category=city.pothole, location=city.centre,
                               description="Pothole by the school",
                               reporter=users["resident"],
                               contact=Contact(name="Rita", phone="+380501234567"),
                               photos=[f.image_file()])
    hazard = report_create(category=city.explosive, location=f.offset(city.centre, 120, 80),
                           description="A shell")
    hidden = f.ReportFactory(category=city.pothole, department=city.roads, is_hidden=True)
    client, key = api_key_create(name="Matrix client")
    client.departments.set([city.roads])
    return World(report, hazard, hidden, Photo.objects.get(report=report),
                 Subscription.objects.filter(report=report).first(), key)


ALL = " ".join
TABLE = [
    # --- public site and accounts
    ('^media/(?P<path>.*)$', 'GET', '/media/{w.photo.display.name}',
     '200 200 200 200 200 200 200 200 200 200'),
    ('', 'GET', '/',
     '200 200 200 200 200 200 200 200 200 200'),
    ('report/new/', 'GET', '/report/new/',
     '200 200 200 200 200 200 200 200 200 200'),
    ('report/new/', 'POST', '/report/new/',
     '200 200 200 200 200 200 200 200 200 200'),
    ('reports/<int:number>/', 'GET', '/reports/{w.report.pk}/',
     '200 200 200 200 200 200 200 200 200 200'),
    ('reports/<int:number>/', 'GET', '/reports/{w.hidden.pk}/',
     '404 404 404 200 404 404 200 200 200 404'),
    ('reports/<int:number>/', 'GET', '/reports/{w.hazard.pk}/',
     '200 200 200 200 200 200 200 200 200 200'),
    ('reports/<int:number>/submitted/', 'GET', '/reports/{w.report.pk}/submitted/',
     '200 200 200 200 200 200 200 200 200 200'),
    ('reports/<int:number>/support/', 'POST', '/reports/{w.report.pk}/support/',
     '302 302 302 302 302 302 302 302 302 302'),
    ('reports/<int:number>/comment/', 'POST', '/reports/{w.report.pk}/comment/',
     '302 302 302 302 302 302 302 302 302 302'),
    ('reports/<int:number>/subscribe/', 'POST', '/reports/{w.report.pk}/subscribe/',
     '302 302 302 302 302 302 302 302 302 302'),
    ('reports/<int:number>/respond/', 'POST', '/reports/{w.report.pk}/respond/',
     '302 302 302 302 302 302 302 302 302 302'),
    ('my/', 'GET', '/my/',
     '302 200 200 200 200 200 200 200 200 302'),
    ('unsubscribe/<uuid:token>/', 'GET', '/unsubscribe/{w.subscription.token}/',
     '200 200 200 200 200 200 200 200 200 200'),
    ('subscriptions/confirm/<uuid:token>/', 'GET', '/subscriptions/confirm/{w.subscription.token}/',
     '200 200 200 200 200 200 200 200 200 200'),
    ('accounts/signup/', 'GET', '/accounts/signup/',
     '200 302 302 302 302 302 302 302 302 200'),
    ('jsi18n/<str:lang>/', 'GET', '/jsi18n/uk/',
     '200 200 200 200 200 200 200 200 200 200'),
    ('i18n/setlang/', 'POST', '/i18n/setlang/',
     '302 302 302 302 302 302 302 302 302 302'),
    ('accounts/login/', 'GET', '/accounts/login/',
     '200 200 200 200 200 200 200 200 200 200'),
    ('accounts/logout/', 'POST', '/accounts/logout/',
     '302 302 302 302 302 302 302 302 302 302'),
    ('accounts/password_change/', 'GET', '/accounts/password_change/',
     '302 200 200 200 200 200 200 200 200 302'),
    ('accounts/password_change/done/', 'GET', '/accounts/password_change/done/',
     '302 200 200 200 200 200 200 200 200 302'),
    ('accounts/password_reset/', 'GET', '/accounts/password_reset/',
     '200 200 200 200 200 200 200 200 200 200'),
    ('accounts/password_reset/done/', 'GET', '/accounts/password_reset/done/',
     '200 200 200 200 200 200 200 200 200 200'),
    ('accounts/reset/<uidb64>/<token>/', 'GET', '/accounts/reset/MQ/bad-token/',
     '200 200 200 200 200 200 200 200 200 200'),
    ('accounts/reset/done/', 'GET', '/accounts/reset/done/',
     '200 200 200 200 200 200 200 200 200 200'),
    # --- the admin site itself (each model's pages: ADMIN_MODELS below)
    ('admin/', 'GET', '/admin/',
     '302 302 302 302 302 302 302 302 200 302'),
    ('admin/login/', 'GET', '/admin/login/',
     '200 200 200 200 200 200 200 200 302 200'),
    ('admin/logout/', 'POST', '/admin/logout/',
     '302 302 302 302 302 302 302 302 302 302'),
    ('admin/password_change/', 'GET', '/admin/password_change/',
     '302 302 302 302 302 302 302 302 200 302'),
    ('admin/password_change/done/', 'GET', '/admin/password_change/done/',
     '302 302 302 302 302 302 302 302 200 302'),
    ('admin/autocomplete/', 'GET', '/admin/autocomplete/',
     '302 302 302 302 302 302 302 302 403 302'),
    ('admin/jsi18n/', 'GET', '/admin/jsi18n/',
     '302 302 302 302 302 302 302 302 200 302'),
    ('admin/r/<path:content_type_id>/<path:object_id>/', 'GET', '/admin/r/1/1/',
     '302 302 302 302 302 302 302 302 404 302'),
    ('admin/^(?P<app_label>auth|authtoken|layers|basemap|reports|open311|dashboard)/$', 'GET',
     '/admin/reports/', '302 302 302 302 302 302 302 302 200 302'),
    # --- the load balancers' health check: open to all, it shows no data
    ('healthz', 'GET', '/healthz', '200 200 200 200 200 200 200 200 200 200'),
    ('admin/(?P<url>.*)$', 'GET', '/admin/nothing/here/',
     '302 302 302 302 302 302 302 302 404 302'),
    ('admin/auth/user/<id>/password/', 'GET', '/admin/auth/user/{w.report.reporter_id}/password/',
     '302 302 302 302 302 302 302 302 200 302'),
    # --- REST
    ('api/schema/', 'GET', '/api/schema/',
     '200 200 200 200 200 200 200 200 200 200'),
    ('api/docs/', 'GET', '/api/docs/',
     '200 200 200 200 200 200 200 200 200 200'),
    ('api/v1/auth/token/', 'POST', '/api/v1/auth/token/',
     '400 400 400 400 400 400 400 400 400 400'),
    ('api/v1/auth/token/', 'DELETE', '/api/v1/auth/token/',
     '401 204 204 204 204 204 204 204 204 401'),
    ('api/v1/me/', 'GET', '/api/v1/me/',
     '401 200 200 200 200 200 200 200 200 401'),
    ('api/v1/categories/', 'GET', '/api/v1/categories/',
     '200 200 200 200 200 200 200 200 200 200'),
    ('api/v1/reports/', 'GET', '/api/v1/reports/',
     '200 200 200 200 200 200 200 200 200 200'),
    ('api/v1/reports/', 'POST', '/api/v1/reports/',
     '400 400 400 400 400 400 400 403 400 400'),
    ('api/v1/reports/nearby/', 'GET', '/api/v1/reports/nearby/?lat=48.4647&lon=35.0462',
     '400 400 400 400 400 400 400 400 400 400'),
    ('api/v1/reports/<int:number>/', 'GET', '/api/v1/reports/{w.report.pk}/',
     '200 200 200 200 200 200 200 200 200 200'),
    ('api/v1/reports/<int:number>/', 'GET', '/api/v1/reports/{w.hidden.pk}/',
     '404 404 404 200 404 404 200 200 200 404'),
    ('api/v1/reports/<int:number>/transition/', 'POST', '/api/v1/reports/{w.report.pk}/transition/',
     '401 400 400 400 400 400 400 403 400 401'),
    ('api/v1/reports/<int:number>/reassign/', 'POST', '/api/v1/reports/{w.report.pk}/reassign/',
     '401 400 400 400 400 400 400 403 400 401'),
    ('api/v1/reports/<int:number>/notes/', 'POST', '/api/v1/reports/{w.report.pk}/notes/',
     '401 400 400 400 400 400 400 403 400 401'),
    ('api/v1/reports/<int:number>/support/', 'POST', '/api/v1/reports/{w.report.pk}/support/',
     '400 409 200 200 200 200 200 403 200 400'),
    ('api/v1/reports/<int:number>/comments/', 'GET', '/api/v1/reports/{w.report.pk}/comments/',
     '200 200 200 200 200 200 200 200 200 200'),
    ('api/v1/reports/<int:number>/comments/', 'POST', '/api/v1/reports/{w.report.pk}/comments/',
     '401 400 400 400 400 400 400 403 400 401'),
    ('api/v1/reports/<int:number>/subscribe/', 'POST', '/api/v1/reports/{w.report.pk}/subscribe/',
     '400 200 200 200 200 200 200 403 200 400'),
    ('api/v1/photos/inspect/', 'POST', '/api/v1/photos/inspect/',
     '400 400 400 400 400 400 400 400 400 400'),
    ('api/v1/departments/', 'GET', '/api/v1/departments/',
     '200 200 200 200 200 200 200 200 200 200'),
    ('api/v1/hazard-check/', 'GET', '/api/v1/hazard-check/?lat=48.4647&lon=35.0462',
     '200 200 200 200 200 200 200 200 200 200'),
    ('api/v1/geocode/', 'GET', '/api/v1/geocode/?q=Main',
     '200 200 200 200 200 200 200 200 200 200'),
    ('api/v1/geocode/reverse/', 'GET', '/api/v1/geocode/reverse/?lat=48.4647&lon=35.0462',
     '404 404 404 404 404 404 404 404 404 404'),
    ('api/v1/layers/hazard-zones/', 'GET', '/api/v1/layers/hazard-zones/',
     '200 200 200 200 200 200 200 200 200 200'),
    ('api/v1/layers/infrastructure/', 'GET', '/api/v1/layers/infrastructure/',
     '200 200 200 200 200 200 200 200 200 200'),
    ('api/v1/layers/districts/', 'GET', '/api/v1/layers/districts/',
     '200 200 200 200 200 200 200 200 200 200'),
    ('api/v1/layers/service-area/', 'GET', '/api/v1/layers/service-area/',
     '200 200 200 200 200 200 200 200 200 200'),
    ('api/v1/stats/grid/', 'GET', '/api/v1/stats/grid/',
     '200 200 200 200 200 200 200 200 200 200'),
    # --- Open311
    ('open311/v2/^discovery\\.(?P<fmt>json|xml)$', 'GET', '/open311/v2/discovery.json',
     '200 200 200 200 200 200 200 200 200 200'),
    ('open311/v2/^services\\.(?P<fmt>json|xml)$', 'GET', '/open311/v2/services.xml',
     '200 200 200 200 200 200 200 200 200 200'),
    ('open311/v2/^services/(?P<service_code>[^/]+)\\.(?P<fmt>json|xml)$',
     'GET', '/open311/v2/services/pothole.json',
     '200 200 200 200 200 200 200 200 200 200'),
    ('open311/v2/^requests\\.(?P<fmt>json|xml)$', 'GET', '/open311/v2/requests.json',
     '200 200 200 200 200 200 200 200 200 200'),
    ('open311/v2/^requests\\.(?P<fmt>json|xml)$', 'POST', '/open311/v2/requests.json',
     '403 403 403 403 403 403 403 403 403 400'),
    ('open311/v2/^requests/(?P<service_request_id>[^/]+)\\.(?P<fmt>json|xml)$',
     'GET', '/open311/v2/requests/{w.report.pk}.xml',
     '200 200 200 200 200 200 200 200 200 200'),
    ('open311/v2/^tokens/(?P<token>[^/]+)\\.(?P<fmt>json|xml)$',
     'GET', '/open311/v2/tokens/{w.report.token}.json',
     '200 200 200 200 200 200 200 200 200 200'),
    ('open311/v2/^servicerequestupdates\\.(?P<fmt>json|xml)$',
     'GET', '/open311/v2/servicerequestupdates.json',
     '200 200 200 200 200 200 200 200 200 200'),
    ('open311/v2/^servicerequestupdates\\.(?P<fmt>json|xml)$',
     'POST', '/open311/v2/servicerequestupdates.json',
     '403 403 403 403 403 403 403 403 403 400'),
    ('open311/v2/^(?P<path>.*)$', 'GET', '/open311/v2/nothing.json',
     '404 404 404 404 404 404 404 404 404 404'),
    # --- tiles (the responsibility layer is staff-only)
    ('tiles/^heat/(?P<z>[^/]+)/(?P<x>[^/]+)/(?P<y>[^/.]+)\\.png$',
     'GET', '/tiles/heat/12/2446/1420.png',
     '200 200 200 200 200 200 200 200 200 200'),
    ('tiles/^(?P<layer>[^/]+)/(?P<z>[^/]+)/(?P<x>[^/]+)/(?P<y>[^/.]+)\\.pbf$',
     'GET', '/tiles/reports/14/9785/5682.pbf',
     '204 204 204 204 204 204 204 204 204 204'),
    ('tiles/^(?P<layer>[^/]+)/(?P<z>[^/]+)/(?P<x>[^/]+)/(?P<y>[^/.]+)\\.pbf$',
     'GET', '/tiles/responsibility/12/2446/1420.pbf',
     '403 403 403 204 204 204 204 204 204 403'),
    ('tiles/^(?P<layer>[^/.]+)\\.json$', 'GET', '/tiles/responsibility.json',
     '403 403 403 200 200 200 200 200 200 403'),
    ('tiles/^(?P<layer>[^/.]+)\\.json$', 'GET', '/tiles/reports.json',
     '200 200 200 200 200 200 200 200 200 200'),
    # --- workspace
    ('workspace/', 'GET', '/workspace/',
     '302 403 403 200 200 200 200 403 200 302'),
    ('workspace/bulk/', 'POST', '/workspace/bulk/',
     '302 403 403 302 302 302 302 403 302 302'),
    ('workspace/export.csv', 'GET', '/workspace/export.csv',
     '302 403 403 200 200 200 200 403 200 302'),
    ('workspace/reports/<int:number>/', 'GET', '/workspace/reports/{w.report.pk}/',
     '302 403 403 200 404 404 200 403 200 302'),
    ('workspace/reports/<int:number>/', 'GET', '/workspace/reports/{w.hazard.pk}/',
     '302 403 403 404 404 200 200 403 200 302'),
    ('workspace/reports/<int:number>/', 'POST', '/workspace/reports/{w.report.pk}/',
     '302 403 403 400 404 404 400 403 400 302'),
    ('workspace/photos/<int:pk>/original/', 'GET', '/workspace/photos/{w.photo.pk}/original/',
     '302 403 403 200 404 404 200 403 200 302'),
    # --- dashboard
    ('dashboard/', 'GET', '/dashboard/',
     '302 403 403 403 403 403 403 200 200 302'),
    ('dashboard/print/', 'GET', '/dashboard/print/',
     '302 403 403 403 403 403 403 200 200 302'),
    ('dashboard/export.csv', 'GET', '/dashboard/export.csv',
     '302 403 403 403 403 403 403 200 200 302'),
    ('dashboard/export.geojson', 'GET', '/dashboard/export.geojson',
     '302 403 403 403 403 403 403 200 200 302'),
    ('dashboard/departments.csv', 'GET', '/dashboard/departments.csv',
     '302 403 403 403 403 403 403 200 200 302'),
]


def send(client: Client, method: str, path: str, role: str, w: World):
    if role == "api_client":
        joiner = "&" if "?" in path else "?"
        if method == "GET":
            path = f"{path}{joiner}api_key={w.api_key}"
        data = {"api_key": w.api_key}
    else:
        data = {}
    if method == "GET":
        return client.get(path)
    if method == "POST":
        return client.post(path, data)
    return client.generic(method, path)


def client_for(role: str, users) -> Client:
    client = Client()
    if USER_OF_ROLE[role]:
        client.force_login(users[USER_OF_ROLE[role]])
    return client



# The admin: every registered model's pages, for the administrator (superuser) only; every
# other role is sent to the admin's login (302). Read-only models refuse add/delete (403).
ADMIN_ACTIONS = ("", "add/", "{pk}/change/", "{pk}/history/", "{pk}/delete/", "{pk}/")
ADMIN_ACTION_ROUTES = ("", "add/", "<path:object_id>/change/", "<path:object_id>/history/",
                       "<path:object_id>/delete/", "<path:object_id>/")
ADMIN_EXTRA_ROUTES = {  # model pages besides the six above: GeoPackage/GeoJSON import/export
    "layers.ServiceArea": ("import/", "export/<str:fmt>/"),
    "layers.District": ("import/", "export/<str:fmt>/"),
    "layers.ResponsibilityArea": ("import/", "export/<str:fmt>/"),
    "layers.HazardZone": ("import/", "export/<str:fmt>/"),
    "layers.InfrastructureFeature": ("import/", "export/<str:fmt>/"),
    "layers.AddressPoint": ("import/", "export/<str:fmt>/"),
}
READ_ONLY = {"add": 403, "delete": 403}
ADMIN_MODELS = {  # model -> the administrator's status where it is not the default
    "auth.Group": {}, "auth.User": {}, "authtoken.TokenProxy": {},
    "layers.ServiceArea": {}, "layers.District": {}, "layers.Department": {},
    "layers.ResponsibilityArea": {}, "layers.HazardZone": {}, "layers.InfrastructureLayer": {},
    "layers.InfrastructureFeature": {}, "layers.AddressPoint": {},
    # the basemap is written by `import_osm` only: its admin reads
    "basemap.BasemapImport": READ_ONLY, "basemap.Street": READ_ONLY,
    "basemap.Building": READ_ONLY, "basemap.Water": READ_ONLY, "basemap.Park": READ_ONLY,
    "basemap.Railway": READ_ONLY,
    "reports.CategoryGroup": {}, "reports.Category": {}, "reports.CategoryAttribute": {},
    "reports.ResponseTemplate": {}, "reports.Report": {"delete": 403},
    "reports.ReportEvent": READ_ONLY, "reports.Photo": {}, "reports.Comment": {},
    "reports.Supporter": {}, "reports.Subscription": {}, "reports.IdempotencyKey": {"add": 403},
    "open311.ApiClient": {}, "open311.ClientRequest": {"add": 403},
    "open311.ClientUpdate": {"add": 403},
    "dashboard.DailyStat": READ_ONLY, "dashboard.DailyStatDirty": READ_ONLY,
}


def admin_expected(label: str, action: str, exists: bool) -> dict[str, int]:
    """200 for the administrator, 302 (to the admin login) for everyone else; an object's
    bare URL redirects to its change page, a missing object's pages to the index."""
    kind = action.split("/")[-2] if action.count("/") > 1 else action.rstrip("/") or "list"
    code = ADMIN_MODELS[label].get(kind)
    if code is None:
        code = 302 if action == "{pk}/" or (not exists and "{pk}" in action) else 200
    return {role: (code if role == "admin" else 302) for role in ROLES}


def declared_routes() -> set[str]:
    from django.contrib import admin

    routes = {route for route, *_ in TABLE}
    for model in admin.site._registry:
        base = f"admin/{model._meta.app_label}/{model._meta.model_name}/"
        routes |= {base + a for a in ADMIN_ACTION_ROUTES}
        routes |= {base + a for a in ADMIN_EXTRA_ROUTES.get(model._meta.label, ())}
    return routes


def test_every_url_pattern_has_a_row():
    # given every URL pattern the resolver knows (admin models included)
    from django.contrib import admin

    resolved = set(all_routes())
    # then each has a row, each row names a real pattern, each admin model is declared
    assert resolved - declared_routes() == set(), "add a row to TABLE (tests/reliability)"
    assert declared_routes() - resolved == set(), "a row names a pattern that is gone"
    assert {m._meta.label for m in admin.site._registry} == set(ADMIN_MODELS)


def test_roles_by_actions(world, users):
    """The whole matrix: every row x every role, the declared status in each cell."""
    from django.contrib import admin

    cells, wrong = 0, []

    def probe(name, method, path, expected):
        nonlocal cells
        for role in ROLES:
            # when `role` sends the request
            response = send(client_for(role, users), method, path, role, world)
            cells += 1
            # then the status is the table's
            if response.status_code != expected[role]:
                wrong.append(f"{name} {role}: {response.status_code}, "
                             f"expected {expected[role]}")
            if role != "admin" and response.status_code == 200 and path.startswith(
                    ("/workspace/", "/dashboard/", "/admin/")) and expected[role] != 200:
                wrong.append(f"{name} {role}: served")

    for _route, method, template, codes in TABLE:
        probe(f"{method} {template}", method, template.format(w=world), expect(codes))
    for model in admin.site._registry:
        meta = model._meta
        pk = model._default_manager.order_by("pk").values_list("pk", flat=True).first()
        for action in ADMIN_ACTIONS:
            path = f"/admin/{meta.app_label}/{meta.model_name}/" + action.format(pk=pk or 0)
            probe(f"admin {meta.label} {action}", "GET", path,
                  admin_expected(meta.label, action, pk is not None))
        for extra in ADMIN_EXTRA_ROUTES.get(meta.label, ()):
            path = f"/admin/{meta.app_label}/{meta.model_name}/" + extra.replace(
                "<str:fmt>", "geojson")
            probe(f"admin {meta.label} {extra}", "GET", path,
                  admin_expected(meta.label, extra, True))
    tally("matrix", cell="all", cells=cells, wrong=len(wrong))
    assert not wrong, "\n".join(wrong)
