"""A city that already runs Open City upgrades with `migrate` and keeps its data.

Given a database in the state of the last release before the apps were split (the `issues`
app's migrations 0001-0006, layers 0001-0004), with reports, events, photos, an Open311
client and its links, a rollup and a group permission, written through the models of that
state; when it is migrated forward with `manage.py migrate`; then every row is still there
under its new app, the client links moved to the open311 tables, the rollup trigger still
works, the group keeps its permission, and the schema is the one a new database gets.

The old state's models come from Django's migration history (the same models that release
had), in a database of its own on the test cluster, through real `manage.py` processes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
OLD_TARGETS = [("issues", "0006_dashboard_rollup"), ("layers", "0004_route_report_function"),
               ("auth", None), ("admin", None), ("authtoken", None), ("sessions", None)]

SEED = r"""
import json
from datetime import timedelta

import django
django.setup()
from django.contrib.gis.geos import MultiPolygon, Point, Polygon
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

state = MigrationExecutor(connection).loader.project_state(
    [("issues", "0006_dashboard_rollup"), ("layers", "0004_route_report_function")])
apps = state.apps
M = lambda label: apps.get_model(*label.split("."))
srid = 6386
square = MultiPolygon(Polygon.from_bbox((400000, 5360000, 420000, 5380000)), srid=srid)
M("layers.ServiceArea").objects.create(name_uk="Місто", geometry=square)
district = M("layers.District").objects.create(code="c", name_uk="Центр", geometry=square)
roads = M("layers.Department").objects.create(code="roads", name_uk="Дороги")
group = M("issues.CategoryGroup").objects.create(code="roads", name_uk="Дороги")
pothole = M("issues.Category").objects.create(group=group, service_code="pothole",
                                              name_uk="Яма", sla_days=15)
area = M("layers.ResponsibilityArea").objects.create(department=roads, geometry=square)
area.categories.add(pothole)
from django.contrib.auth.models import Group, Permission, User
from django.contrib.contenttypes.models import ContentType

user = User.objects.create(username="olena", email="olena@example.org")
client = M("issues.ApiClient").objects.create(name="Back office", key_prefix="abcdefgh",
                                              key_hash="0" * 64)
client.departments.add(roads)
now = timezone.now()
reports = []
for i in range(30):
    reports.append(M("issues.Report").objects.create(
        location=Point(410000 + i, 5370000 + i, srid=srid), description=f"Яма {i}",
        category=pothole, department=roads, district=district, status="assigned",
        reporter_id=user.pk if i % 2 else None, contact_email="olena@example.org",
        created=now - timedelta(days=i), updated=now, due_at=now + timedelta(days=15),
        api_client=client if i < 3 else None, source="open311" if i < 3 else "web"))
Event = M("issues.ReportEvent")
for report in reports:
    Event.objects.create(report=report, type="created", created=report.created,
                         to_status="new", data={"public": True})
Event.objects.create(report=reports[0], type="status", from_status="assigned",
                     to_status="in_progress", created=now, api_client=client,
                     external_id="BO-7", public_note="Бригада виїхала",
                     data={"public": True})
M("issues.Photo").objects.create(report=reports[0], original="originals/2026/11/a.jpg",
                                 display="photos/2026/11/a-display.jpg",
                                 thumbnail="photos/2026/11/a-thumb.jpg", format="jpeg",
                                 width=800, height=600, state="ready")
M("issues.Subscription").objects.create(report=reports[0], email="olena@example.org",
                                        confirmed_at=now)
M("issues.Supporter").objects.create(report=reports[1], user_id=user.pk)
M("issues.Comment").objects.create(report=reports[1], author_id=user.pk, text="Дякую")
M("issues.IdempotencyKey").objects.create(key="k-1", scope="ip:1", request_hash="h",
                                          report=reports[2])
M("issues.DailyStat").objects.create(day=now.date(), department_id=roads.pk, received=30)
# what post_migrate had made at that release: content types and a permission in use
report_type = ContentType.objects.create(app_label="issues", model="report")
client_type = ContentType.objects.create(app_label="issues", model="apiclient")
change = Permission.objects.create(content_type=report_type, codename="change_report",
                                   name="Can change report")
Permission.objects.create(content_type=client_type, codename="view_apiclient",
                          name="Can view API client")
moderators = Group.objects.create(name="moderator")
moderators.permissions.add(change)
print(json.dumps({"reports": [r.pk for r in reports], "client": client.pk}))
"""

CHECK = r"""
import json
import django
django.setup()
from django.contrib.auth.models import Group
from django.db import connection
from dashboard.models import DailyStat, DailyStatDirty
from layers.models import ResponsibilityArea
from open311.models import ApiClient, ClientRequest, ClientUpdate
from reports.models import (Comment, IdempotencyKey, Photo, Report, ReportEvent,
                            Subscription, Supporter)

