"""Public pages, mounted at / (see reports.views)."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.map_page, name="map"),
    path("report/new/", views.report_new, name="report-new"),
    path("reports/<int:number>/", views.report_detail, name="report-detail"),
    path("reports/<int:number>/submitted/", views.report_submitted, name="report-submitted"),
    path("reports/<int:number>/support/", views.report_support_view, name="report-support"),
    path("reports/<int:number>/comment/", views.report_comment_view, name="report-comment"),
    path("reports/<int:number>/subscribe/", views.report_subscribe_view,
         name="report-subscribe"),
    path("reports/<int:number>/respond/", views.report_respond_view, name="report-respond"),
    path("my/", views.my_reports, name="my-reports"),
    path("unsubscribe/<uuid:token>/", views.unsubscribe, name="unsubscribe"),
    path("subscriptions/confirm/<uuid:token>/", views.subscription_confirm_view,
         name="subscription-confirm"),
    # /accounts/ is django.contrib.auth.urls; paths it does not know fall through to here.
    path("accounts/signup/", views.signup, name="signup"),
    path("jsi18n/<str:lang>/", views.javascript_catalog, name="jsi18n"),
]
