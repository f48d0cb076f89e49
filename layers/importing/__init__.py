"""Import map layers from GIS files through GDAL: GeoJSON, Shapefile, GeoPackage, KML/KMZ.

`layer_import()` is the one entry point; `manage.py import_layer` and the admin upload page
both call it. The whole import is one transaction: every feature is checked, and if any is
refused nothing is written and `LayerImportError` lists the problems, naming the features.

Features are streamed from OGR one at a time and written with `bulk_create` in batches, so
memory stays flat however large the file is. Geometries are reprojected to STORAGE_SRID,
invalid polygons are repaired with MakeValid (or refused when MakeValid cannot keep an area),
polygons are promoted to multipolygons, and geometry types that do not fit the layer are
refused.

After a committed import of a layer that routing reads (service area, responsibility areas,
hazard zones), open reports no person has touched are re-routed by a Celery task; the
changed layer's tile cache version is bumped.

The package: `base` (layers, errors, field mapping, values), `sources` (files, geometry),
`writers` (one per layer), `runner` (`layer_import`).
"""

from .base import LAYERS, PROGRESS_MIN_FEATURES, TARGETS, LayerImportError, parse_field_map
from .runner import layer_import
from .sources import clean_geometry, open_source
from .writers import ImportOptions, ImportSummary

__all__ = ["LAYERS", "PROGRESS_MIN_FEATURES", "TARGETS", "ImportOptions", "ImportSummary",
           "LayerImportError", "clean_geometry", "layer_import", "open_source",
           "parse_field_map"]
