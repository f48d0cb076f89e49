"""Reports and their life cycle: categories, reports, photos, the audit trail, supporters.

Models hold data only. Writes and transitions live in `reports.services`, reads in
`reports.selectors`, the workflow table in `reports.workflow`.
"""

from __future__ import annotations

import math
import uuid

from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.gis.db.models.functions import Transform
from django.contrib.postgres.indexes import GistIndex
from django.core.files.storage import storages
from django.core.validators import MaxLengthValidator, MinValueValidator
from django.db.models import Case, F, Func, Value, When
from django.db.models.functions import Cast, Floor, Greatest, Length, Ln
from django.db.models.lookups import LessThanOrEqual
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from layers.geometry import MERCATOR_HALF_WORLD, TILE_BAND_M
from layers.models import LocalizedNameMixin

from .workflow import OPEN_STATUSES, Status

SRID = settings.STORAGE_SRID
DESCRIPTION_MAX = 4000
# Columns the dashboard reads from its covering indexes (see Report.Meta.indexes).
_DASH_COLUMNS = ["created", "status", "department", "district", "category", "resolved_at",
                 "closed_at", "due_at", "reopen_count", "supporters_count", "is_hidden"]


def _dash_include(key: str, *extra: str) -> list[str]:
    return [c for c in _DASH_COLUMNS if c != key] + list(extra)


def _mercator_x() -> Func:
    return Func(Transform("location", settings.TILE_SRID), function="ST_X",
                output_field=models.FloatField())


RESOLVE_BUCKETS_PER_E = 1 / math.log(1.01)  # bucket b: [1.01^b, 1.01^(b+1)) seconds


def _resolve_bucket() -> Case:
    seconds = Func(F("resolved_at"), F("created"), arg_joiner=" - ",
                   template="date_part('epoch', %(expressions)s)",
                   output_field=models.FloatField())
    bucket = Floor(Ln(Greatest(seconds, Value(1.0))) * Value(RESOLVE_BUCKETS_PER_E))
    return Case(When(resolved_at__isnull=False, then=Cast(bucket, models.IntegerField())),
                output_field=models.IntegerField())


def private_storage():
    """Storage for photo originals (EXIF intact): never under the public MEDIA_URL."""
    return storages["private"]


class CategoryGroup(LocalizedNameMixin, models.Model):
    code = models.SlugField(_("code"), max_length=64, unique=True)
    name_uk = models.CharField(_("name (uk)"), max_length=200)
    name_en = models.CharField(_("name (en)"), max_length=200, blank=True)
    icon = models.CharField(_("icon"), max_length=8, blank=True)
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["order", "code"]
        verbose_name = _("category group")
        verbose_name_plural = _("category groups")


class Category(LocalizedNameMixin, models.Model):
    """A kind of problem; an Open311 service."""

    group = models.ForeignKey(CategoryGroup, on_delete=models.PROTECT, related_name="categories")
    service_code = models.SlugField(_("Open311 service code"), max_length=64, unique=True)
    name_uk = models.CharField(_("name (uk)"), max_length=200)
    name_en = models.CharField(_("name (en)"), max_length=200, blank=True)
    description_uk = models.TextField(_("description (uk)"), blank=True)
    description_en = models.TextField(_("description (en)"), blank=True)
    keywords = models.CharField(
        _("search keywords"), max_length=500, blank=True, help_text=_("Comma-separated.")
    )
    icon = models.CharField(_("icon"), max_length=8, blank=True, help_text=_("An emoji."))
    colour = models.CharField(_("colour"), max_length=7, default="#1f6feb")
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    is_active = models.BooleanField(_("active"), default=True)
    photo_required = models.BooleanField(_("photo required"), default=False)
    is_hazard = models.BooleanField(
        _("explosive ordnance"),
        default=False,
        help_text=_("Always routed to the State Emergency Service; location never public."),
    )
    is_urgent = models.BooleanField(_("urgent"), default=False)
    # SLA: hours for urgent categories, days otherwise (law: 15 by default, 30 at most).
    sla_hours = models.PositiveIntegerField(_("SLA hours"), null=True, blank=True)
    sla_days = models.PositiveIntegerField(
        _("SLA days"), default=15, validators=[MinValueValidator(1)]
    )
    duplicate_radius_m = models.PositiveIntegerField(_("duplicate radius, m"), default=250)

    class Meta:
        ordering = ["group__order", "order", "service_code"]
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        constraints = [
            models.CheckConstraint(condition=models.Q(sla_days__lte=30),
                                   name="category_sla_max_30d")
        ]

    @property
    def description(self) -> str:
        if translation.get_language() == "en" and self.description_en:
            return self.description_en
        return self.description_uk


