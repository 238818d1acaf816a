"""Checkout services (L5): quote, multi-tender checkout, partial and whole returns, refusals, limited stock."""

import datetime
import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from onecard.catalog import services as catalog
from onecard.core.errors import BusinessError
from onecard.loyalty.models import CardTransaction, PointsLot, PointsPolicy, Tier
from onecard.loyalty.points import services as points
from onecard.loyalty.stored_value import services as stored_value
from onecard.loyalty.tiers.services import set_member_tier
from onecard.promotions import coupons, rules
from onecard.promotions.coupon_choices import CouponStatus
from onecard.promotions.models import Coupon, PromotionUse
from onecard.sales import checkout, returns
from onecard.sales.models import Sale, SaleTender, TenderKind
from onecard.testing.cards import put_value, reload
from onecard.testing.concurrency import run_clients
from onecard.testing.coupons import make_template
from onecard.testing.points import assert_books, points_balance
from onecard.testing.stored_value import assert_ledger_clean, balances

ITEMS = [("CAKE-1", 4), ("6901234567892", 2)]  # ¥120 + ¥10 (tea by barcode)


def test_quote_prices_the_cart_and_reports_what_may_be_used(chain, shop):
    # given the member's card, the cart and the voucher
    # when quoting
    q = checkout.quote(chain.merchant, chain.a1, shop.card, ITEMS, [shop.coupon.code])
    # then ¥130 − ¥20 = ¥110 is due, spread over the lines with cumulative floors
    assert (q.quote.list_total, q.total_due) == (13000, 11000)
    assert [line.due for line in q.quote.lines] == [10154, 846]
    assert q.quote.coupons_applied == [shop.coupon.code]
    # and the most: 110 points (whole due at 1/¥), 1000 points = ¥10, stored value ¥120
    assert (q.points_to_earn, q.max_points, q.max_points_cash, q.max_stored_value) == (110, 1000, 1000, 11000)
    # and nothing was written
    assert Coupon.objects.get(pk=shop.coupon.pk).status == CouponStatus.ISSUED


def _sale(chain, shop, ref="S-1"):
    return checkout.checkout(
        chain.cashier_a1,
        store=chain.a1,
        card=shop.card,
        items=ITEMS,
        coupon_codes=[shop.coupon.code],
        tenders={"stored_value": 6000, "points": 1000, "cash": 4000},
        business_ref=ref,
    )


def test_multi_tender_sale_then_partial_and_whole_return(chain, shop):
    # given a ¥110 sale paid ¥60 stored value + 1000 points (¥10) + ¥40 cash with the voucher
    sale = _sale(chain, shop)
    # then the card paid ¥60 without a second tier discount: bonus part floor(6000 × 2000 / 12000) = 1000
    assert balances(reload(shop.card)) == (5000, 1000, 0)
    tenders = {t.kind: t for t in sale.tenders.all()}
    assert (tenders["stored_value"].amount, tenders["stored_value"].bonus) == (6000, 1000)
    assert (tenders["points"].amount, tenders["points"].points) == (1000, 1000)
    assert tenders["cash"].amount == 4000
    pay = tenders["stored_value"].card_transaction
    assert (pay.amount, pay.discount, pay.points_earned) == (6000, 0, 0)
    # and points were earned on 11000 − 1000 (points) − 1000 (bonus) = ¥90 → 90 points
    assert (sale.earn_base, sale.points_earned) == (9000, 90)
    assert points_balance(shop.card) == 90
    # and the lines keep their explanations; the voucher is used
    line = sale.lines.get(sku="CAKE-1")
    assert (line.list_total, line.due) == (12000, 10154)
    assert line.adjustments[0]["source"] == f"coupon:{shop.coupon.code}"
    assert Coupon.objects.get(pk=shop.coupon.pk).status == CouponStatus.REDEEMED
    assert_books(shop.card)

    # when two of the four cakes come back
    first = returns.return_sale(chain.cashier_a1, sale, store=chain.a1, lines={line.pk: 2}, reason="broken")
    # then floor(10154 × 2 / 4) = 5077 is returned, spread over the tenders 6000 / 1000 / 4000
    assert first.amount == 5077
    assert [(t["kind"], t["amount"]) for t in first.tenders] == [
        ("stored_value", 2769),
        ("points", 461),
        ("cash", 1847),
    ]
    # and the points tender gave back floor(1000 points × 461 / 1000) = 461 points to the opening lot
    assert first.tenders[1]["points"] == 461
    assert (first.points_given_back, first.points_not_returned) == (461, 0)
    # and the card got 2769 back, bonus floor(2769 × 1000 / 6000) = 461
    assert balances(reload(shop.card)) == (5000 + 2308, 1000 + 461, 0)
    # and floor(90 × 5077 / 11000) = 41 earned points were taken back
    assert first.points_taken_back == 41
    assert points_balance(shop.card) == 90 - 41 + 461
    # and the voucher stays used (only a whole return gives it back)
    assert Coupon.objects.get(pk=shop.coupon.pk).status == CouponStatus.REDEEMED
    assert_books(shop.card)
    assert_ledger_clean()

    # when the rest comes back
    rest = returns.return_sale(chain.cashier_a1, sale, store=chain.a1, reason="changed mind")
    # then every tender has given back exactly what it paid, and every point earned is back
    assert rest.amount == 11000 - 5077
    assert [t.returned_amount for t in SaleTender.objects.filter(sale=sale).order_by("pk")] == [
        6000,
        1000,
        4000,
    ]
    assert balances(reload(shop.card)) == (10000, 2000, 0)
    # and the 1000 points paid are back in the opening lot, the 90 earned taken back
    assert rest.points_given_back == 1000 - 461
    assert points_balance(shop.card) == 1000
    assert PointsLot.objects.get(pk=sale.points_lot_id).remaining == 0
    assert PointsLot.objects.filter(card=shop.card).exclude(pk=sale.points_lot_id).get().remaining == 1000
    assert CardTransaction.objects.get(pk=pay.pk).refunded_total == 6000
    # and the voucher is usable again
    assert Coupon.objects.get(pk=shop.coupon.pk).status == CouponStatus.ISSUED
    assert_books(shop.card)
    assert_ledger_clean()
    # and nothing more can be returned
    with pytest.raises(BusinessError) as error:
        returns.return_sale(chain.cashier_a1, sale, store=chain.a1, reason="again")
    assert error.value.code == "over_return"


