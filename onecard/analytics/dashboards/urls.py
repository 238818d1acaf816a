"""The sales dashboards' pages: the dashboard, each chart's .xlsx, the lists behind the charts."""

from django.urls import path

from . import views

app_name = "dashboards"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("charts/<slug:name>.xlsx", views.chart_export, name="chart_export"),
    path("lists/<slug:name>/", views.drill_list, name="list"),
]
