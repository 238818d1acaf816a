"""What the till prints and shows once, in one form: discounts, coupon codes, the refund notice, labels."""

import re
import uuid

import pytest
from django.urls import reverse

from onecard.loyalty.packages import services as packages
from onecard.pos.till.cart import adjustment_row
from onecard.promotions.coupon_codes import display_code
from onecard.sales import services as sales
from onecard.sales.models import Sale
from onecard.testing.packages import gym_package

pytestmark = pytest.mark.django_db


def test_an_explanation_that_ends_with_its_amount_is_shown_without_it():
    # given the engine's explanation of ¥20 off, which ends with the amount
    row = adjustment_row("promotion:1", 2000, "满 ¥200.00 减 ¥20.00（店庆）：−¥20.00")
    # then the label for a page with an amount column leaves it out; the thresholds stay
    assert row["label"] == "满 ¥200.00 减 ¥20.00（店庆）"
    # and an explanation without its amount, or a gift (no amount), is kept whole
    assert adjustment_row("tier", 500, "会员折扣")["label"] == "会员折扣"
    assert adjustment_row("promotion:2", 0, "满 ¥300.00 赠品（店庆）")["label"] == "满 ¥300.00 赠品（店庆）"


def test_receipt_prints_the_order_discount_once(chain, login, sale_over_300):
    # given the sale that got ¥50 off 满300
    client = login(chain.cashier_a1)
    receipt = client.get(reverse("till_sale:receipt", args=[sale_over_300.sale.pk])).content.decode()
    # then the 满减 row prints "−¥50.00" once, in its amount column (the other is the total discount);
    # its explanation, kept in the language of the checkout, ends with the amount the row leaves out
    stored = next(a for a in sale_over_300.sale.order_adjustments if a["amount"] == 5000)["explanation"]
    label = adjustment_row("promotion:1", 5000, stored)["label"]
    assert stored.endswith("−¥50.00") and "满300减50" in label and not label.endswith("¥50.00")
    assert f"{label}</td><td>−¥50.00</td>" in receipt
    assert stored not in receipt and receipt.count("−¥50.00") == 2
    assert 'id="receipt-discount">−¥50.00<' in receipt


def test_coupon_codes_read_grouped_and_are_taken_either_way(chain, login, shop):
    client = login(chain.cashier_a1)
    code, grouped = shop.coupon.code, display_code(shop.coupon.code)
    client.post(reverse("till_sale:card"), {"q": shop.card.number}, HTTP_HX_REQUEST="true")
    client.post(reverse("till_sale:item"), {"code": "CAKE-1"}, HTTP_HX_REQUEST="true")
    client.post(reverse("till_sale:quantity"), {"sku": "CAKE-1", "quantity": "4"}, HTTP_HX_REQUEST="true")
    # when the code is typed as printed, in lower case with dashes
    page = client.post(
        reverse("till_sale:coupon"), {"code": grouped.lower()}, HTTP_HX_REQUEST="true"
    ).content.decode()
    # then it applies, and the cart shows it grouped
    assert f'id="coupon-{code}" data-applied="1"' in page
    assert f'<span class="masked">{grouped}</span>' in page
    # and once paid, the receipt and the sale's page show it grouped too
    client.post(reverse("till_sale:pay"), {"token": uuid.uuid4().hex, "cash": "100.00"})
    sale = Sale.objects.get()
    receipt = client.get(reverse("till_sale:receipt", args=[sale.pk])).content.decode()
    detail = client.get(reverse("till_sale:sale_detail", args=[sale.pk])).content.decode()
    assert f"<td>{grouped}</td>" in receipt
    assert f'id="detail-coupons">{grouped}</dd>' in detail


def test_the_refund_limit_is_said_once_on_the_cashier_desk(chain, login, shop):
    # given a card with a charge to refund and a package, so that the desk shows both refund forms
    sales.charge_card(None, shop.card, 1000, store=chain.a1)
    packages.sell_package(None, shop.card, gym_package(chain), store=chain.a1)
    client = login(chain.cashier_a1)
    panel = client.get(reverse("till:lookup"), {"q": shop.card.number}).content.decode()
    packages_panel = client.get(
        reverse("till:packages_panel"), {"card": shop.card.number}, HTTP_HX_REQUEST="true"
    ).content.decode()
    # then the desk says the limit once where it shows (the charge refund form); the package refund
    # says it inside its own folded form, not again under the panel
    assert panel.count("超过 ¥500.00") == 1
    folded = "".join(re.findall(r"<details>.*?</details>", packages_panel, flags=re.S))
    assert packages_panel.count("超过 ¥500.00") == folded.count("超过 ¥500.00") == 1


def test_empty_sale_screen_includes_something_for_htmx_and_pay_the_rest_says_what_it_does(chain, login, shop):
    client = login(chain.cashier_a1)
    page = client.get(reverse("till_sale:sale")).content.decode()
    # then hx-include always matches an element, even with no payment form
    assert 'hx-include="#pay-form [data-tender], #tenders-typed"' in page and 'id="tenders-typed"' in page
    assert 'id="pay-form"' not in page
    # and with a line, the fill buttons say what they do
    page = client.post(reverse("till_sale:item"), {"code": "CAKE-1"}, HTTP_HX_REQUEST="true").content.decode()
    assert "填入待付金额" in page and "其余" not in page
