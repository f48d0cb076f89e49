"""The open311 app takes over API clients, and links reports and events to their clients.

`ApiClient` moves from the `issues` app with its tables (renamed, no row moves). What the
old report and event rows said of their client (`api_client_id`, an event's `external_id`)
is copied into `ClientRequest` and `ClientUpdate`, then those columns are dropped: the
reports app knows nothing of Open311 any more. See reports/migrations/0001.
"""

import django.db.models.deletion
from django.db import migrations, models

RENAME = """
ALTER TABLE issues_apiclient RENAME TO open311_apiclient;
ALTER TABLE issues_apiclient_departments RENAME TO open311_apiclient_departments;
"""
RENAME_BACK = """
ALTER TABLE open311_apiclient_departments RENAME TO issues_apiclient_departments;
ALTER TABLE open311_apiclient RENAME TO issues_apiclient;
"""

# The old columns -> the link tables, then the columns go (their FK constraints and the
# partial unique index on (api_client_id, external_id) go with them).
MOVE_LINKS = """
INSERT INTO open311_clientrequest (report_id, client_id)
    SELECT id, api_client_id FROM reports_report WHERE api_client_id IS NOT NULL;
INSERT INTO open311_clientupdate (event_id, client_id, update_id)
    SELECT id, api_client_id, external_id FROM reports_reportevent
    WHERE api_client_id IS NOT NULL AND external_id <> '';
ALTER TABLE reports_report DROP COLUMN api_client_id;
ALTER TABLE reports_reportevent DROP COLUMN api_client_id;
ALTER TABLE reports_reportevent DROP COLUMN external_id;
"""
MOVE_LINKS_BACK = """
ALTER TABLE reports_report ADD COLUMN api_client_id bigint NULL
    REFERENCES open311_apiclient (id) DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE reports_reportevent ADD COLUMN api_client_id bigint NULL
    REFERENCES open311_apiclient (id) DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE reports_reportevent ADD COLUMN external_id varchar(100) NOT NULL DEFAULT '';
UPDATE reports_report r SET api_client_id = c.client_id
    FROM open311_clientrequest c WHERE c.report_id = r.id;
UPDATE reports_reportevent e SET api_client_id = u.client_id, external_id = u.update_id
    FROM open311_clientupdate u WHERE u.event_id = e.id;
CREATE UNIQUE INDEX event_external_id_unique ON reports_reportevent (api_client_id, external_id)
    WHERE NOT (external_id = '');
"""


def content_types_follow(apps, schema_editor):
    """Permissions and admin history keep pointing at API clients (see reports 0001)."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label="issues", model="apiclient").update(app_label="open311")


def content_types_back(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label="open311", model="apiclient").update(app_label="issues")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("issues", "0006_dashboard_rollup"),
        ("layers", "0005_alter_responsibilityarea_categories"),
        ("reports", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunSQL(RENAME, RENAME_BACK)],
            state_operations=[
                migrations.CreateModel(
                    name="ApiClient",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True,
                                                   serialize=False, verbose_name="ID")),
                        ("name", models.CharField(max_length=200, unique=True,
                                                  verbose_name="name")),
                        ("contact", models.CharField(blank=True, max_length=200,
                                                     verbose_name="contact")),
                        ("key_prefix", models.CharField(db_index=True, editable=False,
                                                        max_length=8)),
                        ("key_hash", models.CharField(editable=False, max_length=128)),
                        ("is_active", models.BooleanField(default=True, verbose_name="active")),
                        ("created", models.DateTimeField(auto_now_add=True)),
                        ("revoked_at", models.DateTimeField(blank=True, null=True)),
                        ("departments", models.ManyToManyField(blank=True,
                                                               to="layers.department")),
                    ],
                    options={
                        "verbose_name": "API client",
                        "verbose_name_plural": "API clients",
                    },
                ),
            ],
        ),
        migrations.RunPython(content_types_follow, content_types_back),
        migrations.CreateModel(
            name="ClientRequest",
            fields=[
                ("report", models.OneToOneField(on_delete=django.db.models.deletion.CASCADE,
                                                primary_key=True, related_name="open311_request",
                                                serialize=False, to="reports.report")),
                ("client", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT,
                                             related_name="requests", to="open311.apiclient")),
            ],
            options={
                "verbose_name": "Open311 request",
                "verbose_name_plural": "Open311 requests",
            },
        ),
        migrations.CreateModel(
            name="ClientUpdate",
            fields=[
                ("event", models.OneToOneField(on_delete=django.db.models.deletion.CASCADE,
                                               primary_key=True, related_name="open311_update",
                                               serialize=False, to="reports.reportevent")),
                ("update_id", models.CharField(max_length=100)),
                ("client", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT,
                                             related_name="updates", to="open311.apiclient")),
            ],
            options={
                "verbose_name": "Open311 update",
                "verbose_name_plural": "Open311 updates",
                "constraints": [models.UniqueConstraint(fields=("client", "update_id"),
                                                        name="open311_update_once")],
            },
        ),
        migrations.RunSQL(MOVE_LINKS, MOVE_LINKS_BACK),
    ]
