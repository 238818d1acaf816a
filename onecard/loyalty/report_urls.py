"""Reports of the ledger under /reports/."""

from django.urls import path

from . import report_views

app_name = "reports"
urlpatterns = [
    path("liability/", report_views.liability, name="liability"),
]
