"""`geocity_route()`: every routing rule's spatial facts for one point, in one query.

Single-report routing (`layers.services.route_report`) and the set-based bulk re-route
(`layers.services.reports_reroute`, via LATERAL) share this function, so the two can never
disagree. It only gathers facts; the rule order and the explanations live in Python.

Arguments are in the storage SRID (metres). Parameters are always bound by the callers.
"""

from django.db import migrations

CREATE = r"""
CREATE OR REPLACE FUNCTION geocity_route(
    p_point geometry,
    p_category_id bigint,
    p_on date,
    p_tolerance double precision,
    p_hazard_buffer double precision
) RETURNS TABLE (
    inside_service_area boolean,
    district_id bigint,
    hazard_zone_ids bigint[],
    emergency_department_id bigint,
    area_id bigint,
    area_department_id bigint,
    border_area_id bigint,
    border_department_id bigint,
    border_distance double precision
)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    WITH matching AS (
        SELECT ra.id, ra.department_id, ra.priority, ra.geometry
        FROM layers_responsibilityarea ra
        JOIN layers_department d ON d.id = ra.department_id AND d.is_active
        WHERE ST_DWithin(ra.geometry, p_point, p_tolerance)
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
    containing AS (
        SELECT id, department_id FROM matching
        WHERE ST_Intersects(geometry, p_point)
        ORDER BY priority DESC, ST_Area(geometry) ASC, id
        LIMIT 1
    ),
    nearest AS (
        SELECT id, department_id, ST_Distance(geometry, p_point) AS distance FROM matching
        ORDER BY ST_Distance(geometry, p_point) ASC, priority DESC, id
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
        (SELECT id FROM containing),
        (SELECT department_id FROM containing),
        (SELECT id FROM nearest),
        (SELECT department_id FROM nearest),
        (SELECT distance FROM nearest)
$$;
"""

DROP = """
DROP FUNCTION IF EXISTS geocity_route(geometry, bigint, date, double precision, double precision);
"""


class Migration(migrations.Migration):
    dependencies = [("layers", "0001_initial")]

    operations = [migrations.RunSQL(CREATE, DROP)]
