"""The till's sale screen (开单) through the Django test client: cart, coupons, payment, receipt, returns."""

import re
import uuid

import pytest
from django.test import override_settings
from django.urls import reverse
from django.utils import translation

from onecard.loyalty.cards import services as cards
from onecard.pos.till.sale import business_ref_for
from onecard.promotions import coupon_redemption, coupons
from onecard.promotions.coupon_choices import CouponStatus
from onecard.promotions.coupon_codes import display_code
from onecard.promotions.models import Coupon
from onecard.sales.errors import UnknownSku
from onecard.sales.models import Sale, SaleReturn
from onecard.testing.cards import reload
from onecard.testing.checkout import CAKE_BARCODE, TEA_BARCODE
from onecard.testing.points import assert_books, points_balance
from onecard.testing.stored_value import assert_ledger_clean, balances, sv_card

pytestmark = pytest.mark.django_db


def htmx(client, name, **data):
    """POST to a till_sale view as htmx does; the workspace comes back."""
    return client.post(reverse(f"till_sale:{name}"), data, HTTP_HX_REQUEST="true")


def text(response):
    return response.content.decode()


def total_shown(body):
    match = re.search(r'id="quote-total">¥([\d.]+)<', body)
    return match.group(1) if match else None


def cart_of(client, store):
    return client.session.get(f"till_sale:{store.pk}", {})


def build_cart(client, shop):
    """Card, 4 cakes (by barcode, one scan then the quantity typed), 2 teas by barcode, the voucher: ¥110 due."""
    htmx(client, "card", q=shop.card.number)
    htmx(client, "item", code=CAKE_BARCODE)
    htmx(client, "quantity", sku="CAKE-1", quantity="4")
    htmx(client, "item", code=TEA_BARCODE)
    htmx(client, "item", code=TEA_BARCODE)
    return htmx(client, "coupon", code=shop.coupon.code)


def pay(client, token=None, **tenders):
    return client.post(reverse("till_sale:pay"), {"token": token or uuid.uuid4().hex, **tenders})


# ---- the cart ----------------------------------------------------------------------------------------------


def test_sale_page_needs_the_till_permission(chain, login):
    # given a marketer (no till.operate); when opening the sale screen; then 403
    assert login(chain.marketer).get(reverse("till_sale:sale")).status_code == 403
    # and a cashier sees the item field, focused for the scanner
    response = login(chain.cashier_a1).get(reverse("till_sale:sale"))
    assert response.status_code == 200
    assert re.search(r'id="item-input"[^>]*autofocus', text(response))
    assert 'id="cart-empty"' in text(response)


def test_scanning_adds_lines_and_increments_them(chain, login, shop):
    client = login(chain.cashier_a1)
    # given an empty cart; when a cake is scanned by SKU, again by barcode, and a tea by barcode
    htmx(client, "item", code="cake-1")
    htmx(client, "item", code=CAKE_BARCODE)
    response = htmx(client, "item", code=TEA_BARCODE)
    # then two lines: 2 cakes and 1 tea, ¥65.00 due (anonymous: no member prices)
    assert response.status_code == 200
    assert cart_of(client, chain.a1)["items"] == [["CAKE-1", 2], ["TEA-1", 1]]
    body = text(response)
    assert total_shown(body) == "65.00"
    assert 'id="qty-cake-1"' in body and 'value="2"' in body
    # and a refresh keeps the cart
    assert total_shown(text(client.get(reverse("till_sale:sale")))) == "65.00"


def test_unknown_sku_is_refused_with_the_service_message_and_adds_nothing(chain, login, shop):
    client = login(chain.cashier_a1)
    htmx(client, "item", code="CAKE-1")
    # when an unknown code is scanned
    response = htmx(client, "item", code="NOPE-404")
    # then the refusal shows, in the page's language (Chinese by default), and the cart is unchanged
    body = text(response)
    assert 'id="sale-error"' in body and 'data-code="unknown_sku"' in body
    with translation.override("zh-hans"):
        assert str(UnknownSku.default_message) in body
    assert cart_of(client, chain.a1)["items"] == [["CAKE-1", 1]]
    assert total_shown(body) == "30.00"


