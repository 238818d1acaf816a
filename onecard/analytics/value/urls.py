"""The lifetime-value page under /analytics/value/."""

from django.urls import path

from . import views

app_name = "analytics_value"
urlpatterns = [
    path("", views.fit, name="fit"),
    path("fit/", views.fit_again, name="fit_again"),
]
