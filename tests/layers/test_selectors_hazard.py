"""hazard_check (the ДСНС notice before a report is sent) and who sees which zones/features."""

import pytest
from django.contrib.auth.models import AnonymousUser

from layers.models import HazardZone
from layers.selectors import (
    hazard_check,
    user_sees_restricted,
    visible_hazard_zones,
    visible_infrastructure,
)

from .. import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def zone(city) -> HazardZone:
    """A public open SHA, 400 x 400 m, centred 2 km east of the centre (edge at +2200 m)."""
    return f.HazardZoneFactory(name="Поле", geometry=f.around_centre(200, dx=2000))


@pytest.mark.parametrize(
    ("dx", "near", "inside", "distance"),
    [
        (2000, True, True, 0),  # the middle of the zone
        (2200, True, True, 0),  # on its edge
        (2250, True, False, 50),
        (2299, True, False, 99),
        (2301, False, False, None),  # 101 m away
        (5000, False, False, None),
    ],
)
def test_notice_inside_and_within_100_m(city, zone, dx, near, inside, distance):
    check = hazard_check(f.offset(city.centre, dx, 0))
    assert (check.near, check.inside) == (near, inside)
    if near:
        assert [z.pk for z in check.zones] == [zone.pk]
        assert check.zones[0].distance.m == pytest.approx(distance, abs=0.01)
        notice = check.notice
        assert notice["emergency_phone"] == "101"
        assert set(notice["title"]) == {"uk", "en"}
        assert len(notice["rules"]["uk"]) == len(notice["rules"]["en"]) == 5
        assert any("100" in rule for rule in notice["rules"]["en"])
        assert any("101" in rule for rule in notice["rules"]["uk"])
    else:
        assert (check.zones, check.notice) == ([], None)


@pytest.mark.parametrize(
    ("kind", "status"),
    [("cancelled", "open"), ("cleared", "open"), ("SHA", "closed"), ("CHA", "closed")],
)
def test_released_or_closed_zones_give_no_notice(city, kind, status):
    f.HazardZoneFactory(kind=kind, status=status, geometry=f.around_centre(200))
    check = hazard_check(city.centre)
    assert (check.near, check.notice) == (False, None)


def test_nearest_zone_first(city):
    far = f.HazardZoneFactory(name="Far", geometry=f.around_centre(50, dx=140))
    inside = f.HazardZoneFactory(name="Inside", geometry=f.around_centre(50))
    check = hazard_check(f.offset(city.centre, 10, 0))
    assert [z.pk for z in check.zones] == [inside.pk, far.pk]


@pytest.mark.parametrize(
    ("who", "listed"),
    [
        (None, False), ("anonymous", False), ("resident", False),
        ("roads", True), ("dsns", True), ("moderator", True), ("official", True),
        ("admin", True),
    ],
)
def test_a_non_public_zone_warns_everyone_but_is_listed_to_staff_only(city, users, who, listed):
    secret = f.HazardZoneFactory(name="Secret", public=False, geometry=f.around_centre(200))
    user = AnonymousUser() if who == "anonymous" else users.get(who) if who else None
    check = hazard_check(city.centre, user=user)
    # the safety notice is for everyone: safety first
    assert check.near is True and check.inside is True
    assert check.notice is not None
    assert [z.pk for z in check.zones] == ([secret.pk] if listed else [])


@pytest.mark.parametrize(
    ("who", "sees"),
    [(None, False), ("anonymous", False), ("resident", False), ("other_resident", False),
     ("roads", True), ("lighting", True), ("moderator", True), ("official", True),
     ("admin", True)],
)
def test_who_sees_restricted_layers(city, users, who, sees):
    user = AnonymousUser() if who == "anonymous" else users.get(who) if who else None
    assert user_sees_restricted(user) is sees


def test_zone_visibility(city, users):
    public = f.HazardZoneFactory(name="Public")
    secret = f.HazardZoneFactory(name="Secret", public=False)
    assert list(visible_hazard_zones(AnonymousUser())) == [public]
    assert list(visible_hazard_zones(users["resident"])) == [public]
    assert set(visible_hazard_zones(users["roads"])) == {public, secret}


def test_restricted_infrastructure_is_never_served_to_the_public(city, users):
    shelter = f.InfrastructureFeatureFactory(kind="shelter", sensitivity="public")
    substation = f.InfrastructureFeatureFactory(kind="substation", sensitivity="restricted")
    light = f.InfrastructureFeatureFactory(kind="streetlight", sensitivity="public")
    assert set(visible_infrastructure(AnonymousUser())) == {shelter, light}
    assert set(visible_infrastructure(users["resident"])) == {shelter, light}
    assert set(visible_infrastructure(users["lighting"])) == {shelter, substation, light}
    assert list(visible_infrastructure(AnonymousUser(), kind="substation")) == []
    assert set(visible_infrastructure(users["admin"], kind="substation,streetlight")) == {
        substation, light}
