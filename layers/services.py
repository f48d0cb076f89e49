"""Routing: which department is responsible for a point and a category, and why; and what
every write to a layer must announce (`layer_changed`).

`route_report` decides for one point; `reports.services.reports_reroute` re-decides every
open report no person has touched, in one set-based statement. Both read their spatial facts
from the `geocity_route()` SQL function (layers/migrations/0003), so they cannot disagree;
single points go through its plan-caching PL/pgSQL wrappers (`geocity_route_one()` for the
facts, `geocity_route_report()` for the facts and the objects, migrations 0003 and 0004).
A category is whatever the caller passes with `pk`, `is_hazard`, `name_uk` and `name_en`:
this app does not import the reports app above it.

Rules, in order:
 1. outside the service area -> OutsideServiceArea (API: 400, with the distance)
 2. hazard: an explosive-ordnance category, or within HAZARD_BUFFER_M of an open SHA/CHA
    -> the emergency-service department (ДСНС), is_hazard, urgent priority
 3. a responsibility area that contains the point, handles the category and is valid today
    -> highest priority, then the smallest area
 4. the nearest matching area within ROUTING_BORDER_TOLERANCE_M (pins on a border)
 5. otherwise the moderators' triage queue (no department)
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import date
from functools import cache, lru_cache

from django.conf import settings
from django.contrib.gis.geos import Point
from django.db import DEFAULT_DB_ALIAS, connection

from geocity.clock import city_today
from geocity.db import on_cursor
from geocity.errors import ValidationFailed
from geocity.hooks import send_on_commit

from .geometry import to_storage
from .models import Department, ResponsibilityArea
from .selectors import service_area_distance_m
from .signals import layer_data_changed

logger = logging.getLogger(__name__)

ROUTE_SQL = "SELECT * FROM geocity_route_one(%s, %s, %s, %s, %s)"

# route_report in one round trip with a cached plan (layers/migrations/0004): the facts plus
# every object the decision may need (the emergency department, the chosen area and its
# department) as JSON rows, so no query follows.
ROUTE_REPORT_SQL = "SELECT * FROM geocity_route_report(%s, %s, %s, %s, %s)"


class OutsideServiceArea(ValidationFailed):
    code = "outside_service_area"


# The rule names are stored on reports (Report.RoutingRule); kept as plain strings here so the
# layers app does not import the reports app.
RULE_HAZARD_CATEGORY = "hazard_category"
RULE_HAZARD_ZONE = "hazard_zone"
RULE_AREA = "area"
RULE_BORDER = "border"
RULE_TRIAGE = "triage"


@dataclass(frozen=True)
class RoutingDecision:
    rule: str
    department: Department | None
    explanation_uk: str
    explanation_en: str
    district_id: int | None = None
    area_id: int | None = None
    is_hazard: bool = False
    hazard_zone_ids: list[int] = field(default_factory=list)

    def as_dict(self) -> dict:
        dep = self.department
        return {
            "rule": self.rule,
            "department": (
                {"code": dep.code, "name_uk": dep.name_uk, "name_en": dep.name_en}
                if dep
                else None
            ),
            "explanation": {"uk": self.explanation_uk, "en": self.explanation_en},
            "is_hazard": self.is_hazard,
        }


def _explain(rule: str, *, department: Department | None, category, area_name: str = "",
             distance: float | None = None) -> tuple[str, str]:
    dep_uk = department.name_uk if department else ""
    dep_en = (department.name_en or department.name_uk) if department else ""
    cat_uk, cat_en = category.name_uk, category.name_en or category.name_uk
    if rule == RULE_HAZARD_CATEGORY:
        return (
            f"Категорія «{cat_uk}» — можливий вибухонебезпечний предмет: такі повідомлення "
            f"завжди передаються до {dep_uk or 'ДСНС'}.",
            f"Category “{cat_en}” is a suspected explosive object: such reports always go to "
            f"{dep_en or 'the State Emergency Service'}.",
        )
    if rule == RULE_HAZARD_ZONE:
        buffer = settings.HAZARD_BUFFER_M
        return (
            f"Точка лежить у межах або ближче ніж {buffer} м від відкритої зони мінної "
            f"небезпеки, тому повідомлення передано до {dep_uk or 'ДСНС'}.",
            f"The point lies inside or within {buffer} m of an open mine-hazard zone, so the "
            f"report goes to {dep_en or 'the State Emergency Service'}.",
        )
    if rule == RULE_AREA:
        return (
            f"Точка в зоні відповідальності «{area_name}» ({dep_uk}) для категорії «{cat_uk}».",
            f"The point lies in the responsibility area “{area_name}” ({dep_en}) for the "
            f"category “{cat_en}”.",
        )
    if rule == RULE_BORDER:
        return (
            f"Точка за {distance:.0f} м від зони відповідальності «{area_name}» ({dep_uk}); "
            f"в межах допуску {settings.ROUTING_BORDER_TOLERANCE_M} м її віднесено до цієї зони.",
            f"The point is {distance:.0f} m from the responsibility area “{area_name}” "
            f"({dep_en}); within the {settings.ROUTING_BORDER_TOLERANCE_M} m tolerance it "
            f"belongs to that area.",
        )
    return (
        f"Жоден підрозділ не відповідає за категорію «{cat_uk}» у цій точці: повідомлення "
        f"чекає на розподіл модератором.",
        f"No department handles “{cat_en}” at this point: the report waits in the "
        f"moderators' triage queue.",
    )


@dataclass(frozen=True)
class RouteFacts:
    """One row of geocity_route(): the spatial facts the rules are decided from."""

    inside: bool
    district_id: int | None
    hazard_zone_ids: list[int]
    emergency_department_id: int | None
    area_id: int | None
    area_department_id: int | None
    border_area_id: int | None
    border_department_id: int | None
    border_distance: float | None

    @classmethod
    def from_row(cls, row) -> RouteFacts:
        values = list(row)
        values[2] = list(values[2] or [])
        return cls(*values)


def route_facts(point: Point, category_id: int, on_date: date) -> RouteFacts:
    with connection.cursor() as cursor:
        cursor.execute(
            ROUTE_SQL,
            [
                point.ewkb,
                category_id,
                on_date,
                float(settings.ROUTING_BORDER_TOLERANCE_M),
                float(settings.HAZARD_BUFFER_M),
            ],
        )
        return RouteFacts.from_row(cursor.fetchone())


def decide_rule(facts: RouteFacts, *,
                is_hazard_category: bool) -> tuple[str, int | None, int | None]:
    """The rule order (module docstring) applied to the facts: (rule, department id, area id).

    Precondition: the point is inside the service area.
    """
    if is_hazard_category:
        return RULE_HAZARD_CATEGORY, facts.emergency_department_id, None
    if facts.hazard_zone_ids:
        return RULE_HAZARD_ZONE, facts.emergency_department_id, None
    if facts.area_id:
        return RULE_AREA, facts.area_department_id, facts.area_id
    if facts.border_area_id:
        return RULE_BORDER, facts.border_department_id, facts.border_area_id
    return RULE_TRIAGE, None, None


def decision_from_facts(facts: RouteFacts, category, *, departments=None,
                        areas=None) -> RoutingDecision:
    """Build the decision with its explanations. `departments`/`areas` are optional
    {id: object} caches for bulk callers (an area may be given as its label, str(area));
    missing ones are loaded by primary key."""
    rule, department_id, area_id = decide_rule(facts, is_hazard_category=category.is_hazard)
    department = None
    if department_id:
        department = (departments or {}).get(department_id) or Department.objects.get(
            pk=department_id
        )
    area = None
    if area_id:
        area = (areas or {}).get(area_id) or ResponsibilityArea.objects.get(pk=area_id)
    is_hazard = rule in (RULE_HAZARD_CATEGORY, RULE_HAZARD_ZONE)
    if is_hazard and department is None:
        logger.error("No emergency-service department configured; hazard report to triage")
    uk, en = _explain(rule, department=department, category=category,
                      area_name=str(area) if area else "",
                      distance=facts.border_distance if rule == RULE_BORDER else None)
    return RoutingDecision(rule, department, uk, en, district_id=facts.district_id,
                           area_id=area_id, is_hazard=is_hazard,
                           hazard_zone_ids=facts.hazard_zone_ids if is_hazard else [])


def route_report(*, location: Point, category, on_date: date | None = None) -> RoutingDecision:
    """Decide the responsible department for a report at `location` of `category`.

    Raises OutsideServiceArea (with `distance_m`) for points outside every service area.
    """
    # No copy when the point is already in storage coordinates: it is only read here.
    point = location if location.srid == settings.STORAGE_SRID else to_storage(location)
    params = [point.ewkb, category.pk, on_date or city_today(),
              float(settings.ROUTING_BORDER_TOLERANCE_M), float(settings.HAZARD_BUFFER_M)]

    def fetch(cursor):
        cursor.execute(ROUTE_REPORT_SQL, params)
        return cursor.fetchone()

    row = on_cursor(fetch)  # every report is routed: the driver's cursor (geocity.db)
    facts = RouteFacts.from_row(row[:_FACTS])
    if not facts.inside:
        distance = service_area_distance_m(point)
        raise OutsideServiceArea(
            f"The location is outside the service area ({distance:.0f} m from its boundary).",
            fields={"location": ["Outside the service area."]},
            extra={"distance_m": distance},
        )
    rule = decide_rule(facts, is_hazard_category=category.is_hazard)[0]
    departments, areas = _joined_objects(
        row, DEFAULT_DB_ALIAS, hazard=rule in (RULE_HAZARD_CATEGORY, RULE_HAZARD_ZONE))
    return decision_from_facts(facts, category, departments=departments, areas=areas)


_FACTS = 9  # geocity_route's columns


# Field types whose JSON form is text that the model wants as a Python object.
_JSON_TEXT_TYPES = frozenset({"DateTimeField", "DateField", "TimeField", "DecimalField",
                              "UUIDField", "DurationField"})


@cache
def _json_fields(model) -> tuple[tuple, ...]:
    return tuple((f.column, f.attname, f.get_internal_type() in _JSON_TEXT_TYPES, f)
                 for f in model._meta.concrete_fields)


@lru_cache(maxsize=512)
def _json_values(model, text: str) -> tuple[tuple[str, ...], tuple]:
    """(attnames, values) of a `to_jsonb(row)`; the same rows recur (a few departments)."""
    data = json.loads(text)
    names, values = [], []
    for column, attname, convert, model_field in _json_fields(model):
        if column in data:
            value = data[column]
            names.append(attname)
            values.append(model_field.to_python(value) if convert and value is not None
                          else value)
    return tuple(names), tuple(values)


def _from_json(model, text: str | None, alias: str):
    """A new model instance from a `to_jsonb(row)`; fields absent from the JSON are deferred."""
    if text is None:
        return None
    if not isinstance(text, str):  # a driver that already decoded the JSON
        text = json.dumps(text)
    names, values = _json_values(model, text)
    return model.from_db(alias, list(names), list(values))


def _joined_objects(row, alias: str, *, hazard: bool) -> tuple[dict, dict]:
    """What the decision uses of the rows geocity_route_report() returned with the facts:
    the emergency department for a hazard, else the area's department and the area's label
    (its str(): the explanation needs nothing else of it)."""
    emergency, area_json, area_department = row[_FACTS:_FACTS + 3]
    departments: dict[int, Department] = {}
    areas: dict[int, str] = {}
    if hazard:
        department = _from_json(Department, emergency, alias)
        if department is not None:
            departments[department.pk] = department
        return departments, areas
    if area_json is not None:
        department = _from_json(Department, area_department, alias)
        departments[department.pk] = department
        area = json.loads(area_json) if isinstance(area_json, str) else area_json
        areas[area["id"]] = area["name"] or f"{department.code} #{area['id']}"
    return departments, areas


# --- Layer changes ------------------------------------------------------------------------

# Layers routing reads: after they change, untouched open reports are re-routed.
ROUTING_LAYERS = frozenset({"service-area", "responsibility", "hazard"})


def layer_changed(*, layer: str) -> bool:
    """Announce, after the commit, that a map layer's data changed (admin edit, import,
    delete): `layers.signals.layer_data_changed` with the layer's import name and whether
    routing reads it. The apps above act on it (tile caches, re-routing of the reports).
    Returns whether routing reads the layer. Precondition: called inside the writing
    transaction, so nothing is announced if it rolls back.
    """
    routing = layer in ROUTING_LAYERS
    send_on_commit(layer_data_changed, sender=layer_changed, layer=layer, routing=routing)
    return routing
