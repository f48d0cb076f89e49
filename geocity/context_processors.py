from django.conf import settings

from reports.roles import can_see_dashboard, can_use_workspace


def site(request):
    """Site-wide template values: name, basemap, map centre, and what the user may open."""
    user = getattr(request, "user", None)
    return {
        "SITE_NAME": settings.SITE_NAME,
        "BASEMAP_URL": settings.BASEMAP_URL,
        "BASEMAP_ATTRIBUTION": settings.BASEMAP_ATTRIBUTION,
        "MAP_CENTER": settings.MAP_CENTER,
        "MAP_ZOOM": settings.MAP_ZOOM,
        "can_use_workspace": bool(user and can_use_workspace(user)),
        "can_see_dashboard": bool(user and can_see_dashboard(user)),
    }
