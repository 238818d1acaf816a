"""In Chromium: a cashier scans a card and items, applies a coupon, pays stored value plus cash, prints the receipt."""

import datetime

import pytest
from django.utils import timezone

from onecard.catalog import services as catalog
from onecard.loyalty.points import services as points
from onecard.promotions import coupons
from onecard.promotions.coupon_choices import CouponStatus
from onecard.promotions.coupon_codes import display_code
from onecard.promotions.models import Coupon
from onecard.sales.models import Sale
from onecard.testing.cards import put_value, reload
from onecard.testing.checkout import CAKE_BARCODE, TEA_BARCODE
from onecard.testing.coupons import make_template
from onecard.testing.points import assert_books, points_balance, rule
from onecard.testing.promotions import make_promotion
from onecard.testing.stored_value import assert_ledger_clean, balances, sv_card

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _cakes_and_discounted_teas_earning_points(chain):
    """Cakes at ¥30 and teas at ¥5 with 15 percent off, both with barcodes; 1 point per ¥1."""
    catalog.create_product(
        None, chain.merchant, sku="CAKE-1", barcode=CAKE_BARCODE, name="蛋糕", list_price=3000
    )
    tea = catalog.create_product(
        None, chain.merchant, sku="TEA-1", barcode=TEA_BARCODE, name="乌龙茶", list_price=500
    )
    now = timezone.now()
    make_promotion(
        chain,
        "discount",
        name="茶饮85折",
        params={"rate": "0.85"},
        product_ids=[tea.pk],
        valid_from=now - datetime.timedelta(days=1),
        valid_to=now + datetime.timedelta(days=30),
    )
    rule(chain, "1")


def _collect_console_errors(page):
    """Start collecting the page's console errors as (text, url); return the list they go into."""
    errors = []
    page.on(
        "console", lambda m: errors.append((m.text, m.location.get("url"))) if m.type == "error" else None
    )
    return errors


def _log_in_at_the_sale_screen(page):
    """Log in as the A1 cashier and open the sale screen, where the item field waits for the scanner."""
    from playwright.sync_api import expect

    page.goto_path("/login/")
    page.fill("#id_username", "a1cash")
    page.fill("#id_password", "pass-word-123")
    page.press("#id_password", "Enter")
    page.wait_for_load_state()
    page.goto_path("/till/sale/")
    expect(page.locator("#item-input")).to_be_focused()


def _scan_card_into_the_card_field(page, number):
    """A keyboard-wedge reader types the card number and Enter into the card field."""
    page.click("#card-input")
    page.keyboard.type(number)
    page.keyboard.press("Enter")


def _scan_two_cakes_and_two_teas(page):
    """The scanner reads each barcode and Enter: a line per product, the item field keeps the focus."""
    from playwright.sync_api import expect

    for code, lines in ((CAKE_BARCODE, 1), (CAKE_BARCODE, 1), (TEA_BARCODE, 2), (TEA_BARCODE, 2)):
        page.keyboard.type(code)
        page.keyboard.press("Enter")
        expect(page.locator(".sale-line")).to_have_count(lines)
        expect(page.locator("#item-input")).to_be_focused()
    expect(page.locator("#qty-tea-1")).to_have_value("2")


def _type_the_voucher_as_printed(page, coupon):
    """Type the coupon code in groups of four and in lower case, and check it is applied."""
    from playwright.sync_api import expect

    page.click("#coupon-input")
    page.keyboard.type(display_code(coupon.code).lower())
    page.keyboard.press("Enter")
    expect(page.locator(f"#coupon-{coupon.code}")).to_have_attribute("data-applied", "1")


def _screenshot_the_sale_at_two_widths(page, screenshot):
    """Screenshots of the sale screen at 1280 and 768 pixels wide, then back to 1280."""
    screenshot("checkout-sale-1280")
    page.set_viewport_size({"width": 768, "height": 1024})
    screenshot("checkout-sale-768")
    page.set_viewport_size({"width": 1280, "height": 860})


