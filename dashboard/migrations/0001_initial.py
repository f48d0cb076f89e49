"""The dashboard app takes over the daily rollup and its trigger from the `issues` app.

The tables are renamed (no row moves) and the trigger function, which names the table of
dirty days, is replaced to write `dashboard_dailystatdirty`; the triggers themselves moved
with `reports_report` (reports 0001). What the trigger does: issues 0006, dashboard.services.
"""

from django.db import migrations, models

RENAME = """
ALTER TABLE issues_dailystat RENAME TO dashboard_dailystat;
ALTER TABLE issues_dailystatdirty RENAME TO dashboard_dailystatdirty;
"""
RENAME_BACK = """
ALTER TABLE dashboard_dailystatdirty RENAME TO issues_dailystatdirty;
ALTER TABLE dashboard_dailystat RENAME TO issues_dailystat;
"""

# Marks the days a write to reports_report touches: the UTC day of every created, resolved,
# closed and due instant of the old and new rows, and the days either side (which covers the
# local day in any time zone). Statement-level with transition tables: one INSERT per
# statement however many rows it writes.
_FUNCTION = """
CREATE OR REPLACE FUNCTION geocity_dailystat_dirty() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO {table} (day)
        SELECT DISTINCT (t.at::date + k)
        FROM old_rows o,
             LATERAL unnest(ARRAY[o.created, o.resolved_at, o.closed_at, o.due_at]) AS t(at),
             generate_series(-1, 1) AS k
        WHERE t.at IS NOT NULL
        ON CONFLICT DO NOTHING;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        INSERT INTO {table} (day)
        SELECT DISTINCT (t.at::date + k)
        FROM new_rows n,
             LATERAL unnest(ARRAY[n.created, n.resolved_at, n.closed_at, n.due_at]) AS t(at),
             generate_series(-1, 1) AS k
        WHERE t.at IS NOT NULL
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END $$;
"""
FUNCTION = _FUNCTION.format(table="dashboard_dailystatdirty")
FUNCTION_BACK = _FUNCTION.format(table="issues_dailystatdirty")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("issues", "0006_dashboard_rollup"),
        ("reports", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunSQL(RENAME, RENAME_BACK),
                                 migrations.RunSQL(FUNCTION, FUNCTION_BACK)],
            state_operations=[
                migrations.CreateModel(
                    name="DailyStatDirty",
                    fields=[("day", models.DateField(primary_key=True, serialize=False))],
                ),
                migrations.CreateModel(
                    name="DailyStat",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True,
                                                   serialize=False, verbose_name="ID")),
                        ("day", models.DateField()),
                        ("department_id", models.IntegerField(null=True)),
                        ("district_id", models.IntegerField(null=True)),
                        ("category_id", models.IntegerField(null=True)),
                        ("received", models.IntegerField(default=0)),
                        ("supporters", models.IntegerField(default=0)),
                        ("reopened", models.IntegerField(default=0)),
                        ("ever_resolved", models.IntegerField(default=0)),
                        ("received_resolved", models.IntegerField(default=0)),
                        ("received_within_sla", models.IntegerField(default=0)),
                        ("resolved", models.IntegerField(default=0)),
                        ("resolved_within_sla", models.IntegerField(default=0)),
                        ("resolved_with_due", models.IntegerField(default=0)),
                        ("done", models.IntegerField(default=0)),
                        ("late_done", models.IntegerField(default=0)),
                        ("late_due", models.IntegerField(default=0)),
                    ],
                    options={"indexes": [models.Index(fields=["day"], name="dailystat_day")]},
                ),
            ],
        ),
        migrations.RunPython(
            lambda apps, schema_editor: apps.get_model("contenttypes", "ContentType")
            .objects.filter(app_label="issues", model__in=["dailystat", "dailystatdirty"])
            .update(app_label="dashboard"),
            lambda apps, schema_editor: apps.get_model("contenttypes", "ContentType")
            .objects.filter(app_label="dashboard", model__in=["dailystat", "dailystatdirty"])
            .update(app_label="issues"),
        ),
    ]
