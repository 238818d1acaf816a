"""Shared API pieces: pagination, permission codes, string ids, the problem+json body.

Kept free of rest_framework.generics imports: DRF reads DEFAULT_PAGINATION_CLASS from here while loading them.
The base viewset and the schema inspector live in `api_base`.
"""

from functools import cached_property

from django.core.paginator import Paginator
from django.db.backends.base.operations import BaseDatabaseOperations
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import BasePermission
from rest_framework.response import Response

from .errors import ValidationFailed
from .ids import parse_id


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
        number = parse_id(data)
        if number is None:
            raise serializers.ValidationError(_("A valid id is required."), code="invalid")
        return number

    def to_representation(self, value):
        return str(value.pk if hasattr(value, "pk") else value)


def acting_merchant_field():
    """The optional `merchant` of a create body: whose record it is, for a superuser who works at no node."""
    return IdField(required=False, help_text="Only for a superuser without an org node.")


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


class BlankOrField(serializers.CharField):
    """A read-only text answered either empty or as `schema` says (e.g. {"format": "email"}).

    An optional e-mail or code is stored as "", which a bare `format` or `pattern` in the schema refuses.
    """

    def __init__(self, schema, **kwargs):
        self.value_schema = schema
        super().__init__(read_only=True, **kwargs)


class _BlankOrFieldSchema(OpenApiSerializerFieldExtension):
    target_class = BlankOrField

    def map_serializer_field(self, auto_schema, direction):
        return {"type": "string", "anyOf": [self.target.value_schema, {"maxLength": 0}]}


def column_integer(model, name, **kwargs):
    """An IntegerField bounded like the database column of `model.name`: a bigger number is a field error.

    Without the bound a number such as 10**20 passes the serializer and overflows in the database driver.
    """
    # The standard ranges (PostgreSQL's), not the connection's: SQLite would say 64 bits for every
    # integer, and the schema must not depend on the database behind it.
    low, high = BaseDatabaseOperations.integer_field_ranges[model._meta.get_field(name).get_internal_type()]
    return serializers.IntegerField(min_value=low, max_value=high, **kwargs)


class ProblemSerializer(serializers.Serializer):
    """RFC 9457 problem details, as every API error answers (media type application/problem+json).

    Every problem has every member below, always of the same type; `errors` and `extra` are {} when empty.
    """

    type = serializers.CharField(help_text="https://onecard.example/problems/<code>")
    title = serializers.CharField(help_text="Short English name of the code.")
    status = serializers.IntegerField(help_text="The HTTP status, repeated.")
    code = serializers.CharField(help_text="Stable machine code, e.g. validation_error, duplicate_phone.")
    detail = serializers.CharField(help_text="Human message in the request's language (Accept-Language).")
    instance = serializers.CharField(help_text="The request path.")
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="{field: [messages]}: the fields a validation_error names; {} for other codes.",
    )
    extra = serializers.DictField(
        help_text="Facts of the refusal, by code (duplicate_phone: existing_member {id, member_no, url}; "
        "insufficient_balance: available, requested; ...); {} when there are none.",
    )


def problem(description):
    """An OpenAPI response entry for a problem+json answer, for `extend_schema(responses=...)`."""
    return OpenApiResponse(response=ProblemSerializer, description=description)


def create_schema(summary, request, response):
    """The schema of a create action: `request` in, 201 with `response` back."""
    return extend_schema(summary=summary, request=request, responses={201: response})


def update_schema(summary, request, response):
    """The schema of an update action: `request` in, 200 with `response` back."""
    return extend_schema(summary=summary, request=request, responses=response)


def put_and_patch_schemas(thing, request, response) -> dict:
    """The schemas of update and partial_update (PUT and PATCH of `thing`, "a product"), for extend_schema_view."""
    return {
        "update": update_schema(f"Change {thing}", request, response),
        "partial_update": update_schema(f"Change some fields of {thing}", request, response),
    }


def require_fields(data, *names):
    """Refuse with validation_error when any of `names` is missing from `data`."""
    missing = {n: [_("This field is required.")] for n in names if data.get(n) in (None, "")}
    if missing:
        raise ValidationFailed(missing)
