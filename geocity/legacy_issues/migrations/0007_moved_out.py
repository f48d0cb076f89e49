"""The `issues` app hands its models over: `reports`, `open311` and `dashboard` now own them
and their (renamed) tables. Only Django's state changes here; the database was changed by
those apps' first migrations, which this one follows."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('issues', '0006_dashboard_rollup'),
        ('layers', '0005_alter_responsibilityarea_categories'),
        ('reports', '0001_initial'),
        ('open311', '0001_initial'),
        ('dashboard', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.RemoveField(
                    model_name='apiclient',
                    name='departments',
                ),
                migrations.RemoveField(
                    model_name='reportevent',
                    name='api_client',
                ),
                migrations.RemoveField(
                    model_name='report',
                    name='api_client',
                ),
                migrations.RemoveField(
                    model_name='category',
                    name='group',
                ),
                migrations.RemoveField(
                    model_name='report',
                    name='category',
                ),
                migrations.RemoveField(
                    model_name='categoryattribute',
                    name='category',
                ),
                migrations.RemoveField(
                    model_name='responsetemplate',
                    name='category',
                ),
                migrations.RemoveField(
                    model_name='comment',
                    name='author',
                ),
                migrations.RemoveField(
                    model_name='comment',
                    name='report',
                ),
                migrations.DeleteModel(
                    name='DailyStat',
                ),
                migrations.DeleteModel(
                    name='DailyStatDirty',
                ),
                migrations.RemoveField(
                    model_name='idempotencykey',
                    name='report',
                ),
                migrations.RemoveField(
                    model_name='photo',
                    name='report',
                ),
                migrations.RemoveField(
                    model_name='photo',
                    name='uploaded_by',
                ),
                migrations.RemoveField(
                    model_name='report',
                    name='assignee',
                ),
                migrations.RemoveField(
                    model_name='report',
                    name='department',
                ),
                migrations.RemoveField(
                    model_name='report',
                    name='district',
                ),
                migrations.RemoveField(
                    model_name='report',
                    name='duplicate_of',
                ),
                migrations.RemoveField(
                    model_name='report',
                    name='reporter',
                ),
                migrations.RemoveField(
                    model_name='subscription',
                    name='report',
                ),
                migrations.RemoveField(
                    model_name='reportevent',
                    name='report',
                ),
                migrations.RemoveField(
                    model_name='supporter',
                    name='report',
                ),
                migrations.RemoveField(
                    model_name='reportevent',
                    name='actor',
                ),
                migrations.RemoveField(
                    model_name='reportevent',
                    name='from_department',
                ),
                migrations.RemoveField(
                    model_name='reportevent',
                    name='to_department',
                ),
                migrations.RemoveField(
                    model_name='responsetemplate',
                    name='department',
                ),
                migrations.RemoveField(
                    model_name='subscription',
                    name='user',
                ),
                migrations.RemoveField(
                    model_name='supporter',
                    name='user',
                ),
                migrations.DeleteModel(
                    name='ApiClient',
                ),
                migrations.DeleteModel(
                    name='CategoryGroup',
                ),
                migrations.DeleteModel(
                    name='CategoryAttribute',
                ),
                migrations.DeleteModel(
                    name='Category',
                ),
                migrations.DeleteModel(
                    name='Comment',
                ),
                migrations.DeleteModel(
                    name='IdempotencyKey',
                ),
                migrations.DeleteModel(
                    name='Photo',
                ),
                migrations.DeleteModel(
                    name='Report',
                ),
                migrations.DeleteModel(
                    name='ReportEvent',
                ),
                migrations.DeleteModel(
                    name='ResponseTemplate',
                ),
                migrations.DeleteModel(
                    name='Subscription',
                ),
                migrations.DeleteModel(
                    name='Supporter',
                ),
            ],
        ),
    ]
