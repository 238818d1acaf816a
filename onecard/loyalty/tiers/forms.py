"""The tier form (/cards/tiers/): a tier and its upgrade rules; thresholds in yuan for spend and top-ups."""

from django import forms
from django.utils.translation import gettext_lazy as _

from onecard.core.forms import GridLayoutMixin, ServiceErrorsMixin, yuan
from onecard.loyalty.cards.choices import TierMetric

MONEY_METRICS = (TierMetric.SPEND, TierMetric.TOPUP)
RULE_ROWS = 3


class TierForm(GridLayoutMixin, ServiceErrorsMixin, forms.Form):
    """A tier with up to RULE_ROWS upgrade rules (metric over a rolling window ≥ threshold)."""

    grid = (
        "name",
        "rank",
        "discount_rate",
        "points_multiplier",
        "review_period_days",
        "grace_days",
        "benefits",
        "is_active",
    )

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
