"""API of the organisation: org nodes, staff and roles; scoped like the web UI, every write through services."""

from django.db.models import OuterRef, Q, Subquery
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from onecard.core.api import (
    BlankOrField,
    IdField,
    MaskedField,
    acting_merchant_field,
    create_schema,
    permission_map,
    update_schema,
)
from onecard.core.api_base import ApiViewSet, PatchThroughServiceMixin
from onecard.core.errors import ValidationFailed
from onecard.core.masking import mask_phone
from onecard.core.scoping import scope

from . import lockout, second_factor, services
from .choices import LockScope, NodeKind
from .models import OrgNode, Role, Staff
from .permissions import PERMISSIONS
from .queries import acting_merchant, merchant_ids_for

_ROLE_READERS = ("staff.view", "staff.manage", "roles.manage")


def _node_of_merchants(user, pk, field):
    """A node of the user's merchant(s) by id; scope is checked by the service."""
    node = OrgNode.objects.filter(pk=pk, merchant_id__in=merchant_ids_for(user)).first()
    if node is None:
        raise ValidationFailed({field: [_("Unknown org node.")]})
    return node


def visible_roles(user):
    """Built-in roles plus the custom roles of the user's merchant(s)."""
    return Role.objects.filter(Q(merchant__isnull=True) | Q(merchant_id__in=merchant_ids_for(user)))


def _roles_by_ids(user, ids):
    ids = list(dict.fromkeys(ids))
    roles = list(visible_roles(user).filter(pk__in=ids))
    if len(roles) != len(ids):
        raise ValidationFailed({"roles": [_("Unknown role.")]})
    return roles


# ---- org nodes ----------------------------------------------------------------------------------------


class OrgNodeSerializer(serializers.ModelSerializer):
    id = IdField(read_only=True)
    merchant = IdField(source="merchant_id", read_only=True)
    parent = IdField(source="parent_id", read_only=True, allow_null=True)

    class Meta:
        model = OrgNode
        fields = [
            "id",
            "merchant",
            "parent",
            "kind",
            "name",
            "code",
            "path",
            "depth",
            "address",
            "phone",
            "is_active",
            "created_at",
        ]
        read_only_fields = fields


class OrgNodeCreateSerializer(serializers.Serializer):
    parent = IdField(help_text="The node to place the new one under; it must lie in your scope.")
    kind = serializers.ChoiceField(choices=NodeKind.choices, help_text="region or store")
    name = serializers.CharField(max_length=100)
    code = serializers.CharField(max_length=30)
    address = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    phone = serializers.CharField(max_length=30, required=False, allow_blank=True, default="")


class OrgNodeUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False)
    address = serializers.CharField(max_length=200, required=False, allow_blank=True)
    phone = serializers.CharField(max_length=30, required=False, allow_blank=True)
    is_active = serializers.BooleanField(required=False)


@extend_schema_view(
    list=extend_schema(summary="Org nodes in your scope (your node and everything below it)"),
    retrieve=extend_schema(summary="One org node"),
    create=create_schema(
        "Create a region or store under a parent in your scope", OrgNodeCreateSerializer, OrgNodeSerializer
    ),
    partial_update=update_schema(
        "Rename, re-address or (de)activate a node", OrgNodeUpdateSerializer, OrgNodeSerializer
    ),
)
class OrgNodeViewSet(
    PatchThroughServiceMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    ApiViewSet,
):
    serializer_class = OrgNodeSerializer
    patch_serializer = OrgNodeUpdateSerializer
    http_method_names = ["get", "post", "patch", "head", "options"]
    required_permissions = permission_map("org.view", "org.manage")

    def get_queryset(self):
        return scope(OrgNode.objects.all(), self.request.user, "id").order_by("path")

    def create(self, request, *args, **kwargs):
        values = self.validated(OrgNodeCreateSerializer)
        parent = _node_of_merchants(request.user, values.pop("parent"), "parent")
        node = services.create_node(request.user, parent=parent, **values)
        return Response(OrgNodeSerializer(node).data, status=status.HTTP_201_CREATED)

    def update_record(self, node, values):
        return services.update_node(self.request.user, node, **values)


