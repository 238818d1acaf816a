"""Forms of the cashier screen (收银台): amounts are typed in yuan ("19.99") and handed to services in fen."""

from django import forms
from django.utils.translation import gettext_lazy as _

from onecard.core.forms import YuanField
from onecard.core.money import MAX_AMOUNT

TENDERS = [
    ("cash", _("Cash")),
    ("bank_card", _("Bank card")),
    ("wechat", _("WeChat Pay")),
    ("alipay", _("Alipay")),
]


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


class VoidForm(forms.Form):
    original = forms.IntegerField(widget=forms.HiddenInput)
    token = forms.CharField(max_length=64, widget=forms.HiddenInput)
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)
    manager = forms.CharField(label=_("Manager's user name"), max_length=150, required=False)
    manager_password = forms.CharField(
        label=_("Manager's password"), max_length=128, required=False, widget=forms.PasswordInput
    )


class RedeemForm(ActionForm):
    points = forms.IntegerField(label=_("Points"), min_value=1, max_value=MAX_AMOUNT)


# ---- count and period cards at the till ----

REFUND_METHODS = [("bank", _("Bank account")), ("cash", _("Cash")), ("original", _("Original payment"))]


class SellPackageForm(ActionForm):
    package = forms.IntegerField(label=_("Package"))
    tender = forms.ChoiceField(label=_("Paid by"), choices=TENDERS, initial="cash")


class UsePackageForm(ActionForm):
    package = forms.IntegerField(widget=forms.HiddenInput)
    service = forms.CharField(max_length=40, widget=forms.HiddenInput)
    count = forms.IntegerField(label=_("Uses"), min_value=1, max_value=100, initial=1)


class RefundPackageForm(ActionForm):
    package = forms.IntegerField(widget=forms.HiddenInput)
    method = forms.ChoiceField(label=_("Refund to"), choices=REFUND_METHODS, initial="bank")
    reason = forms.CharField(label=_("Reason"), max_length=200)
