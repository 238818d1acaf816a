"""The promotion and coupon report under /reports/promotions/."""

from django.urls import path

from . import report_views

app_name = "promotion_reports"
urlpatterns = [
    path("", report_views.report, name="report"),
]
