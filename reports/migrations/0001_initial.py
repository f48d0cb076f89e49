"""The reports app takes over the `issues` app's report models and their tables.

On every database (new or upgraded) the `issues` migrations 0001-0006 have made the tables
`issues_*`; this migration renames them `reports_*` and moves the models into this app's
state, so no row moves and nothing is lost. Two columns stay behind for the open311 app to
take over (`api_client_id` of reports and events, `external_id` of events; open311 0001
copies them into its own tables and drops them). See geocity/legacy_issues.
"""

import django.contrib.gis.db.models.fields
import django.contrib.gis.db.models.functions
import django.contrib.postgres.indexes
import django.core.validators
import django.db.models.deletion
import django.db.models.expressions
import django.db.models.functions.comparison
import django.db.models.functions.math
import django.db.models.functions.text
import django.db.models.lookups
import layers.models
import reports.models
import uuid
from django.conf import settings
from django.db import migrations, models


RENAME = """
ALTER TABLE issues_categorygroup RENAME TO reports_categorygroup;
ALTER TABLE issues_category RENAME TO reports_category;
ALTER TABLE issues_categoryattribute RENAME TO reports_categoryattribute;
ALTER TABLE issues_responsetemplate RENAME TO reports_responsetemplate;
ALTER TABLE issues_report RENAME TO reports_report;
ALTER TABLE issues_photo RENAME TO reports_photo;
ALTER TABLE issues_reportevent RENAME TO reports_reportevent;
ALTER TABLE issues_comment RENAME TO reports_comment;
ALTER TABLE issues_supporter RENAME TO reports_supporter;
ALTER TABLE issues_subscription RENAME TO reports_subscription;
ALTER TABLE issues_idempotencykey RENAME TO reports_idempotencykey;
-- left for open311.0001 to move out and drop; until then inserts need a default
ALTER TABLE reports_reportevent ALTER COLUMN external_id SET DEFAULT '';
"""
RENAME_BACK = """
ALTER TABLE reports_reportevent ALTER COLUMN external_id DROP DEFAULT;
ALTER TABLE reports_idempotencykey RENAME TO issues_idempotencykey;
ALTER TABLE reports_subscription RENAME TO issues_subscription;
ALTER TABLE reports_supporter RENAME TO issues_supporter;
ALTER TABLE reports_comment RENAME TO issues_comment;
ALTER TABLE reports_reportevent RENAME TO issues_reportevent;
ALTER TABLE reports_photo RENAME TO issues_photo;
ALTER TABLE reports_report RENAME TO issues_report;
ALTER TABLE reports_responsetemplate RENAME TO issues_responsetemplate;
ALTER TABLE reports_categoryattribute RENAME TO issues_categoryattribute;
ALTER TABLE reports_category RENAME TO issues_category;
ALTER TABLE reports_categorygroup RENAME TO issues_categorygroup;
"""

MOVED_MODELS = ('categorygroup', 'category', 'categoryattribute', 'responsetemplate', 'report', 'photo', 'reportevent', 'comment', 'supporter', 'subscription', 'idempotencykey')


