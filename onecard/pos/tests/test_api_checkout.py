"""Checkout on the POS API: quote, multi-tender checkout, replays, refusals that take nothing."""

import datetime

import pytest
from django.utils import timezone

from onecard.core.models import IdempotencyKey
from onecard.loyalty.cards import qr
from onecard.loyalty.cards import services as cards
from onecard.loyalty.models import CardTransaction, PointsPolicy
from onecard.promotions import coupons, rules
from onecard.promotions.coupon_choices import CouponStatus
from onecard.promotions.coupon_codes import new_code
from onecard.promotions.models import Coupon, PromotionUse
from onecard.sales.models import Sale
from onecard.testing.cards import reload
from onecard.testing.checkout import ITEMS, POS_API, api_order, assert_nothing_taken, problem_code
from onecard.testing.coupons import make_template
from onecard.testing.points import assert_books, points_balance
from onecard.testing.pos import idempotency_key, send_keyed
from onecard.testing.stored_value import assert_ledger_clean, balances

pytestmark = pytest.mark.usefixtures("api_urls", "tea_promotion")  # the API urlconf only


# ---- quote -------------------------------------------------------------------------------------------------


def test_quote_prices_the_cart_and_reports_what_may_be_used(chain, terminal, pos, shop):
    # given the member's card, the cart, the voucher and a mistyped code
    payload = {"card_no": shop.card.number, "items": ITEMS, "coupons": [shop.coupon.code, "NOSUCHCODE1"]}
    # when quoting through a signed request
    response = pos.post(terminal, f"{POS_API}/checkout/quote", payload)
    # then ¥130 − ¥1 (tea promotion) − ¥20 (voucher) = ¥109 is due
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["list_total"], body["discount_total"], body["total_due"]) == (13000, 2100, 10900)
    assert [(line["sku"], line["name"], line["quantity"], line["list_total"]) for line in body["lines"]] == [
        ("CAKE-1", "蛋糕", 4, 12000),
        ("TEA-1", "乌龙茶", 2, 1000),
    ]
    assert sum(line["due"] for line in body["lines"]) == 10900
    tea = body["lines"][1]
    assert [a["source"] for a in tea["adjustments"]] == [
        f"promotion:{shop.promotion.pk}",
        f"coupon:{shop.coupon.code}",
    ]
    assert tea["adjustments"][0]["amount"] == 100
    assert all(a["explanation"] for a in tea["adjustments"])
    assert body["order_adjustments"][0]["source"] == f"coupon:{shop.coupon.code}"
    assert body["order_adjustments"][0]["amount"] == 2000
    assert body["promotions_applied"] == [str(shop.promotion.pk)]
    assert body["coupons_applied"] == [shop.coupon.code]
    assert body["coupons_refused"] == {
        "NOSUCHCODE1": {
            "code": "coupon_code_invalid",
            "message": "This is not a valid coupon code; check it for typing errors.",
        }
    }
    # and the most: 109 points (whole due at 1/¥), 1000 points = ¥10, stored value ¥109 of the ¥120
    assert (
        body["points_to_earn"],
        body["max_points"],
        body["max_points_cash"],
        body["max_stored_value"],
    ) == (
        109,
        1000,
        1000,
        10900,
    )
    assert body["card_no"] == shop.card.number
    assert body["member"]["member_no"] == shop.member.member_no
    # and nothing was written
    assert_nothing_taken(shop)


def test_quote_for_a_member_without_card_or_anonymous(chain, terminal, pos, shop):
    # given a cart of two teas (below the voucher's ¥100)
    items = [{"sku": "TEA-1", "quantity": 2}]
    # when the member is named by id, with the voucher
    by_member = pos.post(
        terminal,
        f"{POS_API}/checkout/quote",
        {"member_id": str(shop.member.pk), "items": items, "coupons": [shop.coupon.code]},
    )
    # then the voucher is refused with its reason and nothing may pay but money
    assert by_member.status_code == 200, by_member.content
    body = by_member.json()
    assert body["total_due"] == 900
    assert body["coupons_refused"][shop.coupon.code]["code"] == "coupon_min_spend"
    assert (body["card_no"], body["max_points"], body["max_stored_value"]) == (None, 0, 0)
    # when nobody is named
    anonymous = pos.post(terminal, f"{POS_API}/checkout/quote", {"items": items})
    # then the same price, no member
    assert (anonymous.json()["total_due"], anonymous.json()["member"]) == (900, None)
    # and a member of another merchant is not found
    other = pos.post(terminal, f"{POS_API}/checkout/quote", {"member_id": "999999", "items": items})
    assert problem_code(other) == (404, "member_not_found")


