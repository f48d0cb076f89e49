"""Reads and spatial queries over the layers. Sensitivity rules are applied here, once."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.gis.db.models.functions import Distance
from django.contrib.gis.geos import Point
from django.contrib.gis.measure import D
from django.db.models import QuerySet

from .models import (
    AddressPoint,
    Department,
    HazardZone,
    InfrastructureFeature,
    ServiceArea,
)
from .safety import safety_notice

ACTIVE_HAZARD_KINDS = (HazardZone.Kind.SHA, HazardZone.Kind.CHA)


def user_sees_restricted(user) -> bool:
    """Staff of any department, moderators, officials and admins see restricted layers.

    Cached on the user object: list endpoints ask several times per request.
    """
    if not user or not user.is_authenticated:
        return False
    cached = getattr(user, "_geocity_sees_restricted", None)
    if cached is None:
        cached = (
            user.is_superuser
            or user.groups.filter(name__in=("moderator", "official", "admin")).exists()
            or user.departments.exists()
        )
        user._geocity_sees_restricted = cached
    return cached


def hazard_zones_near(location: Point, *, buffer_m: float | None = None) -> QuerySet[HazardZone]:
    """Open SHA/CHA zones within `buffer_m` (default HAZARD_BUFFER_M) of `location`."""
    return (
        HazardZone.objects.filter(
            status=HazardZone.Status.OPEN,
            kind__in=ACTIVE_HAZARD_KINDS,
            geometry__dwithin=(location, D(m=buffer_m or settings.HAZARD_BUFFER_M)),
        )
        .annotate(distance=Distance("geometry", location))
        .order_by("distance", "id")
    )


@dataclass(frozen=True)
class HazardCheck:
    near: bool = False  # within the buffer of an open zone, public or not
    inside: bool = False
    zones: list[HazardZone] = field(default_factory=list)  # those the user may see
    notice: dict | None = None


def hazard_check(location: Point, *, user=None) -> HazardCheck:
    """Zones within 100 m of `location`, and the ДСНС safety notice when there are any.

    Non-public zones still trigger the notice (safety first) but are listed only to staff.
    """
    zones = list(hazard_zones_near(location))
    if not zones:
        return HazardCheck()
    visible = zones if user_sees_restricted(user) else [z for z in zones if z.public]
    return HazardCheck(
        near=True,
        inside=any(z.distance.m == 0 for z in zones),
        zones=visible,
        notice=safety_notice(),
    )


def service_area_distance_m(location: Point) -> float | None:
    """Metres from `location` to the nearest service area (0 inside); None if none defined."""
    area = (
        ServiceArea.objects.annotate(distance=Distance("geometry", location))
        .order_by("distance")
        .first()
    )
    return None if area is None else round(area.distance.m, 1)


def visible_hazard_zones(user) -> QuerySet[HazardZone]:
    qs = HazardZone.objects.all()
    return qs if user_sees_restricted(user) else qs.filter(public=True)


def visible_infrastructure(user, *, kind: str | None = None) -> QuerySet[InfrastructureFeature]:
    qs = InfrastructureFeature.objects.select_related("layer")
    if not user_sees_restricted(user):
        qs = qs.filter(sensitivity=InfrastructureFeature.Sensitivity.PUBLIC)
    if kind:
        qs = qs.filter(kind__in=[k for k in kind.split(",") if k])
    return qs


def department_list(*, active_only: bool = True) -> QuerySet[Department]:
    qs = Department.objects.all()
    return qs.filter(is_active=True) if active_only else qs


def emergency_department() -> Department | None:
    return (
        Department.objects.filter(is_emergency_service=True, is_active=True).order_by("id").first()
    )


def address_search(query: str, *, limit: int = 10) -> list[AddressPoint]:
    """Addresses whose text contains every word of `query` (case-insensitive), best first."""
    words = [w for w in query.lower().replace(",", " ").split() if w]
    if not words:
        return []
    qs = AddressPoint.objects.all()
    for word in words:
        qs = qs.filter(search_text__contains=word)
    return list(qs.order_by("street_uk", "house_number")[:limit])


def address_nearest(location: Point, *, within_m: float = 150) -> AddressPoint | None:
    """The address of the building under `location` (`footprint`, known where a basemap
    import linked buildings to their addresses), else the closest gazetteer address within
    `within_m`, for a dropped pin's address line."""
    under = AddressPoint.objects.filter(footprint__intersects=location).order_by("pk").first()
    if under is not None:
        return under
    return (
        AddressPoint.objects.filter(location__dwithin=(location, D(m=within_m)))
        .annotate(distance=Distance("location", location))
        .order_by("distance")
        .first()
    )