def _refused(chain, shop, **over):
    kwargs = {
        "store": chain.a1,
        "card": shop.card,
        "items": ITEMS,
        "coupon_codes": [shop.coupon.code],
        "tenders": {"stored_value": 6000, "points": 1000, "cash": 4000},
        "business_ref": "S-X",
        **over,
    }
    with pytest.raises(BusinessError) as error:
        checkout.checkout(chain.cashier_a1, **kwargs)
    # nothing was taken: no sale, card, points and coupon untouched
    assert not Sale.objects.exists()
    assert balances(reload(shop.card)) == (10000, 2000, 0)
    assert points_balance(shop.card) == 1000
    assert Coupon.objects.get(pk=shop.coupon.pk).status == CouponStatus.ISSUED
    assert_books(shop.card)
    return error.value.code


@pytest.mark.parametrize(
    ("over", "code"),
    [
        ({"tenders": {"stored_value": 6000, "points": 1000, "cash": 3999}}, "tenders_mismatch"),
        ({"tenders": {"stored_value": 6000, "points": 1000, "cash": 4001}}, "tenders_mismatch"),
        ({"tenders": {"cash": 11000, "cheque": 1}}, "invalid_tender"),
        ({"tenders": {"cash": 0}}, "invalid_tender"),
        ({"items": [("NOPE-1", 1)]}, "unknown_sku"),
        ({"items": [("CAKE-1", 0)]}, "invalid_quantity"),
        ({"items": [("CAKE-1", -1)]}, "invalid_quantity"),
        ({"items": []}, "empty_cart"),
        ({"items": [("TEA-1", 2)], "tenders": {"cash": 1000}}, "coupon_min_spend"),
        ({"business_ref": ""}, "business_ref_required"),
        ({"business_ref": "R" * 57}, "business_ref_too_long"),
        ({"card": None, "coupon_codes": [], "tenders": {"points": 1000, "cash": 12000}}, "card_required"),
        ({"tenders": {"stored_value": 20000, "points": 1000, "cash": -9000}}, "invalid_tender"),
    ],
)
def test_refusals_take_nothing(chain, shop, over, code):
    # given the shop; when checking out with one bad input; then its own code and nothing taken
    assert _refused(chain, shop, **over) == code


def test_ledger_refusal_rolls_back_what_was_taken_before(chain, shop):
    # given the ¥110 cart; when the points tender (2000 points = ¥20) is more than the card's 1000 points,
    # after the coupon and the stored-value tender were taken in the same transaction
    code = _refused(chain, shop, tenders={"stored_value": 6000, "points": 2000, "cash": 3000})
    # then the ledger's refusal undoes them all (checked in _refused)
    assert code == "insufficient_points"


