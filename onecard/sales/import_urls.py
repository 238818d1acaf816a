"""The historical sales import under /sales/import/."""

from django.urls import path

from . import import_views

app_name = "sales_import"
urlpatterns = [
    path("", import_views.import_start, name="start"),
    path("<int:pk>/", import_views.import_detail, name="detail"),
    path("<int:pk>/progress/", import_views.import_progress, name="progress"),
    path("<int:pk>/errors.xlsx", import_views.import_error_report, name="errors"),
    path("template.xlsx", import_views.import_template, name="template"),
]