def test_quote_refusals(chain, terminal, pos, shop):
    # unknown SKU, bad quantity, empty cart: each with its own code
    path = f"{POS_API}/checkout/quote"
    assert problem_code(pos.post(terminal, path, {"items": [{"sku": "NOPE-1", "quantity": 1}]})) == (
        422,
        "unknown_sku",
    )
    assert problem_code(pos.post(terminal, path, {"items": [{"sku": "CAKE-1", "quantity": 0}]})) == (
        400,
        "invalid_quantity",
    )
    assert problem_code(pos.post(terminal, path, {"items": []})) == (400, "empty_cart")
    assert problem_code(pos.post(terminal, path, {"card_no": "8899999999", "items": ITEMS})) == (
        404,
        "card_not_found",
    )
    # and an unsigned quote is refused
    unsigned = pos.post(terminal, path, {"items": ITEMS}, headers={"HTTP_X_SIGNATURE": "0" * 64})
    assert problem_code(unsigned) == (401, "invalid_signature")


# ---- checkout ----------------------------------------------------------------------------------------------


def test_multi_tender_checkout_replay_and_conflict(chain, terminal, pos, shop):
    # given the ¥109 cart with the voucher
    key = idempotency_key()
    # when the terminal checks out: ¥60 stored value + 1000 points (¥10) + ¥39 cash
    response = send_keyed(pos, terminal, f"{POS_API}/checkout", api_order(shop), key)
    # then 201: the sale with its lines, tenders and coupon, and the card's balances
    assert response.status_code == 201, response.content
    assert response["Idempotent-Replayed"] == "false"
    body = response.json()
    sale = body["sale"]
    assert sale["business_ref"] == f"pos:{terminal.terminal.terminal_id}:{key}"
    assert (sale["list_total"], sale["discount_total"], sale["total_due"]) == (13000, 2100, 10900)
    assert sale["coupons"] == [shop.coupon.code]
    assert sale["promotions"] == [str(shop.promotion.pk)]
    assert [(t["kind"], t["amount"], t["points"]) for t in sale["tenders"]] == [
        ("stored_value", 6000, 0),
        ("points", 1000, 1000),
        ("cash", 3900, 0),
    ]
    # the card paid ¥60 with its bonus share floor(6000 × 2000 / 12000) = ¥10, no second discount
    assert sale["tenders"][0]["bonus"] == 1000
    pay = CardTransaction.objects.get(pk=sale["tenders"][0]["card_transaction"])
    assert (pay.amount, pay.discount) == (6000, 0)
    # points were earned on 10900 − 1000 (points) − 1000 (bonus) = ¥89
    assert (sale["earn_base"], sale["points_earned"]) == (8900, 89)
    assert body["balances"] == {"principal": 5000, "bonus": 1000, "held": 0, "points": 89}
    assert [(line["sku"], line["quantity"]) for line in sale["lines"]] == [("CAKE-1", 4), ("TEA-1", 2)]
    assert sale["returns"] == []
    assert Coupon.objects.get(pk=shop.coupon.pk).status == CouponStatus.REDEEMED
    assert PromotionUse.objects.get(promotion=shop.promotion).sale_ref == sale["business_ref"]
    assert_books(shop.card)
    assert_ledger_clean()

    # when the terminal retries with the same key and body
    again = send_keyed(pos, terminal, f"{POS_API}/checkout", api_order(shop), key)
    # then the same answer, nothing taken twice
    assert (again.status_code, again.json()) == (201, body)
    assert again["Idempotent-Replayed"] == "true"
    assert Sale.objects.count() == 1
    assert balances(reload(shop.card)) == (5000, 1000, 0)

    # when the same key comes with another body
    other = send_keyed(
        pos, terminal, f"{POS_API}/checkout", api_order(shop, tenders={"cash": 10900}, card_no=""), key
    )
    # then 409 and still one sale
    assert problem_code(other) == (409, "idempotency_conflict")
    assert Sale.objects.count() == 1
    assert points_balance(shop.card) == 89


