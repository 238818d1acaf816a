"""In Chromium: at the till, 换人 opens the quick log-in of the till's store, and the next cashier switches in
with their username and till PIN, back on the till page (org.till_login)."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_switch_cashier_by_code_and_pin_back_on_the_sale_screen(chain, page, screenshot):
    from playwright.sync_api import expect

    from onecard.org import services, till_login
    from onecard.org.models import StaffSession

    # given two cashiers of store A1, the second with a till PIN
    colleague = services.create_staff(
        None, username="a1cash2", password="pass-word-123", node=chain.a1, roles=[chain.roles["cashier"]]
    )
    till_login.set_till_pin(colleague, colleague, "480519", current_password="pass-word-123")
    # and the first one on the sale screen
    page.log_in("a1cash")
    page.goto_path("/till/sale/")
    # when they press 换人
    page.click("#switch-cashier")
    # then the quick log-in of their store waits, the card or code field focused
    expect(page.locator("#till-login-store")).to_contain_text("徐汇店")
    expect(page.locator("#id_entry")).to_be_focused()
    screenshot("till-quick-login")
    # when the next cashier types their code and PIN
    page.fill("#id_entry", "a1cash2")
    page.fill("#id_pin", "480519")
    page.press("#id_pin", "Enter")
    # then they are on the sale screen, logged in to a till session
    expect(page.locator("#switch-cashier")).to_be_visible()
    assert page.url.endswith("/till/sale/")
    assert list(StaffSession.objects.values_list("staff__username", "profile")) == [("a1cash2", "till")]
