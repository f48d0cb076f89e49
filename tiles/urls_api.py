"""Mounted at /api/v1/: aggregates for dashboards."""

from django.urls import path

from .apis import StatsGridApi

urlpatterns = [
    path("stats/grid/", StatsGridApi.as_view(), name="stats-grid"),
]