def test_more_stored_value_than_the_card_holds(chain, shop):
    # given ¥120 on the card; when ¥150 of a ¥180 cart is put on stored value; then insufficient_balance
    code = _refused(
        chain, shop, items=[("CAKE-1", 6), ("TEA-1", 4)], tenders={"stored_value": 15000, "cash": 3000}
    )
    assert code == "insufficient_balance"


def test_same_reference_twice_is_refused(chain, shop):
    # given a sale S-1; when another checkout uses its reference; then sale_exists
    _sale(chain, shop)
    with pytest.raises(BusinessError) as error:
        checkout.checkout(
            chain.cashier_a1, store=chain.a1, card=None, items=[("TEA-1", 1)], tenders={"cash": 500},
            business_ref="S-1",
        )  # fmt: skip
    assert error.value.code == "sale_exists"


def _limited(chain, stock):
    now = timezone.now()
    return rules.create_promotion(
        None,
        chain.merchant,
        chain.hq,
        {
            "name": "限量九折",
            "kind": "discount",
            "params": {"rate": "0.9"},
            "valid_from": now - datetime.timedelta(days=1),
            "valid_to": now + datetime.timedelta(days=1),
            "stock_total": stock,
        },
    )


def test_limited_promotion_reserved_then_released_on_whole_return(chain, shop):
    # given a 10%-off promotion with 1 unit left
    promotion = _limited(chain, 1)
    # when an anonymous cash sale uses it
    sale = checkout.checkout(
        chain.cashier_a1, store=chain.a1, card=None, items=[("TEA-1", 2)], tenders={"cash": 900},
        business_ref="L-1",
    )  # fmt: skip
    # then one unit is taken and the next quote no longer gets the promotion
    assert sale.limited_promotions == [promotion.pk]
    assert PromotionUse.objects.get(sale_ref="L-1").quantity == 1
    assert checkout.quote(chain.merchant, chain.a1, None, [("TEA-1", 2)]).total_due == 1000
    # when the whole sale is returned; then the unit is released
    back = returns.return_sale(chain.cashier_a1, sale, store=chain.a1, reason="return")
    assert back.tenders == [{"tender": sale.tenders.get().pk, "kind": TenderKind.CASH, "amount": 900}]
    assert PromotionUse.objects.get(sale_ref="L-1").released_at is not None
    assert checkout.quote(chain.merchant, chain.a1, None, [("TEA-1", 2)]).total_due == 900


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_checkouts_against_ten_left(chain):
    # given a limited promotion with 10 units and a ¥5 tea
    catalog.create_product(None, chain.merchant, sku="TEA-1", name="乌龙茶", list_price=500)
    promotion = _limited(chain, 10)
    results, lock = [], threading.Lock()

    def till(n):
        # when 50 tills check out at once, each trusting the discounted price it was quoted
        try:
            checkout.checkout(
                None, store=chain.a1, card=None, items=[("TEA-1", 1)], tenders={"cash": 450},
                business_ref=f"C-{n}",
            )  # fmt: skip
            outcome = "ok"
        except BusinessError as error:
            outcome = error.code
        with lock:
            results.append(outcome)

    run_clients(50, till)
    # then exactly 10 succeed; the others are refused as sold out, or priced without it (tenders_mismatch)
    assert results.count("ok") == 10
    assert set(results) - {"ok"} <= {"promotion_sold_out", "tenders_mismatch"}
    assert sum(u.quantity for u in PromotionUse.objects.filter(promotion=promotion)) == 10
    assert Sale.objects.count() == 10
    assert connection.vendor == "postgresql"


def test_tier_discount_is_priced_once(chain, shop):
    # given the member in a tier with 10% off
    gold = Tier.objects.create(merchant=chain.merchant, name="Gold", rank=2, discount_rate=Decimal("0.9"))
    set_member_tier(None, shop.member, gold, reason="VIP")
    # when the member buys two teas (¥10) on stored value
    q = checkout.quote(chain.merchant, chain.a1, shop.card, [("TEA-1", 2)])
    sale = checkout.checkout(
        None, store=chain.a1, card=shop.card, items=[("TEA-1", 2)], tenders={"stored_value": q.total_due},
        business_ref="T-1",
    )  # fmt: skip
    # then the price holds the tier discount once (¥9) and the card paid exactly that, not ¥8.10
    assert q.total_due == sale.total_due == 900
    assert sale.tenders.get().card_transaction.amount == 900
    assert balances(reload(shop.card)) == (10000 - 750, 2000 - 150, 0)
    assert_ledger_clean()


