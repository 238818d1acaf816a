"""A quote's SQL statements do not grow with the cart: products, member prices and promotions are read at once."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from onecard.catalog import services as catalog
from onecard.loyalty.models import Tier
from onecard.loyalty.tiers.services import set_member_tier
from onecard.promotions import coupons, rules
from onecard.sales import checkout
from onecard.testing.cards import put_value
from onecard.testing.coupons import make_template
from onecard.testing.points import rule
from onecard.testing.stored_value import sv_card

# A card's quote: coupons, tier (read once, also for the earn rate), products with member prices, the
# promotions' change check, and the loyalty reads (points lots, balances).
STATEMENTS = 6


@pytest.fixture
def till(chain, member_factory):
    """Ten products (P-0..P-9, ¥10 + ¥1 each; gold ¥1 off each), a gold member's card with ¥500 and a ¥20-off-¥100
    voucher; a 10%-off promotion for every product and a limited 20%-off one for P-9 only."""
    gold = Tier.objects.create(merchant=chain.merchant, name="Gold", rank=2)
    products = [
        catalog.create_product(
            None, chain.merchant, sku=f"P-{n}", name=f"商品{n}", list_price=1000 + 100 * n,
            member_prices={gold: 900 + 100 * n},
        )
        for n in range(10)
    ]  # fmt: skip
    member = member_factory()
    set_member_tier(None, member, gold, reason="VIP")
    card = sv_card(chain, member)
    put_value(chain, card, principal=50000, bonus=0)
    rule(chain, "1")
    voucher = coupons.issue_by_hand(None, make_template(chain), member)
    now = timezone.now()
    window = {"valid_from": now - datetime.timedelta(days=1), "valid_to": now + datetime.timedelta(days=1)}
    rules.create_promotion(None, chain.merchant, chain.hq,
                           {"name": "全场九折", "kind": "discount", "params": {"rate": "0.9"}, **window})  # fmt: skip
    rules.create_promotion(
        None, chain.merchant, chain.hq,
        {"name": "P-9 限量八折", "kind": "discount", "params": {"rate": "0.8"}, "product_ids": [products[9].pk],
         "stock_total": 100, **window},
    )  # fmt: skip
    return type("Till", (), {"card": card, "voucher": voucher, "products": products})


def _statements(chain, till, items):
    checkout.quote(chain.merchant, chain.a1, till.card, items, [till.voucher.code])  # caches warm
    with CaptureQueriesContext(connection) as captured:
        quoted = checkout.quote(chain.merchant, chain.a1, till.card, items, [till.voucher.code])
    return len(captured.captured_queries), quoted


def test_one_line_or_nine_lines_cost_the_same_statements(chain, till):
    # when quoting one line, then nine lines (none of them P-9, the limited promotion's product)
    one, small = _statements(chain, till, [("P-0", 1)])
    nine, big = _statements(chain, till, [(f"p-{n}", 2) for n in range(9)])
    # then the count is the same, and small
    assert one == nine == STATEMENTS
    # and the nine lines were priced: gold price, 10% off, then the ¥20 voucher
    assert big.quote.list_total == sum(2 * (1000 + 100 * n) for n in range(9))
    assert big.quote.coupons_applied == [till.voucher.code]
    assert small.quote.coupons_refused == {till.voucher.code: "coupon_min_spend"}


def test_a_limited_promotion_on_the_cart_adds_its_used_counts(chain, till):
    # when the cart holds P-9, which a limited promotion targets
    count, quoted = _statements(chain, till, [("P-0", 1), ("P-9", 1)])
    # then one more statement reads how much of it is used, and it applies
    assert count == STATEMENTS + 1
    limited = rules.active_promotions(chain.merchant, chain.a1)[-1]
    assert limited.name == "P-9 限量八折" and limited.pk in quoted.quote.promotions_applied
