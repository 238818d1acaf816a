from django.utils.translation import gettext_lazy as _

from onecard.core import app_config


class LoyaltyConfig(app_config.HooksAppConfig):
    """The one-card ledger: cards, tiers, stored value, points, holds, refunds, settlement."""

    name = "onecard.loyalty"
    label = "loyalty"
    verbose_name = _("Loyalty and ledger")
