"""URL map. Each app owns its routes; this file only mounts them."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from geocity.health import healthz
from tiles import urls as tile_urls

urlpatterns = [
    path("healthz", healthz, name="healthz"),  # for load balancers (geocity/health.py)
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/v1/", include("reports.urls")),
    path("api/v1/", include("layers.urls")),
    path("api/v1/", include("tiles.urls_api")),
    path("open311/v2/", include("open311.urls")),
    path(tile_urls.MOUNT.lstrip("/"), include(tile_urls)),
    path("workspace/", include("workspace.urls")),
    path("dashboard/", include("dashboard.urls")),
    path("", include("reports.urls_pages")),
]

if settings.SERVE_MEDIA:
    from django.urls import re_path
    from django.views.static import serve

    urlpatterns.insert(
        0,
        re_path(r"^media/(?P<path>.*)$", serve, {"document_root": settings.MEDIA_ROOT}),
    )

# Errors raised before a view runs: JSON under /api/, /tiles/, /open311/, pages elsewhere.
handler400 = "geocity.errors.bad_request"
handler403 = "geocity.errors.permission_denied"
handler404 = "geocity.errors.page_not_found"
handler500 = "geocity.errors.server_error"
