"""factory_boy factories with real geometries around the demo city's centre (Dnipro).

Geometry helpers work in the storage SRID (metres), so tests can say "10 m outside".
"""

from __future__ import annotations

import io
from datetime import timedelta

import factory
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.gis.geos import MultiPolygon, Point, Polygon
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from layers.geometry import to_storage
from layers.models import (
    AddressPoint,
    Department,
    District,
    HazardZone,
    InfrastructureFeature,
    InfrastructureLayer,
    Membership,
    ResponsibilityArea,
    ServiceArea,
)
from reports.models import Category, CategoryAttribute, CategoryGroup, Report
from reports.workflow import Status

CENTRE_LAT, CENTRE_LON = 48.4647, 35.0462


def centre() -> Point:
    return to_storage(Point(CENTRE_LON, CENTRE_LAT, srid=4326))


def offset(point: Point, dx: float = 0, dy: float = 0) -> Point:
    """`point` moved dx metres east and dy metres north (storage SRID is metric)."""
    return Point(point.x + dx, point.y + dy, srid=settings.STORAGE_SRID)


def square(cx: float, cy: float, half: float) -> MultiPolygon:
    poly = Polygon.from_bbox((cx - half, cy - half, cx + half, cy + half))
    poly.srid = settings.STORAGE_SRID
    return MultiPolygon(poly, srid=settings.STORAGE_SRID)


def rect(x1: float, y1: float, x2: float, y2: float) -> MultiPolygon:
    poly = Polygon.from_bbox((x1, y1, x2, y2))
    poly.srid = settings.STORAGE_SRID
    return MultiPolygon(poly, srid=settings.STORAGE_SRID)


def around_centre(half_m: float, dx: float = 0, dy: float = 0) -> MultiPolygon:
    c = offset(centre(), dx, dy)
    return square(c.x, c.y, half_m)


def image_file(name: str = "photo.jpg", *, size=(800, 600), fmt: str = "JPEG",
               exif: bytes | None = None, colour=(200, 120, 40)) -> SimpleUploadedFile:
    """A real encoded image as an upload."""
    buf = io.BytesIO()
    image = Image.new("RGB", size, colour)
    kwargs = {"exif": exif} if exif else {}
    image.save(buf, format=fmt, **kwargs)
    content_type = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}[fmt]
    return SimpleUploadedFile(name, buf.getvalue(), content_type=content_type)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.PostGenerationMethodCall("set_password", "pass")

    @factory.post_generation
    def groups(self, create, extracted, **kwargs):
        if create and extracted:
            for name in extracted:
                self.groups.add(Group.objects.get_or_create(name=name)[0])
        if create:
            self.save()


class CategoryGroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CategoryGroup
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"group-{n}")
    name_uk = factory.Sequence(lambda n: f"Група {n}")
    name_en = factory.Sequence(lambda n: f"Group {n}")


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category
        django_get_or_create = ("service_code",)

    group = factory.SubFactory(CategoryGroupFactory)
    service_code = factory.Sequence(lambda n: f"category-{n}")
    name_uk = factory.Sequence(lambda n: f"Категорія {n}")
    name_en = factory.Sequence(lambda n: f"Category {n}")
    sla_days = 15


class CategoryAttributeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CategoryAttribute

    category = factory.SubFactory(CategoryFactory)
    code = factory.Sequence(lambda n: f"q{n}")
    datatype = CategoryAttribute.Datatype.STRING
    description_uk = "Питання"
    description_en = "Question"


class ServiceAreaFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ServiceArea

    name_uk = "Тестове місто"
    name_en = "Test city"
    geometry = factory.LazyFunction(lambda: around_centre(10_000))


class DistrictFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = District
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"d{n}")
    name_uk = factory.Sequence(lambda n: f"Район {n}")
    name_en = factory.Sequence(lambda n: f"District {n}")
    geometry = factory.LazyFunction(lambda: around_centre(10_000))


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"dept-{n}")
    name_uk = factory.Sequence(lambda n: f"Підрозділ {n}")
    name_en = factory.Sequence(lambda n: f"Department {n}")
    kind = Department.Kind.COMMUNAL
    email = factory.LazyAttribute(lambda d: f"{d.code}@city.example.org")
    head_email = factory.LazyAttribute(lambda d: f"head.{d.code}@city.example.org")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    department = factory.SubFactory(DepartmentFactory)
    user = factory.SubFactory(UserFactory)


class ResponsibilityAreaFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ResponsibilityArea
        skip_postgeneration_save = True

    department = factory.SubFactory(DepartmentFactory)
    name = factory.Sequence(lambda n: f"Area {n}")
    geometry = factory.LazyFunction(lambda: around_centre(10_000))
    priority = 0

    @factory.post_generation
    def categories(self, create, extracted, **kwargs):
        if create and extracted:
            self.categories.set(extracted)


class HazardZoneFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = HazardZone

    name = factory.Sequence(lambda n: f"Zone {n}")
    kind = HazardZone.Kind.SHA
    status = HazardZone.Status.OPEN
    eo_types = factory.LazyFunction(lambda: ["uxo"])
    public = True
    geometry = factory.LazyFunction(lambda: around_centre(300, dx=6000, dy=6000))


class InfrastructureLayerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = InfrastructureLayer
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"layer-{n}")
    name_uk = factory.Sequence(lambda n: f"Шар {n}")
    name_en = factory.Sequence(lambda n: f"Layer {n}")


class InfrastructureFeatureFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = InfrastructureFeature

    layer = factory.SubFactory(InfrastructureLayerFactory)
    kind = InfrastructureFeature.Kind.SHELTER
    name = factory.Sequence(lambda n: f"Feature {n}")
    sensitivity = InfrastructureFeature.Sensitivity.PUBLIC
    geometry = factory.LazyFunction(centre)


class AddressPointFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AddressPoint

    street_uk = "вулиця Тестова"
    street_en = "Testova Street"
    house_number = factory.Sequence(lambda n: str(n + 1))
    search_text = factory.LazyAttribute(
        lambda a: f"{a.street_uk} {a.house_number} {a.street_en} {a.house_number}".lower()
    )
    location = factory.LazyFunction(centre)


class ReportFactory(factory.django.DjangoModelFactory):
    """A report written directly (no routing, no events); use services for behaviour."""

    class Meta:
        model = Report

    location = factory.LazyFunction(centre)
    description = factory.Sequence(lambda n: f"Problem {n}")
    category = factory.SubFactory(CategoryFactory)
    status = Status.ASSIGNED
    department = factory.SubFactory(DepartmentFactory)
    created = factory.LazyFunction(timezone.now)
    updated = factory.LazyAttribute(lambda r: r.created)
    assigned_at = factory.LazyAttribute(lambda r: r.created)
    due_at = factory.LazyAttribute(lambda r: r.created + timedelta(days=15))
    contact_email = factory.Sequence(lambda n: f"reporter{n}@private.example.org")
    contact_phone = factory.Sequence(lambda n: f"+38050{n:07d}")
    contact_name = factory.Sequence(lambda n: f"Reporter {n}")
