"""Spatial layers that decide who is responsible for a point, and what is around it.

Every geometry field states its SRID: `settings.STORAGE_SRID`, a metric projection, so
distances and areas are in metres without casts.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GistIndex
from django.utils import translation
from django.utils.translation import gettext_lazy as _

SRID = settings.STORAGE_SRID


class LocalizedNameMixin:
    """`name` in the active language (uk first), falling back to Ukrainian."""

    name_uk: str
    name_en: str

    @property
    def name(self) -> str:
        if translation.get_language() == "en" and self.name_en:
            return self.name_en
        return self.name_uk

    def __str__(self) -> str:
        return self.name


class ServiceArea(LocalizedNameMixin, models.Model):
    """The municipality's boundary; reports outside it are refused."""

    code = models.CharField(_("КАТОТТГ code"), max_length=32, blank=True)
    name_uk = models.CharField(_("name (uk)"), max_length=200)
    name_en = models.CharField(_("name (en)"), max_length=200, blank=True)
    geometry = models.MultiPolygonField(srid=SRID)

    class Meta:
        verbose_name = _("service area")
        verbose_name_plural = _("service areas")


class District(LocalizedNameMixin, models.Model):
    code = models.CharField(_("code"), max_length=32, unique=True)
    name_uk = models.CharField(_("name (uk)"), max_length=200)
    name_en = models.CharField(_("name (en)"), max_length=200, blank=True)
    geometry = models.MultiPolygonField(srid=SRID)

    class Meta:
        ordering = ["name_uk"]
        verbose_name = _("district")
        verbose_name_plural = _("districts")


class Department(LocalizedNameMixin, models.Model):
    """A municipal department, communal enterprise or state service that fixes problems."""

    class Kind(models.TextChoices):
        MUNICIPAL = "municipal", _("Municipal department")
        COMMUNAL = "communal", _("Communal enterprise")
        STATE = "state", _("State service")
        DISTRICT = "district", _("District administration")

    code = models.SlugField(_("code"), max_length=64, unique=True)
    name_uk = models.CharField(_("name (uk)"), max_length=200)
    name_en = models.CharField(_("name (en)"), max_length=200, blank=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.MUNICIPAL)
    email = models.EmailField(_("contact e-mail"), blank=True)
    phone = models.CharField(_("phone"), max_length=64, blank=True)
    head_name = models.CharField(_("head"), max_length=200, blank=True)
    head_email = models.EmailField(_("head's e-mail"), blank=True)
    is_emergency_service = models.BooleanField(
        _("emergency service (ДСНС)"),
        default=False,
        help_text=_("Explosive-ordnance reports always go to this department."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    last_digest_at = models.DateTimeField(null=True, blank=True, editable=False)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Membership", related_name="departments", blank=True
    )

    class Meta:
        ordering = ["name_uk"]
        verbose_name = _("department")
        verbose_name_plural = _("departments")


class Membership(models.Model):
    """A staff member of a department; heads get escalations."""

    department = models.ForeignKey(Department, on_delete=models.CASCADE)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    is_head = models.BooleanField(_("head of department"), default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["department", "user"], name="membership_unique")
        ]
        verbose_name = _("department membership")
        verbose_name_plural = _("department memberships")

    def __str__(self) -> str:
        return f"{self.user} @ {self.department.code}"


class ResponsibilityArea(models.Model):
    """Where a department handles some (or all) categories, between two dates."""

    department = models.ForeignKey(
        Department, on_delete=models.CASCADE, related_name="responsibility_areas"
    )
    name = models.CharField(_("name"), max_length=200, blank=True)
    categories = models.ManyToManyField(
        "reports.Category",
        blank=True,
        related_name="responsibility_areas",
        help_text=_("Empty means every category."),
    )
    priority = models.IntegerField(
        _("priority"), default=0, help_text=_("Higher wins where areas overlap.")
    )
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_to = models.DateField(_("valid to"), null=True, blank=True)
    geometry = models.MultiPolygonField(srid=SRID)

    class Meta:
        verbose_name = _("responsibility area")
        verbose_name_plural = _("responsibility areas")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(valid_to__isnull=True)
                | models.Q(valid_from__isnull=True)
                | models.Q(valid_to__gte=models.F("valid_from")),
                name="responsibility_valid_range",
            )
        ]

    def __str__(self) -> str:
        return self.name or f"{self.department.code} #{self.pk}"