def test_checkout_without_a_key_or_with_its_own_reference(chain, terminal, pos, shop):
    # given an anonymous cash sale of one tea (¥4.50 with the promotion)
    payload = {"items": [{"sku": "TEA-1", "quantity": 1}], "tenders": {"cash": 450}}
    # when no key is sent; then 400 and no sale
    assert problem_code(send_keyed(pos, terminal, f"{POS_API}/checkout", payload)) == (
        400,
        "idempotency_key_required",
    )
    assert not Sale.objects.exists()
    # when the till names its own receipt number
    made = send_keyed(
        pos, terminal, f"{POS_API}/checkout", {**payload, "business_ref": "R-0001"}, idempotency_key()
    )
    # then the sale carries it and no card balances are answered
    assert made.status_code == 201, made.content
    assert (made.json()["sale"]["business_ref"], made.json()["balances"]) == ("R-0001", None)
    # when another key uses the same receipt number; then 409 sale_exists
    again = send_keyed(
        pos, terminal, f"{POS_API}/checkout", {**payload, "business_ref": "R-0001"}, idempotency_key()
    )
    assert problem_code(again) == (409, "sale_exists")
    # and a key that cannot be a reference is hashed into one
    odd = send_keyed(pos, terminal, f"{POS_API}/checkout", payload, "till 7/receipt #" + "x" * 80)
    assert odd.status_code == 201, odd.content
    ref = odd.json()["sale"]["business_ref"]
    assert ref.startswith(f"pos:{terminal.terminal.pk}:") and len(ref) <= 56
    assert Sale.objects.count() == 2


def _expired_coupon(chain, shop, monkeypatch):
    template = make_template(chain)
    issued = coupons.issue_by_hand(
        None, template, shop.member, at=timezone.now() - datetime.timedelta(days=40)
    )
    return {"coupons": [issued.code]}


def _coupon_of_another_store(chain, shop, monkeypatch):
    template = make_template(chain, stores=[chain.a2])
    return {"coupons": [coupons.issue_by_hand(None, template, shop.member).code]}


def _unknown_coupon(chain, shop, monkeypatch):
    return {"coupons": [new_code()]}


def _points_cap(chain, shop, monkeypatch):
    PointsPolicy.objects.create(merchant=chain.merchant, cap_percent=5)  # 5% of ¥109 = ¥5.45
    return {}


def _sold_out_meanwhile(chain, shop, monkeypatch):
    """Another till takes the promotion's last units between the pricing and the reservation."""
    real = rules.reserve

    def racing(promotion, member, quantity, sale_ref):
        real(promotion, None, 5, "OTHER-TILL")
        return real(promotion, member, quantity, sale_ref)

    monkeypatch.setattr(rules, "reserve", racing)
    return {}


@pytest.mark.parametrize(
    ("over", "status", "code"),
    [
        ({"items": [{"sku": "NOPE-1", "quantity": 1}]}, 422, "unknown_sku"),
        ({"items": [{"sku": "CAKE-1", "quantity": 0}]}, 400, "invalid_quantity"),
        ({"items": [{"sku": "CAKE-1", "quantity": -2}]}, 400, "invalid_quantity"),
        ({"items": [{"sku": "CAKE-1", "quantity": 1.5}]}, 400, "invalid_quantity"),
        ({"items": []}, 400, "empty_cart"),
        ({"items": [{"quantity": 1}]}, 400, "validation_error"),
        ({"tenders": {"stored_value": 6000, "points": 1000, "cash": 3899}}, 422, "tenders_mismatch"),
        ({"tenders": {"stored_value": 6000, "points": 1000, "cash": 3901}}, 422, "tenders_mismatch"),
        ({"tenders": {"cash": 10900, "cheque": 1}}, 400, "invalid_tender"),
        ({"tenders": {"cash": 10900, "wechat": 0}}, 400, "invalid_tender"),
        ({"tenders": {"cash": "10900"}}, 400, "invalid_tender"),
        ({"tenders": {"stored_value": 20000, "cash": -9100}}, 400, "invalid_tender"),
        ({"items": [{"sku": "CAKE-1", "quantity": 6}], "tenders": {"stored_value": 15000, "cash": 1000}},
         422, "insufficient_balance"),
        ({"tenders": {"stored_value": 6000, "points": 2000, "cash": 2900}}, 422, "insufficient_points"),
        ({"card_no": "", "coupons": [], "tenders": {"points": 1000, "cash": 11900}}, 422, "card_required"),
        ({"items": [{"sku": "TEA-1", "quantity": 2}], "tenders": {"cash": 900}}, 422, "coupon_min_spend"),
        ({"coupons": ["NOSUCHCODE1"]}, 422, "coupon_code_invalid"),
        (_unknown_coupon, 404, "coupon_not_found"),
        (_expired_coupon, 422, "coupon_expired"),
        (_coupon_of_another_store, 422, "coupon_not_valid_here"),
        (_points_cap, 422, "points_over_cap"),
        (_sold_out_meanwhile, 409, "promotion_sold_out"),
    ],
)  # fmt: skip
def test_refusals_take_nothing(chain, terminal, pos, shop, monkeypatch, over, status, code):
    # given the shop; when checking out with one bad input
    if callable(over):
        over = over(chain, shop, monkeypatch)
    response = send_keyed(pos, terminal, f"{POS_API}/checkout", api_order(shop, **over), idempotency_key())
    # then its own code and status, and nothing taken: no sale, card, points, coupon and stock untouched
    assert problem_code(response) == (status, code)
    assert response.json()["detail"]
    assert response.json()["status"] == status
    assert_nothing_taken(shop)


