"""/dashboard/: the officials' dashboard, its printable view and exports."""

from django.urls import path

from . import views

app_name = "dashboard"

urlpatterns = [
    path("", views.dashboard, name="index"),
    path("print/", views.dashboard_print, name="print"),
    path("export.csv", views.export_csv, name="export-csv"),
    path("export.geojson", views.export_geojson, name="export-geojson"),
    path("departments.csv", views.export_departments_csv, name="departments-csv"),
]
