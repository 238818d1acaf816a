"""What promotions hangs on members: coupons follow a merge, joining coupons on registration, and the
member 360 page's coupons section (members/sections.py).

Imported once by PromotionsConfig.ready (connecting needs the models loaded).
"""

from onecard.members.sections import fill_section
from onecard.members.signals import member_joined, member_merged

from .coupons import issue_joining_coupons, move_coupons_of_merged_member


def connect():
    """Connect the receivers and fill the member page's coupons section."""
    member_merged.connect(move_coupons_of_merged_member, dispatch_uid="promotions_move_coupons")
    member_joined.connect(issue_joining_coupons, dispatch_uid="promotions_join_coupons")
    fill_section("coupons", "promotions/member_coupons.html")
