"""The package definitions pages under /till/packages/definitions/ (namespace "packages")."""

from django.urls import path

from onecard.loyalty.packages import views as package_views

app_name = "packages"
urlpatterns = [
    path("", package_views.definitions, name="package_definitions"),
    path("new/", package_views.definition_form, name="package_definition_new"),
    path("<int:pk>/", package_views.definition_form, name="package_definition_edit"),
    path(
        "<int:pk>/deactivate/",
        package_views.definition_deactivate,
        name="package_definition_deactivate",
    ),
]
