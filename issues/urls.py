"""REST routes of the issues app, mounted under /api/v1/ (see geocity/urls.py)."""

from django.urls import path

from . import apis

urlpatterns = [
    path("auth/token/", apis.TokenApi.as_view(), name="api-token"),
    path("me/", apis.MeApi.as_view(), name="api-me"),
    path("categories/", apis.CategoryListApi.as_view(), name="api-categories"),
    path("reports/", apis.ReportListApi.as_view(), name="api-reports"),
    path("reports/nearby/", apis.ReportNearbyApi.as_view(), name="api-reports-nearby"),
    path("reports/<int:number>/", apis.ReportDetailApi.as_view(), name="api-report"),
    path("reports/<int:number>/transition/", apis.ReportTransitionApi.as_view(),
         name="api-report-transition"),
    path("reports/<int:number>/reassign/", apis.ReportReassignApi.as_view(),
         name="api-report-reassign"),
    path("reports/<int:number>/notes/", apis.ReportNoteApi.as_view(), name="api-report-notes"),
    path("reports/<int:number>/support/", apis.ReportSupportApi.as_view(),
         name="api-report-support"),
    path("reports/<int:number>/comments/", apis.ReportCommentsApi.as_view(),
         name="api-report-comments"),
    path("reports/<int:number>/subscribe/", apis.ReportSubscribeApi.as_view(),
         name="api-report-subscribe"),
    path("photos/inspect/", apis.PhotoInspectApi.as_view(), name="api-photo-inspect"),
]
