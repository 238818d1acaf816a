"""The cohort and retention page under /analytics/cohorts/."""

from django.urls import path

from . import views

app_name = "cohorts"
urlpatterns = [
    path("", views.report, name="report"),
    path("members/", views.members, name="members"),
]