# ---- staff --------------------------------------------------------------------------------------------


class RoleBriefSerializer(serializers.Serializer):
    id = IdField()
    name = serializers.CharField(
        source="display_name", help_text="A built-in role's name in the answer's language."
    )


class StaffSerializer(serializers.ModelSerializer):
    id = IdField(read_only=True)
    node = IdField(source="node_id", read_only=True, allow_null=True)
    node_name = serializers.CharField(source="node.name", read_only=True, allow_null=True, default=None)
    phone_masked = MaskedField(mask_phone, "phone")
    roles = RoleBriefSerializer(many=True, source="roles.all", read_only=True)
    permissions = serializers.SerializerMethodField()
    email = BlankOrField({"format": "email"}, help_text="An e-mail address, or empty.")
    locked_until = serializers.DateTimeField(
        read_only=True,
        allow_null=True,
        help_text="Log-ins as this account are refused until then (too many wrong passwords); "
        "null when not locked. `POST .../unlock/` lifts it.",
    )

    class Meta:
        model = Staff
        fields = [
            "id",
            "username",
            "display_name",
            "email",
            "phone_masked",
            "node",
            "node_name",
            "roles",
            "permissions",
            "is_active",
            "locked_until",
            "last_login",
            "date_joined",
        ]
        read_only_fields = fields

    def get_permissions(self, staff) -> list[str]:
        return sorted(c for c in staff.permission_codes if c in PERMISSIONS)


class StaffCreateSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(write_only=True, trim_whitespace=False)
    node = IdField()
    roles = serializers.ListField(child=IdField(), required=False, default=list)
    display_name = serializers.CharField(max_length=60, required=False, allow_blank=True, default="")
    phone = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")
    email = serializers.EmailField(required=False, allow_blank=True, default="")


class StaffUpdateSerializer(serializers.Serializer):
    node = IdField(required=False)
    roles = serializers.ListField(child=IdField(), required=False, help_text="Replaces all roles.")
    display_name = serializers.CharField(max_length=60, required=False, allow_blank=True)
    phone = serializers.CharField(max_length=20, required=False, allow_blank=True)
    email = serializers.EmailField(required=False, allow_blank=True)
    is_active = serializers.BooleanField(required=False)


class PasswordSerializer(serializers.Serializer):
    password = serializers.CharField(write_only=True, trim_whitespace=False)


