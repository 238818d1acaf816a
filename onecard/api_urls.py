"""REST API v1: every app's routes on one router, the OpenAPI schema and its docs pages (served locally, no CDN).

The router is wiring: it names every app's viewsets, so it lives in the project package; an app's
api.py never registers itself. A new app's viewsets are registered here.
"""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from onecard.catalog import api as catalog_api
from onecard.core.api_views import RedocView, redoc_bundle
from onecard.members import api as members_api
from onecard.members import privacy_api
from onecard.org import api as org_api
from onecard.org import auth_api
from onecard.pos.api import terminals as terminals_api

router = DefaultRouter()
router.include_root_view = False
router.include_format_suffixes = False
router.register("members", members_api.MemberViewSet, basename="member")
router.register("tags", members_api.TagViewSet, basename="tag")
router.register("custom-fields", members_api.CustomFieldViewSet, basename="custom-field")
router.register("org-nodes", org_api.OrgNodeViewSet, basename="org-node")
router.register("staff", org_api.StaffViewSet, basename="staff")
router.register("roles", org_api.RoleViewSet, basename="role")
router.register("catalog/products", catalog_api.ProductViewSet, basename="catalog-product")
router.register("catalog/categories", catalog_api.CategoryViewSet, basename="catalog-category")
router.register("terminals", terminals_api.TerminalViewSet, basename="terminal")

contact_list = members_api.ContactViewSet.as_view({"get": "list", "post": "create"})
contact_detail = members_api.ContactViewSet.as_view(
    {"get": "retrieve", "patch": "partial_update", "delete": "destroy"}
)

member_access_log = privacy_api.MemberAccessLogViewSet.as_view({"get": "list"})

urlpatterns = [
    path("auth/token/", auth_api.TokenView.as_view(), name="api-token"),
    path("me/", auth_api.MeView.as_view(), name="api-me"),
    path("members/<int:member_pk>/contacts/", contact_list, name="member-contact-list"),
    path("members/<int:member_pk>/contacts/<int:pk>/", contact_detail, name="member-contact-detail"),
    path("members/<int:member_pk>/access-log/", member_access_log, name="member-access-log"),
    path("pos/", include("onecard.pos.api.urls")),
    *router.urls,
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up script from its own URL: the policy runs no inline script.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("redoc/", RedocView.as_view(url_name="api-schema"), name="api-redoc"),
    path("redoc/redoc.standalone.js", redoc_bundle, name="api-redoc-bundle"),
]
