"""THE pricing table: one readable row per case — cart lines, rules, coupons → total due and per-line adjustments.

Then the returns: a sale priced by the same engine, some of it returned → the refund, what came off it
because what is kept costs more now, and why (sales.returns.price_return).

Line notation: L(key, product_id, quantity, unit price in fen, categories, member_price).
Adjustments: {line key: [(source, fen), ...]} for every line that has any; lines not named have none.
"""

import datetime
from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest

from onecard.promotions import pricing_snapshot
from onecard.promotions.cart import Cart, CartLine, CouponOffer
from onecard.promotions.pricing import Rule, price_cart
from onecard.sales.returns import price_return

AT = datetime.datetime(2026, 6, 10, 12, 0, tzinfo=datetime.UTC)  # a Wednesday; ISO week 24 is 8–14 June


def L(key, product, qty, price, cats=(10,), member_price=None):  # noqa: N802 - reads as a table column
    return CartLine(
        key=key,
        product_id=product,
        sku=f"SKU{product}",
        name=f"P{product}",
        quantity=qty,
        list_price=price,
        category_ids=cats,
        member_price=member_price,
    )


def R(rule_id, kind, priority=0, **kwargs):  # noqa: N802
    params = kwargs.pop("params", {})
    return Rule(id=rule_id, kind=kind, name=f"R{rule_id}", params=params, priority=priority, **kwargs)


def cash(code, value, min_spend=0, **kwargs):
    return CouponOffer(code=code, template_id=1, kind="cash", value=value, min_spend=min_spend, **kwargs)


@dataclass
class Case:
    lines: list
    rules: list
    total: int
    adjustments: dict
    coupons: list = field(default_factory=list)
    refused: dict = field(default_factory=dict)
    cart: dict = field(default_factory=dict)
    used: dict | None = None
    gifts: list = field(default_factory=list)  # (product_id, quantity) of lines the engine added


MEMBER = {"member_id": 1, "tier_id": 7}
TIERED = {"steps": [{"min": 20000, "off": 3000}, {"min": 50000, "off": 10000}]}