def test_quantity_edit_and_line_removal(chain, login, shop):
    client = login(chain.cashier_a1)
    htmx(client, "item", code="CAKE-1")
    htmx(client, "item", code="TEA-1")
    # when the cake's quantity is typed as 3
    assert total_shown(text(htmx(client, "quantity", sku="CAKE-1", quantity="3"))) == "95.00"
    # then a bad quantity is refused and changes nothing
    body = text(htmx(client, "quantity", sku="CAKE-1", quantity="-2"))
    assert 'data-code="invalid_quantity"' in body and total_shown(body) == "95.00"
    # when the tea is removed, and the cake set to 0
    assert total_shown(text(htmx(client, "remove_item", sku="TEA-1"))) == "90.00"
    body = text(htmx(client, "quantity", sku="CAKE-1", quantity="0"))
    # then the cart is empty again
    assert cart_of(client, chain.a1)["items"] == []
    assert 'id="cart-empty"' in body


def test_without_htmx_a_change_redirects_back_to_the_page(chain, login, shop):
    client = login(chain.cashier_a1)
    # given no JavaScript; when a code is scanned; then post/redirect/get back to the sale screen
    response = client.post(reverse("till_sale:item"), {"code": "TEA-1"})
    assert (response.status_code, response.url) == (302, reverse("till_sale:sale"))
    assert cart_of(client, chain.a1)["items"] == [["TEA-1", 1]]


def test_card_scan_shows_the_member_and_what_may_pay(chain, login, shop):
    client = login(chain.cashier_a1)
    htmx(client, "item", code="CAKE-1")
    # when the member's card is scanned
    body = text(htmx(client, "card", q=shop.card.number))
    # then the member, masked phone, balances and points show, and the pay form offers stored value
    assert "李雷" in body and "139****5678" in body and "13912345678" not in body
    assert 'id="sale-bal-sv">¥120.00<' in body
    assert 'id="sale-bal-points">1000<' in body
    assert 'id="tender-stored_value"' in body and 'id="tender-points"' in body
    assert 'id="quote-points" data-points="30"' in body
    # and the member's voucher is offered
    assert f'id="use-coupon-{shop.coupon.code}"' in body
    # when the card is dropped the sale is anonymous: no stored-value tender
    body = text(htmx(client, "drop_card"))
    assert 'id="sale-anonymous"' in body and 'id="tender-stored_value"' not in body


def test_a_phone_with_several_cards_offers_a_choice(chain, login, shop):
    client = login(chain.cashier_a1)
    second = sv_card(chain, shop.member)
    # when the member's phone is typed: both cards are offered
    body = text(htmx(client, "card", q="13912345678"))
    assert 'id="card-choices"' in body and shop.card.number in body and second.number in body
    assert 'id="sale-member"' not in body
    # when one is picked: it is the sale's card
    body = text(htmx(client, "card", q=second.number))
    assert f'data-card="{second.number}"' in body
    assert cart_of(client, chain.a1)["card"] == second.number


def test_new_sale_from_the_cashier_desk_panel(chain, login, shop):
    client = login(chain.cashier_a1)
    # given the card looked up at the cashier desk: its panel offers a sale with it
    panel = text(client.get(reverse("till:lookup"), {"q": shop.card.number}))
    assert 'id="new-sale-with-card"' in panel
    # when it is pressed: the sale screen opens with the card
    response = client.post(reverse("till_sale:card"), {"q": shop.card.number})
    assert (response.status_code, response.url) == (302, reverse("till_sale:sale"))
    assert 'id="sale-member"' in text(client.get(response.url))


def test_unknown_card_is_refused(chain, login, shop):
    body = text(htmx(login(chain.cashier_a1), "card", q="99999999"))
    assert 'id="sale-error"' in body and 'id="sale-member"' not in body


# ---- coupons -----------------------------------------------------------------------------------------------


def test_coupon_applies_and_refusals_say_why(chain, login, shop):
    client = login(chain.cashier_a1)
    # given the member's ¥130 cart
    body = text(build_cart(client, shop))
    # then the voucher took ¥20 off: ¥110 due, explained on the lines and the order
    assert total_shown(body) == "110.00"
    assert f'id="coupon-{shop.coupon.code}" data-applied="1"' in body
    assert "−¥20.00" in body

    # when a mistyped code is presented: refused with its own code, not kept
    body = text(htmx(client, "coupon", code="ABCDEFGHJKLMNPQR"))
    assert 'data-code="coupon_code_invalid"' in body
    assert cart_of(client, chain.a1)["coupons"] == [shop.coupon.code]

    # when a used coupon is presented: refused (coupon_used), not kept
    other = coupons.issue_by_hand(None, shop.coupon.template, shop.member)
    coupon_redemption.redeem(other.code, store=chain.a1, sale_ref="EARLIER", member=shop.member)
    body = text(htmx(client, "coupon", code=other.code))
    assert 'data-code="coupon_used"' in body
    assert cart_of(client, chain.a1)["coupons"] == [shop.coupon.code]

    # when the cart drops below the voucher's ¥100 minimum, it stays, marked as not applied, with the reason
    body = text(htmx(client, "quantity", sku="CAKE-1", quantity="1"))
    assert f'id="coupon-{shop.coupon.code}" data-applied="0"' in body
    assert 'data-code="coupon_min_spend"' in body
    assert total_shown(body) == "40.00"


