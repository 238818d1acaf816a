"""Django's admin serves rare configuration to superusers only; the audit log there is read-only."""

from django.contrib import admin
from django.db import transaction

from . import audit
from .models import AuditEntry


class SuperuserOnlyAdmin(admin.ModelAdmin):
    """Only superusers see or change anything here; daily work happens on OneCard's own pages."""

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def has_add_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser


class AuditedAdmin(SuperuserOnlyAdmin):
    """Changes made in the admin are written to the audit log like every other change."""

    audit_exclude = ("password",)

    def save_model(self, request, obj, form, change):
        before = {}
        if change and obj.pk:
            old = type(obj).objects.filter(pk=obj.pk).first()
            before = audit.snapshot(old, exclude=self.audit_exclude) if old else {}
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            after = audit.snapshot(obj, exclude=self.audit_exclude)
            if change:
                b, a = audit.diff(before, after)
                if a:
                    audit.record(request.user, "update", obj, before=b, after=a, note="admin")
            else:
                audit.record(request.user, "create", obj, after=after, note="admin")

    def delete_model(self, request, obj):
        with transaction.atomic():
            audit.record(
                request.user,
                "delete",
                obj,
                before=audit.snapshot(obj, exclude=self.audit_exclude),
                note="admin",
            )
            super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


@admin.register(AuditEntry)
class AuditEntryAdmin(SuperuserOnlyAdmin):
    """The audit trail, for reading only: nobody adds, changes or deletes an entry, not even a superuser."""

    list_display = ("at", "actor_name", "action", "subject_type", "subject_id", "subject_repr", "node", "ip")
    list_filter = ("action", "subject_type")
    search_fields = ("subject_repr", "actor_name", "subject_id", "note")
    date_hierarchy = "at"
    list_select_related = ("node",)
    actions = None

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
