from django.utils.translation import gettext_lazy as _

from onecard.core import app_config


class PromotionsConfig(app_config.HooksAppConfig):
    """Promotion rules, the pricing engine that applies them, and coupons."""

    name = "onecard.promotions"
    label = "promotions"
    verbose_name = _("Promotions and coupons")
