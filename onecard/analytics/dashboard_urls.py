"""The sales dashboards' pages: the dashboard, each chart's .xlsx, the lists behind the charts."""

from django.urls import path

from . import dashboard_views

app_name = "dashboards"

urlpatterns = [
    path("", dashboard_views.dashboard, name="dashboard"),
    path("charts/<slug:name>.xlsx", dashboard_views.chart_export, name="chart_export"),
    path("lists/<slug:name>/", dashboard_views.drill_list, name="list"),
]
