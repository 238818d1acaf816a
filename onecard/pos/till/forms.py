"""Forms of the till's sale screen (开单): tenders typed in yuan (points in points), returns by line.

Amounts reach the checkout services as int fen; a blank tender is no tender. The one-time token is
the idempotency key of the payment or return (see till.sale).
"""

import re

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from onecard.core.forms import MoneyField
from onecard.loyalty.ledger.services import MAX_AMOUNT
from onecard.sales.models import TenderKind

TOKEN_PATTERN = re.compile(r"[0-9a-f]{32}")
YUAN_TENDERS = (
    TenderKind.STORED_VALUE,
    TenderKind.CASH,
    TenderKind.BANK_CARD,
    TenderKind.WECHAT,
    TenderKind.ALIPAY,
)


class TokenField(forms.CharField):
    """The form's one-time token (32 hex digits, as the page issued it)."""

    def __init__(self, **kwargs):
        super().__init__(max_length=32, widget=forms.HiddenInput, **kwargs)

    def clean(self, value):
        value = super().clean(value)
        if not TOKEN_PATTERN.fullmatch(value):
            raise ValidationError(_("This form has expired; reload the page and try again."))
        return value


class TenderYuanField(MoneyField):
    """An amount of one tender in yuan, blank meaning none; cleaned to int fen (0 for blank)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(min_fen=0, **kwargs)

    def clean(self, value):
        fen = super().clean(value)
        return 0 if fen is None else fen


class PayForm(forms.Form):
    """收款: the tenders of the sale in progress; `tenders()` gives the checkout's {kind: value} for those > 0."""

    token = TokenField()
    stored_value = TenderYuanField(label=_("Stored value"))
    points = forms.IntegerField(label=_("Points"), required=False, min_value=0, max_value=MAX_AMOUNT)
    cash = TenderYuanField(label=_("Cash"))
    cash_received = TenderYuanField(label=_("Cash received"))
    bank_card = TenderYuanField(label=_("Bank card"))
    wechat = TenderYuanField(label=_("WeChat Pay"))
    alipay = TenderYuanField(label=_("Alipay"))
    password = forms.CharField(label=_("Card password"), required=False, max_length=32)

    def tenders(self) -> dict:
        """{tender kind: fen (points: points)} of every tender greater than zero."""
        data = self.cleaned_data
        values = {kind.value: data.get(kind.value) or 0 for kind in YUAN_TENDERS}
        values[TenderKind.POINTS.value] = data.get("points") or 0
        return {kind: value for kind, value in values.items() if value > 0}


class ReturnForm(forms.Form):
    """退货: a reason, and either the whole sale or units per line (fields `qty_<line id>`, 0 to what is left)."""

    token = TokenField()
    reason = forms.CharField(label=_("Reason"), max_length=200)
    whole = forms.BooleanField(label=_("Return the whole sale"), required=False)

    def __init__(self, *args, lines=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.sale_lines = [line for line in lines if line.quantity > line.returned_quantity]
        for line in self.sale_lines:
            self.fields[f"qty_{line.pk}"] = forms.IntegerField(
                label=line.name,
                required=False,
                min_value=0,
                max_value=line.quantity - line.returned_quantity,
            )

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        if not self.sale_lines:
            raise ValidationError(_("Everything in this sale has been returned."))
        if not data.get("whole") and not self.returned_lines():
            raise ValidationError(_("Say how many units of which line come back, or return the whole sale."))
        return data

    def returned_lines(self):
        """{line id: units} to return, or None for the whole sale (what has not come back yet)."""
        if self.cleaned_data.get("whole"):
            return None
        return {
            line.pk: self.cleaned_data[f"qty_{line.pk}"]
            for line in self.sale_lines
            if self.cleaned_data.get(f"qty_{line.pk}")
        }
