"""Catalogue pages under /catalog/."""

from django.urls import path

from . import views

app_name = "catalog"

urlpatterns = [
    path("", views.product_list, name="products"),
    path("new/", views.ProductEdit.as_view(), name="product_create"),
    path("<int:pk>/", views.ProductEdit.as_view(), name="product_edit"),
    path("export.xlsx", views.product_export, name="export"),
    path("import/", views.product_import, name="import"),
    path("categories/", views.CategoryList.as_view(), name="categories"),
    path("categories/new/", views.CategoryEdit.as_view(), name="category_create"),
    path("categories/<int:pk>/", views.CategoryEdit.as_view(), name="category_edit"),
    path("categories/<int:pk>/deactivate/", views.CategoryDeactivate.as_view(), name="category_deactivate"),
]
