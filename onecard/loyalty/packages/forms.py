"""The package definition form: prices in yuan, the services typed one per line."""

import re

from django import forms
from django.utils.translation import gettext_lazy as _

from onecard.core.forms import YuanField
from onecard.loyalty.packages.choices import PackageKind

# "洗车 × 10", "洗车,10", "洗车 10", "洗车x10" — or a bare service name for a period card.
LINE_PATTERN = re.compile(r"^(?P<service>.+?)(?:\s*[,，×xX*]\s*|\s+)(?P<uses>\d+)$")


def parse_lines(text, kind) -> list[tuple[str, int | None]]:
    """The services typed one per line: "洗车 × 10" for a count card, "健身" for a period card."""
    lines = []
    for raw in (text or "").splitlines():
        raw = raw.strip()
        if not raw:
            continue
        match = LINE_PATTERN.match(raw)
        if match and kind == PackageKind.COUNT:
            lines.append((match["service"].strip(), int(match["uses"])))
        elif kind == PackageKind.COUNT:
            raise forms.ValidationError(_("Write each service as “name × uses”, e.g. 洗车 × 10."))
        else:
            lines.append((match["service"].strip() if match else raw, None))
    if not lines:
        raise forms.ValidationError(_("A package has at least one service."))
    return lines


class PackageDefinitionForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=60)
    kind = forms.ChoiceField(label=_("Kind"), choices=PackageKind.choices)
    price = YuanField(label=_("Price (¥)"))
    lines = forms.CharField(
        label=_("Services"),
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("One per line: “洗车 × 10” for a count card; just the service for a period card."),
    )
    validity_days = forms.IntegerField(
        label=_("Valid for (days)"), required=False, min_value=1, max_value=3660,
        help_text=_("Required for a period card; empty: a count card never lapses."),
    )  # fmt: skip
    daily_cap = forms.IntegerField(
        label=_("Uses per day at most"), required=False, min_value=1, max_value=100
    )
    stores = forms.ModelMultipleChoiceField(
        label=_("Usable at"), queryset=None, required=False, help_text=_("None selected: every store.")
    )

    def __init__(self, *args, stores_queryset, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["stores"].queryset = stores_queryset

    def clean(self):
        data = super().clean()
        if "kind" in data and "lines" in data:
            try:
                data["parsed_lines"] = parse_lines(data["lines"], data["kind"])
            except forms.ValidationError as error:
                self.add_error("lines", error)
        return data