@extend_schema_view(
    list=extend_schema(summary="Staff in your scope"),
    retrieve=extend_schema(summary="One staff member"),
    create=create_schema(
        "Create a staff account (you cannot grant permissions you do not hold)",
        StaffCreateSerializer,
        StaffSerializer,
    ),
    partial_update=update_schema(
        "Change a staff account; `roles` replaces the roles", StaffUpdateSerializer, StaffSerializer
    ),
    password=extend_schema(summary="Set a new password", request=PasswordSerializer, responses={204: None}),
    reset_second_factor=extend_schema(
        summary="Reset the two-step verification (a lost phone); the person's sessions and API token end",
        description="The person enrols again at the next log-in. Nobody resets their own "
        "(403 `self_second_factor_reset`).",
        request=None,
        responses={204: None},
    ),
    unlock=extend_schema(
        summary="Lift the log-in lock-out of an account (and of the addresses its own failures locked)",
        description="Answers the account with `locked_until` null; an account that was not locked is "
        "answered the same.",
        request=None,
        responses=StaffSerializer,
    ),
)
class StaffViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, ApiViewSet):
    serializer_class = StaffSerializer
    http_method_names = ["get", "post", "patch", "head", "options"]
    required_permissions = permission_map(
        "staff.view",
        "staff.manage",
        password="staff.manage",  # noqa: S106 - the name of the API action, not a password
        reset_second_factor="staff.manage",
        unlock="staff.manage",
    )

    def get_queryset(self):
        lock = lockout.active_locks().filter(scope=LockScope.ACCOUNT, key=OuterRef("username"))
        qs = (
            Staff.objects.select_related("node")
            .prefetch_related("roles")
            .annotate(locked_until=Subquery(lock.order_by("-until").values("until")[:1]))
            .order_by("id")
        )
        return scope(qs, self.request.user, "node")

    def create(self, request, *args, **kwargs):
        values = self.validated(StaffCreateSerializer)
        values["node"] = _node_of_merchants(request.user, values["node"], "node")
        values["roles"] = _roles_by_ids(request.user, values["roles"])
        staff = services.create_staff(request.user, **values)
        return Response(StaffSerializer(staff).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        staff = self.get_object()
        values = self.validated(StaffUpdateSerializer)
        if "node" in values:
            values["node"] = _node_of_merchants(request.user, values["node"], "node")
        if "roles" in values:
            values["roles"] = _roles_by_ids(request.user, values["roles"])
        staff = services.update_staff(request.user, staff, **values)
        return Response(StaffSerializer(self.get_queryset().get(pk=staff.pk)).data)

    @action(detail=True, methods=["post"])
    def password(self, request, pk=None):
        staff = self.get_object()
        values = self.validated(PasswordSerializer)
        services.set_staff_password(request.user, staff, values["password"])
        return Response(status=status.HTTP_204_NO_CONTENT)

    @action(detail=True, methods=["post"], url_path="reset-second-factor")
    def reset_second_factor(self, request, pk=None):
        second_factor.reset(request.user, self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @action(detail=True, methods=["post"])
    def unlock(self, request, pk=None):
        staff = self.get_object()
        services.unlock_staff(request.user, staff)
        return Response(StaffSerializer(self.get_queryset().get(pk=staff.pk)).data)


# ---- roles --------------------------------------------------------------------------------------------


class RoleSerializer(serializers.ModelSerializer):
    id = IdField(read_only=True)
    merchant = IdField(source="merchant_id", read_only=True, allow_null=True)
    code = BlankOrField(
        {"pattern": "^[-a-zA-Z0-9_]+$"}, help_text="A built-in role's code; empty for a custom role."
    )

    class Meta:
        model = Role
        fields = ["id", "name", "code", "is_builtin", "merchant", "permissions", "description"]
        read_only_fields = fields


class RoleWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=60)
    permissions = serializers.ListField(child=serializers.CharField(), help_text="Permission codes.")
    description = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    merchant = acting_merchant_field()


class RoleUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=60, required=False)
    permissions = serializers.ListField(child=serializers.CharField(), required=False)
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)


class PermissionSerializer(serializers.Serializer):
    code = serializers.CharField()
    label = serializers.CharField()


@extend_schema_view(
    list=extend_schema(summary="Built-in roles and your merchant's custom roles"),
    retrieve=extend_schema(summary="One role"),
    create=create_schema("Create a custom role", RoleWriteSerializer, RoleSerializer),
    partial_update=update_schema(
        "Change a custom role (built-in roles answer builtin_role)", RoleUpdateSerializer, RoleSerializer
    ),
    destroy=extend_schema(summary="Delete a custom role nobody holds (else role_in_use)"),
    permission_catalogue=extend_schema(
        summary="Every permission code with its label", responses=PermissionSerializer(many=True)
    ),
)
class RoleViewSet(
    PatchThroughServiceMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    ApiViewSet,
):
    serializer_class = RoleSerializer
    patch_serializer = RoleUpdateSerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    # Any one of these reads roles: who manages staff assigns them, not only who manages roles.
    required_permissions = permission_map(_ROLE_READERS, "roles.manage", permission_catalogue=_ROLE_READERS)

    def get_queryset(self):
        return visible_roles(self.request.user).order_by("-is_builtin", "id")

    def create(self, request, *args, **kwargs):
        values = self.validated(RoleWriteSerializer)
        merchant = acting_merchant(request.user, values.pop("merchant", None))
        role = services.create_role(request.user, merchant=merchant, **values)
        return Response(RoleSerializer(role).data, status=status.HTTP_201_CREATED)

    def update_record(self, role, values):
        return services.update_role(self.request.user, role, **values)

    def perform_destroy(self, instance):
        services.delete_role(self.request.user, instance)

    @action(detail=False, methods=["get"], url_path="permissions", pagination_class=None)
    def permission_catalogue(self, request):
        return Response([{"code": code, "label": str(label)} for code, label in PERMISSIONS.items()])