def test_a_refused_key_stays_refused_but_bad_input_spends_no_key(chain, terminal, pos, shop):
    key = idempotency_key()
    # when the tenders are short; then refused, and the refusal is stored with the key
    short = send_keyed(pos, terminal, f"{POS_API}/checkout", api_order(shop, tenders={"cash": 100}), key)
    assert problem_code(short) == (422, "tenders_mismatch")
    assert IdempotencyKey.objects.filter(key=key).count() == 1
    # when a quantity is bad with a fresh key; then refused before the key is looked at
    fresh = idempotency_key()
    bad = send_keyed(
        pos, terminal, f"{POS_API}/checkout", api_order(shop, items=[{"sku": "CAKE-1", "quantity": 0}]), fresh
    )
    assert problem_code(bad) == (400, "invalid_quantity")
    assert not IdempotencyKey.objects.filter(key=fresh).exists()
    # and the fixed body goes through with that key
    good = send_keyed(pos, terminal, f"{POS_API}/checkout", api_order(shop), fresh)
    assert good.status_code == 201, good.content


def test_used_coupon_is_refused_and_nothing_more_is_taken(chain, terminal, pos, shop):
    # given a sale that used the voucher
    first = send_keyed(pos, terminal, f"{POS_API}/checkout", api_order(shop), idempotency_key())
    assert first.status_code == 201, first.content
    # when a second sale presents it again
    again = send_keyed(
        pos, terminal, f"{POS_API}/checkout", api_order(shop, tenders={"cash": 12900}), idempotency_key()
    )
    # then coupon_used; the card is where the first sale left it
    assert problem_code(again) == (422, "coupon_used")
    assert Sale.objects.count() == 1
    assert balances(reload(shop.card)) == (5000, 1000, 0)
    assert points_balance(shop.card) == 89
    assert PromotionUse.objects.filter(promotion=shop.promotion).count() == 1


def test_stored_value_above_the_threshold_needs_the_card_password(chain, terminal, pos, shop):
    # given a card password required above ¥50
    cards.set_card_password(None, shop.card, "246810")
    shop.card.password_threshold = 5000
    shop.card.save(update_fields=["password_threshold"])
    key = idempotency_key()
    # when ¥60 of stored value is sent without, then with a wrong password
    missing = send_keyed(pos, terminal, f"{POS_API}/checkout", api_order(shop), key)
    wrong = send_keyed(pos, terminal, f"{POS_API}/checkout", api_order(shop, password="111111"), key)
    # then both are refused, nothing is taken and the key is not spent
    assert problem_code(missing) == (403, "card_password_required")
    assert problem_code(wrong) == (403, "wrong_card_password")
    assert_nothing_taken(shop)
    # and with the right password the same key goes through
    right = send_keyed(pos, terminal, f"{POS_API}/checkout", api_order(shop, password="246810"), key)
    assert right.status_code == 201, right.content
    assert balances(reload(shop.card)) == (5000, 1000, 0)


def test_a_dynamic_qr_pays_once_and_a_refused_sale_does_not_spend_it(chain, terminal, pos, shop):
    # given the member's dynamic QR code
    payload = qr.current_qr(shop.card).payload
    # when a sale with it is refused; then nothing is taken
    short = send_keyed(
        pos,
        terminal,
        f"{POS_API}/checkout",
        api_order(shop, card_no=payload, tenders={"cash": 1}),
        idempotency_key(),
    )
    assert problem_code(short) == (422, "tenders_mismatch")
    # when the same code pays the sale; then it goes through (the refusal did not spend it)
    paid = send_keyed(
        pos, terminal, f"{POS_API}/checkout", api_order(shop, card_no=payload), idempotency_key()
    )
    assert paid.status_code == 201, paid.content
    assert paid.json()["sale"]["card_no"] == shop.card.number
    # and the code cannot be used again, not even for a quote
    again = pos.post(terminal, f"{POS_API}/checkout/quote", {"card_no": payload, "items": ITEMS})
    assert problem_code(again) == (409, "qr_replayed")
    assert Sale.objects.count() == 1
