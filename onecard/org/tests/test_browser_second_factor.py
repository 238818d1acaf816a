"""In Chromium: head office sets up two-step verification at the first log-in (QR code, key, first code,
recovery codes) and gets to the page it asked for; at the till, 换人 leads to the log-in form for the next one."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_head_office_enrols_at_the_first_log_in_and_reaches_its_page(chain, page, screenshot):
    from django.utils import timezone
    from playwright.sync_api import expect

    from onecard.org import totp
    from onecard.org.models import RecoveryCode

    # given head office without an authenticator, asking for the member list
    page.goto_path("/members/")
    page.fill("#id_username", "hqadmin")
    page.fill("#id_password", "pass-word-123")
    page.press("#id_password", "Enter")
    # then the set-up page shows the QR code and the key, and no menu
    expect(page.locator("#second-factor-qr")).to_be_visible()
    expect(page.locator("#sidebar")).to_have_count(0)
    secret = page.locator("#second-factor-secret").inner_text().replace(" ", "")
    screenshot("second-factor-enrol")
    # when the app's first code is typed
    page.fill("#id_code", totp.code_at(secret, totp.step_of(timezone.now())))
    page.press("#id_code", "Enter")
    # then ten recovery codes are shown, and "continue" leads to the page asked for
    expect(page.locator(".recovery-codes li")).to_have_count(10)
    assert RecoveryCode.objects.filter(staff=chain.hq_admin).count() == 10
    page.click("#recovery-codes-done")
    expect(page).to_have_url(page.url.split("/members/")[0] + "/members/")
    expect(page.locator("#sidebar")).to_be_visible()


def test_switch_cashier_leads_to_the_log_in_form_with_the_username_focused(chain, page):
    from playwright.sync_api import expect

    # given a cashier at the till
    page.log_in("a1cash")
    page.goto_path("/till/")
    # when they press 换人, then choose the password on the quick log-in (org.tests.test_browser_till_login)
    page.click("#switch-cashier")
    page.click("#password-login")
    # then the log-in form waits for the next cashier, who comes back to the till
    expect(page.locator("#id_username")).to_be_focused()
    page.fill("#id_username", "b1cash")
    page.fill("#id_password", "pass-word-123")
    page.press("#id_password", "Enter")
    expect(page.locator("#switch-cashier")).to_be_visible()
    assert page.url.endswith("/till/")
