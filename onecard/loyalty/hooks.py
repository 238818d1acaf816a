"""What loyalty hangs on lower apps: receivers of members' signals and of its own card moves, and its
sections of the member 360 page (members/sections.py).

Imported once by LoyaltyConfig.ready (connecting needs the models loaded).
"""

from onecard.members.sections import fill_section, provide_header_fact
from onecard.members.signals import member_merged

from .cards.services import card_balances_moved
from .packages.services import move_packages_with_card
from .packages.views import register_member_section
from .points.services import move_lots_with_card
from .tiers.services import member_tier_name, move_cards_of_merged_member


def connect():
    """Connect the receivers and fill the member page's cards, transactions and packages sections."""
    member_merged.connect(move_cards_of_merged_member, dispatch_uid="loyalty_move_cards_of_merged_member")
    card_balances_moved.connect(move_lots_with_card, dispatch_uid="loyalty_move_points_lots")
    card_balances_moved.connect(move_packages_with_card, dispatch_uid="loyalty_move_packages")
    fill_section("cards", "loyalty/member_cards.html")
    fill_section("transactions", "loyalty/member_transactions.html")
    register_member_section()
    provide_header_fact("tier", member_tier_name)
