"""REST routes of the layers app, mounted under /api/v1/ (see geocity/urls.py)."""

from django.urls import path

from . import apis

urlpatterns = [
    path("departments/", apis.DepartmentListApi.as_view(), name="api-departments"),
    path("hazard-check/", apis.HazardCheckApi.as_view(), name="api-hazard-check"),
    path("geocode/", apis.GeocodeApi.as_view(), name="api-geocode"),
    path("geocode/reverse/", apis.GeocodeReverseApi.as_view(), name="api-geocode-reverse"),
    path("layers/hazard-zones/", apis.HazardZoneLayerApi.as_view(), name="api-layer-hazard"),
    path("layers/infrastructure/", apis.InfrastructureLayerApi.as_view(),
         name="api-layer-infrastructure"),
    path("layers/districts/", apis.DistrictLayerApi.as_view(), name="api-layer-districts"),
    path("layers/service-area/", apis.ServiceAreaLayerApi.as_view(),
         name="api-layer-service-area"),
]
