"""Forms of the shift pages (交班): amounts typed in yuan, handed to pos.shifts in fen."""

from django import forms
from django.utils.translation import gettext_lazy as _

from onecard.core.forms import YuanField
from onecard.pos.choices import CashMovementKind


class OpenShiftForm(forms.Form):
    opening_float = YuanField(label=_("Opening float (¥)"), min_fen=0)
    note = forms.CharField(label=_("Note"), max_length=200, required=False)


class CashMovementForm(forms.Form):
    token = forms.CharField(max_length=64, widget=forms.HiddenInput)
    kind = forms.ChoiceField(label=_("Cash in or out"), choices=CashMovementKind.choices)
    amount = YuanField(label=_("Amount (¥)"))
    reason = forms.CharField(label=_("Reason"), max_length=200)


class CloseShiftForm(forms.Form):
    counted_cash = YuanField(label=_("Cash counted in the drawer (¥)"), min_fen=0)
    note = forms.CharField(label=_("Note"), max_length=200, required=False)
