"""REST routes of the reports app, mounted under /api/v1/ (see geocity/urls.py)."""

from django.urls import path

from .apis import accounts, actions, lookups, reports

urlpatterns = [
    path("auth/token/", accounts.TokenApi.as_view(), name="api-token"),
    path("me/", accounts.MeApi.as_view(), name="api-me"),
    path("categories/", lookups.CategoryListApi.as_view(), name="api-categories"),
    path("reports/", reports.ReportListApi.as_view(), name="api-reports"),
    path("reports/nearby/", reports.ReportNearbyApi.as_view(), name="api-reports-nearby"),
    path("reports/<int:number>/", reports.ReportDetailApi.as_view(), name="api-report"),
    path("reports/<int:number>/transition/", actions.ReportTransitionApi.as_view(),
         name="api-report-transition"),
    path("reports/<int:number>/reassign/", actions.ReportReassignApi.as_view(),
         name="api-report-reassign"),
    path("reports/<int:number>/notes/", actions.ReportNoteApi.as_view(),
         name="api-report-notes"),
    path("reports/<int:number>/support/", actions.ReportSupportApi.as_view(),
         name="api-report-support"),
    path("reports/<int:number>/comments/", actions.ReportCommentsApi.as_view(),
         name="api-report-comments"),
    path("reports/<int:number>/subscribe/", actions.ReportSubscribeApi.as_view(),
         name="api-report-subscribe"),
    path("photos/inspect/", lookups.PhotoInspectApi.as_view(), name="api-photo-inspect"),
]
