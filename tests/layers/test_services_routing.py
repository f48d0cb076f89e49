"""route_report: every routing rule, on a real PostGIS city (tests/conftest.py `city`).

The city: a 20 x 20 km service area around the centre, west/east districts split at the
centre's x; roads handle potholes and lighting streetlights citywide, parks handle fallen
trees in the west only, nobody handles graffiti, ДСНС is the emergency service.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from layers.models import HazardZone
from layers.services import (
    RULE_AREA,
    RULE_BORDER,
    RULE_HAZARD_CATEGORY,
    RULE_HAZARD_ZONE,
    RULE_TRIAGE,
    OutsideServiceArea,
    route_report,
)

from .. import factories as f

pytestmark = pytest.mark.django_db


# --- Borders --------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("dx", "rule", "department"),
    [
        (-10, RULE_AREA, "parks"),  # 10 m inside the west district
        (0, RULE_AREA, "parks"),  # exactly on the west area's eastern edge
        (10, RULE_BORDER, "parks"),  # 10 m outside: within the 30 m tolerance
        (29, RULE_BORDER, "parks"),
        (31, RULE_TRIAGE, None),  # beyond the tolerance: nobody handles fallen trees there
    ],
)
def test_point_on_or_near_an_area_border(city, dx, rule, department):
    # given a fallen tree dx metres east of the parks area's eastern edge (the centre line)
    location = f.offset(city.centre, dx, 1000)
    # when it is routed
    decision = route_report(location=location, category=city.fallen_tree)
    # then the area, the border tolerance or triage decides
    assert decision.rule == rule
    assert (decision.department.code if decision.department else None) == department


def test_border_decision_explains_the_distance(city):
    decision = route_report(location=f.offset(city.centre, 10, 0), category=city.fallen_tree)
    assert decision.area_id == city.areas["parks-west"].pk
    assert "10 m" in decision.explanation_en and "Parks west" in decision.explanation_en
    assert "10 м" in decision.explanation_uk


@pytest.mark.parametrize("dx", [0, -10])
def test_point_on_the_service_area_boundary_is_inside(city, dx):
    # given a pothole exactly on (or just inside) the eastern city limit
    location = f.offset(city.centre, 10_000 + dx, 0)
    decision = route_report(location=location, category=city.pothole)
    assert decision.rule == RULE_AREA
    assert decision.department == city.roads


@pytest.mark.parametrize("outside_m", [10, 500, 2500])
def test_outside_the_service_area_reports_the_distance(city, outside_m):
    # given a point `outside_m` metres north of the city limit
    location = f.offset(city.centre, 0, 10_000 + outside_m)
    with pytest.raises(OutsideServiceArea) as err:
        route_report(location=location, category=city.pothole)
    # then the error carries the distance to the boundary, in metres
    assert err.value.code == "outside_service_area"
    assert err.value.extra["distance_m"] == pytest.approx(outside_m, abs=0.5)
    assert f"{outside_m} m" in err.value.message


def test_the_district_is_recorded(city):
    west = route_report(location=f.offset(city.centre, -500, 0), category=city.pothole)
    east = route_report(location=f.offset(city.centre, 500, 0), category=city.pothole)
    assert (west.district_id, east.district_id) == (city.west.pk, city.east.pk)


# --- Overlaps ------------------------------------------------------------------------------

def test_higher_priority_wins_over_a_smaller_area(city):
    # given a small district area (priority 0) and a citywide contractor (priority 5)
    small = f.ResponsibilityAreaFactory(department=f.DepartmentFactory(code="district-roads"),
                                        geometry=f.around_centre(1000), categories=[city.pothole])
    big = f.ResponsibilityAreaFactory(department=f.DepartmentFactory(code="contractor"),
                                      geometry=f.around_centre(9000), categories=[city.pothole],
                                      priority=5)
    decision = route_report(location=city.centre, category=city.pothole)
    assert decision.area_id == big.pk
    assert decision.department.code == "contractor"
    assert small.pk != decision.area_id


def test_equal_priority_the_smallest_area_wins(city):
    # given the citywide roads area and a smaller one, both priority 0, both for potholes
    small = f.ResponsibilityAreaFactory(department=f.DepartmentFactory(code="district-roads"),
                                        name="Centre roads", geometry=f.around_centre(1000),
                                        categories=[city.pothole])
    inside = route_report(location=city.centre, category=city.pothole)
    outside = route_report(location=f.offset(city.centre, 2000, 0), category=city.pothole)
    assert (inside.area_id, inside.department.code) == (small.pk, "district-roads")
    assert (outside.area_id, outside.department) == (city.areas["roads"].pk, city.roads)


def test_identical_areas_tie_break_on_the_oldest(city):
    first = f.ResponsibilityAreaFactory(department=f.DepartmentFactory(code="first"),
                                        geometry=f.around_centre(800), categories=[city.pothole])
    f.ResponsibilityAreaFactory(department=f.DepartmentFactory(code="second"),
                                geometry=f.around_centre(800), categories=[city.pothole])
    for _ in range(3):  # stable, not whatever the planner returns first
        assert route_report(location=city.centre, category=city.pothole).area_id == first.pk


def test_an_area_without_categories_handles_every_category(city):
    everything = f.ResponsibilityAreaFactory(department=f.DepartmentFactory(code="housing"),
                                             geometry=f.around_centre(500))
    decision = route_report(location=city.centre, category=city.graffiti)
    assert (decision.rule, decision.area_id) == (RULE_AREA, everything.pk)


def test_an_area_of_an_inactive_department_is_ignored(city):
    city.parks.is_active = False
    city.parks.save(update_fields=["is_active"])
    decision = route_report(location=f.offset(city.centre, -500, 0), category=city.fallen_tree)
    assert decision.rule == RULE_TRIAGE


# --- Triage ---------------------------------------------------------------------------------

def test_a_category_nobody_handles_goes_to_triage(city):
    decision = route_report(location=city.centre, category=city.graffiti)
    assert decision.rule == RULE_TRIAGE
    assert decision.department is None
    assert decision.is_hazard is False
    assert "triage" in decision.explanation_en
    assert "модератором" in decision.explanation_uk


def test_a_category_handled_elsewhere_only_goes_to_triage_here(city):
    # parks handle fallen trees in the west; the east has nobody for them
    decision = route_report(location=f.offset(city.centre, 3000, 0), category=city.fallen_tree)
    assert decision.rule == RULE_TRIAGE


# --- Validity dates ---------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("valid_from", "valid_to", "applies"),
    [
        (None, -1, False),  # expired yesterday
        (-30, -1, False),
        (None, 0, True),  # the last valid day is today
        (1, None, False),  # starts tomorrow
        (0, None, True),  # starts today
        (-10, 10, True),
    ],
)
def test_validity_dates(city, valid_from, valid_to, applies):
    today = timezone.localdate()
    area = f.ResponsibilityAreaFactory(
        department=f.DepartmentFactory(code="seasonal"), geometry=f.around_centre(500),
        categories=[city.pothole], priority=10,
        valid_from=None if valid_from is None else today + timedelta(days=valid_from),
        valid_to=None if valid_to is None else today + timedelta(days=valid_to),
    )
    decision = route_report(location=city.centre, category=city.pothole)
    assert (decision.area_id == area.pk) is applies
    if not applies:
        assert decision.department == city.roads


def test_routing_on_another_date_uses_that_dates_areas(city):
    today = timezone.localdate()
    winter = f.ResponsibilityAreaFactory(
        department=f.DepartmentFactory(code="winter"), geometry=f.around_centre(500),
        categories=[city.pothole], priority=10,
        valid_from=today + timedelta(days=30), valid_to=today + timedelta(days=120))
    later = route_report(location=city.centre, category=city.pothole,
                         on_date=today + timedelta(days=60))
    now = route_report(location=city.centre, category=city.pothole)
    assert later.area_id == winter.pk
    assert now.area_id == city.areas["roads"].pk


# --- Hazard ---------------------------------------------------------------------------------

def test_a_hazard_category_always_goes_to_the_emergency_service(city):
    # given an explosive object inside the roads and lighting areas
    decision = route_report(location=f.offset(city.centre, -200, 300), category=city.explosive)
    assert decision.rule == RULE_HAZARD_CATEGORY
    assert decision.department == city.dsns
    assert decision.is_hazard is True
    assert "ДСНС" in decision.explanation_uk


def _zone(city, **kwargs) -> HazardZone:
    # a 600 x 600 m zone whose eastern edge is 2 km east of the centre
    defaults = {"geometry": f.around_centre(300, dx=1700, dy=0)}
    return f.HazardZoneFactory(**{**defaults, **kwargs})


@pytest.mark.parametrize(
    ("dx", "hazard"),
    [
        (1700, True),  # the zone's centre
        (2000, True),  # on its edge
        (2050, True),  # 50 m outside
        (2099, True),  # 99 m outside
        (2101, False),  # 101 m outside: not near
        (2500, False),
    ],
)
def test_an_open_hazard_zone_overrides_inside_and_within_100_m(city, dx, hazard):
    zone = _zone(city)
    decision = route_report(location=f.offset(city.centre, dx, 0), category=city.pothole)
    if hazard:
        assert decision.rule == RULE_HAZARD_ZONE
        assert decision.department == city.dsns
        assert decision.is_hazard is True
        assert decision.hazard_zone_ids == [zone.pk]
        assert "100" in decision.explanation_en
    else:
        assert decision.rule == RULE_AREA
        assert decision.department == city.roads
        assert decision.is_hazard is False


@pytest.mark.parametrize(
    ("kind", "status"),
    [
        (HazardZone.Kind.CANCELLED, HazardZone.Status.OPEN),
        (HazardZone.Kind.CLEARED, HazardZone.Status.OPEN),
        (HazardZone.Kind.SHA, HazardZone.Status.CLOSED),
        (HazardZone.Kind.CHA, HazardZone.Status.CLOSED),
    ],
)
def test_released_or_closed_zones_do_not_trigger(city, kind, status):
    _zone(city, kind=kind, status=status)
    decision = route_report(location=f.offset(city.centre, 1700, 0), category=city.pothole)
    assert decision.rule == RULE_AREA
    assert decision.is_hazard is False


def test_a_confirmed_zone_triggers_too(city):
    zone = _zone(city, kind=HazardZone.Kind.CHA)
    decision = route_report(location=f.offset(city.centre, 1700, 0), category=city.graffiti)
    assert (decision.rule, decision.hazard_zone_ids) == (RULE_HAZARD_ZONE, [zone.pk])


def test_a_non_public_zone_still_triggers(city):
    _zone(city, public=False)
    decision = route_report(location=f.offset(city.centre, 1700, 0), category=city.pothole)
    assert decision.rule == RULE_HAZARD_ZONE


def test_every_nearby_zone_is_listed(city):
    a = _zone(city)
    b = f.HazardZoneFactory(geometry=f.around_centre(100, dx=2150, dy=0))
    decision = route_report(location=f.offset(city.centre, 2050, 0), category=city.pothole)
    assert decision.hazard_zone_ids == sorted([a.pk, b.pk])


def test_hazard_without_an_emergency_department_still_flags_the_hazard(city):
    city.dsns.is_emergency_service = False
    city.dsns.save(update_fields=["is_emergency_service"])
    decision = route_report(location=city.centre, category=city.explosive)
    assert decision.rule == RULE_HAZARD_CATEGORY
    assert decision.is_hazard is True
    assert decision.department is None


def test_decision_as_dict_is_serialisable(city):
    data = route_report(location=city.centre, category=city.pothole).as_dict()
    assert data["rule"] == RULE_AREA
    assert data["department"]["code"] == "roads"
    assert set(data["explanation"]) == {"uk", "en"}


# --- One round trip -------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("dx", "category", "rule"),
    [
        (-500, "fallen_tree", RULE_AREA),
        (10, "fallen_tree", RULE_BORDER),
        (0, "explosive", RULE_HAZARD_CATEGORY),
        (0, "graffiti", RULE_TRIAGE),
    ],
)
def test_routing_is_one_query(city, django_assert_num_queries, dx, category, rule):
    location = f.offset(city.centre, dx, 0)
    with django_assert_num_queries(1):
        decision = route_report(location=location, category=getattr(city, category))
        # the explanation and the department need nothing more from the database
        text = (decision.explanation_uk, decision.department and decision.department.name)
    assert decision.rule == rule
    assert text[0]


def test_an_unnamed_area_is_explained_by_its_department(city, django_assert_num_queries):
    f.ResponsibilityAreaFactory(department=city.parks, name="", geometry=f.around_centre(300),
                                categories=[city.graffiti])
    with django_assert_num_queries(1):
        decision = route_report(location=city.centre, category=city.graffiti)
    assert "parks #" in decision.explanation_en


def test_the_department_comes_back_whole_and_typed(city):
    # the decision's department is built from the routing query's JSON row
    city.dsns.last_digest_at = timezone.now().replace(microsecond=123456)
    city.dsns.save(update_fields=["last_digest_at"])
    department = route_report(location=city.centre, category=city.explosive).department
    assert department.last_digest_at == city.dsns.last_digest_at
    assert (department.code, department.is_emergency_service, department.email) == (
        "dsns", True, city.dsns.email)
    assert department._state.adding is False
