"""`geocity_route()` v2, and `geocity_route_one()` for single points with a cached plan.

Measured by benchmarks/routing.py (2,000 polygons):

- A SQL function called with literal arguments is inlined and re-planned on every call; with
  client-side binding (settings: no server-side prepare) planning the v1 body cost ~0.9 ms
  against ~0.3 ms of execution. `geocity_route_one()` is a PL/pgSQL wrapper: PL/pgSQL keeps
  the plan of its query per connection (a generic plan after five calls: every probe is an
  index scan either way), so single-point routing pays execution only. The bulk re-route and
  the report generator keep calling the SQL function through LATERAL: one plan per
  statement, inlined per row.
- v1 ran up to three geometry operations per candidate area (ST_DWithin, ST_Intersects,
  ST_Distance). v2 computes ST_Distance once (0 means the point is inside or on the border,
  exactly ST_Intersects for a point) behind the same index condition, and picks the area in
  one ordered scan: containing areas first (highest priority, then smallest area, then
  oldest), else the nearest within the tolerance.
- Output: as v1, except that `border_*` is only set when no area contains the point (v1 also
  filled it with the nearest area, unused by every caller, since rule 3 wins over rule 4).
"""

from importlib import import_module

from django.db import migrations

CREATE_V1 = import_module("layers.migrations.0002_routing_function").CREATE

COLUMNS = """
    inside_service_area boolean,
    district_id bigint,
    hazard_zone_ids bigint[],
    emergency_department_id bigint,
    area_id bigint,
    area_department_id bigint,
    border_area_id bigint,
    border_department_id bigint,
    border_distance double precision
"""

CREATE = r"""
CREATE OR REPLACE FUNCTION geocity_route(
    p_point geometry,
    p_category_id bigint,
    p_on date,
    p_tolerance double precision,
    p_hazard_buffer double precision
) RETURNS TABLE (""" + COLUMNS + r""")
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    WITH matching AS MATERIALIZED (
        -- ST_Distance once per candidate: 0 = inside or on the border (ST_Intersects).
        SELECT ra.id, ra.department_id, ra.priority, ra.geometry,
               ST_Distance(ra.geometry, p_point) AS distance
        FROM layers_responsibilityarea ra
        JOIN layers_department d ON d.id = ra.department_id AND d.is_active
        WHERE ra.geometry && ST_Expand(p_point, p_tolerance)
          AND (ra.valid_from IS NULL OR ra.valid_from <= p_on)
          AND (ra.valid_to IS NULL OR ra.valid_to >= p_on)
          AND (
              NOT EXISTS (
                  SELECT 1 FROM layers_responsibilityarea_categories c
                  WHERE c.responsibilityarea_id = ra.id
              )
              OR EXISTS (
                  SELECT 1 FROM layers_responsibilityarea_categories c
                  WHERE c.responsibilityarea_id = ra.id AND c.category_id = p_category_id
              )
          )
    ),
    best AS (
        SELECT id, department_id, distance FROM matching
        WHERE distance <= p_tolerance
        ORDER BY distance = 0 DESC,
                 CASE WHEN distance = 0 THEN -priority END,
                 CASE WHEN distance = 0 THEN ST_Area(geometry) END,
                 distance,
                 priority DESC,
                 id
        LIMIT 1
    )
    SELECT
        (
            EXISTS (SELECT 1 FROM layers_servicearea sa WHERE ST_Intersects(sa.geometry, p_point))
            OR NOT EXISTS (SELECT 1 FROM layers_servicearea)
        ),
        (
            SELECT di.id FROM layers_district di
            WHERE ST_Intersects(di.geometry, p_point) ORDER BY di.id LIMIT 1
        ),
        (
            SELECT array_agg(hz.id ORDER BY hz.id) FROM layers_hazardzone hz
            WHERE hz.status = 'open' AND hz.kind IN ('SHA', 'CHA')
              AND ST_DWithin(hz.geometry, p_point, p_hazard_buffer)
        ),
        (
            SELECT em.id FROM layers_department em
            WHERE em.is_emergency_service AND em.is_active ORDER BY em.id LIMIT 1
        ),
        CASE WHEN b.distance = 0 THEN b.id END,
        CASE WHEN b.distance = 0 THEN b.department_id END,
        CASE WHEN b.distance > 0 THEN b.id END,
        CASE WHEN b.distance > 0 THEN b.department_id END,
        CASE WHEN b.distance > 0 THEN b.distance END
    FROM (SELECT 1) AS one
    LEFT JOIN best b ON true
$$;

CREATE OR REPLACE FUNCTION geocity_route_one(
    p_point geometry,
    p_category_id bigint,
    p_on date,
    p_tolerance double precision,
    p_hazard_buffer double precision
) RETURNS TABLE (""" + COLUMNS + r""")
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
BEGIN
    -- PL/pgSQL caches this statement's plan per connection: no re-planning per report.
    RETURN QUERY
        SELECT * FROM geocity_route(p_point, p_category_id, p_on, p_tolerance, p_hazard_buffer);
END
$$;
"""

DROP = """
DROP FUNCTION IF EXISTS geocity_route_one(geometry, bigint, date, double precision,
                                          double precision);
"""


class Migration(migrations.Migration):
    dependencies = [("layers", "0002_routing_function")]

    operations = [migrations.RunSQL(CREATE, DROP + CREATE_V1)]
