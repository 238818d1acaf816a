"""The engine's building blocks (spreading, rounding, birthday windows, explanations) and pricing from stored rows."""

import datetime
import random

import pytest
from django.utils import translation

from onecard.promotions import rules
from onecard.promotions.cart import Cart, CartLine, CouponOffer
from onecard.promotions.pricing import Rule, apply_rate, birthday_matches, price_cart, spread
from onecard.testing.promotions import AT, make_promotion


def _line(key, product, qty, price):
    return CartLine(
        key=key, product_id=product, sku=str(product), name=str(product), quantity=qty, list_price=price
    )


def _cart(*lines, **kwargs):
    return Cart(merchant_id=1, store_id=1, at=AT, lines=tuple(lines), **kwargs)


def test_spread_sums_exactly_and_never_exceeds_a_weight():
    rng = random.Random(4)
    for _round in range(500):
        weights = [rng.randint(0, 50_000) for _n in range(rng.randint(1, 8))]
        amount = rng.randint(0, sum(weights))
        shares = spread(amount, weights)
        assert sum(shares) == (amount if sum(weights) else 0)
        assert all(0 <= share <= weight for share, weight in zip(shares, weights, strict=True))


def test_spread_gives_the_remainder_to_the_last_line():
    assert spread(100, [1, 1, 1]) == [33, 33, 34]


def test_rates_round_half_up_to_the_fen():
    assert apply_rate(1010, "0.85") == 859  # 858.5
    assert apply_rate(1001, "0.5") == 501  # 500.5
    assert apply_rate(999, "0.333") == 333  # 332.667


@pytest.mark.parametrize(
    ("birthday", "today", "window", "expected"),
    [
        (datetime.date(1990, 6, 10), datetime.date(2026, 6, 10), "day", True),
        (datetime.date(1992, 2, 29), datetime.date(2026, 2, 28), "day", True),  # not a leap year: the 28th
        (datetime.date(1992, 2, 29), datetime.date(2028, 2, 28), "day", False),  # a leap year: the 29th
        (datetime.date(1990, 6, 14), datetime.date(2026, 6, 8), "week", True),  # Sunday of the same ISO week
        (datetime.date(1990, 6, 7), datetime.date(2026, 6, 8), "week", False),
        (datetime.date(1990, 6, 1), datetime.date(2026, 6, 30), "month", True),
        (None, datetime.date(2026, 6, 30), "month", False),
    ],
)
def test_birthday_windows(birthday, today, window, expected):
    assert birthday_matches(birthday, today, window) is expected


def test_explanations_name_the_rule_and_the_amount():
    rule = Rule(
        id=1, kind="threshold_cash", name="满200减30", params={"steps": [{"min": 20000, "off": 3000}]}
    )
    with translation.override("en"):
        quote = price_cart(_cart(_line("1", 1, 1, 20000)), [rule])
    assert quote.lines[0].adjustments[0].explanation == "Spend ¥200.00, ¥30.00 off (满200减30): −¥30.00"
    assert quote.order_adjustments[0].amount == 3000 and quote.order_adjustments[0].line_key is None
    assert quote.promotions_applied == [1]


def test_exclusivity_compares_with_member_price_promotions_too():
    # given: a tier price of 80% and a 满减 in the same group; the tier price saves more
    rules_ = [
        Rule(id=1, kind="member_price", exclusive_group="g", params={"rate": "0.8", "tier_ids": []}),
        Rule(
            id=2, kind="threshold_cash", exclusive_group="g", params={"steps": [{"min": 20000, "off": 3000}]}
        ),
    ]
    quote = price_cart(_cart(_line("1", 1, 1, 20000), member_id=5, tier_id=3), rules_)
    assert quote.total_due == 16000 and quote.promotions_applied == [1]


def test_gift_coupon_below_its_min_spend_is_refused():
    coupon = CouponOffer(code="G", template_id=1, kind="gift", gift_product_id=9, min_spend=5000)
    quote = price_cart(_cart(_line("1", 1, 1, 4999), coupons=(coupon,)), [])
    assert quote.coupons_refused == {"G": "coupon_min_spend"} and len(quote.lines) == 1


@pytest.mark.django_db
def test_quote_from_stored_promotions_skips_a_sold_out_one(chain, member_factory):
    # given: a 10% off with 1 in stock and a 满减 for East; the stock is taken by another sale
    member = member_factory()
    limited = make_promotion(chain, "discount", params={"rate": "0.9"}, stock_total=1)
    spend = make_promotion(chain, "threshold_cash", node=chain.east, priority=1)
    rules.reserve(limited, None, 1, "OTHER")
    cart = _cart(_line("1", 1, 1, 25000), member_id=member.pk)
    # when: an A1 cart is quoted
    quote = rules.quote(cart, chain.merchant, chain.a1, member)
    # then: only the 满减 applies
    assert quote.promotions_applied == [spend.pk]
    assert quote.total_due == 22000
    # and: once the other sale is returned, the 10% off is back (22500 → 满减 ¥30)
    rules.release("OTHER")
    assert rules.quote(cart, chain.merchant, chain.a1, member).total_due == 19500
