"""Shared fixtures: a small real city (PostGIS), users for every role, API clients."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from layers.models import Department, District, ResponsibilityArea, ServiceArea
from reports.models import Category

from . import factories as f

pytest_plugins = ["tests.browser", "tests.db"]


@pytest.fixture(autouse=True)
def _clear_cache():
    """Throttle counters and tile caches must not leak between tests."""
    cache.clear()
    yield
    cache.clear()


@dataclass
class City:
    """A 20 x 20 km service area split into a west and an east district.

    - roads handles `pothole` citywide; lighting handles `streetlight` citywide;
    - `parks` handles `fallen-tree` in the west only; nobody handles `graffiti`;
    - ДСНС (`dsns`) is the emergency service; `explosive` is the hazard category.
    """

    service_area: ServiceArea
    west: District
    east: District
    roads: Department
    lighting: Department
    parks: Department
    dsns: Department
    pothole: Category
    streetlight: Category
    fallen_tree: Category
    graffiti: Category
    explosive: Category
    areas: dict[str, ResponsibilityArea] = field(default_factory=dict)

    @property
    def centre(self):
        return f.centre()


@pytest.fixture
def city(db) -> City:
    c = f.centre()
    service_area = f.ServiceAreaFactory(geometry=f.square(c.x, c.y, 10_000))
    west = f.DistrictFactory(code="west", name_uk="Західний", name_en="West",
                             geometry=f.rect(c.x - 10_000, c.y - 10_000, c.x, c.y + 10_000))
    east = f.DistrictFactory(code="east", name_uk="Східний", name_en="East",
                             geometry=f.rect(c.x, c.y - 10_000, c.x + 10_000, c.y + 10_000))
    roads = f.DepartmentFactory(code="roads", name_uk="Міськдор", name_en="City Roads")
    lighting = f.DepartmentFactory(code="lighting", name_uk="Міськсвітло", name_en="City Light")
    parks = f.DepartmentFactory(code="parks", name_uk="Зеленбуд", name_en="Parks")
    dsns = f.DepartmentFactory(code="dsns", name_uk="ДСНС", name_en="SES",
                               kind=Department.Kind.STATE, is_emergency_service=True)
    group = f.CategoryGroupFactory(code="infra")
    pothole = f.CategoryFactory(service_code="pothole", group=group, name_uk="Яма",
                                name_en="Pothole")
    streetlight = f.CategoryFactory(service_code="streetlight", group=group,
                                    name_uk="Ліхтар", name_en="Streetlight")
    fallen_tree = f.CategoryFactory(service_code="fallen-tree", group=group,
                                    name_uk="Дерево", name_en="Fallen tree")
    graffiti = f.CategoryFactory(service_code="graffiti", group=group, name_uk="Графіті",
                                 name_en="Graffiti")
    explosive = f.CategoryFactory(service_code="explosive", group=group,
                                  name_uk="Вибухонебезпечний предмет",
                                  name_en="Explosive object", is_hazard=True, sla_hours=6)
    city = City(service_area, west, east, roads, lighting, parks, dsns, pothole, streetlight,
                fallen_tree, graffiti, explosive)
    city.areas["roads"] = f.ResponsibilityAreaFactory(
        department=roads, name="Roads citywide", geometry=service_area.geometry,
        categories=[pothole])
    city.areas["lighting"] = f.ResponsibilityAreaFactory(
        department=lighting, name="Lighting citywide", geometry=service_area.geometry,
        categories=[streetlight])
    city.areas["parks-west"] = f.ResponsibilityAreaFactory(
        department=parks, name="Parks west", geometry=west.geometry, categories=[fallen_tree])
    return city


@pytest.fixture
def api() -> APIClient:
    return APIClient()


def _user(username: str, *, groups=(), department=None, is_head=False, superuser=False):
    user = f.UserFactory(username=username, groups=list(groups))
    if superuser:
        user.is_superuser = user.is_staff = True
        user.save()
    if department is not None:
        f.MembershipFactory(user=user, department=department, is_head=is_head)
    return user


@pytest.fixture
def users(city):
    """One user per role. Department staff: roads and lighting clerks, a ДСНС officer."""
    return {
        "resident": _user("resident", groups=["resident"]),
        "other_resident": _user("other_resident", groups=["resident"]),
        "roads": _user("staff.roads", department=city.roads),
        "roads_head": _user("head.roads", department=city.roads, is_head=True),
        "lighting": _user("staff.lighting", department=city.lighting),
        "dsns": _user("staff.dsns", department=city.dsns),
        "moderator": _user("moderator", groups=["moderator"]),
        "official": _user("official", groups=["official"]),
        "admin": _user("admin", superuser=True),
    }
