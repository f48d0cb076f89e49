"""`geocity_route_report()`: `route_report`'s one round trip, with a cached plan.

The facts of `geocity_route()` plus the objects the decision needs (the emergency
department, the chosen area and its department) as JSON rows. Being PL/pgSQL, its plan is
kept per connection: planning the joins on every report cost about as much as executing
them (benchmarks/routing.py). `to_jsonb(row)` follows the table's columns, so a new model
field needs no change here.
"""

from importlib import import_module

from django.db import migrations

COLUMNS = import_module("layers.migrations.0003_routing_function_v2").COLUMNS

CREATE = r"""
CREATE OR REPLACE FUNCTION geocity_route_report(
    p_point geometry,
    p_category_id bigint,
    p_on date,
    p_tolerance double precision,
    p_hazard_buffer double precision
) RETURNS TABLE (""" + COLUMNS + r""",
    emergency_department jsonb,
    area jsonb,
    area_department jsonb
)
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
BEGIN
    RETURN QUERY
        SELECT g.*,
               to_jsonb(em),
               CASE WHEN a.id IS NOT NULL THEN jsonb_build_object(
                   'id', a.id, 'name', a.name, 'priority', a.priority,
                   'department_id', a.department_id) END,
               to_jsonb(ad)
        FROM geocity_route(p_point, p_category_id, p_on, p_tolerance, p_hazard_buffer) g
        LEFT JOIN layers_department em ON em.id = g.emergency_department_id
        LEFT JOIN layers_responsibilityarea a ON a.id = coalesce(g.area_id, g.border_area_id)
        LEFT JOIN layers_department ad ON ad.id = a.department_id;
END
$$;
"""

DROP = """
DROP FUNCTION IF EXISTS geocity_route_report(geometry, bigint, date, double precision,
                                             double precision);
"""


class Migration(migrations.Migration):
    dependencies = [("layers", "0003_routing_function_v2")]

    operations = [migrations.RunSQL(CREATE, DROP)]
