"""Admin screens for members' configuration (tags, custom fields); superusers only, changes audited."""

from django.contrib import admin

from onecard.core.admin import AuditedAdmin

from .models import CustomField, Tag


@admin.register(Tag)
class TagAdmin(AuditedAdmin):
    list_display = ("name", "merchant", "color")
    list_filter = ("merchant",)
    search_fields = ("name",)


@admin.register(CustomField)
class CustomFieldAdmin(AuditedAdmin):
    list_display = ("label", "key", "field_type", "required", "merchant")
    list_filter = ("merchant", "field_type")
    search_fields = ("label", "key")
