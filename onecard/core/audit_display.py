"""The audit log as people read it: field labels in the reader's language, yuan, names instead of ids.

Entries store plain JSON (field name → value, amounts in fen, links as ids). This module turns one
page of entries into rows of (label, before, after) without changing what is stored: the label is
the model field's verbose name, an amount field (its English verbose name says "(fen)", or it is
one of FEN_KEYS) is shown in yuan, a choice by its label, a link by the linked record's name
(one query per linked model for the whole page), None as "—" and booleans as 是/否.
"""

import json
import re
from collections import defaultdict

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

EMPTY = "—"
# Keys that hold fen although they are no model field with "(fen)" in its name (snapshots of sales,
# statements and postings, extra keys services add).
FEN_KEYS = frozenset(
    {"amount", "net", "price", "list_price", "list_total", "discount_total", "total_due", "returned_due",
     "cash_received", "balance", "balance_after", "principal", "bonus", "refunded_total"}
)  # fmt: skip
# Keys services add that are no field of the subject's model.
EXTRA_LABELS = {
    "rules": gettext_lazy("Rules"),
    "roles": gettext_lazy("Roles"),
    "stores": gettext_lazy("Stores"),
    "rows": gettext_lazy("Rows"),
    "filters": gettext_lazy("Filters"),
    "first": gettext_lazy("First number"),
    "last": gettext_lazy("Last number"),
    "count": gettext_lazy("Count"),
    "settle_entry": gettext_lazy("Settling journal entry"),
    "tiers": gettext_lazy("Tiers"),
    "fields": gettext_lazy("Fields"),
    "purpose": gettext_lazy("Purpose"),
}
_UNIT = re.compile(r"\s*[（(](分|fen)[）)]\s*$")


def subject_model(subject_type):
    """The model class named by an entry's `subject_type` ("loyalty.card"), or None."""
    try:
        return apps.get_model(subject_type)
    except (LookupError, ValueError):
        return None


def subject_label(entry):
    """ "储值卡 8888000000018" rather than "loyalty.card#12": the kind of record and its name."""
    model = subject_model(entry.subject_type)
    kind = str(model._meta.verbose_name) if model is not None else entry.subject_type
    name = entry.subject_repr or (f"#{entry.subject_id}" if entry.subject_id else "")
    return kind, name


def _field(model, key):
    if model is None:
        return None
    try:
        return model._meta.get_field(key)
    except FieldDoesNotExist:
        return None


def _is_fen(field, key):
    if key in FEN_KEYS:
        return True
    if field is None or not isinstance(field, models.IntegerField):
        return False
    with translation.override("en"):
        return "(fen)" in str(field.verbose_name)


def label(model, key):
    """The reader's name of one audited key: the field's verbose name without its "(fen)" unit."""
    field = _field(model, key)
    if field is not None and not field.auto_created:
        return _UNIT.sub("", str(field.verbose_name)).strip().capitalize()
    if key in EXTRA_LABELS:
        return str(EXTRA_LABELS[key])
    return key.replace("_", " ")


def yuan(fen):
    """12345 → "¥123.45" with thousands separators; anything else unchanged."""
    if isinstance(fen, bool) or not isinstance(fen, int):
        return fen
    sign = "−" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}¥{fen // 100:,}.{fen % 100:02d}"


class _Names:
    """The names of linked records of one page, fetched once per linked model."""

    def __init__(self):
        self.wanted = defaultdict(set)
        self.found = {}

    def want(self, related, value):
        values = value if isinstance(value, list) else [value]
        for v in values:
            if isinstance(v, (int, str)) and not isinstance(v, bool) and str(v).isdecimal():
                self.wanted[related].add(int(v))

    def fetch(self):
        for related, pks in self.wanted.items():
            for obj in related._default_manager.filter(pk__in=pks):
                self.found[(related, obj.pk)] = str(obj)

    def name(self, related, value):
        try:
            return self.found.get((related, int(value)), f"#{value}")
        except (TypeError, ValueError):
            return str(value)


def _plain_text(value):
    if value is None:
        return EMPTY
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, (list, dict)):
        if isinstance(value, list) and all(not isinstance(v, (list, dict)) for v in value):
            return "、".join(_plain_text(v) for v in value) or EMPTY
        return json.dumps(value, ensure_ascii=False)
    if value == "":
        return EMPTY
    return str(value)


def _value(model, key, value, names):
    field = _field(model, key)
    if value is None:
        return EMPTY
    if _is_fen(field, key):
        if isinstance(value, list):
            return "、".join(str(yuan(v)) for v in value)
        return yuan(value)
    if field is not None and field.is_relation and field.related_model is not None and value != "":
        if isinstance(value, list):
            return "、".join(names.name(field.related_model, v) for v in value) or EMPTY
        return names.name(field.related_model, value)
    if field is not None and field.choices and not isinstance(value, (list, dict)):
        return str(dict(field.flatchoices).get(value, value))
    return _plain_text(value)


def _want_names(model, data, names):
    for key, value in (data or {}).items():
        field = _field(model, key)
        if field is not None and field.is_relation and field.related_model is not None and value is not None:
            names.want(field.related_model, value)


def changes(entry, names=None):
    """The entry's keys as rows {"key", "label", "before", "after"}, in the reader's language."""
    model = subject_model(entry.subject_type)
    before = entry.before if isinstance(entry.before, dict) else {}
    after = entry.after if isinstance(entry.after, dict) else {}
    if names is None:
        names = _Names()
        _want_names(model, before, names)
        _want_names(model, after, names)
        names.fetch()
    rows = []
    for key in list(dict.fromkeys([*before, *after])):
        rows.append(
            {
                "key": key,
                "label": label(model, key),
                "before": _value(model, key, before[key], names) if key in before else None,
                "after": _value(model, key, after[key], names) if key in after else None,
            }
        )
    return rows


def present(entries):
    """Each entry with `.kind`, `.name` and `.rows` for the list and detail pages (names fetched per page)."""
    entries = list(entries)
    names = _Names()
    for entry in entries:
        model = subject_model(entry.subject_type)
        _want_names(model, entry.before if isinstance(entry.before, dict) else {}, names)
        _want_names(model, entry.after if isinstance(entry.after, dict) else {}, names)
    names.fetch()
    for entry in entries:
        entry.kind, entry.name = subject_label(entry)
        entry.rows = changes(entry, names)
    return entries
