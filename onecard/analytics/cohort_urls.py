"""The cohort and retention page under /analytics/cohorts/."""

from django.urls import path

from . import cohort_views

app_name = "cohorts"
urlpatterns = [
    path("", cohort_views.report, name="report"),
    path("members/", cohort_views.members, name="members"),
]
