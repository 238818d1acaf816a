"""Shared API pieces: pagination and the permission class that reads OneCard's permission codes."""

from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import BasePermission


class StandardPagination(PageNumberPagination):
    """?page=N&page_size=M, at most 200 a page."""

    page_size_query_param = "page_size"
    max_page_size = 200


class HasPermissionCode(BasePermission):
    """Checks the view's `required_permissions` mapping {http method or action: code}."""

    def has_permission(self, request, view):
        required = getattr(view, "required_permissions", {})
        action = getattr(view, "action", None)
        code = required.get(action) or required.get(request.method) or required.get("*")
        return code is None or request.user.has_perm(code)