def test_another_members_coupon_is_refused(chain, login, shop, member_factory):
    client = login(chain.cashier_a1)
    stranger = coupons.issue_by_hand(None, shop.coupon.template, member_factory(name="韩梅梅"))
    build_cart(client, shop)
    body = text(htmx(client, "coupon", code=stranger.code))
    assert 'data-code="coupon_not_yours"' in body
    assert stranger.code not in cart_of(client, chain.a1)["coupons"]


# ---- paying ------------------------------------------------------------------------------------------------


def test_pay_stored_value_plus_cash_then_the_receipt(chain, login, shop):
    client = login(chain.cashier_a1)
    build_cart(client, shop)
    token = uuid.uuid4().hex
    # when ¥60 is put on stored value and the rest (¥50) in cash
    response = pay(client, token, stored_value="60.00", cash="50.00")
    # then the sale is taken and the receipt shows
    sale = Sale.objects.get()
    assert (response.status_code, response.url) == (302, reverse("till_sale:receipt", args=[sale.pk]))
    assert (sale.business_ref, sale.store, sale.actor) == (
        business_ref_for(token),
        chain.a1,
        chain.cashier_a1,
    )
    assert (sale.list_total, sale.total_due) == (13000, 11000)
    assert {t.kind: t.amount for t in sale.tenders.all()} == {"stored_value": 6000, "cash": 5000}
    # and the card paid ¥60: bonus part floor(6000 × 2000 / 12000) = 1000; points earned on ¥100 = 100
    assert balances(reload(shop.card)) == (5000, 1000, 0)
    assert sale.points_earned == 100
    assert points_balance(shop.card) == 1100
    # and the voucher is used by this sale
    coupon = Coupon.objects.get(pk=shop.coupon.pk)
    assert (coupon.status, coupon.redemption_ref) == (CouponStatus.REDEEMED, sale.business_ref)
    # and the cart is empty for the next customer
    assert cart_of(client, chain.a1) == {}
    assert_books(shop.card)
    assert_ledger_clean()

    receipt = text(client.get(response.url))
    assert 'id="receipt-total">¥110.00<' in receipt
    assert re.search(r'data-kind="stored_value"><td>[^<]*</td><td>¥60.00<', receipt)
    assert re.search(r'data-kind="cash"><td>[^<]*</td><td>¥50.00<', receipt)
    assert 'id="receipt-points-earned">+100<' in receipt
    assert 'id="receipt-sv-after">¥60.00<' in receipt
    assert 'id="receipt-points-after">1100<' in receipt
    assert display_code(shop.coupon.code) in receipt and shop.card.number not in receipt
    # and the 58 mm receipt is the same sale
    assert 'id="receipt-total">¥110.00<' in text(client.get(response.url + "?w=58"))


def test_cash_received_prints_the_change_and_short_notes_are_refused(chain, login, shop):
    client = login(chain.cashier_a1)
    build_cart(client, shop)
    # when ¥60 is on stored value, ¥50 in cash, and the customer hands over ¥40: refused, nothing taken
    refused = pay(client, stored_value="60.00", cash="50.00", cash_received="40.00")
    assert refused.status_code == 400
    assert 'data-code="cash_received_short"' in text(refused)
    assert not Sale.objects.exists() and balances(reload(shop.card)) == (10000, 2000, 0)
    # when ¥100 is handed over instead
    response = pay(client, stored_value="60.00", cash="50.00", cash_received="100.00")
    # then the sale keeps it and the receipt prints ¥50.00 change
    sale = Sale.objects.get()
    assert (sale.cash_received, sale.cash_change) == (10000, 5000)
    receipt = text(client.get(response.url))
    assert 'id="receipt-cash-received">¥100.00<' in receipt
    assert 'id="receipt-change">¥50.00<' in receipt


