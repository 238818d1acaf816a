from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PromotionsConfig(AppConfig):
    """Promotion rules, the pricing engine that applies them, and coupons."""

    name = "onecard.promotions"
    label = "promotions"
    verbose_name = _("Promotions and coupons")

    def ready(self):
        from onecard.members.signals import member_joined, member_merged

        from .coupons import issue_joining_coupons, move_coupons_of_merged_member

        member_merged.connect(move_coupons_of_merged_member, dispatch_uid="promotions_move_coupons")
        member_joined.connect(issue_joining_coupons, dispatch_uid="promotions_join_coupons")

        # The member 360 page shows the member's coupons.
        from onecard.members.views import MEMBER_SECTIONS

        for section in MEMBER_SECTIONS:
            if section["key"] == "coupons":
                section["template"] = "promotions/member_coupons.html"
