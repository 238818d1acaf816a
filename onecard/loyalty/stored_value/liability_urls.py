"""Reports of the ledger under /reports/."""

from django.urls import path

from onecard.loyalty.stored_value import liability_views as report_views

app_name = "reports"
urlpatterns = [
    path("liability/", report_views.liability, name="liability"),
]
