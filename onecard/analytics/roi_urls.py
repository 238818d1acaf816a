"""The promotion and coupon ROI page under /analytics/roi/."""

from django.urls import path

from . import roi_views

app_name = "roi"
urlpatterns = [
    path("", roi_views.report, name="report"),
]
