"""System checks: fail fast when the named projections cannot work."""

from django.conf import settings
from django.core import checks


@checks.register()
def storage_srid_is_metric(app_configs, **kwargs):
    """Distances, buffers and areas are computed in the storage SRID: it must be in metres."""
    from django.contrib.gis.gdal import GDALException, SpatialReference

    try:
        srs = SpatialReference(settings.STORAGE_SRID)
    except GDALException:
        return [checks.Error(f"STORAGE_SRID={settings.STORAGE_SRID} is not a known EPSG code.",
                             id="geocity.E001")]
    if not srs.projected or (srs.units[1] or "").lower() not in ("metre", "meter"):
        return [checks.Error(
            f"STORAGE_SRID={settings.STORAGE_SRID} ({srs.name}) is not a projected CRS in "
            "metres; choose one such as 6386 (UCS-2000 / Ukraine TM zone 12) or a UTM zone.",
            id="geocity.E002")]
    return []