def test_double_submit_of_one_token_makes_one_sale(chain, login, shop):
    client = login(chain.cashier_a1)
    build_cart(client, shop)
    token = uuid.uuid4().hex
    # when the pay form is submitted twice with the same token (a double click, a resubmit)
    first = pay(client, token, stored_value="60.00", cash="50.00")
    second = pay(client, token, stored_value="60.00", cash="50.00")
    # then one sale, and both answers lead to its receipt
    sale = Sale.objects.get()
    assert first.url == second.url == reverse("till_sale:receipt", args=[sale.pk])
    assert balances(reload(shop.card)) == (5000, 1000, 0)
    # and the same token with the cart rebuilt (another request under that key) is not a second sale
    build_cart(client, shop)
    third = pay(client, token, stored_value="60.00", cash="50.00")
    assert third.url == first.url
    assert Sale.objects.count() == 1


def test_tenders_that_do_not_add_up_are_refused_and_take_nothing(chain, login, shop):
    client = login(chain.cashier_a1)
    build_cart(client, shop)
    # when ¥60 stored value + ¥49.99 cash is tendered for ¥110
    response = pay(client, stored_value="60.00", cash="49.99")
    # then the refusal shows, nothing is taken, the cart and the typed tenders stay
    assert response.status_code == 400
    body = text(response)
    assert 'data-code="tenders_mismatch"' in body
    assert 'value="60.00"' in body and 'value="49.99"' in body
    assert not Sale.objects.exists()
    assert balances(reload(shop.card)) == (10000, 2000, 0)
    assert Coupon.objects.get(pk=shop.coupon.pk).status == CouponStatus.ISSUED
    assert len(cart_of(client, chain.a1)["items"]) == 2
    # and a malformed amount never reaches the checkout
    response = pay(client, cash="12.345")
    assert response.status_code == 400 and 'data-code="invalid"' in text(response)
    # and then the right tenders go through
    assert pay(client, stored_value="60.00", cash="50.00").status_code == 302
    assert Sale.objects.count() == 1


def test_a_coupon_used_elsewhere_meanwhile_stops_the_sale(chain, login, shop):
    client = login(chain.cashier_a1)
    build_cart(client, shop)
    # given the voucher is used at another till after it was scanned here
    coupon_redemption.redeem(shop.coupon.code, store=chain.a2, sale_ref="OTHER-TILL", member=shop.member)
    # when this till takes the payment: refused with the coupon's reason, nothing taken, the cart stays
    response = pay(client, stored_value="60.00", cash="50.00")
    assert response.status_code == 400 and 'data-code="coupon_used"' in text(response)
    assert not Sale.objects.exists() and balances(reload(shop.card)) == (10000, 2000, 0)
    assert cart_of(client, chain.a1)["coupons"] == [shop.coupon.code]


def test_pay_with_points_and_cash(chain, login, shop):
    client = login(chain.cashier_a1)
    body = text(build_cart(client, shop))
    # given 1000 points worth ¥10 (100 points per ¥1, no cap), offered as such
    assert 'id="quote-max-points"' in body and "¥10.00" in body
    assert 'data-rate="100"' in body
    # when 1000 points and ¥100 cash pay the ¥110
    response = pay(client, points="1000", cash="100.00")
    # then the points tender is worth ¥10; points earned on ¥110 − ¥10 = 100
    sale = Sale.objects.get()
    assert response.url == reverse("till_sale:receipt", args=[sale.pk])
    tenders = {t.kind: (t.amount, t.points) for t in sale.tenders.all()}
    assert tenders == {"points": (1000, 1000), "cash": (10000, 0)}
    assert sale.points_earned == 100 and points_balance(shop.card) == 100
    receipt = text(client.get(response.url))
    assert re.search(r'data-kind="points"><td>[^<]*1000[^<]*</td><td>¥10.00<', receipt)
    assert_books(shop.card)


def test_more_stored_value_than_the_card_holds_is_refused(chain, login, shop):
    client = login(chain.cashier_a1)
    build_cart(client, shop)
    htmx(client, "quantity", sku="CAKE-1", quantity="6")  # ¥190 − ¥20 = ¥170
    response = pay(client, stored_value="150.00", cash="20.00")
    assert response.status_code == 400 and 'data-code="insufficient_balance"' in text(response)
    assert not Sale.objects.exists() and balances(reload(shop.card)) == (10000, 2000, 0)


