"""The promotion and coupon ROI page under /analytics/roi/."""

from django.urls import path

from . import views

app_name = "roi"
urlpatterns = [
    path("", views.report, name="report"),
]
