"""Labels a merchant defines for its members: tags and custom fields (their writes)."""

from django.db import transaction
from django.utils.text import slugify
from django.utils.translation import gettext as _

from onecard.core import audit
from onecard.core.errors import ValidationFailed

from .choices import FieldType
from .models import CustomField, Tag


@transaction.atomic
def create_tag(actor, merchant, name, color="#3b82f6"):
    """A new tag of the merchant (names are unique per merchant)."""
    name = (name or "").strip()
    if not name:
        raise ValidationFailed({"name": [_("Name is required.")]})
    if len(name) > 30:
        raise ValidationFailed({"name": [_("Too long (%(limit)s characters at most).") % {"limit": 30}]})
    if Tag.objects.filter(merchant=merchant, name=name).exists():
        raise ValidationFailed({"name": [_("A tag with this name exists already.")]})
    tag = Tag.objects.create(merchant=merchant, name=name, color=color or "#3b82f6")
    audit.record(actor, "create", tag, merchant=merchant, after=audit.snapshot(tag))
    return tag


@transaction.atomic
def delete_tag(actor, tag):
    """Remove a tag from every member and delete it."""
    audit.record(
        actor,
        "delete",
        tag,
        merchant=tag.merchant,
        before={**audit.snapshot(tag), "members": tag.members.count()},
    )
    tag.delete()


@transaction.atomic
def define_custom_field(actor, merchant, *, key, label, field_type, choices=(), required=False, position=0):
    """Add a custom member field for the merchant."""
    errors = {}
    key = slugify(key or "").replace("-", "_")
    if not key:
        errors["key"] = [_("Key is required (letters, digits and _).")]
    elif CustomField.objects.filter(merchant=merchant, key=key).exists():
        errors["key"] = [_("This key is already used.")]
    if not (label or "").strip():
        errors["label"] = [_("Label is required.")]
    if field_type not in FieldType.values:
        errors["field_type"] = [_("Unknown field type.")]
    choices = [str(c).strip() for c in choices if str(c).strip()]
    if field_type == FieldType.CHOICE and not choices:
        errors["choices"] = [_("A choice field needs at least one choice.")]
    if errors:
        raise ValidationFailed(errors)
    field = CustomField.objects.create(
        merchant=merchant,
        key=key,
        label=label.strip(),
        field_type=field_type,
        choices=choices,
        required=required,
        position=position,
    )
    audit.record(actor, "create", field, merchant=merchant, after=audit.snapshot(field))
    return field


@transaction.atomic
def delete_custom_field(actor, field):
    """Remove a custom field definition; values already stored on members are kept in the audit trail."""
    audit.record(actor, "delete", field, merchant=field.merchant, before=audit.snapshot(field))
    field.delete()
