from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PromotionsConfig(AppConfig):
    """Promotion rules, the pricing engine that applies them, and coupons."""

    name = "onecard.promotions"
    label = "promotions"
    verbose_name = _("Promotions and coupons")

    def ready(self):
        from onecard.members.signals import member_merged

        from .coupons import move_coupons_of_merged_member

        member_merged.connect(move_coupons_of_merged_member, dispatch_uid="promotions_move_coupons")