def test_quote_lists_unusable_coupons_without_refusing(chain, shop):
    # given the ¥20-off-¥100 voucher and an unknown code; when quoting a ¥10 cart
    q = checkout.quote(
        chain.merchant, chain.a1, shop.member, [("TEA-1", 2)], [shop.coupon.code, "NOSUCHCODE1"]
    )
    # then the cart is priced without them and each says why; a member without a card may use nothing
    assert q.total_due == 1000
    assert q.quote.coupons_refused[shop.coupon.code] == "coupon_min_spend"
    assert len(q.quote.coupons_refused) == 2
    assert (q.points_to_earn, q.max_points, q.max_stored_value) == (0, 0, 0)


def test_used_coupon_and_points_over_cap_are_refused(chain, shop):
    # given the voucher used by sale S-1 and a points policy capping points at 5% of a bill
    _sale(chain, shop)
    put_value(chain, shop.card, principal=20000)
    PointsPolicy.objects.create(merchant=chain.merchant, cap_percent=5)
    points.earn(None, shop.card, 1000, store=chain.a1, reason="more")
    base = {"store": chain.a1, "card": shop.card, "items": ITEMS, "business_ref": "S-2"}
    # when the same voucher comes again; then coupon_used
    with pytest.raises(BusinessError) as error:
        checkout.checkout(None, coupon_codes=[shop.coupon.code], tenders={"cash": 11000}, **base)
    assert error.value.code == "coupon_used"
    # when 1000 points (¥10) pay a ¥130 bill capped at floor(5%) = ¥6.50; then points_over_cap
    with pytest.raises(BusinessError) as error:
        checkout.checkout(None, tenders={"points": 1000, "cash": 12000}, **base)
    assert error.value.code == "points_over_cap"
    # and 650 points (the cap) are taken
    sale = checkout.checkout(None, tenders={"points": 650, "cash": 12350}, **base)
    assert sale.tenders.get(kind=TenderKind.POINTS).amount == 650
    assert_books(shop.card)


def test_points_worth_more_than_their_cash_value_are_refused(chain, shop):
    # given 300 points per ¥1: 3 points are 1 fen, 4 points still only 1 fen
    PointsPolicy.objects.create(merchant=chain.merchant, points_per_yuan=300)
    base = {"store": chain.a1, "card": shop.card, "items": [("TEA-1", 1)], "business_ref": "P-1"}
    # when 4 points pay 1 fen; then invalid_tender (the 4th point would be lost)
    with pytest.raises(BusinessError) as error:
        checkout.checkout(None, tenders={"points": 4, "cash": 499}, **base)
    assert error.value.code == "invalid_tender"
    # and 3 points pay exactly 1 fen
    sale = checkout.checkout(None, tenders={"points": 3, "cash": 499}, **base)
    assert sale.tenders.get(kind=TenderKind.POINTS).amount == 1
    assert points_balance(shop.card) == 1000 - 3 + 4  # ¥4.99 earned at 1/¥, floored


