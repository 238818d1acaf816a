"""Stored-value rule pages under /cards/rules/: the rules overview, top-up bonus rules and rebate rules.

Bonus and rebate rules may be chain-wide or for one store; a user picks among, and edits the rules of,
the stores in their scope. Writes go through stored_value.services, rule_settings and rebates.
"""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from onecard.core.forms import yuan
from onecard.core.money import fen_to_yuan_str
from onecard.core.object_views import ObjectEditView, ObjectToggleView
from onecard.core.permissions import require_perms
from onecard.core.scoping import managed_merchant
from onecard.loyalty.models import PointsEarnRule, RebateRule, TopupBonusRule
from onecard.loyalty.points import services as points_service
from onecard.loyalty.points.forms import WEEKDAYS
from onecard.loyalty.stored_value import rebates, rule_settings
from onecard.loyalty.stored_value import services as stored_value
from onecard.loyalty.stored_value.forms import BonusRuleForm, RebateRuleForm
from onecard.org.queries import stores_in_scope

MANAGE = ("cards.view", "products.manage")
WEEKDAY_LABELS = dict(WEEKDAYS)


def _bonus_tiers_text(rule):
    return " / ".join(
        _("top up ¥%(t)s, bonus ¥%(b)s") % {"t": fen_to_yuan_str(int(t)), "b": fen_to_yuan_str(int(b))}
        for t, b in rule.tiers
    )


@login_required
def rule_list(request):
    """Top-up bonus rules, rebate rules, points earn rules and the points policy of the merchant."""
    require_perms(request.user, "cards.view")
    merchant = managed_merchant(request.user)
    bonus = TopupBonusRule.objects.filter(merchant=merchant).select_related("store")
    earn = PointsEarnRule.objects.filter(merchant=merchant).prefetch_related("stores")
    rebate = RebateRule.objects.filter(merchant=merchant).select_related("store")
    policy = points_service.policy_for(merchant)
    context = {
        "bonus_rules": [
            {"rule": r, "tiers": _bonus_tiers_text(r)}
            for r in bonus.order_by("-is_active", "-priority", "-id")
        ],
        "rebate_rules": [
            {"rule": r, "min_amount": yuan(r.min_amount)}
            for r in rebate.order_by("-is_active", "-percent", "-id")
        ],
        "earn_rules": [
            {"rule": r, "weekdays": ", ".join(str(WEEKDAY_LABELS[d]) for d in r.weekdays)}
            for r in earn.order_by("-is_active", "-priority", "id")
        ],
        "policy": policy,
        "cap_fen": yuan(policy.cap_fen),
        "tab": "rules",
    }
    return render(request, "loyalty/manage/rules.html", context)


class RulePage:
    """A page of the rules tab: cards.view and products.manage, the merchant's rules, back to the tab."""

    permissions = MANAGE
    not_found = gettext_lazy("No such rule.")
    object_name = "rule"
    extra_context = {"tab": "rules"}
    success_url = "cards:rules"


class BonusRuleCreate(RulePage, ObjectEditView):
    """A new top-up bonus rule (stored_value.create_bonus_rule); rules are switched off, not edited."""

    form_class = BonusRuleForm
    template_name = "loyalty/manage/bonus_rule_form.html"
    success_message = gettext_lazy("Top-up bonus rule saved.")

    def form_kwargs(self):
        return {"stores": stores_in_scope(self.user, self.merchant)}

    def save(self, form):
        data = form.cleaned_data
        fields = ("name", "tiers", "store", "valid_from", "valid_to", "priority")
        return stored_value.create_bonus_rule(
            self.user, self.merchant, **{name: data[name] for name in fields}
        )


class RuleToggle(RulePage, ObjectToggleView):
    """Switch a rule of `model` off (or on again); back to the rules page."""

    success_message = gettext_lazy("Rule “%(name)s” updated.")


class BonusRuleToggle(RuleToggle):
    """Switch a top-up bonus rule off (or on again)."""

    model = TopupBonusRule

    def switch(self, rule, active):
        rule_settings.set_bonus_rule_active(self.user, rule, active)


class RebateRuleEdit(RulePage, ObjectEditView):
    """Create or edit a rebate rule (rebates.create_rebate_rule / update_rebate_rule)."""

    model = RebateRule
    form_class = RebateRuleForm
    template_name = "loyalty/manage/rebate_rule_form.html"
    success_message = gettext_lazy("Rebate rule saved.")
    new_title = gettext_lazy("New rebate rule")
    edit_title = gettext_lazy("Edit rebate rule")
    initial_on_post = True  # an edit saves only the fields the user changed

    def get_queryset(self):
        return super().get_queryset().select_related("store")

    def setup_object(self):
        super().setup_object()
        self.stores = stores_in_scope(self.user, self.merchant)
        rule = self.object
        if rule is not None and rule.store_id and not self.stores.filter(pk=rule.store_id).exists():
            # A rule of a store outside the user's scope is not theirs to edit (the service would refuse it).
            raise Http404(self.not_found)

    def form_kwargs(self):
        return {"stores": self.stores}

    def initial(self):
        if self.object is not None:
            return RebateRuleForm.initial_for(self.object)
        return {"valid_from": timezone.now().replace(second=0, microsecond=0)}

    def save(self, form):
        data = form.rule_data()
        if self.object is None:
            return rebates.create_rebate_rule(self.user, self.merchant, **data)
        # Only what the user changed: the dates shown lose their microseconds.
        changes = {name: value for name, value in data.items() if name in form.changed_data}
        return rebates.update_rebate_rule(self.user, self.object, **changes)


class RebateRuleToggle(RuleToggle):
    """Switch a rebate rule off (or on again)."""

    model = RebateRule

    def switch(self, rule, active):
        rebates.set_rebate_rule_active(self.user, rule, active)


# The URL confs name these views as functions: one view object per page.
bonus_rule_create = BonusRuleCreate.as_view()
bonus_rule_toggle = BonusRuleToggle.as_view()
rebate_rule_form = RebateRuleEdit.as_view()
rebate_rule_toggle = RebateRuleToggle.as_view()
