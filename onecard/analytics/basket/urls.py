"""The basket pages under /analytics/basket/."""

from django.urls import path

from . import views

app_name = "basket"
urlpatterns = [
    path("", views.pairs, name="pairs"),
    path("products/<int:pk>/", views.product, name="product"),
    path("members/", views.members, name="members"),
]
