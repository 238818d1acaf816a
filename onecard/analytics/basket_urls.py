"""The basket pages under /analytics/basket/."""

from django.urls import path

from . import basket_views

app_name = "basket"
urlpatterns = [
    path("", basket_views.pairs, name="pairs"),
    path("products/<int:pk>/", basket_views.product, name="product"),
    path("members/", basket_views.members, name="members"),
]
