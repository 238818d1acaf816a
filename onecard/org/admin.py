"""Admin screens for rarely changed organisation data; superusers only, every change audited."""

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from onecard.core import audit
from onecard.core.admin import AuditedAdmin, SuperuserOnlyAdmin
from onecard.core.errors import BusinessError

from . import services
from .models import Alliance, Merchant, OrgNode, Role, Staff
from .passwords import published_password_holders


@admin.register(Alliance)
class AllianceAdmin(AuditedAdmin):
    list_display = ("name", "created_at")
    search_fields = ("name",)


@admin.register(Merchant)
class MerchantAdmin(AuditedAdmin):
    list_display = ("name", "code", "alliance", "created_at")
    search_fields = ("name", "code")
    list_filter = ("alliance",)

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        # A new merchant needs its HQ node with a proper path: the service builds both.
        holders = [staff.username for staff in published_password_holders(Staff)]
        created = services.create_merchant(request.user, name=obj.name, code=obj.code, alliance=obj.alliance)
        obj.pk = created.pk
        if holders:
            self.message_user(
                request,
                _(
                    "Now that a real merchant exists, the demo's published password no longer opens these "
                    "accounts: %(names)s. Give them new passwords on the staff pages (a superuser: onecard "
                    "changepassword)."
                )
                % {"names": ", ".join(holders)},
                level="warning",
            )


@admin.register(OrgNode)
class OrgNodeAdmin(AuditedAdmin):
    """Nodes are created on the org tree page (the service writes the path); here only details change."""

    list_display = ("name", "code", "kind", "merchant", "path", "is_active")
    list_filter = ("merchant", "kind", "is_active")
    search_fields = ("name", "code")
    readonly_fields = ("merchant", "parent", "kind", "code", "path", "depth")
    fields = ("merchant", "parent", "kind", "code", "path", "depth", "name", "address", "phone", "is_active")

    def has_add_permission(self, request):
        return False


@admin.register(Role)
class RoleAdmin(AuditedAdmin):
    """Custom roles; built-in roles are shown but stay as shipped."""

    list_display = ("name", "code", "merchant", "is_builtin")
    list_filter = ("is_builtin", "merchant")
    search_fields = ("name", "code")
    readonly_fields = ("is_builtin", "code")

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.is_builtin:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.is_builtin:
            return False
        return super().has_delete_permission(request, obj)

    def delete_model(self, request, obj):
        try:
            services.delete_role(request.user, obj)
        except BusinessError as exc:
            self.message_user(request, exc.message, level="error")


@admin.register(Staff)
class StaffAdmin(SuperuserOnlyAdmin, UserAdmin):
    """Accounts; roles and nodes are normally given on the staff pages, which check what may be granted."""

    list_display = ("username", "display_name", "node", "is_active", "is_superuser", "last_login")
    list_filter = ("is_active", "is_superuser", "node__merchant")
    search_fields = ("username", "display_name", "phone", "email")
    list_select_related = ("node",)
    filter_horizontal = ("roles",)
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("Person"), {"fields": ("display_name", "phone", "email")}),
        (_("Organisation"), {"fields": ("node", "roles", "is_active", "is_staff", "is_superuser")}),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
    )
    readonly_fields = ("last_login", "date_joined")

    def user_change_password(self, request, id, form_url=""):
        # Django's own password page saves the form itself: in the same transaction, revoke the API
        # token and audit the change as the staff pages do (sessions end by themselves).
        with transaction.atomic():
            response = super().user_change_password(request, id, form_url)
            if request.method == "POST" and response.status_code == 302:
                services.password_changed(request.user, Staff.objects.get(pk=unquote(id)))
        return response

    def save_model(self, request, obj, form, change):
        before = {}
        if change:
            old = Staff.objects.filter(pk=obj.pk).first()
            before = audit.snapshot(old) if old else {}
        super().save_model(request, obj, form, change)
        b, a = audit.diff(before, audit.snapshot(obj))
        if a:
            audit.record(
                request.user, "update" if change else "create", obj, before=b or None, after=a, note="admin"
            )
