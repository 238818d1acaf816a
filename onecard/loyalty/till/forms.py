"""Forms of the cashier screen (收银台): amounts are typed in yuan ("19.99") and handed to services in fen."""

from django import forms
from django.utils.translation import gettext_lazy as _

from onecard.core.money import yuan_str_to_fen
from onecard.loyalty.ledger.services import MAX_AMOUNT

TENDERS = [
    ("cash", _("Cash")),
    ("bank_card", _("Bank card")),
    ("wechat", _("WeChat Pay")),
    ("alipay", _("Alipay")),
]


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


class ActionForm(forms.Form):
    card = forms.CharField(max_length=24, widget=forms.HiddenInput)
    token = forms.CharField(max_length=64, widget=forms.HiddenInput)


class TopupForm(ActionForm):
    amount = YuanField(label=_("Amount (¥)"))
    tender = forms.ChoiceField(label=_("Paid by"), choices=TENDERS, initial="cash")


class ChargeForm(ActionForm):
    amount = YuanField(label=_("List amount (¥)"))
    password = forms.CharField(
        label=_("Card password"), required=False, max_length=32, widget=forms.PasswordInput
    )


class RefundForm(ActionForm):
    original = forms.IntegerField(label=_("Charge"))
    amount = YuanField(label=_("Amount (¥)"))
    reason = forms.CharField(label=_("Reason"), max_length=200)


class RedeemForm(ActionForm):
    points = forms.IntegerField(label=_("Points"), min_value=1, max_value=MAX_AMOUNT)
