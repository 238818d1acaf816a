from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PromotionsConfig(AppConfig):
    """Promotion rules, the pricing engine that applies them, and coupons."""

    name = "onecard.promotions"
    label = "promotions"
    verbose_name = _("Promotions and coupons")
