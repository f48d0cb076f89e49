"""/workspace/: the department workspace (queue, bulk actions, export, ticket pages)."""

from django.urls import path

from . import workspace

app_name = "workspace"

urlpatterns = [
    path("", workspace.queue, name="queue"),
    path("bulk/", workspace.bulk, name="bulk"),
    path("export.csv", workspace.export_csv, name="export-csv"),
    path("reports/<int:number>/", workspace.ticket, name="ticket"),
    path("photos/<int:pk>/original/", workspace.photo_original, name="photo-original"),
]
