"""/workspace/: the department workspace (queue, bulk actions, export, ticket pages)."""

from django.urls import path

from . import views

app_name = "workspace"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("bulk/", views.bulk, name="bulk"),
    path("export.csv", views.export_csv, name="export-csv"),
    path("reports/<int:number>/", views.ticket, name="ticket"),
    path("photos/<int:pk>/original/", views.photo_original, name="photo-original"),
]
