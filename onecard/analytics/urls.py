"""The member-class pages under /analytics/."""

from django.urls import path

from onecard.analytics import views

app_name = "analytics"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("members/", views.members, name="members"),
    path("settings/", views.settings_page, name="settings"),
    path("rescore/", views.rescore, name="rescore"),
    path("backfill/", views.backfill, name="backfill"),
    path("recompute/<str:kind>/progress/", views.recompute_progress, name="recompute_progress"),
]