def test_card_password_is_asked_for_stored_value(chain, login, shop):
    # given a card password, asked above ¥50 (the card product's threshold)
    cards.set_card_password(None, shop.card, "246810")
    type(shop.card.product).objects.filter(pk=shop.card.product_id).update(password_threshold=5000)
    client = login(chain.cashier_a1)
    body = text(build_cart(client, shop))
    assert 'id="pay-password"' in body and 'id="pay-password-threshold">¥50.00<' in body
    # when no password is typed for a ¥60 stored-value tender: refused, nothing taken
    response = pay(client, stored_value="60.00", cash="50.00")
    assert response.status_code == 400 and 'data-code="card_password_required"' in text(response)
    response = pay(client, stored_value="60.00", cash="50.00", password="111111")
    assert response.status_code == 400 and 'data-code="wrong_card_password"' in text(response)
    assert not Sale.objects.exists()
    # with the password the sale goes through
    assert pay(client, stored_value="60.00", cash="50.00", password="246810").status_code == 302
    assert balances(reload(shop.card)) == (5000, 1000, 0)


def test_anonymous_cash_sale(chain, login, shop):
    client = login(chain.cashier_a1)
    htmx(client, "item", code=TEA_BARCODE)
    response = pay(client, wechat="5.00")
    sale = Sale.objects.get()
    assert (sale.card, sale.member, sale.total_due) == (None, None, 500)
    receipt = text(client.get(response.url))
    assert 'id="receipt-total">¥5.00<' in receipt and 'id="receipt-points-earned"' not in receipt


# ---- receipts, lists, returns ------------------------------------------------------------------------------


def _sold(client, shop):
    build_cart(client, shop)
    pay(client, stored_value="60.00", cash="50.00")
    return Sale.objects.get()


def test_partial_return_gives_back_in_proportion(chain, login, shop):
    client = login(chain.cashier_a1)
    sale = _sold(client, shop)
    cake = sale.lines.get(sku="CAKE-1")
    detail = text(client.get(reverse("till_sale:sale_detail", args=[sale.pk])))
    assert f'id="return-qty-{cake.pk}"' in detail
    # when two of the four cakes come back
    response = client.post(
        reverse("till_sale:sale_return", args=[sale.pk]),
        {"token": uuid.uuid4().hex, f"qty_{cake.pk}": "2", "reason": "压坏了"},
    )
    # then floor(cake due × 2 / 4) is returned, over stored value and cash in proportion
    assert (response.status_code, response.url) == (302, reverse("till_sale:sale_detail", args=[sale.pk]))
    done = SaleReturn.objects.get()
    assert done.amount == cake.due * 2 // 4
    assert sum(t["amount"] for t in done.tenders) == done.amount
    stored = next(t for t in done.tenders if t["kind"] == "stored_value")
    assert stored["amount"] == done.amount * 6000 // 11000
    assert sum(balances(reload(shop.card))[:2]) == 6000 + stored["amount"]
    # and the voucher stays used; the page shows the return
    assert Coupon.objects.get(pk=shop.coupon.pk).status == CouponStatus.REDEEMED
    page = text(client.get(response.url))
    assert 'id="sale-returns"' in page and "压坏了" in page
    assert_books(shop.card)
    assert_ledger_clean()


def test_return_refusals(chain, login, shop):
    client = login(chain.cashier_a1)
    sale = _sold(client, shop)
    cake = sale.lines.get(sku="CAKE-1")
    url = reverse("till_sale:sale_return", args=[sale.pk])
    # no reason, nothing picked, more than was sold: each refused, nothing returned
    for data in (
        {f"qty_{cake.pk}": "1", "reason": ""},
        {"reason": "x"},
        {f"qty_{cake.pk}": "5", "reason": "x"},
    ):
        response = client.post(url, {"token": uuid.uuid4().hex, **data})
        assert response.status_code == 400 and 'id="sale-error"' in text(response)
    assert not SaleReturn.objects.exists()


@override_settings(ONECARD_TILL_REFUND_APPROVAL_FEN=5000)
def test_a_large_return_needs_a_manager(chain, login, shop, client):
    cashier = login(chain.cashier_a1)
    sale = _sold(cashier, shop)
    url = reverse("till_sale:sale_return", args=[sale.pk])
    # when the cashier returns the whole ¥110 sale above the ¥50 limit: refused, nothing given back
    response = cashier.post(url, {"token": uuid.uuid4().hex, "whole": "1", "reason": "退货"})
    assert response.status_code == 400 and 'data-code="refund_needs_manager"' in text(response)
    assert not SaleReturn.objects.exists()
    assert balances(reload(shop.card)) == (5000, 1000, 0)
    # when the store manager does it: the whole sale comes back, the voucher too
    client = login(chain.store_manager)
    response = client.post(url, {"token": uuid.uuid4().hex, "whole": "1", "reason": "退货"})
    assert response.status_code == 302
    assert SaleReturn.objects.get().amount == 11000
    assert balances(reload(shop.card)) == (10000, 2000, 0)
    assert Coupon.objects.get(pk=shop.coupon.pk).status == CouponStatus.ISSUED
    assert_ledger_clean()


