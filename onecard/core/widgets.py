"""Form widgets every page shares: a search picker for records named by id (products, categories...).

The picker posts the chosen ids as one comma-separated value, so a form reads it with an id-list field
(`forms.IdListField`) or an IntegerField; the page shows each chosen record by name, offers a search box
that asks a JSON endpoint (`{"results": [{"id": 12, "label": "..."}]}`) and lets the user remove a choice.
The browser side is `static/onecard/app.js` (no inline script, so a strict Content-Security-Policy holds).
"""

import re

from django import forms
from django.urls import reverse
from django.utils.translation import gettext_lazy as _


def ids_in(value) -> list[int]:
    """The positive ASCII-digit ids in a widget value ("12, 15", [12, 15], 12 or None), in order, once each."""
    if value in (None, ""):
        return []
    parts = value if isinstance(value, list | tuple) else re.split(r"[\s,，、;；]+", str(value))
    seen = []
    for part in map(str, parts):
        if part.isascii() and part.isdigit() and int(part) > 0 and int(part) not in seen:
            seen.append(int(part))
    return seen


class SearchPicker(forms.Widget):
    """Chosen records shown by name (each removable) and a search box; posts the ids, comma-separated.

    `search_url`: the URL name of the JSON search; `labels`: a callable {id: label} for the chosen ids,
    set by the form once it knows the merchant (until then an id shows as "#12").
    """

    template_name = "core/widgets/search_picker.html"

    def __init__(self, search_url, *, multiple=True, placeholder=None, attrs=None):
        super().__init__(attrs)
        self.search_url = search_url
        self.multiple = multiple
        self.placeholder = placeholder or _("Search by name, pinyin initials, barcode or SKU")
        self.labels = None

    def format_value(self, value):
        return ",".join(map(str, ids_in(value)))

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        ids = ids_in(value)
        labels = self.labels(ids) if self.labels and ids else {}
        context["widget"].update(
            chosen=[(pk, labels.get(pk, f"#{pk}")) for pk in ids],
            search_url=reverse(self.search_url),
            multiple=self.multiple,
            placeholder=self.placeholder,
        )
        return context

    def value_from_datadict(self, data, files, name):
        return data.get(name)
