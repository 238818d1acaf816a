"""Checking member input field by field; shared by the forms, the API and the importer."""

import datetime

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _

from onecard.core.validators import InvalidValue, normalize_id_number, normalize_phone

from .choices import FieldType, Gender, MemberKind, Source

# Fields a caller may set on a member; everything else is derived or owned by a service.
MEMBER_FIELDS = (
    "kind",
    "name",
    "phone",
    "gender",
    "birthday",
    "address",
    "id_number",
    "email",
    "notes",
    "home_store",
    "owner",
    "source",
    "source_detail",
    "referrer",
    "custom_fields",
)


def parse_birthday(value):
    """A date from a date, an Excel datetime or text like 1990-05-01 / 1990/5/1 / 19900501."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    text = str(value).strip().replace("/", "-").replace(".", "-")
    # isascii: "²".isdigit() is true too, and int() refuses it.
    if len(text) == 8 and text.isascii() and text.isdigit():
        text = f"{text[:4]}-{text[4:6]}-{text[6:]}"
    parts = text.split("-")
    if len(parts) == 3 and all(p.isascii() and p.isdigit() for p in parts):
        text = f"{int(parts[0]):04d}-{int(parts[1]):02d}-{int(parts[2]):02d}"
    try:
        day = parse_date(text)
    except ValueError:
        day = None
    if day is None:
        raise InvalidValue(_("The date is not valid; write it as 1990-05-01."))
    if day > datetime.date.today() or day.year < 1900:
        raise InvalidValue(_("The birthday must lie between 1900 and today."))
    return day


def clean_custom_fields(definitions, values, *, partial=False):
    """Check a {key: value} dict against the merchant's custom field definitions."""
    values = dict(values or {})
    errors, cleaned = {}, {}
    by_key = {d.key: d for d in definitions}
    for key in values:
        if key not in by_key:
            errors[key] = _("Unknown custom field.")
    for key, definition in by_key.items():
        raw = values.get(key)
        if raw in (None, ""):
            if definition.required and not partial:
                errors[key] = _("%(label)s is required.") % {"label": definition.label}
            continue
        try:
            cleaned[key] = _clean_custom_value(definition, raw)
        except InvalidValue as exc:
            errors[key] = str(exc)
    return cleaned, errors


def _clean_custom_value(definition, raw):
    if definition.field_type == FieldType.NUMBER:
        try:
            number = float(str(raw).strip())
        except ValueError:
            raise InvalidValue(_("%(label)s must be a number.") % {"label": definition.label}) from None
        return int(number) if number.is_integer() else number
    if definition.field_type == FieldType.DATE:
        if isinstance(raw, datetime.date):
            return raw.isoformat()
        day = parse_date(str(raw).strip()) if str(raw).strip() else None
        if day is None:
            raise InvalidValue(_("%(label)s must be a date like 2024-05-01.") % {"label": definition.label})
        return day.isoformat()
    if definition.field_type == FieldType.CHOICE:
        text = str(raw).strip()
        if text not in definition.choices:
            raise InvalidValue(
                _("%(label)s must be one of: %(choices)s")
                % {"label": definition.label, "choices": "、".join(definition.choices)}
            )
        return text
    if definition.field_type == FieldType.BOOLEAN:
        text = str(raw).strip().lower()
        if text in {"1", "true", "yes", "是", "y"}:
            return True
        if text in {"0", "false", "no", "否", "n"}:
            return False
        raise InvalidValue(_("%(label)s must be yes or no.") % {"label": definition.label})
    return str(raw).strip()[:200]


def clean_member_input(data, *, definitions=(), partial=False):
    """Validate the plain fields of a member; returns (cleaned, errors). Relations are checked by services."""
    errors, cleaned = {}, {}

    def has(key):
        return key in data

    def normalized(key, normalize, raw):
        """Keep `normalize(raw)` as the field's value, or its InvalidValue message as the field's error."""
        try:
            cleaned[key] = normalize(raw)
        except InvalidValue as exc:
            errors[key] = str(exc)

    if has("kind") or not partial:
        kind = data.get("kind") or MemberKind.PERSON
        if kind not in MemberKind.values:
            errors["kind"] = _("Unknown member type.")
        cleaned["kind"] = kind
    if has("name") or not partial:
        name = str(data.get("name") or "").strip()
        if not name:
            errors["name"] = _("Name is required.")
        elif len(name) > 100:
            errors["name"] = _("Name is too long (100 characters at most).")
        cleaned["name"] = name
    if has("phone") or not partial:
        raw = data.get("phone")
        kind = cleaned.get("kind") or data.get("kind") or MemberKind.PERSON
        if raw in (None, "") and kind == MemberKind.COMPANY:
            cleaned["phone"] = None
        else:
            normalized("phone", normalize_phone, raw)
    if has("gender"):
        gender = data.get("gender") or ""
        aliases = {"男": Gender.MALE, "女": Gender.FEMALE, "m": Gender.MALE, "f": Gender.FEMALE}
        gender = aliases.get(str(gender).strip().lower(), gender)
        if gender not in Gender.values:
            errors["gender"] = _("Gender must be male, female or empty.")
        cleaned["gender"] = gender
    if has("birthday"):
        normalized("birthday", parse_birthday, data.get("birthday"))
    if has("id_number"):
        raw = data.get("id_number")
        if raw in (None, ""):
            cleaned["id_number"] = ""
        else:
            normalized("id_number", normalize_id_number, raw)
    if has("email"):
        email = str(data.get("email") or "").strip()
        if email:
            try:
                validate_email(email)
            except DjangoValidationError:
                errors["email"] = _("The e-mail address is not valid.")
        cleaned["email"] = email
    for key, limit in (("address", 200), ("notes", 5000), ("source_detail", 100)):
        if has(key):
            text = str(data.get(key) or "").strip()
            if len(text) > limit:
                errors[key] = _("Too long (%(limit)s characters at most).") % {"limit": limit}
            cleaned[key] = text
    if has("source") or not partial:
        source = data.get("source") or Source.STORE
        if source not in Source.values:
            errors["source"] = _("Unknown source.")
        cleaned["source"] = source
    if has("custom_fields") or not partial:  # left out of a full input, they are checked as all empty
        values, field_errors = clean_custom_fields(definitions, data.get("custom_fields"), partial=partial)
        cleaned["custom_fields"] = values
        for key, message in field_errors.items():
            errors[f"custom_fields.{key}"] = message
    return cleaned, errors
