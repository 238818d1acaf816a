"""Form fields every app's pages share: an amount typed in yuan, handed to the services in fen."""

from django import forms
from django.utils.translation import gettext_lazy as _

from onecard.core.money import MAX_AMOUNT, yuan_str_to_fen


class YuanField(forms.CharField):
    """A positive amount in yuan with at most two decimals, cleaned to int fen."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 16)
        kwargs.setdefault(
            "widget",
            forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off", "placeholder": "0.00"}),
        )
        super().__init__(**kwargs)

    def clean(self, value):
        value = super().clean(value)
        try:
            fen = yuan_str_to_fen(value)
        except ValueError:
            raise forms.ValidationError(
                _("Enter an amount in yuan with at most two decimals, e.g. 19.99.")
            ) from None
        if fen <= 0 or fen > MAX_AMOUNT:
            raise forms.ValidationError(_("Enter an amount greater than zero."))
        return fen
