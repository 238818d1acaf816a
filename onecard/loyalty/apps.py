from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LoyaltyConfig(AppConfig):
    """The one-card ledger: cards, tiers, stored value, points, holds, refunds, settlement."""

    name = "onecard.loyalty"
    label = "loyalty"
    verbose_name = _("Loyalty and ledger")