def _pay_60_by_stored_value_and_the_rest_in_cash(page):
    """¥60 on stored value, "the rest" fills cash with ¥48.50, nothing remains; then pay."""
    from playwright.sync_api import expect

    page.fill("#tender-stored_value", "60.00")
    expect(page.locator("#pay-remaining")).to_have_text("¥48.50")
    page.click("#fill-cash")
    expect(page.locator("#tender-cash")).to_have_value("48.50")
    expect(page.locator("#pay-remaining")).to_have_text("¥0.00")
    page.click("#pay-submit")


def _assert_the_confirm_shows_total_tenders_and_member(page, screenshot):
    """The payment confirm shows the ¥108.50 total, both tenders and the member."""
    from playwright.sync_api import expect

    expect(page.locator("#till-confirm-total")).to_have_text("¥108.50")
    rows = page.locator("#till-confirm-rows")
    expect(rows).to_contain_text("¥60.00")
    expect(rows).to_contain_text("¥48.50")
    expect(rows).to_contain_text("赵六")
    screenshot("checkout-confirm")


def _assert_the_receipt_shows_total_tenders_and_voucher(page, coupon):
    """The receipt shows the total, both tenders, the voucher and the card's value after."""
    from playwright.sync_api import expect

    expect(page.locator("#receipt-total")).to_have_text("¥108.50")
    tenders = page.locator("#receipt-tenders")
    expect(tenders.locator("[data-kind=stored_value]")).to_contain_text("¥60.00")
    expect(tenders.locator("[data-kind=cash]")).to_contain_text("¥48.50")
    expect(page.locator("#receipt-coupons")).to_contain_text(display_code(coupon.code))
    expect(page.locator("#receipt-sv-after")).to_have_text("¥60.00")


def _print_the_receipt_on_58_mm(page, screenshot):
    """Print on 58 mm paper: the print button calls window.print and only the receipt is printed."""
    from playwright.sync_api import expect

    page.goto(page.url + "?w=58")
    page.evaluate("window.print = function () { window.__printed = true; }")
    page.click("#print")
    assert page.evaluate("window.__printed === true")
    page.emulate_media(media="print")
    expect(page.locator(".topbar")).to_be_hidden()
    screenshot("checkout-receipt")
    page.emulate_media(media="screen")


def _assert_the_sale_is_booked(card, coupon):
    """The sale, its tenders, the card's value, the points and the used voucher, as the books hold them."""
    # the ledger took ¥60 from the card: bonus part floor(6000 × 2000 / 12000) = ¥10
    sale = Sale.objects.get()
    assert (sale.total_due, sale.coupons) == (10_850, [coupon.code])
    assert {t.kind: t.amount for t in sale.tenders.all()} == {"stored_value": 6_000, "cash": 4_850}
    assert balances(reload(card)) == (5_000, 1_000, 0)
    # and points were earned on ¥108.50 − ¥10.00 bonus: 98
    assert sale.points_earned == 98 and points_balance(card) == 98
    # and the voucher is used by this sale
    used = Coupon.objects.get(pk=coupon.pk)
    assert (used.status, used.redemption_ref) == (CouponStatus.REDEEMED, sale.business_ref)
    assert_books(card)
    assert_ledger_clean()
    return sale


def _return_one_tea_from_sales_today(page, sale, screenshot):
    """Open today's sales and the sale, return one tea with a reason and accept the confirm."""
    from playwright.sync_api import expect

    page.click("#sales-today-link")
    expect(page.locator("#sales-due")).to_have_text("¥108.50")
    screenshot("checkout-sales-today")
    page.click(f"[data-sale='{sale.pk}'] a[href$='/sales/{sale.pk}/']")
    tea_line = sale.lines.get(sku="TEA-1")
    page.fill(f"#return-qty-{tea_line.pk}", "1")
    page.fill("#return-reason", "包装破损")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#return-submit")
    return tea_line


