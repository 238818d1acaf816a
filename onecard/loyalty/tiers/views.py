"""Tier pages under /cards/tiers/: the tiers with their upgrade rules and recent changes, and the tier form.

Tiers are merchant-wide; tier changes are shown for members in the user's scope (by home store).
Writes go through tiers.services (create_tier / update_tier).
"""

from django.db.models import Count
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from onecard.core.money import fen_to_yuan_str
from onecard.core.object_views import ObjectEditView, ObjectListView
from onecard.core.scoping import scope
from onecard.loyalty.models import Tier, TierChange
from onecard.loyalty.tiers import services as tiers
from onecard.loyalty.tiers.forms import TierForm

RECENT_TIER_CHANGES = 50


def _rule_text(rule):
    if rule.metric in ("spend", "topup"):
        threshold = f"¥{fen_to_yuan_str(rule.threshold)}"
    else:
        threshold = f"{rule.threshold:,}"
    return _("%(metric)s ≥ %(threshold)s in %(days)s days") % {
        "metric": rule.get_metric_display(),
        "threshold": threshold,
        "days": rule.window_days,
    }


class TierList(ObjectListView):
    """Tiers with discount, multiplier, benefits and upgrade rules; the recent tier changes and why."""

    permissions = ("cards.view",)
    model = Tier
    template_name = "loyalty/manage/tiers.html"
    extra_context = {"tab": "tiers"}

    def get_queryset(self):
        tier_rows = super().get_queryset().prefetch_related("rules").annotate(holders_count=Count("holders"))
        return tier_rows.order_by("-rank")

    def row(self, tier):
        return {"tier": tier, "rules": [_rule_text(r) for r in tier.rules.all()]}

    def get_context_data(self):
        changes = scope(TierChange.objects.filter(merchant=self.merchant), self.user, "member__home_store")
        changes = changes.select_related("member", "from_tier", "to_tier", "actor").order_by(
            "-created_at", "-id"
        )
        return {"changes": changes[:RECENT_TIER_CHANGES]}


class TierEdit(ObjectEditView):
    """Create or edit a tier and replace its upgrade rules (tiers.create_tier / update_tier)."""

    permissions = ("cards.view", "products.manage")
    model = Tier
    not_found = gettext_lazy("No such tier.")
    form_class = TierForm
    template_name = "loyalty/manage/tier_form.html"
    object_name = "tier"
    extra_context = {"tab": "tiers"}
    success_url = "cards:tiers"
    success_message = gettext_lazy("Tier “%(name)s” saved.")
    new_title = gettext_lazy("New tier")
    edit_title = gettext_lazy("Edit tier")

    def save(self, form):
        data, rules = form.tier_data(), form.cleaned_data["rules"]
        if self.object is not None:
            return tiers.update_tier(self.user, self.object, rules=rules, **data)
        # create_tier makes an active tier: one saved switched off is switched off in the same transaction.
        active = data.pop("is_active")
        tier = tiers.create_tier(self.user, self.merchant, rules=rules, **data)
        if not active:
            tiers.update_tier(self.user, tier, is_active=False)
        return tier


# The URL confs name these views as functions: one view object per page.
tier_list = TierList.as_view()
tier_form = TierEdit.as_view()
