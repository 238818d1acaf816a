from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LoyaltyConfig(AppConfig):
    """The one-card ledger: cards, tiers, stored value, points, holds, refunds, settlement."""

    name = "onecard.loyalty"
    label = "loyalty"
    verbose_name = _("Loyalty and ledger")

    def ready(self):
        from onecard.loyalty.cards.services import move_cards_of_merged_member
        from onecard.members.signals import member_merged

        member_merged.connect(move_cards_of_merged_member, dispatch_uid="loyalty_move_cards_of_merged_member")

        from onecard.loyalty.cards.services import card_balances_moved
        from onecard.loyalty.points.services import move_lots_with_card

        card_balances_moved.connect(move_lots_with_card, dispatch_uid="loyalty_move_points_lots")

        from onecard.loyalty.packages.services import move_packages_with_card

        card_balances_moved.connect(move_packages_with_card, dispatch_uid="loyalty_move_packages")

        # The member 360 page shows this app's cards and transactions sections.
        from onecard.members.views import MEMBER_SECTIONS

        templates = {"cards": "loyalty/member_cards.html", "transactions": "loyalty/member_transactions.html"}
        for section in MEMBER_SECTIONS:
            if section["key"] in templates:
                section["template"] = templates[section["key"]]

        from onecard.loyalty.packages.views import register_member_section

        register_member_section()