class HazardZone(models.Model):
    """A mine-hazard area in IMAS terms (GICHD minimum data set)."""

    class Kind(models.TextChoices):
        SHA = "SHA", _("Suspected hazardous area (SHA)")
        CHA = "CHA", _("Confirmed hazardous area (CHA)")
        CANCELLED = "cancelled", _("Cancelled (non-technical survey)")
        CLEARED = "cleared", _("Cleared")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")

    class EOType(models.TextChoices):
        LANDMINE = "landmine", _("Landmine")
        UXO = "uxo", _("Unexploded ordnance (UXO)")
        AXO = "axo", _("Abandoned ordnance (AXO)")
        CLUSTER = "cluster", _("Cluster munition")
        IED = "ied", _("Improvised explosive device (IED)")

    name = models.CharField(_("name"), max_length=200)
    external_id = models.CharField(_("source id"), max_length=64, blank=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default="open")
    eo_types = ArrayField(
        models.CharField(max_length=16, choices=EOType.choices),
        default=list,
        blank=True,
        verbose_name=_("explosive ordnance types"),
    )
    source_org = models.CharField(_("surveying organisation"), max_length=200, blank=True)
    survey_date = models.DateField(_("survey date"), null=True, blank=True)
    marking = models.CharField(_("marking"), max_length=200, blank=True)
    public = models.BooleanField(_("public"), default=True)
    is_demo = models.BooleanField(
        _("fictional demo data"), default=False, help_text=_("Shown with a demo-data badge.")
    )
    geometry = models.MultiPolygonField(srid=SRID)

    class Meta:
        verbose_name = _("hazard zone")
        verbose_name_plural = _("hazard zones")

    def __str__(self) -> str:
        return f"{self.kind}: {self.name}"


class InfrastructureLayer(LocalizedNameMixin, models.Model):
    """A named set of infrastructure features, e.g. "Shelters" or "Heating mains"."""

    code = models.SlugField(_("code"), max_length=64, unique=True)
    name_uk = models.CharField(_("name (uk)"), max_length=200)
    name_en = models.CharField(_("name (en)"), max_length=200, blank=True)
    colour = models.CharField(_("colour"), max_length=7, default="#555555")
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["order", "code"]
        verbose_name = _("infrastructure layer")
        verbose_name_plural = _("infrastructure layers")


class InfrastructureFeature(models.Model):
    class Kind(models.TextChoices):
        SHELTER = "shelter", _("Shelter")
        INVINCIBILITY_POINT = "invincibility_point", _("Invincibility Point")
        STREETLIGHT = "streetlight", _("Streetlight")
        TRAFFIC_LIGHT = "traffic_light", _("Traffic light")
        WATER_MAIN = "water_main", _("Water main")
        HEATING_MAIN = "heating_main", _("Heating main")
        SEWER = "sewer", _("Sewer")
        ROAD_SEGMENT = "road_segment", _("Road segment")
        SUBSTATION = "substation", _("Substation")
        OTHER = "other", _("Other")

    class ShelterType(models.TextChoices):
        """Civil Protection Code of Ukraine, art. 32."""

        STORM = "shelter", _("Сховище (blast shelter)")
        ANTI_RADIATION = "pru", _("Протирадіаційне укриття (ПРУ)")
        DUAL_USE = "dual_use", _("Споруда подвійного призначення")
        SIMPLEST = "simplest", _("Найпростіше укриття")
        RAPID = "rapid", _("Швидкоспоруджувана захисна споруда")

    class Sensitivity(models.TextChoices):
        PUBLIC = "public", _("Public")
        RESTRICTED = "restricted", _("Restricted (staff only)")

    layer = models.ForeignKey(
        InfrastructureLayer, on_delete=models.CASCADE, related_name="features"
    )
    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=200, blank=True)
    shelter_type = models.CharField(
        _("shelter type"), max_length=16, choices=ShelterType.choices, blank=True
    )
    address = models.CharField(_("address"), max_length=300, blank=True)
    attributes = models.JSONField(_("attributes"), default=dict, blank=True)
    sensitivity = models.CharField(
        _("sensitivity"), max_length=16, choices=Sensitivity.choices, default="public"
    )
    geometry = models.GeometryField(srid=SRID)

    class Meta:
        verbose_name = _("infrastructure feature")
        verbose_name_plural = _("infrastructure features")
        indexes = [models.Index(fields=["kind", "sensitivity"])]

    def __str__(self) -> str:
        return self.name or f"{self.get_kind_display()} #{self.pk}"


class AddressPoint(models.Model):
    """The local gazetteer: typed addresses resolve here, with no outside geocoder."""

    street_uk = models.CharField(_("street (uk)"), max_length=200)
    street_en = models.CharField(_("street (en)"), max_length=200, blank=True)
    house_number = models.CharField(_("house number"), max_length=32, blank=True)
    # Lower-case "street house" in both languages, for prefix and substring search.
    search_text = models.CharField(max_length=500, db_index=True)
    location = models.PointField(srid=SRID)
    # The outline of the building(s) the address belongs to, where a basemap import knows
    # it: a click anywhere on the building then names this address (address_nearest).
    footprint = models.MultiPolygonField(srid=SRID, null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("address point")
        verbose_name_plural = _("address points")
        ordering = ["street_uk", "house_number"]
        indexes = [GistIndex(fields=["footprint"], name="address_footprint_gist")]

    @property
    def label(self) -> str:
        street = (
            self.street_en if translation.get_language() == "en" and self.street_en
            else self.street_uk
        )
        return f"{street}, {self.house_number}" if self.house_number else street

    def __str__(self) -> str:
        return self.label
