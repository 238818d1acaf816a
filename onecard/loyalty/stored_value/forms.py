"""Forms of the stored-value rules (/cards/rules/): top-up bonus tiers and rebates, amounts in yuan."""

from django import forms
from django.utils.translation import gettext_lazy as _

from onecard.core.forms import GridLayoutMixin, MoneyField, ServiceErrorsMixin, StoreChoicesMixin, yuan
from onecard.loyalty.models.stored_value import RebateForm

BONUS_ROWS = 4


class BonusRuleForm(StoreChoicesMixin, GridLayoutMixin, ServiceErrorsMixin, forms.Form):
    """充值赠送: up to BONUS_ROWS tiers of (top up ¥X, get ¥Y), chain-wide or for one store, dated."""

    stores_field = "store"

    name = forms.CharField(label=_("Name"), max_length=60)
    store = forms.ModelChoiceField(
        label=_("Store"), queryset=None, required=False, empty_label=_("Every store (chain-wide)")
    )
    valid_from = forms.DateTimeField(
        label=_("Valid from"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    valid_to = forms.DateTimeField(
        label=_("Valid to"), required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    priority = forms.IntegerField(label=_("Priority"), initial=0)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for n in range(BONUS_ROWS):
            self.fields[f"tier{n}_threshold"] = MoneyField(label=_("Top up (¥)"), required=False)
            self.fields[f"tier{n}_bonus"] = MoneyField(label=_("Bonus (¥)"), required=False)

    @property
    def tier_rows(self):
        return [(self[f"tier{n}_threshold"], self[f"tier{n}_bonus"]) for n in range(BONUS_ROWS)]

    def clean(self):
        data = super().clean()
        tiers = []
        for n in range(BONUS_ROWS):
            threshold, bonus = data.get(f"tier{n}_threshold"), data.get(f"tier{n}_bonus")
            if threshold is None and bonus is None:
                continue
            if threshold is None or bonus is None:
                self.add_error(f"tier{n}_bonus", _("Give both the top-up and its bonus."))
                continue
            tiers.append((threshold, bonus))
        if not tiers and not self.errors:
            self.add_error("tier0_threshold", _("Give at least one tier, e.g. top up 500, bonus 50."))
        data["tiers"] = tiers
        return data


class RebateRuleForm(StoreChoicesMixin, GridLayoutMixin, ServiceErrorsMixin, forms.Form):
    """返利: percent of the amount due back as bonus value or points, chain-wide or for one store, dated.

    The percent is parsed as a Decimal only: its range and decimals are checked by
    rebates.create_rebate_rule / update_rebate_rule, whose message is shown next to the field.
    """

    stores_field = "store"

    grid = ("name", "percent", "form", "min_amount", "store", "is_active", "valid_from", "valid_to")

    # Seconds kept so that saving an unchanged form leaves the dates as they are.
    DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%S"

    name = forms.CharField(label=_("Name"), max_length=60)
    percent = forms.DecimalField(
        label=_("Percent back"), help_text=_("2.5 means 2.5 percent of the amount due.")
    )
    form = forms.ChoiceField(label=_("Given as"), choices=RebateForm.choices, initial=RebateForm.BONUS)
    min_amount = MoneyField(
        label=_("Minimum amount due (¥)"), required=False, min_fen=0, help_text=_("Empty: any amount.")
    )
    store = forms.ModelChoiceField(
        label=_("Store"), queryset=None, required=False, empty_label=_("Every store (chain-wide)")
    )
    valid_from = forms.DateTimeField(
        label=_("Valid from"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local", "step": "1"}, format=DATETIME_FORMAT),
    )
    valid_to = forms.DateTimeField(
        label=_("Valid to"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local", "step": "1"}, format=DATETIME_FORMAT),
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    @staticmethod
    def initial_for(rule):
        return {
            "name": rule.name,
            "percent": rule.percent,
            "form": rule.form,
            "min_amount": yuan(rule.min_amount),
            "store": rule.store,
            "valid_from": rule.valid_from,
            "valid_to": rule.valid_to,
            "is_active": rule.is_active,
        }

    def rule_data(self):
        data = dict(self.cleaned_data)
        data["min_amount"] = data["min_amount"] or 0
        return data
