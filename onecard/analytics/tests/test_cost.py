"""Cost to serve per member (analytics.cost): bonus, points at their cash value, coupons and discounts."""

import pytest

from onecard.analytics.models import MemberValue
from onecard.analytics.value.cost import compute_costs
from onecard.loyalty.models import PointsPolicy
from onecard.loyalty.points import services as points
from onecard.loyalty.stored_value.refunds import refund_topup
from onecard.loyalty.stored_value.topup import topup
from onecard.promotions import coupons
from onecard.promotions.coupon_choices import CouponStatus
from onecard.promotions.models import Coupon
from onecard.sales.models import Sale
from onecard.testing.coupons import make_template
from onecard.testing.points import points_cards
from onecard.testing.stored_value import bonus_rule, sv_card


def _sale(chain, member, ref, due, discount, returned=0):
    return Sale.objects.create(
        merchant=chain.merchant, store=chain.a1, member=member, actor=chain.cashier_a1, business_ref=ref,
        list_total=due + discount, discount_total=discount, total_due=due, returned_due=returned,
    )  # fmt: skip


def test_costs_add_up_bonus_points_coupons_and_discounts_per_member(chain, member_factory):
    """Given a member who topped up ¥500 with ¥50 bonus and had half of it paid back (¥25 bonus withdrawn),
    earned 350 points at 200 points per ¥1, redeemed a ¥20 cash coupon (another coupon unused) and bought
    twice (¥100 with ¥15 off, ¥80 with ¥5 off, ¥30 of it returned), and a member who only bought once, when
    the costs are computed, then the first has historic value 15,000, bonus 2,500, points 175, coupons 2,000
    and discounts 2,000 fen; the second only spend and discount; another merchant's member gets no row."""
    first, second = member_factory(), member_factory()
    PointsPolicy.objects.create(merchant=chain.merchant, points_per_yuan=200)
    bonus_rule(chain, [[50000, 5000]])
    card = sv_card(chain, first)
    top = topup(chain.cashier_a1, card, 50000, store=chain.a1)
    assert top.bonus == 5000
    refund_topup(chain.hq_admin, top, 25000, store=chain.a1, reason="test")
    points_card = points_cards(chain, [first])[0][0]
    points.earn(chain.cashier_a1, points_card, 350, store=chain.a1)
    template = make_template(chain)
    used = coupons.issue_by_hand(chain.hq_admin, template, first)
    coupons.issue_by_hand(chain.hq_admin, template, first)
    Coupon.objects.filter(pk=used.pk).update(status=CouponStatus.REDEEMED)
    _sale(chain, first, "C-1", 10000, 1500)
    _sale(chain, first, "C-2", 8000, 500, returned=3000)
    _sale(chain, second, "C-3", 4200, 300)
    stranger = member_factory(store=chain.other_store)

    assert compute_costs(chain.merchant) == 2

    value = MemberValue.objects.get(member=first)
    assert (value.historic_value, value.cost_bonus, value.cost_points, value.cost_coupons, value.cost_discounts) == (
        15000, 2500, 175, 2000, 2000,
    )  # fmt: skip
    assert value.cost_to_serve == 2500 + 175 + 2000
    other = MemberValue.objects.get(member=second)
    assert (other.historic_value, other.cost_bonus, other.cost_points, other.cost_discounts) == (
        4200,
        0,
        0,
        300,
    )
    assert not MemberValue.objects.filter(member=stranger).exists()


def test_computing_twice_replaces_the_rows(chain, member_factory):
    """Given costs computed once, when a sale is added and they are computed again, then one row per member
    holds the new total."""
    buyer = member_factory()
    _sale(chain, buyer, "D-1", 1000, 0)
    compute_costs(chain.merchant)
    _sale(chain, buyer, "D-2", 500, 0)
    compute_costs(chain.merchant)
    assert list(MemberValue.objects.values_list("historic_value", flat=True)) == [1500]


pytestmark = pytest.mark.django_db