def test_cashier_checks_out_a_member_with_a_coupon_and_two_tenders(chain, member_factory, page, screenshot):
    from playwright.sync_api import expect

    # given cakes at ¥30 and teas at ¥5 with 15 percent off, both with barcodes; 1 point per ¥1
    _cakes_and_discounted_teas_earning_points(chain)
    # and a member's card with ¥100 principal + ¥20 bonus, and her ¥20-off-¥100 voucher
    member = member_factory(name="赵六", phone="13911112222")
    card = sv_card(chain, member)
    put_value(chain, card, principal=10_000, bonus=2_000)
    coupon = coupons.issue_by_hand(None, make_template(chain), member)

    errors = _collect_console_errors(page)
    # when the cashier logs in and opens the sale screen: the item field waits for the scanner
    _log_in_at_the_sale_screen(page)

    # and a keyboard-wedge reader types the card number and Enter into the card field
    _scan_card_into_the_card_field(page, card.number)
    expect(page.locator("#sale-member")).to_contain_text("赵六")
    expect(page.locator("#sale-bal-sv")).to_have_text("¥120.00")
    expect(page.locator("#item-input")).to_be_focused()

    # and the scanner reads two cakes and two teas by barcode, each followed by Enter
    _scan_two_cakes_and_two_teas(page)
    # then the teas show their promotion: ¥60 + ¥8.50 due
    expect(page.locator("#cart-lines")).to_contain_text("茶饮85折")
    expect(page.locator("#quote-total")).to_have_text("¥68.50")

    # when the cashier types 4 as the cakes' quantity
    page.fill("#qty-cake-1", "4")
    page.press("#qty-cake-1", "Tab")
    expect(page.locator("#quote-total")).to_have_text("¥128.50")
    expect(page.locator("#qty-cake-1")).to_have_value("4")

    # and types the voucher as printed, in groups of four and in lower case
    _type_the_voucher_as_printed(page, coupon)
    # then the cart shows it as it was issued: grouped
    expect(page.locator(f"#coupon-{coupon.code}")).to_contain_text(display_code(coupon.code))
    expect(page.locator("#quote-total")).to_have_text("¥108.50")
    _screenshot_the_sale_at_two_widths(page, screenshot)

    # when ¥60 goes on stored value and "the rest" puts the remainder in cash
    _pay_60_by_stored_value_and_the_rest_in_cash(page)
    # then the payment is confirmed first: the total, both tenders, the card and the member; Enter confirms
    _assert_the_confirm_shows_total_tenders_and_member(page, screenshot)
    page.keyboard.press("Enter")

    # then the receipt shows the total, both tenders and the voucher
    _assert_the_receipt_shows_total_tenders_and_voucher(page, coupon)
    # and it prints: on 58 mm paper, only the receipt
    _print_the_receipt_on_58_mm(page, screenshot)

    # and the ledger took ¥60 from the card, points were earned and the voucher is used by this sale
    sale = _assert_the_sale_is_booked(card, coupon)

    # when "next customer" is pressed the sale screen is empty and ready for the scanner
    page.click("#next-customer")
    expect(page.locator("#cart-empty")).to_be_visible()
    expect(page.locator("#item-input")).to_be_focused()
    assert points.available_points(card) == 98

    # when one tea comes back: today's sales, the sale, one unit and a reason (the confirm is accepted)
    tea_line = _return_one_tea_from_sales_today(page, sale, screenshot)
    # then the return is listed and its share went back to the card and the drawer in proportion
    expect(page.locator("#sale-returns")).to_contain_text("包装破损")
    screenshot("checkout-sale-detail")
    returned = sale.returns.get()
    assert returned.amount == tea_line.due // 2
    assert sum(t["amount"] for t in returned.tenders) == returned.amount
    assert_ledger_clean()
    assert [e for e in errors if not e[1].endswith("/favicon.ico")] == [], errors
