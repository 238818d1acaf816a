"""Forms of the points rules (/cards/rules/): earn rules per store and weekday, and the points policy."""

from django import forms
from django.utils.translation import gettext_lazy as _

from onecard.core.forms import (
    GridLayoutMixin,
    ModelCheckListField,
    MoneyField,
    ServiceErrorsMixin,
    StoreChoicesMixin,
    weekday_choices,
    weekdays_field,
)
from onecard.loyalty.models.points import ExpiryMode

WEEKDAYS = weekday_choices()

# The fields of an earn rule the form shows as stored (the stores and weekdays are turned into lists).
SHOWN_AS_STORED = ("name", "points_per_yuan", "birthday_multiplier", "valid_from", "valid_until", "priority")


class EarnRuleForm(StoreChoicesMixin, GridLayoutMixin, ServiceErrorsMixin, forms.Form):
    """Points per ¥1 spent, per store and weekday, dated, with a birthday multiplier."""

    grid = (
        "name",
        "points_per_yuan",
        "birthday_multiplier",
        "priority",
        "valid_from",
        "valid_until",
        "weekdays",
        "stores",
    )

    name = forms.CharField(label=_("Name"), max_length=60)
    points_per_yuan = forms.DecimalField(
        label=_("Points per ¥1"), max_digits=9, decimal_places=4, min_value=0
    )
    birthday_multiplier = forms.DecimalField(
        label=_("Birthday multiplier"), max_digits=5, decimal_places=2, initial="1"
    )
    stores = ModelCheckListField(label=_("Stores"), help_text=_("None ticked: every store."))
    weekdays = weekdays_field()
    valid_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    valid_until = forms.DateField(
        label=_("Until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    priority = forms.IntegerField(label=_("Priority"), initial=0)

    @staticmethod
    def initial_for(rule):
        initial = {name: getattr(rule, name) for name in SHOWN_AS_STORED}
        return {**initial, "stores": list(rule.stores.all()), "weekdays": list(rule.weekdays)}

    def rule_data(self):
        data = dict(self.cleaned_data)
        data["weekdays"] = "".join(data["weekdays"])
        data["stores"] = list(data["stores"])
        return data


class PointsPolicyForm(GridLayoutMixin, ServiceErrorsMixin, forms.Form):
    """When points expire, what they are worth and how much of a bill they may pay."""

    expiry_mode = forms.ChoiceField(label=_("Points expire"), choices=ExpiryMode.choices)
    expiry_days = forms.IntegerField(label=_("Days (for “N days after earning”)"), min_value=1, initial=365)
    points_per_yuan = forms.IntegerField(label=_("Points worth ¥1"), min_value=1, initial=100)
    cap_percent = forms.DecimalField(
        label=_("Most of a bill payable with points (%)"),
        required=False,
        max_digits=5,
        decimal_places=2,
        min_value=0,
        max_value=100,
    )
    cap_fen = MoneyField(label=_("At most per bill (¥)"), required=False, min_fen=0)
    earn_on_bonus = forms.BooleanField(
        label=_("A sale earns points on what bonus value pays"),
        required=False,
        help_text=_("Off by default: bonus value was given by the merchant, not paid by the member."),
    )
    earn_on_points = forms.BooleanField(label=_("A sale earns points on what points pay"), required=False)
