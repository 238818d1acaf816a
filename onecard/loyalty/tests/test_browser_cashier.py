"""In Chromium: a cashier scans a card (number + Enter), tops up, charges, refunds and prints receipts."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _log_in_at_the_till(page):
    """Log in as the A1 cashier and open the till, where the card field waits for the scanner."""
    from playwright.sync_api import expect

    page.goto_path("/login/")
    page.fill("#id_username", "a1cash")
    page.fill("#id_password", "pass-word-123")
    page.press("#id_password", "Enter")
    page.wait_for_load_state()
    page.goto_path("/till/")
    expect(page.locator("#card-input")).to_be_focused()


def _scan_card(page, number):
    """A keyboard-wedge reader types the card number and Enter."""
    page.keyboard.type(number)
    page.keyboard.press("Enter")


def _next_customer(page):
    """Leave the receipt for the till, the card field focused again."""
    from playwright.sync_api import expect

    page.click("#next-customer")
    expect(page.locator("#card-input")).to_be_focused()


def _ask_to_top_up_100_by_wechat(page, screenshot):
    """Submit a ¥100.00 WeChat top-up and check the confirm dialog shows amount, tender, card and member."""
    from playwright.sync_api import expect

    page.fill("#topup-amount", "100.00")
    page.select_option("#topup-tender", "wechat")
    page.click("#topup-form button[type=submit]")
    dialog = page.locator("#till-confirm")
    expect(dialog).to_be_visible()
    expect(page.locator("#till-confirm-total")).to_have_text("¥100.00")
    expect(page.locator("#till-confirm-rows")).to_contain_text("微信支付")
    expect(page.locator("#till-confirm-rows")).to_contain_text("赵六 139****2222")
    expect(page.locator("#till-confirm-ok")).to_be_focused()
    screenshot("cashier-confirm-topup")
    return dialog


def _confirm_the_top_up_with_enter(page):
    """Submit the top-up form again and confirm with Enter: the receipt shows ¥100.00 on the card."""
    from playwright.sync_api import expect

    page.click("#topup-form button[type=submit]")
    expect(page.locator("#till-confirm-ok")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#receipt-amount")).to_have_text("¥100.00")
    expect(page.locator("#receipt-total-after")).to_have_text("¥100.00")


def _charge_30(page):
    """Type ¥30.00 as a cashier does, check the quote, confirm with Enter twice and check the receipt."""
    from playwright.sync_api import expect

    # The panel has settled once its packages part (loaded after it) is in; then type as a cashier does.
    expect(page.locator("#packages")).to_be_visible()
    page.click("#charge-amount")
    page.keyboard.type("30.00")
    expect(page.locator("#quote-text")).to_contain_text("¥30.00")
    page.keyboard.press("Enter")
    expect(page.locator("#till-confirm-total")).to_have_text("¥30.00")
    page.keyboard.press("Enter")
    expect(page.locator("#receipt-amount")).to_have_text("¥30.00")
    expect(page.locator("#receipt-total-after")).to_have_text("¥70.00")


def _refund_10(page, screenshot):
    """Refund ¥10.00 of the charge and check the receipt, also on 58 mm paper."""
    from playwright.sync_api import expect

    page.fill("#refund-amount", "10.00")
    page.fill("#refund-reason", "退货")
    page.click("#refund-form button[type=submit]")
    expect(page.locator("#receipt-amount")).to_have_text("¥10.00")
    expect(page.locator("#receipt-total-after")).to_have_text("¥80.00")
    page.goto(page.url + "?w=58")
    expect(page.locator("#receipt")).to_be_visible()
    screenshot("cashier-receipt")


def test_cashier_scans_tops_up_charges_and_refunds(chain, member_factory, page, screenshot):
    from playwright.sync_api import expect

    from onecard.testing.stored_value import balances, sv_card

    # given an active stored-value card of an A1 member, empty
    member = member_factory(name="赵六", phone="13911112222")
    card = sv_card(chain, member)

    # when the cashier logs in and a keyboard-wedge reader types the number and Enter
    _log_in_at_the_till(page)
    _scan_card(page, card.number)

    # then the member panel shows the member and empty balances
    panel = page.locator("#member-panel")
    expect(panel).to_contain_text("赵六")
    expect(panel).to_contain_text("139****2222")
    expect(page.locator("#bal-principal")).to_have_text("¥0.00")

    # top-up ¥100.00: the click asks first, showing amount, tender, card and member
    dialog = _ask_to_top_up_100_by_wechat(page, screenshot)
    # Esc cancels: nothing is topped up and the form is back for a correction; Enter then confirms
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    assert balances(card) == (0, 0, 0)
    _confirm_the_top_up_with_enter(page)
    _next_customer(page)

    # charge ¥30.00 (the quote shows the amount due)
    _scan_card(page, card.number)
    expect(page.locator("#bal-principal")).to_have_text("¥100.00")
    _charge_30(page)
    _next_customer(page)

    # refund ¥10.00 of that charge
    _scan_card(page, card.number)
    expect(page.locator("#bal-principal")).to_have_text("¥70.00")
    _refund_10(page, screenshot)

    # back at the till the balances shown match the ledger
    _next_customer(page)
    _scan_card(page, card.number)
    expect(page.locator("#bal-principal")).to_have_text("¥80.00")
    expect(page.locator("#bal-bonus")).to_have_text("¥0.00")
    screenshot("cashier-screen")
    assert balances(card) == (8_000, 0, 0)