class CategoryAttribute(models.Model):
    """An extra question for a category: an Open311 service-definition attribute."""

    class Datatype(models.TextChoices):
        STRING = "string", _("Short text")
        NUMBER = "number", _("Number")
        DATETIME = "datetime", _("Date and time")
        TEXT = "text", _("Long text")
        SINGLEVALUELIST = "singlevaluelist", _("One choice")
        MULTIVALUELIST = "multivaluelist", _("Several choices")

    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="attributes")
    code = models.SlugField(_("code"), max_length=64)
    datatype = models.CharField(_("datatype"), max_length=16, choices=Datatype.choices)
    required = models.BooleanField(_("required"), default=False)
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    description_uk = models.CharField(_("question (uk)"), max_length=500)
    description_en = models.CharField(_("question (en)"), max_length=500, blank=True)
    # [{"key": "deep", "name_uk": "Глибока", "name_en": "Deep"}, ...] for the list datatypes.
    values = models.JSONField(_("values"), default=list, blank=True)

    class Meta:
        ordering = ["category", "order", "code"]
        constraints = [
            models.UniqueConstraint(fields=["category", "code"], name="attribute_code_unique")
        ]
        verbose_name = _("category question")
        verbose_name_plural = _("category questions")

    def __str__(self) -> str:
        return f"{self.category.service_code}.{self.code}"

    @property
    def description(self) -> str:
        if translation.get_language() == "en" and self.description_en:
            return self.description_en
        return self.description_uk

    def value_name(self, value: dict) -> str:
        if translation.get_language() == "en" and value.get("name_en"):
            return value["name_en"]
        return value.get("name_uk") or value.get("name") or value["key"]


class ResponseTemplate(models.Model):
    """A canned reply for clerks, per category (or any), per status (or any)."""

    category = models.ForeignKey(
        Category, on_delete=models.CASCADE, null=True, blank=True, related_name="templates"
    )
    department = models.ForeignKey(
        "layers.Department", on_delete=models.CASCADE, null=True, blank=True
    )
    status = models.CharField(_("for status"), max_length=16, choices=Status.choices, blank=True)
    title = models.CharField(_("title"), max_length=200)
    text_uk = models.TextField(_("text (uk)"))
    text_en = models.TextField(_("text (en)"), blank=True)

    class Meta:
        ordering = ["title"]
        verbose_name = _("response template")
        verbose_name_plural = _("response templates")

    def __str__(self) -> str:
        return self.title


