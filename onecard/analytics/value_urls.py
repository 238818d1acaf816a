"""The lifetime-value page under /analytics/value/."""

from django.urls import path

from . import value_views

app_name = "analytics_value"
urlpatterns = [
    path("", value_views.fit, name="fit"),
    path("fit/", value_views.fit_again, name="fit_again"),
]
