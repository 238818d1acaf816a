"""Forms of the card management pages (/cards/). They only parse input: the services check every rule.

Amounts are typed in yuan ("500" or "19.99") and handed on as integer fen; rates and multipliers
are parsed as Decimal. Service refusals (ValidationFailed) come back next to their fields through
`add_service_errors`.
"""

from django import forms
from django.utils.translation import gettext_lazy as _

from onecard.core.forms import MoneyField, ServiceErrorsMixin, yuan
from onecard.loyalty.cards.choices import CardKind, TierMetric
from onecard.loyalty.ledger.services import MAX_AMOUNT
from onecard.loyalty.models.points import ExpiryMode
from onecard.loyalty.models.stored_value import ConsumptionOrder, RebateForm

MONEY_METRICS = (TierMetric.SPEND, TierMetric.TOPUP)
RULE_ROWS = 3
BONUS_ROWS = 4
WEEKDAYS = [
    (str(n), label)
    for n, label in enumerate([_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun")], 1)
]
# The refund methods of stored_value.refund_topup (REFUND_TENDERS), which the payout follows.
PAYOUT_METHODS = [
    ("bank", _("Bank transfer to the holder")),
    ("cash", _("Cash (up to ¥100)")),
    ("original", _("Back the way it was paid")),
]


class ProductForm(ServiceErrorsMixin, forms.Form):
    """A card product (卡类型) and, for stored-value cards, the order charges take principal and bonus."""

    name = forms.CharField(label=_("Name"), max_length=60)
    kind = forms.ChoiceField(label=_("Kind"), choices=CardKind.choices)
    registered = forms.BooleanField(label=_("Registered card (记名)"), required=False, initial=True)
    balance_cap = MoneyField(
        label=_("Balance cap (¥)"),
        required=False,
        help_text=_("Empty: ¥5,000 for registered cards, ¥1,000 for anonymous ones."),
    )
    validity_days = forms.IntegerField(
        label=_("Valid for (days)"),
        required=False,
        min_value=1,
        help_text=_("Empty: never expires. Anonymous cards: at least 1096 days."),
    )
    password_threshold = MoneyField(label=_("Password needed above (¥)"), required=False, min_fen=0)
    daily_charge_limit = MoneyField(label=_("Daily charge limit (¥)"), required=False)
    consumption_order = forms.ChoiceField(
        label=_("Consumption order"), choices=ConsumptionOrder.choices, initial=ConsumptionOrder.PROPORTIONAL
    )
    stores = forms.ModelMultipleChoiceField(
        label=_("Accepted at"),
        queryset=None,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: every store of the merchant."),
    )
    alliance_accepted = forms.BooleanField(label=_("Accepted at alliance merchants"), required=False)
    is_active = forms.BooleanField(label=_("On sale"), required=False, initial=True)

    def __init__(self, *args, stores, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["stores"].queryset = stores

    @staticmethod
    def initial_for(product, order):
        return {
            "name": product.name,
            "kind": product.kind,
            "registered": product.registered,
            "balance_cap": yuan(product.balance_cap),
            "validity_days": product.validity_days,
            "password_threshold": yuan(product.password_threshold),
            "daily_charge_limit": yuan(product.daily_charge_limit),
            "consumption_order": order,
            "stores": list(product.stores.all()),
            "alliance_accepted": product.alliance_accepted,
            "is_active": product.is_active,
        }

    def product_data(self):
        data = dict(self.cleaned_data)
        data.pop("consumption_order")
        data["stores"] = list(data["stores"])
        return data


class TierForm(ServiceErrorsMixin, forms.Form):
    """A tier with up to RULE_ROWS upgrade rules (metric over a rolling window ≥ threshold)."""

    name = forms.CharField(label=_("Name"), max_length=40)
    rank = forms.IntegerField(label=_("Rank"), min_value=0, max_value=32767, help_text=_("Higher is better."))
    discount_rate = forms.DecimalField(
        label=_("Discount rate"),
        max_digits=4,
        decimal_places=3,
        initial="1",
        help_text=_("0.95 = 95折; 1 = no discount."),
    )
    points_multiplier = forms.DecimalField(
        label=_("Points multiplier"), max_digits=5, decimal_places=2, initial="1"
    )
    benefits = forms.CharField(label=_("Benefits"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    review_period_days = forms.IntegerField(
        label=_("Review every (days)"),
        required=False,
        min_value=1,
        help_text=_("Empty: the tier is kept for good."),
    )
    grace_days = forms.IntegerField(label=_("Grace period (days)"), min_value=0, initial=0)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for n in range(RULE_ROWS):
            self.fields[f"rule{n}_metric"] = forms.ChoiceField(
                label=_("Upgrade rule %(n)s") % {"n": n + 1},
                required=False,
                choices=[("", "—"), *TierMetric.choices],
            )
            self.fields[f"rule{n}_threshold"] = forms.DecimalField(
                label=_("Threshold (¥ for spend and top-ups)"), required=False, min_value=0, decimal_places=2
            )
            self.fields[f"rule{n}_window"] = forms.IntegerField(
                label=_("Window (days)"), required=False, min_value=1, initial=365
            )

    @property
    def rule_rows(self):
        return [
            (self[f"rule{n}_metric"], self[f"rule{n}_threshold"], self[f"rule{n}_window"])
            for n in range(RULE_ROWS)
        ]

    @staticmethod
    def initial_for(tier):
        initial = {
            name: getattr(tier, name)
            for name in (
                "name",
                "rank",
                "discount_rate",
                "points_multiplier",
                "benefits",
                "review_period_days",
                "grace_days",
                "is_active",
            )
        }
        for n, rule in enumerate(tier.rules.all()[:RULE_ROWS]):
            money = rule.metric in MONEY_METRICS
            initial.update(
                {
                    f"rule{n}_metric": rule.metric,
                    f"rule{n}_window": rule.window_days,
                    f"rule{n}_threshold": yuan(rule.threshold) if money else rule.threshold,
                }
            )
        return initial

    def clean(self):
        data = super().clean()
        rules = []
        for n in range(RULE_ROWS):
            metric, threshold = data.get(f"rule{n}_metric"), data.get(f"rule{n}_threshold")
            window = data.get(f"rule{n}_window")
            if not metric:
                continue
            if threshold is None or window is None:
                self.add_error(f"rule{n}_threshold", _("A rule needs a threshold and a window."))
                continue
            if metric in MONEY_METRICS:
                value = int(threshold * 100)
            elif threshold != threshold.to_integral_value():
                self.add_error(f"rule{n}_threshold", _("Points and visits are whole numbers."))
                continue
            else:
                value = int(threshold)
            rules.append((metric, value, window))
        data["rules"] = rules
        return data

    def tier_data(self):
        data = {k: v for k, v in self.cleaned_data.items() if not k.startswith("rule")}
        data["benefits"] = data.get("benefits") or ""
        return data


class BonusRuleForm(ServiceErrorsMixin, forms.Form):
    """充值赠送: up to BONUS_ROWS tiers of (top up ¥X, get ¥Y), chain-wide or for one store, dated."""

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

    def __init__(self, *args, stores, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = stores
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


class RebateRuleForm(ServiceErrorsMixin, forms.Form):
    """返利: percent of the amount due back as bonus value or points, chain-wide or for one store, dated.

    The percent is parsed as a Decimal only: its range and decimals are checked by
    rebates.create_rebate_rule / update_rebate_rule, whose message is shown next to the field.
    """

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

    def __init__(self, *args, stores, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = stores

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


class EarnRuleForm(ServiceErrorsMixin, forms.Form):
    """Points per ¥1 spent, per store and weekday, dated, with a birthday multiplier."""

    name = forms.CharField(label=_("Name"), max_length=60)
    points_per_yuan = forms.DecimalField(
        label=_("Points per ¥1"), max_digits=9, decimal_places=4, min_value=0
    )
    birthday_multiplier = forms.DecimalField(
        label=_("Birthday multiplier"), max_digits=5, decimal_places=2, initial="1"
    )
    stores = forms.ModelMultipleChoiceField(
        label=_("Stores"),
        queryset=None,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: every store."),
    )
    weekdays = forms.MultipleChoiceField(
        label=_("Weekdays"),
        choices=WEEKDAYS,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: every day."),
    )
    valid_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    valid_until = forms.DateField(
        label=_("Until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    priority = forms.IntegerField(label=_("Priority"), initial=0)

    def __init__(self, *args, stores, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["stores"].queryset = stores

    def rule_data(self):
        data = dict(self.cleaned_data)
        data["weekdays"] = "".join(data["weekdays"])
        data["stores"] = list(data["stores"])
        return data


class PointsPolicyForm(ServiceErrorsMixin, forms.Form):
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


class BatchForm(ServiceErrorsMixin, forms.Form):
    """A range of card numbers: prefix + serial (zero-padded) + Luhn check digit, into a store's stock."""

    product = forms.ModelChoiceField(label=_("Card product"), queryset=None)
    store = forms.ModelChoiceField(label=_("Into the stock of"), queryset=None)
    prefix = forms.RegexField(
        label=_("Prefix"),
        regex=r"^\d{1,10}$",
        max_length=10,
        error_messages={"invalid": _("1 to 10 digits.")},
    )
    serial_width = forms.IntegerField(label=_("Serial digits"), min_value=4, max_value=12, initial=8)
    start = forms.IntegerField(label=_("First serial"), min_value=0, initial=1)
    count = forms.IntegerField(label=_("Number of cards"), min_value=1, max_value=100_000)
    note = forms.CharField(label=_("Note"), max_length=200, required=False)

    def __init__(self, *args, products, stores, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["product"].queryset = products
        self.fields["store"].queryset = stores


# ---- card actions ---------------------------------------------------------------------------------------


class ReasonForm(ServiceErrorsMixin, forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)


class EmptyForm(ServiceErrorsMixin, forms.Form):
    pass


class BindForm(ServiceErrorsMixin, forms.Form):
    member = forms.CharField(label=_("Member phone or member no."), max_length=30)


class ReplaceForm(ServiceErrorsMixin, forms.Form):
    new_number = forms.CharField(label=_("New card no. (from stock)"), max_length=24)
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)


class MergeForm(ServiceErrorsMixin, forms.Form):
    target = forms.CharField(label=_("Merge into card no."), max_length=24)
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)


class CancelForm(ServiceErrorsMixin, forms.Form):
    refund_reason = forms.ChoiceField(
        label=_("Why the balance is refunded"),
        choices=[
            ("member_request", _("The member asks (used value priced before discount)")),
            ("merchant_fault", _("The merchant is at fault (used value shared over principal and bonus)")),
        ],
        initial="member_request",
        required=False,
    )
    method = forms.ChoiceField(label=_("Pay the refund out by"), choices=PAYOUT_METHODS, initial="bank")
    reason = forms.CharField(label=_("Reason"), max_length=200)
    confirm = forms.BooleanField(label=_("Yes, cancel this card for good"))


class PasswordForm(ServiceErrorsMixin, forms.Form):
    password = forms.CharField(
        label=_("New card password (4–12 digits; empty removes it)"),
        required=False,
        max_length=12,
        widget=forms.PasswordInput(attrs={"inputmode": "numeric"}),
    )


class PointsAdjustForm(ServiceErrorsMixin, forms.Form):
    points = forms.IntegerField(
        label=_("Points (+ to add, − to remove)"), min_value=-MAX_AMOUNT, max_value=MAX_AMOUNT
    )
    reason = forms.CharField(label=_("Reason"), max_length=200)

    def clean_points(self):
        points = self.cleaned_data["points"]
        if points == 0:
            raise forms.ValidationError(_("Give a number of points other than zero."))
        return points