def test_return_token_twice_returns_once(chain, login, shop):
    client = login(chain.cashier_a1)
    sale = _sold(client, shop)
    cake = sale.lines.get(sku="CAKE-1")
    data = {"token": uuid.uuid4().hex, f"qty_{cake.pk}": "1", "reason": "x"}
    url = reverse("till_sale:sale_return", args=[sale.pk])
    assert client.post(url, data).status_code == 302
    assert client.post(url, data).status_code == 302
    assert SaleReturn.objects.count() == 1
    assert sale.lines.get(pk=cake.pk).returned_quantity == 1


def test_another_stores_sale_is_not_found(chain, login, shop):
    sale = _sold(login(chain.cashier_a1), shop)
    # given a cashier of store B1
    other = login(chain.cashier_b1)
    # then the A1 sale's receipt, detail and return do not exist for them
    assert other.get(reverse("till_sale:receipt", args=[sale.pk])).status_code == 404
    assert other.get(reverse("till_sale:sale_detail", args=[sale.pk])).status_code == 404
    response = other.post(
        reverse("till_sale:sale_return", args=[sale.pk]),
        {"token": uuid.uuid4().hex, "whole": "1", "reason": "x"},
    )
    assert response.status_code == 404
    assert not SaleReturn.objects.exists()
    # and their list of today's sales is empty
    assert 'data-sale="' not in text(other.get(reverse("till_sale:sales")))


def test_todays_sales_list_and_export(chain, login, shop):
    client = login(chain.cashier_a1)
    sale = _sold(client, shop)
    body = text(client.get(reverse("till_sale:sales")))
    assert f'data-sale="{sale.pk}"' in body
    assert 'id="sales-due">¥110.00<' in body
    response = client.get(reverse("till_sale:sales"), {"export": "xlsx"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    from io import BytesIO

    from openpyxl import load_workbook

    rows = list(load_workbook(BytesIO(response.content)).active.iter_rows(values_only=True))
    assert len(rows) == 2 and rows[1][1] == sale.pk and rows[1][5] == "110.00"
    # the member is named by number only: the export carries no personal data
    assert rows[1][2] == (sale.member.member_no if sale.member_id else None)


def test_receipt_needs_the_till_permission(chain, login, shop):
    sale = _sold(login(chain.cashier_a1), shop)
    assert login(chain.marketer).get(reverse("till_sale:receipt", args=[sale.pk])).status_code == 403


def test_a_scan_reprices_the_cart_in_few_queries(chain, login, shop, django_assert_max_num_queries):
    # given the member's two-line cart with the voucher
    client = login(chain.cashier_a1)
    build_cart(client, shop)
    # when one more tea is scanned: session, staff, the product, the card and balances, the quote, the
    # member's coupons, the session saved (measured: 24)
    with django_assert_max_num_queries(26):
        response = htmx(client, "item", code=TEA_BARCODE)
    # then the repriced cart is back: ¥135 − ¥20
    assert total_shown(text(response)) == "115.00"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_submits_at_once_with_one_token_make_one_sale(chain, shop):
    from django.test import Client

    from onecard.testing.concurrency import run_clients

    # given the cart built in one session, and two browsers' worth of clients sharing its cookie
    first = Client()
    first.force_login(chain.cashier_a1)
    build_cart(first, shop)
    token = uuid.uuid4().hex
    answers = []

    def submit(_n):
        client = Client()
        client.cookies = first.cookies
        answers.append(pay(client, token, stored_value="60.00", cash="50.00"))

    # when both post the pay form with the same token at the same moment
    run_clients(2, submit)
    # then exactly one sale, the card charged once, and both lead to its receipt
    sale = Sale.objects.get()
    assert [a.status_code for a in answers] == [302, 302]
    assert {a.url for a in answers} == {reverse("till_sale:receipt", args=[sale.pk])}
    assert balances(reload(shop.card)) == (5000, 1000, 0)
    assert_ledger_clean()
