"""Promotion pages under /promotions/."""

from django.urls import path

from . import promotion_views as views

app_name = "promotions"
urlpatterns = [
    path("", views.promotion_list, name="list"),
    path("new/", views.PromotionEdit.as_view(), name="create"),
    path("<int:pk>/", views.PromotionEdit.as_view(), name="edit"),
    path("<int:pk>/deactivate/", views.PromotionDeactivate.as_view(), name="deactivate"),
]
