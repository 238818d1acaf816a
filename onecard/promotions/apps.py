from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PromotionsConfig(AppConfig):
    """Promotion rules, the pricing engine that applies them, and coupons."""

    name = "onecard.promotions"
    label = "promotions"
    verbose_name = _("Promotions and coupons")

    def ready(self):
        # Django's rule: a module that imports models is imported once the app registry is ready.
        from . import hooks

        hooks.connect()
