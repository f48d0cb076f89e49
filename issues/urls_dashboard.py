"""/dashboard/: the officials' dashboard, its printable view and exports."""

from django.urls import path

from . import dashboard

app_name = "dashboard"

urlpatterns = [
    path("", dashboard.dashboard, name="index"),
    path("print/", dashboard.dashboard_print, name="print"),
    path("export.csv", dashboard.export_csv, name="export-csv"),
    path("export.geojson", dashboard.export_geojson, name="export-geojson"),
    path("departments.csv", dashboard.export_departments_csv, name="departments-csv"),
]
