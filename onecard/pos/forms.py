"""Forms of the terminal pages: they parse input; the rules live in services."""

from django import forms
from django.utils.translation import gettext_lazy as _

from onecard.pos.choices import TerminalKind


class TerminalForm(forms.Form):
    store = forms.ModelChoiceField(label=_("Store"), queryset=None)
    name = forms.CharField(label=_("Name"), max_length=100, help_text=_("e.g. Till 1, front desk PC"))
    kind = forms.ChoiceField(label=_("Type"), choices=TerminalKind.choices, initial=TerminalKind.POS)

    def __init__(self, *args, stores, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = stores
        self.fields["store"].label_from_instance = lambda node: f"{node.name} ({node.code})"