@pytest.mark.parametrize(
    ("on_bonus", "on_points", "base"),
    [(False, False, 9000), (True, False, 10000), (False, True, 10000), (True, True, 11000)],
)
def test_what_a_sale_earns_on_follows_the_points_policy(chain, shop, on_bonus, on_points, base):
    # given the merchant's policy counts bonus value and/or points as paid (or neither: the default)
    PointsPolicy.objects.create(merchant=chain.merchant, earn_on_bonus=on_bonus, earn_on_points=on_points)
    # when the ¥110 sale is paid ¥60 stored value (¥10 of it bonus) + 1000 points (¥10) + ¥40 cash
    sale = _sale(chain, shop)
    # then points are earned on ¥110 less what the policy leaves out, at 1 point per ¥1
    assert (sale.earn_base, sale.points_earned) == (base, base // 100)
    assert_books(shop.card)


def test_a_sale_above_the_spend_threshold_issues_its_coupon_once(chain, shop):
    # given a template issued after a spend of ¥100 or more
    from onecard.promotions.coupon_choices import IssueRule

    template = make_template(chain, issue_rule=IssueRule.SPEND, spend_threshold=10000)
    # when the member's ¥110 sale goes through, and a ¥5 one
    sale = _sale(chain, shop)
    checkout.checkout(
        None,
        store=chain.a1,
        card=shop.card,
        items=[("TEA-1", 1)],
        tenders={"cash": 500},
        business_ref="S-small",
    )
    # then one coupon was issued, keyed to the big sale
    issued = list(Coupon.objects.filter(template=template).values_list("member_id", "rule_key"))
    assert issued == [(shop.member.pk, f"spend:{sale.business_ref}")]


def test_a_points_tender_of_a_cancelled_card_is_recorded_not_returned(chain, shop):
    # given a ¥10 sale paid 500 points (¥5) + ¥5 cash, then the card cancelled with its balance paid out
    sale = checkout.checkout(
        None, store=chain.a1, card=shop.card, items=[("TEA-1", 2)], tenders={"points": 500, "cash": 500},
        business_ref="P-2",
    )  # fmt: skip
    stored_value.cancel_card(
        chain.store_manager, reload(shop.card), reason="moved away", payout_store=chain.a1
    )
    # when the whole sale comes back
    back = returns.return_sale(chain.cashier_a1, sale, store=chain.a1, reason="changed mind")
    # then the cash goes back, the points tender's ¥5 is recorded as not returned and no points come back
    assert [(t["kind"], t["amount"], t.get("code")) for t in back.tenders] == [
        ("points", 500, returns.POINTS_NOT_RETURNABLE),
        ("cash", 500, None),
    ]
    assert (back.points_given_back, back.points_not_returned) == (0, 500)
    assert_ledger_clean()


def test_a_stored_value_tender_of_a_cancelled_card_stops_the_return(chain, shop):
    # given the ¥110 sale, then the card cancelled with its balance paid out
    sale = _sale(chain, shop)
    stored_value.cancel_card(
        chain.store_manager, reload(shop.card), reason="moved away", payout_store=chain.a1
    )
    # when the sale comes back: refused with the card's status (its value was paid out), nothing returned
    with pytest.raises(BusinessError) as error:
        returns.return_sale(chain.cashier_a1, sale, store=chain.a1, reason="changed mind")
    assert error.value.code == "card_cancelled"
    sale.refresh_from_db()
    assert sale.returned_due == 0 and not sale.returns.exists()


def test_a_member_without_a_card_gets_member_pricing_and_coupons_but_no_card_tenders(chain, shop):
    # given the member in a tier with 10% off, buying without the card
    gold = Tier.objects.create(merchant=chain.merchant, name="Gold", rank=2, discount_rate=Decimal("0.9"))
    set_member_tier(None, shop.member, gold, reason="VIP")
    base = {"store": chain.a1, "card": None, "member": shop.member, "items": [("TEA-1", 2)]}
    # when stored value is offered: card_required, nothing taken
    with pytest.raises(BusinessError) as error:
        checkout.checkout(None, tenders={"stored_value": 900}, business_ref="M-0", **base)
    assert error.value.code == "card_required"
    # when paid in cash: the tier price (¥9) holds, the sale is the member's, the coupon is theirs to use
    sale = checkout.checkout(None, tenders={"cash": 900}, business_ref="M-1", **base)
    assert (sale.total_due, sale.member_id, sale.card_id) == (900, shop.member.pk, None)
    q = checkout.quote(chain.merchant, chain.a1, shop.member, ITEMS, [shop.coupon.code])
    with_coupon = checkout.checkout(
        None, coupon_codes=[shop.coupon.code], tenders={"cash": q.total_due}, business_ref="M-2",
        **{**base, "items": ITEMS},
    )  # fmt: skip
    assert with_coupon.coupons == [shop.coupon.code]
    assert Coupon.objects.get(pk=shop.coupon.pk).status == CouponStatus.REDEEMED
    # and no points were earned without a card
    assert points_balance(shop.card) == 1000


def test_a_gift_coupon_for_a_product_not_in_the_cart_adds_a_free_line(chain, shop):
    # given a gift coupon of the member that gives one tea (not in the cart), with no minimum spend
    template = make_template(chain, kind="gift", value=0, min_spend=0, gift_product_id=shop.tea.pk)
    gift = coupons.issue_by_hand(None, template, shop.member)
    # when two cakes are bought with it
    sale = checkout.checkout(
        None, store=chain.a1, card=shop.card, items=[("CAKE-1", 2)], coupon_codes=[gift.code],
        tenders={"cash": 6000}, business_ref="G-1",
    )  # fmt: skip
    # then the sale keeps a free tea line named by its coupon (a key longer than a plain line's)
    line = sale.lines.get(gift=True)
    assert (line.sku, line.quantity, line.due) == ("TEA-1", 1, 0)
    assert gift.code in line.key
    assert sale.total_due == 6000
