"""Promotion pages under /promotions/."""

from django.urls import path

from . import promotion_views as views

app_name = "promotions"
urlpatterns = [
    path("", views.promotion_list, name="list"),
    path("new/", views.promotion_create, name="create"),
    path("<int:pk>/", views.promotion_edit, name="edit"),
    path("<int:pk>/deactivate/", views.promotion_deactivate, name="deactivate"),
]
