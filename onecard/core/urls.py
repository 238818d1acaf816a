from django.urls import path

from . import views

app_name = "core"
urlpatterns = [
    path("", views.audit_log, name="audit_log"),
    path("<int:pk>/", views.audit_entry, name="audit_entry"),
]
