"""The report builder under /analytics/reports/: the list, the builder, saved reports and their sharing."""

from django.urls import path

from onecard.analytics.report_builder import views

app_name = "report_builder"
urlpatterns = [
    path("", views.report_list, name="list"),
    path("new/", views.builder, name="builder"),
    path("save/", views.save, name="save"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/share/", views.share, name="share"),
    path("<int:pk>/pin/", views.pin, name="pin"),
    path("<int:pk>/delete/", views.delete, name="delete"),
]