CASES = {
    "no rules: list price": Case([L("1", 1, 2, 5000)], [], 10000, {}),
    "% off a category only": Case(
        [L("1", 1, 1, 1999), L("2", 2, 1, 1000, cats=(20,))],
        [R(1, "discount", params={"rate": "0.8"}, category_ids=(10,))],
        2599,
        {"1": [("promotion:1", 400)]},
    ),
    "% off rounds half-up to the fen (1010 × 0.85 = 858.5 → 859)": Case(
        [L("1", 1, 1, 1010)], [R(1, "discount", params={"rate": "0.85"})], 859, {"1": [("promotion:1", 151)]}
    ),
    "% off by product id": Case(
        [L("1", 1, 1, 1000), L("2", 2, 1, 1000)],
        [R(1, "discount", params={"rate": "0.5"}, product_ids=(2,))],
        1500,
        {"2": [("promotion:1", 500)]},
    ),
    "catalogue member price": Case(
        [L("1", 1, 2, 5000, member_price=4500)], [], 9000, {"1": [("member_price", 1000)]}, cart=MEMBER
    ),
    "tier discount beats a smaller member price": Case(
        [L("1", 1, 1, 10000, member_price=9500)],
        [],
        9000,
        {"1": [("tier", 1000)]},
        cart={**MEMBER, "tier_discount_rate": "0.900"},
    ),
    "member-price promotion for the member's tier": Case(
        [L("1", 1, 1, 10000)],
        [R(1, "member_price", params={"rate": "0.88", "tier_ids": [7]})],
        8800,
        {"1": [("promotion:1", 1200)]},
        cart=MEMBER,
    ),
    "member-price promotion for another tier: nothing": Case(
        [L("1", 1, 1, 10000)],
        [R(1, "member_price", params={"rate": "0.88", "tier_ids": [8]})],
        10000,
        {},
        cart=MEMBER,
    ),
    "满减 at 199.99: not reached": Case(
        [L("1", 1, 1, 19999)], [R(1, "threshold_cash", params=TIERED)], 19999, {}
    ),
    "满减 at 200.00: reached": Case(
        [L("1", 1, 1, 20000)], [R(1, "threshold_cash", params=TIERED)], 17000, {"1": [("promotion:1", 3000)]}
    ),
    "tiered 满减 at 499.99 takes the ¥200 step": Case(
        [L("1", 1, 1, 49999)], [R(1, "threshold_cash", params=TIERED)], 46999, {"1": [("promotion:1", 3000)]}
    ),
    "tiered 满减 ¥500−100 spread with cumulative floors": Case(
        [L("1", 1, 1, 30000), L("2", 2, 1, 22000)],
        [R(1, "threshold_cash", params=TIERED)],
        42000,
        {"1": [("promotion:1", 5769)], "2": [("promotion:1", 4231)]},
    ),
    "满减 every ¥100 off ¥10": Case(
        [L("1", 1, 1, 35050)],
        [R(1, "threshold_cash", params={"steps": [{"min": 10000, "off": 1000}], "repeat": True})],
        32050,
        {"1": [("promotion:1", 3000)]},
    ),
    "满折 ¥300 at 90%, rounded then spread": Case(
        [L("1", 1, 1, 20000), L("2", 2, 1, 10001)],
        [R(1, "threshold_discount", params={"min": 30000, "rate": "0.9"})],
        27001,
        {"1": [("promotion:1", 1999)], "2": [("promotion:1", 1001)]},
    ),
    "满折 at 299.99: not reached": Case(
        [L("1", 1, 1, 29999)], [R(1, "threshold_discount", params={"min": 30000, "rate": "0.9"})], 29999, {}
    ),
    "满赠 adds a free gift line": Case(
        [L("1", 1, 1, 25000)],
        [R(1, "threshold_gift", params={"min": 20000, "gift_product_id": 99})],
        25000,
        {"gift:promotion:1": [("promotion:1", 0)]},
        gifts=[(99, 1)],
    ),
    "满赠 below the threshold: no gift": Case(
        [L("1", 1, 1, 19999)],
        [R(1, "threshold_gift", params={"min": 20000, "gift_product_id": 99})],
        19999,
        {},
    ),
    "买二送一 with mixed prices: the cheapest is free": Case(
        [L("1", 1, 1, 3000), L("2", 2, 1, 2000), L("3", 3, 1, 1000)],
        [R(1, "buy_x_get_y", params={"buy": 2, "free": 1})],
        5000,
        {"3": [("promotion:1", 1000)]},
    ),
    "买二送一 with six units: two cheapest free": Case(
        [L("1", 1, 3, 1000), L("2", 2, 3, 500)],
        [R(1, "buy_x_get_y", params={"buy": 2, "free": 1})],
        3500,
        {"2": [("promotion:1", 1000)]},
    ),
    "买二送一 with five units: one free": Case(
        [L("1", 1, 3, 1000), L("2", 2, 2, 500)],
        [R(1, "buy_x_get_y", params={"buy": 2, "free": 1})],
        3500,
        {"2": [("promotion:1", 500)]},
    ),
    "second item at half price: the cheaper one, rounded half-up": Case(
        [L("1", 1, 1, 3000), L("2", 2, 1, 2001)],
        [R(1, "nth_discount", params={"nth": 2, "rate": "0.5"})],
        4001,
        {"2": [("promotion:1", 1000)]},
    ),
    "bundle price, saving spread over its products": Case(
        [L("1", 1, 2, 3000), L("2", 2, 1, 2500)],
        [R(1, "bundle", params={"product_ids": [1, 2], "price": 5000})],
        8000,
        {"1": [("promotion:1", 272)], "2": [("promotion:1", 228)]},
    ),
    "bundle incomplete: nothing": Case(
        [L("1", 1, 1, 3000)], [R(1, "bundle", params={"product_ids": [1, 2], "price": 5000})], 3000, {}
    ),
    "birthday day: on the day": Case(
        [L("1", 1, 1, 10000)],
        [R(1, "birthday", params={"window": "day", "rate": "0.9"})],
        9000,
        {"1": [("promotion:1", 1000)]},
        cart={**MEMBER, "birthday": datetime.date(1990, 6, 10)},
    ),
    "birthday day: the day after is not it": Case(
        [L("1", 1, 1, 10000)],
        [R(1, "birthday", params={"window": "day", "rate": "0.9"})],
        10000,
        {},
        cart={**MEMBER, "birthday": datetime.date(1990, 6, 11)},
    ),
    "birthday week: amount off spread": Case(
        [L("1", 1, 1, 6000), L("2", 2, 1, 4000)],
        [R(1, "birthday", params={"window": "week", "amount_off": 2000})],
        8000,
        {"1": [("promotion:1", 1200)], "2": [("promotion:1", 800)]},
        cart={**MEMBER, "birthday": datetime.date(1990, 6, 14)},
    ),
    "birthday week: next week is not it": Case(
        [L("1", 1, 1, 6000)],
        [R(1, "birthday", params={"window": "week", "amount_off": 2000})],
        6000,
        {},
        cart={**MEMBER, "birthday": datetime.date(1990, 6, 15)},
    ),
    "birthday month": Case(
        [L("1", 1, 1, 10000)],
        [R(1, "birthday", params={"window": "month", "rate": "0.95"})],
        9500,
        {"1": [("promotion:1", 500)]},
        cart={**MEMBER, "birthday": datetime.date(1985, 6, 30)},
    ),
    "exclusivity: the best for the customer wins over priority": Case(
        [L("1", 1, 1, 25000)],
        [
            R(1, "discount", priority=5, exclusive_group="A", params={"rate": "0.9"}),
            R(2, "threshold_cash", priority=1, exclusive_group="A", params=TIERED),
        ],
        22000,
        {"1": [("promotion:2", 3000)]},
    ),
    "exclusivity tie: higher priority wins": Case(
        [L("1", 1, 1, 10000)],
        [
            R(1, "discount", priority=1, exclusive_group="A", params={"rate": "0.9"}),
            R(2, "discount", priority=5, exclusive_group="A", params={"rate": "0.9"}),
        ],
        9000,
        {"1": [("promotion:2", 1000)]},
    ),
    "ungrouped promotions stack: % off then 满减": Case(
        [L("1", 1, 1, 25000)],
        [R(1, "discount", params={"rate": "0.9"}), R(2, "threshold_cash", params=TIERED)],
        19500,
        {"1": [("promotion:1", 2500), ("promotion:2", 3000)]},
    ),
    "满减 threshold counts after line discounts": Case(
        [L("1", 1, 1, 22000)],
        [R(1, "discount", params={"rate": "0.9"}), R(2, "threshold_cash", params=TIERED)],
        19800,
        {"1": [("promotion:1", 2200)]},
    ),
    "member price then a promotion over it": Case(
        [L("1", 1, 1, 10000, member_price=9000)],
        [R(1, "discount", params={"rate": "0.9"})],
        8100,
        {"1": [("member_price", 1000), ("promotion:1", 900)]},
        cart=MEMBER,
    ),
    "member price does not stack: the promotion takes only the other line": Case(
        [L("1", 1, 1, 10000, member_price=9000), L("2", 2, 1, 5000)],
        [R(1, "discount", applies_over_member_price=False, params={"rate": "0.9"})],
        13500,
        {"1": [("member_price", 1000)], "2": [("promotion:1", 500)]},
        cart=MEMBER,
    ),
    "cash coupon with min spend": Case(
        [L("1", 1, 1, 12000)], [], 10000, {"1": [("coupon:C1", 2000)]}, coupons=[cash("C1", 2000, 10000)]
    ),
    "cash coupon below min spend is refused": Case(
        [L("1", 1, 1, 9999)],
        [],
        9999,
        {},
        coupons=[cash("C1", 2000, 10000)],
        refused={"C1": "coupon_min_spend"},
    ),
    "min spend counts after promotions": Case(
        [L("1", 1, 1, 11000)],
        [R(1, "discount", params={"rate": "0.9"})],
        9900,
        {"1": [("promotion:1", 1100)]},
        coupons=[cash("C1", 2000, 10000)],
        refused={"C1": "coupon_min_spend"},
    ),
    "discount coupon hits its cap": Case(
        [L("1", 1, 1, 20000)],
        [],
        17000,
        {"1": [("coupon:D1", 3000)]},
        coupons=[CouponOffer(code="D1", template_id=2, kind="discount", value=800, cap=3000)],
    ),
    "discount coupon under its cap": Case(
        [L("1", 1, 1, 10000)],
        [],
        9000,
        {"1": [("coupon:D1", 1000)]},
        coupons=[CouponOffer(code="D1", template_id=2, kind="discount", value=900, cap=3000)],
    ),
    "coupon for another product is not applicable": Case(
        [L("1", 1, 1, 10000)],
        [],
        10000,
        {},
        coupons=[cash("C1", 1000, product_ids=(5,))],
        refused={"C1": "coupon_not_applicable"},
    ),
    "gift coupon for a product in the cart: one unit free": Case(
        [L("1", 1, 1, 3000), L("2", 2, 2, 800)],
        [],
        3800,
        {"2": [("coupon:G1", 800)]},
        coupons=[CouponOffer(code="G1", template_id=3, kind="gift", gift_product_id=2)],
    ),
    "gift coupon for a product not in the cart: a gift line": Case(
        [L("1", 1, 1, 3000)],
        [],
        3000,
        {"gift:coupon:G1": [("coupon:G1", 0)]},
        coupons=[CouponOffer(code="G1", template_id=3, kind="gift", gift_product_id=42)],
        gifts=[(42, 1)],
    ),
    "count coupon: one service unit free": Case(
        [L("1", 3, 2, 6000)],
        [],
        6000,
        {"1": [("coupon:K1", 6000)]},
        coupons=[CouponOffer(code="K1", template_id=4, kind="count", value=10, product_ids=(3,))],
    ),
    "promotion that does not stack with coupons keeps its lines from them": Case(
        [L("1", 1, 1, 10000), L("2", 2, 1, 5000)],
        [R(1, "discount", stacks_with_coupons=False, product_ids=(1,), params={"rate": "0.9"})],
        13000,
        {"1": [("promotion:1", 1000)], "2": [("coupon:C1", 1000)]},
        coupons=[cash("C1", 1000)],
    ),
    "coupon that does not stack with promotions skips promoted lines": Case(
        [L("1", 1, 1, 10000), L("2", 2, 1, 5000)],
        [R(1, "discount", product_ids=(1,), params={"rate": "0.9"})],
        13000,
        {"1": [("promotion:1", 1000)], "2": [("coupon:C1", 1000)]},
        coupons=[cash("C1", 1000, stacks_with_promotions=False)],
    ),
    "promotion and coupon stack": Case(
        [L("1", 1, 1, 10000)],
        [R(1, "discount", params={"rate": "0.9"})],
        8000,
        {"1": [("promotion:1", 1000), ("coupon:C1", 1000)]},
        coupons=[cash("C1", 1000)],
    ),
    "member price is not a promotion for coupon stacking": Case(
        [L("1", 1, 1, 10000, member_price=9000)],
        [],
        8000,
        {"1": [("member_price", 1000), ("coupon:C1", 1000)]},
        coupons=[cash("C1", 1000, stacks_with_promotions=False)],
        cart=MEMBER,
    ),
    "limited quantity sold out: skipped": Case(
        [L("1", 1, 1, 10000)],
        [R(1, "discount", stock_total=10, params={"rate": "0.9"})],
        10000,
        {},
        used={1: (10, 0)},
    ),
    "limited quantity with one left: applied": Case(
        [L("1", 1, 1, 10000)],
        [R(1, "discount", stock_total=10, params={"rate": "0.9"})],
        9000,
        {"1": [("promotion:1", 1000)]},
        used={1: (9, 0)},
    ),
    "per-member limit reached: skipped": Case(
        [L("1", 1, 1, 10000)],
        [R(1, "discount", per_member_limit=1, params={"rate": "0.9"})],
        10000,
        {},
        used={1: (3, 1)},
        cart=MEMBER,
    ),
    "a line never goes negative: cash coupon larger than the cart": Case(
        [L("1", 1, 1, 3000)], [], 0, {"1": [("coupon:C1", 3000)]}, coupons=[cash("C1", 5000)]
    ),
    "the same coupon twice: the second is refused": Case(
        [L("1", 1, 1, 10000)],
        [],
        9000,
        {"1": [("coupon:C1", 1000)]},
        coupons=[cash("C1", 1000), cash("C1", 1000)],
        refused={"C1": "coupon_duplicate"},
    ),
    "two line discounts apply one after the other, by priority": Case(
        [L("1", 1, 1, 10000)],
        [
            R(1, "discount", priority=1, params={"rate": "0.5"}),
            R(2, "discount", priority=9, params={"rate": "0.9"}),
        ],
        4500,
        {"1": [("promotion:2", 1000), ("promotion:1", 4500)]},
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=list(CASES))
def test_pricing_table(case):
    # given: the cart, rules and coupons of the row
    cart = Cart(
        merchant_id=1, store_id=1, at=AT, lines=tuple(case.lines), coupons=tuple(case.coupons), **case.cart
    )
    # when: the cart is priced
    quote = price_cart(cart, case.rules, used_counts=case.used)
    # then: the total, every line's adjustments, refusals and gifts are exactly as the row says
    assert quote.total_due == case.total
    got = {
        line.key: [(a.source, a.amount) for a in line.adjustments] for line in quote.lines if line.adjustments
    }
    assert got == case.adjustments
    assert quote.coupons_refused == case.refused
    assert [(line.product_id, line.quantity) for line in quote.lines if line.gift] == case.gifts
    assert all(line.due >= 0 for line in quote.lines)
    assert all(a.explanation for line in quote.lines for a in line.adjustments)


# ---- returns: what is kept priced again -------------------------------------------------------------------
# A row: the sale (lines, rules, coupons) priced as above; `earlier` units returned first, then `returned`
# (both {line key: units}, "gift:promotion:1" for a 满赠 gift) → the refund, the deduction (what came off
# the returned units' share), the promotions no longer earned and the gifts kept but not earned.


@dataclass
class ReturnCase:
    lines: list
    rules: list
    returned: dict
    refund: int
    deduction: int
    lost: list = field(default_factory=list)
    gifts: list = field(default_factory=list)  # (units, fen charged)
    earlier: dict = field(default_factory=dict)
    coupons: list = field(default_factory=list)
    used: dict | None = None


GIFT_AT_300 = {"min": 30000, "gift_product_id": 99}
OFF_50_AT_300 = {"steps": [{"min": 30000, "off": 5000}]}

RETURN_CASES = {
    "满300减50: the rest below ¥300 pays its list price, the ¥28.57 no longer earned comes off": ReturnCase(
        [L("1", 1, 1, 20000), L("2", 2, 1, 15000)],
        [R(1, "threshold_cash", params=OFF_50_AT_300)],
        {"2": 1},
        refund=10000,
        deduction=2857,
        lost=["R1"],
    ),
    "满300减50, then the rest comes back: every fen paid is back, the deduction with it": ReturnCase(
        [L("1", 1, 1, 20000), L("2", 2, 1, 15000)],
        [R(1, "threshold_cash", params=OFF_50_AT_300)],
        {"1": 1},
        earlier={"2": 1},
        refund=20000,
        deduction=-2857,
    ),
    "满200减20 still reached by the rest: the returned line's share, nothing off": ReturnCase(
        [L("1", 1, 1, 15000), L("2", 2, 1, 10000), L("3", 3, 1, 8000)],
        [R(1, "threshold_cash", params={"steps": [{"min": 20000, "off": 2000}]})],
        {"3": 1},
        refund=7515,
        deduction=0,
    ),
    "满300 gift kept while the rest is below ¥300: the gift's ¥30 list price comes off": ReturnCase(
        [L("1", 1, 1, 20000), L("2", 2, 1, 15000)],
        [R(1, "threshold_gift", params=GIFT_AT_300)],
        {"2": 1},
        refund=12000,
        deduction=3000,
        lost=["R1"],
        gifts=[(1, 3000)],
    ),
    "满300 gift handed back with the item: nothing off": ReturnCase(
        [L("1", 1, 1, 20000), L("2", 2, 1, 15000)],
        [R(1, "threshold_gift", params=GIFT_AT_300)],
        {"2": 1, "gift:promotion:1": 1},
        refund=15000,
        deduction=0,
    ),
    "a small item whose return loses more discount than it is worth: nothing back, never below zero": ReturnCase(
        [L("1", 1, 1, 29000), L("2", 2, 1, 2000)],
        [R(1, "threshold_cash", params=OFF_50_AT_300)],
        {"2": 1},
        refund=0,
        deduction=1677,
        lost=["R1"],
    ),
    "第二件半价: one of two back, the other pays full price": ReturnCase(
        [L("1", 1, 2, 10000)],
        [R(1, "nth_discount", params={"nth": 2, "rate": "0.5"})],
        {"1": 1},
        refund=5000,
        deduction=2500,
        lost=["R1"],
    ),
    "a coupon used stays used and keeps its value on what is kept (its minimum spend is not checked again)": (
        ReturnCase(
            [L("1", 1, 1, 15000), L("2", 2, 1, 5000)],
            [],
            {"1": 1},
            refund=12750,
            deduction=0,
            coupons=[cash("C1", 3000, min_spend=10000)],
        )
    ),
    "a limited promotion keeps the unit the sale reserved, even when sold out since": ReturnCase(
        [L("1", 1, 2, 10000)],
        [R(1, "discount", stock_total=10, params={"rate": "0.9"})],
        {"1": 1},
        refund=9000,
        deduction=0,
        used={1: (9, 0)},
    ),
}


def _sold_lines(quote):
    """The quote's lines as a sale keeps them (sales.models.SaleLine's fields that a return reads)."""
    return {
        number: SimpleNamespace(
            pk=number,
            key=line.key,
            product_id=line.product_id,
            name=f"P{line.product_id}",
            quantity=line.quantity,
            due=line.due,
            gift=line.gift,
            adjustments=[{"source": a.source} for a in line.adjustments],
            returned_quantity=0,
            returned_due=0,
        )
        for number, line in enumerate(quote.lines, start=1)
    }


def _return(kept, lines, units, returned_due, total_due):
    """Price a return of {line key: units}, then count it on the lines as return_sale does."""
    by_key = {line.key: pk for pk, line in lines.items()}
    wanted = {by_key[key]: quantity for key, quantity in units.items()}
    done = price_return(kept, lines, wanted, total_due=total_due, returned_due=returned_due)
    for pk, quantity in wanted.items():
        lines[pk].returned_quantity += quantity
        lines[pk].returned_due += done.shares[pk]
    return done


@pytest.mark.parametrize("case", RETURN_CASES.values(), ids=list(RETURN_CASES))
def test_return_pricing_table(case):
    # given a sale priced with the row's rules and coupons, and its pricing kept
    cart = Cart(merchant_id=1, store_id=1, at=AT, lines=tuple(case.lines), coupons=tuple(case.coupons))
    quote = price_cart(cart, case.rules, used_counts=case.used)
    kept = pricing_snapshot.snapshot(cart, case.rules, quote, {99: 3000})
    lines, returned_due = _sold_lines(quote), 0
    if case.earlier:
        returned_due += _return(kept, lines, case.earlier, 0, quote.total_due).refund
    # when the row's units come back
    done = _return(kept, lines, case.returned, returned_due, quote.total_due)
    # then the refund, the deduction and its reasons are exactly the row's, and the money adds up
    assert (done.refund, done.deduction) == (case.refund, case.deduction)
    assert done.lines_due - done.deduction == done.refund >= 0
    assert returned_due + done.refund <= quote.total_due
    assert done.repricing.get("lost", []) == case.lost
    assert [(g["quantity"], g["amount"]) for g in done.repricing.get("gifts", [])] == case.gifts
