"""Catalogue pages under /catalog/."""

from django.urls import path

from . import views

app_name = "catalog"

urlpatterns = [
    path("", views.product_list, name="products"),
    path("new/", views.product_form, name="product_create"),
    path("<int:pk>/", views.product_form, name="product_edit"),
    path("export.xlsx", views.product_export, name="export"),
    path("import/", views.product_import, name="import"),
    path("pick/products/", views.pick_products, name="pick_products"),
    path("pick/categories/", views.pick_categories, name="pick_categories"),
    path("categories/", views.category_list, name="categories"),
    path("categories/new/", views.category_form, name="category_create"),
    path("categories/<int:pk>/", views.category_form, name="category_edit"),
    path("categories/<int:pk>/deactivate/", views.category_deactivate, name="category_deactivate"),
]
