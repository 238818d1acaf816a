"""Points rule pages under /cards/rules/: the earn rules (per store and weekday) and the points policy.

The rules are merchant-wide; writes go through stored_value.rule_settings, which audits them.
"""

from django.utils.translation import gettext_lazy

from onecard.core.forms import yuan
from onecard.core.object_views import ObjectEditView
from onecard.loyalty.models import PointsEarnRule
from onecard.loyalty.points import services as points_service
from onecard.loyalty.points.forms import EarnRuleForm, PointsPolicyForm
from onecard.loyalty.stored_value import rule_settings
from onecard.loyalty.stored_value.views import RulePage, RuleToggle
from onecard.org.queries import merchant_stores


class EarnRuleEdit(RulePage, ObjectEditView):
    """Create or edit a points earn rule (rule_settings.create_earn_rule / update_earn_rule)."""

    model = PointsEarnRule
    form_class = EarnRuleForm
    template_name = "loyalty/manage/earn_rule_form.html"
    success_message = gettext_lazy("Points rule saved.")
    new_title = gettext_lazy("New points rule")
    edit_title = gettext_lazy("Edit points rule")

    def form_kwargs(self):
        return {"stores": merchant_stores(self.merchant)}

    def save(self, form):
        if self.object is None:
            return rule_settings.create_earn_rule(self.user, self.merchant, **form.rule_data())
        return rule_settings.update_earn_rule(self.user, self.object, **form.rule_data())


class EarnRuleToggle(RuleToggle):
    """Switch a points earn rule off (or on again)."""

    model = PointsEarnRule

    def switch(self, rule, active):
        rule_settings.update_earn_rule(self.user, rule, is_active=active)


class PointsPolicyEdit(RulePage, ObjectEditView):
    """The merchant's points expiry, cash rate and cap per bill (rule_settings.set_points_policy)."""

    form_class = PointsPolicyForm
    template_name = "loyalty/manage/policy_form.html"
    success_message = gettext_lazy("Points policy saved.")

    def setup_object(self):
        self.object = None  # one policy per merchant, read by policy_for (with its defaults)

    def initial(self):
        policy = points_service.policy_for(self.merchant)
        fields = (
            "expiry_mode",
            "expiry_days",
            "points_per_yuan",
            "cap_percent",
            "earn_on_bonus",
            "earn_on_points",
        )
        return {**{name: getattr(policy, name) for name in fields}, "cap_fen": yuan(policy.cap_fen)}

    def save(self, form):
        rule_settings.set_points_policy(self.user, self.merchant, **form.cleaned_data)


# The URL confs name these views as functions: one view object per page.
earn_rule_form = EarnRuleEdit.as_view()
earn_rule_toggle = EarnRuleToggle.as_view()
points_policy = PointsPolicyEdit.as_view()