class Report(models.Model):
    """A problem reported by a resident. Its primary key is the public report number."""

    class Priority(models.IntegerChoices):
        LOW = 1, _("Low")
        NORMAL = 2, _("Normal")
        HIGH = 3, _("High")
        URGENT = 4, _("Urgent")

    class Source(models.TextChoices):
        WEB = "web", _("Web")
        API = "api", _("API")
        OPEN311 = "open311", _("Open311")
        STAFF = "staff", _("Staff")

    class RoutingRule(models.TextChoices):
        HAZARD_CATEGORY = "hazard_category", _("Explosive-ordnance category")
        HAZARD_ZONE = "hazard_zone", _("Inside or near a mine-hazard zone")
        AREA = "area", _("Responsibility area")
        BORDER = "border", _("Nearest responsibility area within tolerance")
        TRIAGE = "triage", _("No responsible department: triage")
        MANUAL = "manual", _("Reassigned by staff")

    location = models.PointField(_("location"), srid=SRID)
    # Web Mercator copy for tiles and heatmaps, maintained by PostgreSQL itself: saves a
    # transform per point at low zooms (platform notes: 10-25%).
    location_tile = models.GeneratedField(
        expression=Transform("location", settings.TILE_SRID),
        output_field=models.PointField(srid=settings.TILE_SRID),
        db_persist=True,
    )
    # The same point as plain numbers plus its band (a z16 tile column): the covering index
    # `report_tile_band` turns a tile's aggregates (report cells, heat) into index-only range
    # scans (6-7x faster than the GiST + heap at 1M reports; benchmarks/tiles.py).
    tile_x = models.GeneratedField(
        expression=_mercator_x(), output_field=models.FloatField(), db_persist=True)
    tile_y = models.GeneratedField(
        expression=Func(Transform("location", settings.TILE_SRID), function="ST_Y",
                        output_field=models.FloatField()),
        output_field=models.FloatField(), db_persist=True)
    tile_band = models.GeneratedField(
        expression=Cast(Floor((_mercator_x() + Value(MERCATOR_HALF_WORLD)) / Value(TILE_BAND_M)),
                        models.IntegerField()),
        output_field=models.IntegerField(), db_persist=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    description = models.TextField(
        _("description"), validators=[MaxLengthValidator(DESCRIPTION_MAX)]
    )
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="reports")
    attributes = models.JSONField(_("answers"), default=dict, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.NEW
    )
    department = models.ForeignKey(
        "layers.Department",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reports",
    )
    district = models.ForeignKey(
        "layers.District", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_reports",
    )
    routing_rule = models.CharField(
        _("routing rule"), max_length=16, choices=RoutingRule.choices, blank=True
    )
    routing_explanation_uk = models.TextField(_("routing explanation (uk)"), blank=True)
    routing_explanation_en = models.TextField(_("routing explanation (en)"), blank=True)
    priority = models.PositiveSmallIntegerField(
        _("priority"), choices=Priority.choices, default=Priority.NORMAL
    )
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="reports",
    )
    # Private contact data: only the assigned department's staff and moderators see it.
    contact_name = models.CharField(_("contact name"), max_length=200, blank=True)
    contact_email = models.EmailField(_("contact e-mail"), blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=32, blank=True)
    source = models.CharField(_("source"), max_length=8, choices=Source.choices, default="web")
    lang = models.CharField(_("language"), max_length=2, default="uk")
    # Open311 `token`, and the key of a client's `Idempotency-Key` retries.
    token = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)

    created = models.DateTimeField(_("created"))
    updated = models.DateTimeField(_("updated"))
    assigned_at = models.DateTimeField(_("assigned"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    # SLA pause: set while in needs_info; the pause is added to due_at on resume.
    sla_paused_at = models.DateTimeField(null=True, blank=True)
    sla_paused_seconds = models.PositiveIntegerField(default=0)
    sla_extended = models.BooleanField(_("deadline extended"), default=False)
    escalated_at = models.DateTimeField(_("escalated"), null=True, blank=True)
    # First time a person (not routing) acted on it; untouched open reports get re-routed
    # when the layers change.
    touched_at = models.DateTimeField(null=True, blank=True)
    reopen_count = models.PositiveSmallIntegerField(default=0)
    # The time to resolve on a log scale in buckets 1% wide (NULL while unresolved): the
    # dashboard reads percentiles of large sets from counts per bucket (dashboard.kpis).
    resolve_bucket = models.GeneratedField(
        expression=_resolve_bucket(), output_field=models.IntegerField(), db_persist=True)

    supporters_count = models.PositiveIntegerField(_("supporters"), default=0)
    duplicate_of = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="duplicates"
    )
    is_hidden = models.BooleanField(_("hidden by moderator"), default=False)
    is_hazard = models.BooleanField(_("explosive ordnance"), default=False)

    class Meta:
        verbose_name = _("report")
        verbose_name_plural = _("reports")
        indexes = [
            GistIndex(fields=["location_tile"], name="report_location_tile_gist"),
            models.Index(fields=["tile_band", "tile_y"], name="report_tile_band",
                         include=["tile_x", "is_hazard", "is_hidden", "status", "category",
                                  "department", "district", "created"]),
            # Public tiles look hazard reports up by their public cell apart from the rest
            # (tiles.selectors): these few rows get an index of their own. Written as an
            # expression: GeoDjango's schema editor drops `condition` from indexes on a
            # geometry field. (One on location_tile too made the planner AND it,
            # unconditioned, into z16 tiles: 2x slower.)
            GistIndex(F("location"), name="report_hazard_location_gist",
                      condition=models.Q(is_hazard=True)),
            models.Index(fields=["status", "due_at"], name="report_status_due"),
            models.Index(fields=["department", "status", "due_at"], name="report_dept_queue"),
            models.Index(fields=["category", "status"], name="report_category_status"),
            models.Index(fields=["reporter", "created"], name="report_reporter_created"),
            models.Index(fields=["-supporters_count", "-id"], name="report_supporters"),
            # Covering indexes for the dashboard's period aggregates (dashboard/kpis.py): each
            # period slice is an index-only range scan (benchmarks/dashboard.py: ~15x faster
            # at 1M reports than without them).
            models.Index(fields=["created"], name="report_dash_created",
                         include=_dash_include("created")),
            models.Index(fields=["resolved_at"], name="report_dash_resolved",
                         condition=models.Q(resolved_at__isnull=False),
                         include=_dash_include("resolved_at", "resolve_bucket")),
            models.Index(fields=["closed_at"], name="report_dash_closed",
                         condition=models.Q(resolved_at__isnull=True, closed_at__isnull=False),
                         include=_dash_include("closed_at")),
            models.Index(fields=["status"], name="report_dash_open",
                         condition=models.Q(status__in=sorted(OPEN_STATUSES)),
                         include=_dash_include("status", "location", "address")),
        ]
        constraints = [
            models.CheckConstraint(
                condition=LessThanOrEqual(Length("description"), DESCRIPTION_MAX),
                name="report_description_max",
            ),
            models.CheckConstraint(
                condition=~models.Q(status=Status.DUPLICATE)
                | models.Q(duplicate_of__isnull=False),
                name="report_duplicate_needs_target",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk}"

    @property
    def number(self) -> int:
        return self.pk

    @property
    def routing_explanation(self) -> str:
        if translation.get_language() == "en" and self.routing_explanation_en:
            return self.routing_explanation_en
        return self.routing_explanation_uk

    def get_absolute_url(self) -> str:
        return f"/reports/{self.pk}/"


class Photo(models.Model):
    """A report photo. The original (with EXIF) is private; display sizes are stripped."""

    class Kind(models.TextChoices):
        RESIDENT = "resident", _("Resident's photo")
        AFTER = "after", _("After the work (staff)")

    class State(models.TextChoices):
        PENDING = "pending", _("Processing")
        READY = "ready", _("Ready")
        FAILED = "failed", _("Failed")

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="photos")
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.RESIDENT)
    state = models.CharField(max_length=8, choices=State.choices, default=State.PENDING)
    original = models.FileField(storage=private_storage, upload_to="originals/%Y/%m")
    display = models.ImageField(upload_to="photos/%Y/%m", blank=True)
    thumbnail = models.ImageField(upload_to="photos/%Y/%m", blank=True)
    format = models.CharField(max_length=8)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    # Position from the original's EXIF; offered to the reporter, never published as such.
    gps = models.PointField(srid=settings.API_SRID, null=True, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created", "id"]
        verbose_name = _("photo")
        verbose_name_plural = _("photos")


class ReportEvent(models.Model):
    """The audit trail: one row per change, written by the service that made it."""

    class Type(models.TextChoices):
        CREATED = "created", _("Created")
        ROUTED = "routed", _("Routed")
        REROUTED = "rerouted", _("Re-routed after a layer change")
        STATUS = "status", _("Status changed")
        REASSIGNED = "reassigned", _("Reassigned to another department")
        ASSIGNEE = "assignee", _("Assigned to a colleague")
        ACCEPTED = "accepted", _("Accepted by the department")
        NOTE = "note", _("Note")
        PHOTO = "photo", _("Photo added")
        SUPPORTED = "supported", _("Supported")
        MERGED = "merged", _("Duplicate merged in")
        EDITED = "edited", _("Edited by a moderator")
        HIDDEN = "hidden", _("Hidden")
        UNHIDDEN = "unhidden", _("Made visible")
        SLA_EXTENDED = "sla_extended", _("Deadline extended")
        ESCALATED = "escalated", _("Escalated to the head of department")

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="events")
    type = models.CharField(max_length=16, choices=Type.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    actor_role = models.CharField(max_length=16, blank=True)
    from_status = models.CharField(max_length=16, choices=Status.choices, blank=True)
    to_status = models.CharField(max_length=16, choices=Status.choices, blank=True)
    from_department = models.ForeignKey(
        "layers.Department", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    to_department = models.ForeignKey(
        "layers.Department", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    public_note = models.TextField(_("public note"), blank=True)
    internal_note = models.TextField(_("internal note"), blank=True)
    data = models.JSONField(default=dict, blank=True)
    created = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["created", "id"]
        indexes = [models.Index(fields=["report", "created"], name="event_report_created")]
        verbose_name = _("report event")
        verbose_name_plural = _("report events")

    @property
    def is_public(self) -> bool:
        return bool(self.public_note) or (
            self.type == self.Type.STATUS and self.data.get("public", True)
        ) or self.type in (self.Type.CREATED, self.Type.REASSIGNED)


class Comment(models.Model):
    """A public comment under a report, by a resident or staff."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    author_name = models.CharField(_("name"), max_length=200, blank=True)
    text = models.TextField(_("comment"), validators=[MaxLengthValidator(2000)])
    is_staff_reply = models.BooleanField(default=False)
    is_hidden = models.BooleanField(_("hidden by moderator"), default=False)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created", "id"]
        verbose_name = _("comment")
        verbose_name_plural = _("comments")


class Supporter(models.Model):
    """"Me too": one per person (account, or e-mail for visitors without one)."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="supporters")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True
    )
    email = models.EmailField(blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["report", "user"],
                condition=models.Q(user__isnull=False),
                name="supporter_user_once",
            ),
            models.UniqueConstraint(
                fields=["report", "email"],
                condition=~models.Q(email=""),
                name="supporter_email_once",
            ),
            models.CheckConstraint(
                condition=models.Q(user__isnull=False) | ~models.Q(email=""),
                name="supporter_identified",
            ),
        ]


class Subscription(models.Model):
    """Who gets e-mail on public changes of a report; each mail carries the opt-out link."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="subscriptions")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True
    )
    email = models.EmailField()
    lang = models.CharField(max_length=2, default="uk")
    token = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    is_active = models.BooleanField(default=True)
    # Visitors' addresses must be confirmed (double opt-in) before they get mail, so nobody
    # can subscribe someone else. The reporter's own address and account e-mails count as
    # confirmed.
    confirmed_at = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["report", "email"], name="subscription_once")
        ]


class IdempotencyKey(models.Model):
    """An `Idempotency-Key` a client sent with a report POST, so a retry returns the same report."""

    key = models.CharField(max_length=200)
    scope = models.CharField(max_length=200)  # "user:<id>" or "ip:<addr>"
    request_hash = models.CharField(max_length=64)
    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="+")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="idempotency_key_once")
        ]
