"""Shared API pieces: pagination, permission codes, string ids, the problem+json body.

Kept free of rest_framework.generics imports: DRF reads DEFAULT_PAGINATION_CLASS from here while loading them.
The base viewset and the schema inspector live in `api_base`.
"""

from functools import cached_property

from django.core.paginator import Paginator
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import BasePermission
from rest_framework.response import Response

from .errors import ValidationFailed


class StandardPagination(PageNumberPagination):
    """?page=N&page_size=M, at most 200 a page."""

    page_size_query_param = "page_size"
    max_page_size = 200


class _CappedCountPaginator(Paginator):
    """Counts at most `cap + 1` rows: COUNT(*) over a LIMITed subquery instead of the whole table."""

    cap = 100_000

    @cached_property
    def count(self):
        return self.object_list[: self.cap + 1].count()


class CappedCountPagination(StandardPagination):
    """Page-number pagination for big tables: `count` stops at CAP and `count_capped` says so.

    A million members would make every page pay for a full COUNT(*); this counts at most CAP + 1 rows,
    so the first pages stay fast. Pages beyond the cap are not reachable: narrow the search instead.
    """

    CAP = 100_000

    def paginate_queryset(self, queryset, request, view=None):
        cap = self.CAP

        class Capped(_CappedCountPaginator):
            pass

        Capped.cap = cap
        self.django_paginator_class = Capped
        return super().paginate_queryset(queryset, request, view)

    def get_paginated_response(self, data):
        count = self.page.paginator.count
        return Response(
            {
                "count": min(count, self.CAP),
                "count_capped": count > self.CAP,
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema):
        base = super().get_paginated_response_schema(schema)
        base["properties"]["count"]["description"] = f"Number of results, at most {self.CAP}."
        base["properties"]["count_capped"] = {
            "type": "boolean",
            "description": f"True when there are more than {self.CAP} results (count stops there).",
        }
        base["required"] = [*base.get("required", []), "count_capped"]
        return base


class HasPermissionCode(BasePermission):
    """Checks the view's `required_permissions` mapping {action or http method: code or tuple of codes}.

    A tuple means "any one of these".
    """

    def has_permission(self, request, view):
        required = getattr(view, "required_permissions", {})
        action = getattr(view, "action", None)
        code = required.get(action) or required.get(request.method) or required.get("*")
        if code is None:
            return True
        codes = (code,) if isinstance(code, str) else tuple(code)
        return any(request.user.has_perm(c) for c in codes)


def permission_map(read, write, **more):
    """A viewset's `required_permissions`: `read` for list and retrieve, `write` for the standard writes.

    `more` names the codes of the viewset's own actions. An action the viewset does not offer is never asked.
    """
    return {
        **dict.fromkeys(("list", "retrieve"), read),
        **dict.fromkeys(("create", "update", "partial_update", "destroy"), write),
        **more,
    }


@extend_schema_field(OpenApiTypes.STR)
class IdField(serializers.Field):
    """An id: written as a number or a digit string, always answered as a string."""

    default_error_messages = {"invalid": "A valid id is required."}

    def to_internal_value(self, data):
        text = str(data).strip() if isinstance(data, (int, str)) and not isinstance(data, bool) else ""
        if not text.isdigit() or len(text) > 18:
            raise serializers.ValidationError(_("A valid id is required."), code="invalid")
        return int(text)

    def to_representation(self, value):
        return str(value.pk if hasattr(value, "pk") else value)


@extend_schema_field(OpenApiTypes.STR)
class MaskedField(serializers.Field):
    """A phone or ID number answered only as `mask` shows it (the full value goes out through reveal)."""

    def __init__(self, mask, attr, **kwargs):
        self.mask = mask
        self.attr = attr
        # The whole object is read, so an empty value is still masked rather than answered as null.
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, value):
        return self.mask(getattr(value, self.attr))


class ExistingMemberSerializer(serializers.Serializer):
    id = serializers.CharField()
    member_no = serializers.CharField()
    url = serializers.CharField(help_text="Web page of the member.")


class ProblemSerializer(serializers.Serializer):
    """RFC 9457 problem details, as every API error answers (media type application/problem+json)."""

    type = serializers.CharField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    code = serializers.CharField(help_text="Stable machine code, e.g. validation_error, duplicate_phone.")
    detail = serializers.CharField(help_text="Human message in the request's language (Accept-Language).")
    instance = serializers.CharField(required=False, help_text="The request path.")
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="validation_error only: {field: [messages]}.",
    )
    existing_member = ExistingMemberSerializer(required=False, help_text="duplicate_phone only.")


def problem(description):
    """An OpenAPI response entry for a problem+json answer, for `extend_schema(responses=...)`."""
    return OpenApiResponse(response=ProblemSerializer, description=description)


def create_schema(summary, request, response):
    """The schema of a create action: `request` in, 201 with `response` back."""
    return extend_schema(summary=summary, request=request, responses={201: response})


def update_schema(summary, request, response):
    """The schema of an update action: `request` in, 200 with `response` back."""
    return extend_schema(summary=summary, request=request, responses=response)


def require_fields(data, *names):
    """Refuse with validation_error when any of `names` is missing from `data`."""
    missing = {n: [_("This field is required.")] for n in names if data.get(n) in (None, "")}
    if missing:
        raise ValidationFailed(missing)