out = {
    "reports": Report.objects.count(),
    "events": ReportEvent.objects.count(),
    "photo": list(Photo.objects.values_list("original", "display", "thumbnail")),
    "subscriptions": Subscription.objects.count(),
    "supporters": Supporter.objects.count(),
    "comments": Comment.objects.count(),
    "idempotency": list(IdempotencyKey.objects.values_list("key", "report_id")),
    "client_departments": list(ApiClient.objects.values_list("departments__code", flat=True)),
    "requests": sorted(ClientRequest.objects.values_list("report_id", flat=True)),
    "updates": list(ClientUpdate.objects.values_list("update_id", "event__public_note")),
    "area_categories": list(ResponsibilityArea.objects.values_list(
        "categories__service_code", flat=True)),
    "rollup": list(DailyStat.objects.values_list("received", flat=True)),
    "permissions": sorted(Group.objects.get(name="moderator").permissions.values_list(
        "content_type__app_label", "codename")),
}
DailyStatDirty.objects.all().delete()
report = Report.objects.order_by("pk").first()
Report.objects.filter(pk=report.pk).update(resolved_at=report.created)
out["dirty_after_update"] = DailyStatDirty.objects.count()
with connection.cursor() as cursor:
    cursor.execute("SELECT count(*) FROM pg_tables WHERE tablename LIKE 'issues%%'")
    out["issues_tables"] = cursor.fetchone()[0]
    cursor.execute("SELECT count(*) FROM django_content_type WHERE app_label = 'issues'")
    out["issues_content_types"] = cursor.fetchone()[0]
print(json.dumps(out))
"""


def _url(dbname: str) -> str:
    db = settings.DATABASES["default"]
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgresql://{auth}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{dbname}"


def _run(args: list[str], database: str, *, stdin: str | None = None) -> str:
    env = dict(os.environ, DATABASE_URL=_url(database).replace("postgresql://", "postgis://"),
               DJANGO_SETTINGS_MODULE="geocity.settings.test")
    result = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, input=stdin,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    return result.stdout


def _manage(database: str, *args: str) -> str:
    return _run(["manage.py", *args], database)


def _python(database: str, code: str) -> dict:
    return json.loads(_run(["-c", textwrap.dedent(code)], database).strip().splitlines()[-1])


SCHEMA_SQL = """
SELECT 'column', c.table_name, c.column_name || ' ' || c.data_type || ' '
       || c.is_nullable || ' ' || coalesce(c.column_default, '')
FROM information_schema.columns c
WHERE c.table_schema = 'public' AND c.table_name ~ '^(reports|open311|dashboard|layers)_'
UNION ALL
SELECT 'index', tablename, indexdef FROM pg_indexes
WHERE schemaname = 'public' AND tablename ~ '^(reports|open311|dashboard|layers)_'
UNION ALL
SELECT 'constraint', conrelid::regclass::text, pg_get_constraintdef(oid)
FROM pg_constraint WHERE conrelid::regclass::text ~ '^(reports|open311|dashboard|layers)_'
UNION ALL
SELECT 'trigger', tgrelid::regclass::text, tgname FROM pg_trigger
WHERE NOT tgisinternal AND tgrelid::regclass::text ~ '^(reports|open311|dashboard|layers)_'
UNION ALL
SELECT 'function', proname, pg_get_functiondef(oid) FROM pg_proc WHERE proname ~ '^geocity_'
ORDER BY 1, 2, 3
"""


def _schema(url: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return [tuple(row) for row in conn.execute(SCHEMA_SQL).fetchall()]


@pytest.fixture
def old_database(db):
    name = f"{connection.settings_dict['NAME']}_upgrade"
    with psycopg.connect(_url("postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    with psycopg.connect(_url(name), autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    yield name
    with psycopg.connect(_url("postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_an_existing_database_upgrades_with_migrate_and_keeps_its_data(old_database):
    # given a database at the last release before the split, with data in every kind of row
    for app, target in OLD_TARGETS:
        _manage(old_database, "migrate", app, *([target] if target else []), "--noinput",
                "-v", "0")
    seeded = _python(old_database, SEED)
    # when it is migrated forward, as a city upgrading does
    _manage(old_database, "migrate", "--noinput", "-v", "0")
    # then nothing is lost and everything is where the new apps look for it
    after = _python(old_database, CHECK)
    assert after["reports"] == 30
    assert after["events"] == 31
    assert after["photo"] == [["originals/2026/11/a.jpg", "photos/2026/11/a-display.jpg",
                               "photos/2026/11/a-thumb.jpg"]]
    assert (after["subscriptions"], after["supporters"], after["comments"]) == (1, 1, 1)
    assert after["idempotency"] == [["k-1", seeded["reports"][2]]]
    assert after["client_departments"] == ["roads"]
    assert after["requests"] == sorted(seeded["reports"][:3])
    assert after["updates"] == [["BO-7", "Бригада виїхала"]]
    assert after["area_categories"] == ["pothole"]
    assert after["rollup"] == [30]
    assert after["permissions"] == [["reports", "change_report"]]
    assert after["dirty_after_update"] > 0  # the rollup trigger follows the renamed tables
    assert (after["issues_tables"], after["issues_content_types"]) == (0, 0)
    # and the upgraded schema is exactly the one a new database gets (the test database)
    assert _schema(_url(old_database)) == _schema(_url(connection.settings_dict["NAME"]))
    # and Django sees no model change left to migrate
    _manage(old_database, "makemigrations", "--check", "--dry-run")