def content_types_follow(apps, schema_editor):
    """Permissions and admin history keep pointing at the moved models: their content types
    change app instead of new ones being made (none exist yet on a new database)."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label="issues", model__in=MOVED_MODELS).update(
        app_label='reports')


def content_types_back(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label='reports', model__in=MOVED_MODELS).update(
        app_label="issues")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('issues', '0006_dashboard_rollup'),
        ('layers', '0004_route_report_function'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # The tables exist (the `issues` app made them): only Django's state moves here.
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunSQL(RENAME, RENAME_BACK)],
            state_operations=[
                migrations.CreateModel(
                    name='CategoryGroup',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('code', models.SlugField(max_length=64, unique=True, verbose_name='code')),
                        ('name_uk', models.CharField(max_length=200, verbose_name='name (uk)')),
                        ('name_en', models.CharField(blank=True, max_length=200, verbose_name='name (en)')),
                        ('icon', models.CharField(blank=True, max_length=8, verbose_name='icon')),
                        ('order', models.PositiveSmallIntegerField(default=0, verbose_name='order')),
                    ],
                    options={
                        'verbose_name': 'category group',
                        'verbose_name_plural': 'category groups',
                        'ordering': ['order', 'code'],
                    },
                    bases=(layers.models.LocalizedNameMixin, models.Model),
                ),
                migrations.CreateModel(
                    name='Category',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('service_code', models.SlugField(max_length=64, unique=True, verbose_name='Open311 service code')),
                        ('name_uk', models.CharField(max_length=200, verbose_name='name (uk)')),
                        ('name_en', models.CharField(blank=True, max_length=200, verbose_name='name (en)')),
                        ('description_uk', models.TextField(blank=True, verbose_name='description (uk)')),
                        ('description_en', models.TextField(blank=True, verbose_name='description (en)')),
                        ('keywords', models.CharField(blank=True, help_text='Comma-separated.', max_length=500, verbose_name='search keywords')),
                        ('icon', models.CharField(blank=True, help_text='An emoji.', max_length=8, verbose_name='icon')),
                        ('colour', models.CharField(default='#1f6feb', max_length=7, verbose_name='colour')),
                        ('order', models.PositiveSmallIntegerField(default=0, verbose_name='order')),
                        ('is_active', models.BooleanField(default=True, verbose_name='active')),
                        ('photo_required', models.BooleanField(default=False, verbose_name='photo required')),
                        ('is_hazard', models.BooleanField(default=False, help_text='Always routed to the State Emergency Service; location never public.', verbose_name='explosive ordnance')),
                        ('is_urgent', models.BooleanField(default=False, verbose_name='urgent')),
                        ('sla_hours', models.PositiveIntegerField(blank=True, null=True, verbose_name='SLA hours')),
                        ('sla_days', models.PositiveIntegerField(default=15, validators=[django.core.validators.MinValueValidator(1)], verbose_name='SLA days')),
                        ('duplicate_radius_m', models.PositiveIntegerField(default=250, verbose_name='duplicate radius, m')),
                        ('group', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='categories', to='reports.categorygroup')),
                    ],
                    options={
                        'verbose_name': 'category',
                        'verbose_name_plural': 'categories',
                        'ordering': ['group__order', 'order', 'service_code'],
                    },
                    bases=(layers.models.LocalizedNameMixin, models.Model),
                ),
                migrations.CreateModel(
                    name='Report',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('location', django.contrib.gis.db.models.fields.PointField(srid=6386, verbose_name='location')),
                        ('location_tile', models.GeneratedField(db_persist=True, expression=django.contrib.gis.db.models.functions.Transform('location', 3857), output_field=django.contrib.gis.db.models.fields.PointField(srid=3857))),
                        ('tile_x', models.GeneratedField(db_persist=True, expression=models.Func(django.contrib.gis.db.models.functions.Transform('location', 3857), function='ST_X', output_field=models.FloatField()), output_field=models.FloatField())),
                        ('tile_y', models.GeneratedField(db_persist=True, expression=models.Func(django.contrib.gis.db.models.functions.Transform('location', 3857), function='ST_Y', output_field=models.FloatField()), output_field=models.FloatField())),
                        ('tile_band', models.GeneratedField(db_persist=True, expression=django.db.models.functions.comparison.Cast(django.db.models.functions.math.Floor(django.db.models.expressions.CombinedExpression(django.db.models.expressions.CombinedExpression(models.Func(django.contrib.gis.db.models.functions.Transform('location', 3857), function='ST_X', output_field=models.FloatField()), '+', models.Value(20037508.342789244)), '/', models.Value(611.49622628141))), models.IntegerField()), output_field=models.IntegerField())),
                        ('address', models.CharField(blank=True, max_length=300, verbose_name='address')),
                        ('description', models.TextField(validators=[django.core.validators.MaxLengthValidator(4000)], verbose_name='description')),
                        ('attributes', models.JSONField(blank=True, default=dict, verbose_name='answers')),
                        ('status', models.CharField(choices=[('new', 'New'), ('moderation', 'Awaiting moderation'), ('assigned', 'Assigned'), ('in_progress', 'In progress'), ('needs_info', 'Needs information'), ('resolved', 'Resolved'), ('closed', 'Closed'), ('rejected', 'Rejected'), ('duplicate', 'Duplicate')], default='new', max_length=16, verbose_name='status')),
                        ('routing_rule', models.CharField(blank=True, choices=[('hazard_category', 'Explosive-ordnance category'), ('hazard_zone', 'Inside or near a mine-hazard zone'), ('area', 'Responsibility area'), ('border', 'Nearest responsibility area within tolerance'), ('triage', 'No responsible department: triage'), ('manual', 'Reassigned by staff')], max_length=16, verbose_name='routing rule')),
                        ('routing_explanation_uk', models.TextField(blank=True, verbose_name='routing explanation (uk)')),
                        ('routing_explanation_en', models.TextField(blank=True, verbose_name='routing explanation (en)')),
                        ('priority', models.PositiveSmallIntegerField(choices=[(1, 'Low'), (2, 'Normal'), (3, 'High'), (4, 'Urgent')], default=2, verbose_name='priority')),
                        ('contact_name', models.CharField(blank=True, max_length=200, verbose_name='contact name')),
                        ('contact_email', models.EmailField(blank=True, max_length=254, verbose_name='contact e-mail')),
                        ('contact_phone', models.CharField(blank=True, max_length=32, verbose_name='contact phone')),
                        ('source', models.CharField(choices=[('web', 'Web'), ('api', 'API'), ('open311', 'Open311'), ('staff', 'Staff')], default='web', max_length=8, verbose_name='source')),
                        ('lang', models.CharField(default='uk', max_length=2, verbose_name='language')),
                        ('token', models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                        ('created', models.DateTimeField(verbose_name='created')),
                        ('updated', models.DateTimeField(verbose_name='updated')),
                        ('assigned_at', models.DateTimeField(blank=True, null=True, verbose_name='assigned')),
                        ('resolved_at', models.DateTimeField(blank=True, null=True, verbose_name='resolved')),
                        ('closed_at', models.DateTimeField(blank=True, null=True, verbose_name='closed')),
                        ('due_at', models.DateTimeField(blank=True, null=True, verbose_name='due')),
                        ('sla_paused_at', models.DateTimeField(blank=True, null=True)),
                        ('sla_paused_seconds', models.PositiveIntegerField(default=0)),
                        ('sla_extended', models.BooleanField(default=False, verbose_name='deadline extended')),
                        ('escalated_at', models.DateTimeField(blank=True, null=True, verbose_name='escalated')),
                        ('touched_at', models.DateTimeField(blank=True, null=True)),
                        ('reopen_count', models.PositiveSmallIntegerField(default=0)),
                        ('resolve_bucket', models.GeneratedField(db_persist=True, expression=models.Case(models.When(resolved_at__isnull=False, then=django.db.models.functions.comparison.Cast(django.db.models.functions.math.Floor(django.db.models.expressions.CombinedExpression(django.db.models.functions.math.Ln(django.db.models.functions.comparison.Greatest(models.Func(models.F('resolved_at'), models.F('created'), arg_joiner=' - ', output_field=models.FloatField(), template="date_part('epoch', %(expressions)s)"), models.Value(1.0))), '*', models.Value(100.49917080713044))), models.IntegerField())), output_field=models.IntegerField()), output_field=models.IntegerField())),
                        ('supporters_count', models.PositiveIntegerField(default=0, verbose_name='supporters')),
                        ('is_hidden', models.BooleanField(default=False, verbose_name='hidden by moderator')),
                        ('is_hazard', models.BooleanField(default=False, verbose_name='explosive ordnance')),
                        ('assignee', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='assigned_reports', to=settings.AUTH_USER_MODEL)),
                        ('category', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='reports', to='reports.category')),
                        ('department', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='reports', to='layers.department')),
                        ('district', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='layers.district')),
                        ('duplicate_of', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='duplicates', to='reports.report')),
                        ('reporter', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='reports', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'verbose_name': 'report',
                        'verbose_name_plural': 'reports',
                    },
                ),
                migrations.CreateModel(
                    name='Photo',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('kind', models.CharField(choices=[('resident', "Resident's photo"), ('after', 'After the work (staff)')], default='resident', max_length=8)),
                        ('state', models.CharField(choices=[('pending', 'Processing'), ('ready', 'Ready'), ('failed', 'Failed')], default='pending', max_length=8)),
                        ('original', models.FileField(storage=reports.models.private_storage, upload_to='originals/%Y/%m')),
                        ('display', models.ImageField(blank=True, upload_to='photos/%Y/%m')),
                        ('thumbnail', models.ImageField(blank=True, upload_to='photos/%Y/%m')),
                        ('format', models.CharField(max_length=8)),
                        ('width', models.PositiveIntegerField()),
                        ('height', models.PositiveIntegerField()),
                        ('gps', django.contrib.gis.db.models.fields.PointField(blank=True, null=True, srid=4326)),
                        ('created', models.DateTimeField(auto_now_add=True)),
                        ('uploaded_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, to=settings.AUTH_USER_MODEL)),
                        ('report', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='photos', to='reports.report')),
                    ],
                    options={
                        'verbose_name': 'photo',
                        'verbose_name_plural': 'photos',
                        'ordering': ['created', 'id'],
                    },
                ),
                migrations.CreateModel(
                    name='IdempotencyKey',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('key', models.CharField(max_length=200)),
                        ('scope', models.CharField(max_length=200)),
                        ('request_hash', models.CharField(max_length=64)),
                        ('created', models.DateTimeField(auto_now_add=True)),
                        ('report', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='reports.report')),
                    ],
                ),
                migrations.CreateModel(
                    name='Comment',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('author_name', models.CharField(blank=True, max_length=200, verbose_name='name')),
                        ('text', models.TextField(validators=[django.core.validators.MaxLengthValidator(2000)], verbose_name='comment')),
                        ('is_staff_reply', models.BooleanField(default=False)),
                        ('is_hidden', models.BooleanField(default=False, verbose_name='hidden by moderator')),
                        ('created', models.DateTimeField(auto_now_add=True)),
                        ('author', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, to=settings.AUTH_USER_MODEL)),
                        ('report', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='comments', to='reports.report')),
                    ],
                    options={
                        'verbose_name': 'comment',
                        'verbose_name_plural': 'comments',
                        'ordering': ['created', 'id'],
                    },
                ),
                migrations.CreateModel(
                    name='ReportEvent',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('type', models.CharField(choices=[('created', 'Created'), ('routed', 'Routed'), ('rerouted', 'Re-routed after a layer change'), ('status', 'Status changed'), ('reassigned', 'Reassigned to another department'), ('assignee', 'Assigned to a colleague'), ('accepted', 'Accepted by the department'), ('note', 'Note'), ('photo', 'Photo added'), ('supported', 'Supported'), ('merged', 'Duplicate merged in'), ('edited', 'Edited by a moderator'), ('hidden', 'Hidden'), ('unhidden', 'Made visible'), ('sla_extended', 'Deadline extended'), ('escalated', 'Escalated to the head of department')], max_length=16)),
                        ('actor_role', models.CharField(blank=True, max_length=16)),
                        ('from_status', models.CharField(blank=True, choices=[('new', 'New'), ('moderation', 'Awaiting moderation'), ('assigned', 'Assigned'), ('in_progress', 'In progress'), ('needs_info', 'Needs information'), ('resolved', 'Resolved'), ('closed', 'Closed'), ('rejected', 'Rejected'), ('duplicate', 'Duplicate')], max_length=16)),
                        ('to_status', models.CharField(blank=True, choices=[('new', 'New'), ('moderation', 'Awaiting moderation'), ('assigned', 'Assigned'), ('in_progress', 'In progress'), ('needs_info', 'Needs information'), ('resolved', 'Resolved'), ('closed', 'Closed'), ('rejected', 'Rejected'), ('duplicate', 'Duplicate')], max_length=16)),
                        ('public_note', models.TextField(blank=True, verbose_name='public note')),
                        ('internal_note', models.TextField(blank=True, verbose_name='internal note')),
                        ('data', models.JSONField(blank=True, default=dict)),
                        ('created', models.DateTimeField(db_index=True)),
                        ('actor', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, to=settings.AUTH_USER_MODEL)),
                        ('from_department', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='layers.department')),
                        ('report', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='events', to='reports.report')),
                        ('to_department', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='layers.department')),
                    ],
                    options={
                        'verbose_name': 'report event',
                        'verbose_name_plural': 'report events',
                        'ordering': ['created', 'id'],
                    },
                ),
                migrations.CreateModel(
                    name='ResponseTemplate',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('status', models.CharField(blank=True, choices=[('new', 'New'), ('moderation', 'Awaiting moderation'), ('assigned', 'Assigned'), ('in_progress', 'In progress'), ('needs_info', 'Needs information'), ('resolved', 'Resolved'), ('closed', 'Closed'), ('rejected', 'Rejected'), ('duplicate', 'Duplicate')], max_length=16, verbose_name='for status')),
                        ('title', models.CharField(max_length=200, verbose_name='title')),
                        ('text_uk', models.TextField(verbose_name='text (uk)')),
                        ('text_en', models.TextField(blank=True, verbose_name='text (en)')),
                        ('category', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='templates', to='reports.category')),
                        ('department', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, to='layers.department')),
                    ],
                    options={
                        'verbose_name': 'response template',
                        'verbose_name_plural': 'response templates',
                        'ordering': ['title'],
                    },
                ),
                migrations.CreateModel(
                    name='Subscription',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('email', models.EmailField(max_length=254)),
                        ('lang', models.CharField(default='uk', max_length=2)),
                        ('token', models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                        ('is_active', models.BooleanField(default=True)),
                        ('confirmed_at', models.DateTimeField(blank=True, null=True)),
                        ('created', models.DateTimeField(auto_now_add=True)),
                        ('report', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='subscriptions', to='reports.report')),
                        ('user', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, to=settings.AUTH_USER_MODEL)),
                    ],
                ),
                migrations.CreateModel(
                    name='Supporter',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('email', models.EmailField(blank=True, max_length=254)),
                        ('created', models.DateTimeField(auto_now_add=True)),
                        ('report', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='supporters', to='reports.report')),
                        ('user', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, to=settings.AUTH_USER_MODEL)),
                    ],
                ),
                migrations.CreateModel(
                    name='CategoryAttribute',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('code', models.SlugField(max_length=64, verbose_name='code')),
                        ('datatype', models.CharField(choices=[('string', 'Short text'), ('number', 'Number'), ('datetime', 'Date and time'), ('text', 'Long text'), ('singlevaluelist', 'One choice'), ('multivaluelist', 'Several choices')], max_length=16, verbose_name='datatype')),
                        ('required', models.BooleanField(default=False, verbose_name='required')),
                        ('order', models.PositiveSmallIntegerField(default=0, verbose_name='order')),
                        ('description_uk', models.CharField(max_length=500, verbose_name='question (uk)')),
                        ('description_en', models.CharField(blank=True, max_length=500, verbose_name='question (en)')),
                        ('values', models.JSONField(blank=True, default=list, verbose_name='values')),
                        ('category', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='attributes', to='reports.category')),
                    ],
                    options={
                        'verbose_name': 'category question',
                        'verbose_name_plural': 'category questions',
                        'ordering': ['category', 'order', 'code'],
                        'constraints': [models.UniqueConstraint(fields=('category', 'code'), name='attribute_code_unique')],
                    },
                ),
                migrations.AddConstraint(
                    model_name='category',
                    constraint=models.CheckConstraint(condition=models.Q(('sla_days__lte', 30)), name='category_sla_max_30d'),
                ),
                migrations.AddIndex(
                    model_name='report',
                    index=django.contrib.postgres.indexes.GistIndex(fields=['location_tile'], name='report_location_tile_gist'),
                ),
                migrations.AddIndex(
                    model_name='report',
                    index=models.Index(fields=['tile_band', 'tile_y'], include=('tile_x', 'is_hazard', 'is_hidden', 'status', 'category', 'department', 'district', 'created'), name='report_tile_band'),
                ),
                migrations.AddIndex(
                    model_name='report',
                    index=django.contrib.postgres.indexes.GistIndex(models.F('location'), condition=models.Q(('is_hazard', True)), name='report_hazard_location_gist'),
                ),
                migrations.AddIndex(
                    model_name='report',
                    index=models.Index(fields=['status', 'due_at'], name='report_status_due'),
                ),
                migrations.AddIndex(
                    model_name='report',
                    index=models.Index(fields=['department', 'status', 'due_at'], name='report_dept_queue'),
                ),
                migrations.AddIndex(
                    model_name='report',
                    index=models.Index(fields=['category', 'status'], name='report_category_status'),
                ),
                migrations.AddIndex(
                    model_name='report',
                    index=models.Index(fields=['reporter', 'created'], name='report_reporter_created'),
                ),
                migrations.AddIndex(
                    model_name='report',
                    index=models.Index(fields=['-supporters_count', '-id'], name='report_supporters'),
                ),
                migrations.AddIndex(
                    model_name='report',
                    index=models.Index(fields=['created'], include=('status', 'department', 'district', 'category', 'resolved_at', 'closed_at', 'due_at', 'reopen_count', 'supporters_count', 'is_hidden'), name='report_dash_created'),
                ),
                migrations.AddIndex(
                    model_name='report',
                    index=models.Index(condition=models.Q(('resolved_at__isnull', False)), fields=['resolved_at'], include=('created', 'status', 'department', 'district', 'category', 'closed_at', 'due_at', 'reopen_count', 'supporters_count', 'is_hidden', 'resolve_bucket'), name='report_dash_resolved'),
                ),
                migrations.AddIndex(
                    model_name='report',
                    index=models.Index(condition=models.Q(('closed_at__isnull', False), ('resolved_at__isnull', True)), fields=['closed_at'], include=('created', 'status', 'department', 'district', 'category', 'resolved_at', 'due_at', 'reopen_count', 'supporters_count', 'is_hidden'), name='report_dash_closed'),
                ),
                migrations.AddIndex(
                    model_name='report',
                    index=models.Index(condition=models.Q(('status__in', ['assigned', 'in_progress', 'moderation', 'needs_info', 'new'])), fields=['status'], include=('created', 'department', 'district', 'category', 'resolved_at', 'closed_at', 'due_at', 'reopen_count', 'supporters_count', 'is_hidden', 'location', 'address'), name='report_dash_open'),
                ),
                migrations.AddConstraint(
                    model_name='report',
                    constraint=models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('description'), 4000), name='report_description_max'),
                ),
                migrations.AddConstraint(
                    model_name='report',
                    constraint=models.CheckConstraint(condition=models.Q(models.Q(('status', 'duplicate'), _negated=True), ('duplicate_of__isnull', False), _connector='OR'), name='report_duplicate_needs_target'),
                ),
                migrations.AddConstraint(
                    model_name='idempotencykey',
                    constraint=models.UniqueConstraint(fields=('scope', 'key'), name='idempotency_key_once'),
                ),
                migrations.AddIndex(
                    model_name='reportevent',
                    index=models.Index(fields=['report', 'created'], name='event_report_created'),
                ),
                migrations.AddConstraint(
                    model_name='subscription',
                    constraint=models.UniqueConstraint(fields=('report', 'email'), name='subscription_once'),
                ),
                migrations.AddConstraint(
                    model_name='supporter',
                    constraint=models.UniqueConstraint(condition=models.Q(('user__isnull', False)), fields=('report', 'user'), name='supporter_user_once'),
                ),
                migrations.AddConstraint(
                    model_name='supporter',
                    constraint=models.UniqueConstraint(condition=models.Q(('email', ''), _negated=True), fields=('report', 'email'), name='supporter_email_once'),
                ),
                migrations.AddConstraint(
                    model_name='supporter',
                    constraint=models.CheckConstraint(condition=models.Q(('user__isnull', False), models.Q(('email', ''), _negated=True), _connector='OR'), name='supporter_identified'),
                ),
            ],
        ),
        migrations.RunPython(content_types_follow, content_types_back),
    ]
