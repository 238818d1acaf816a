"""In Chromium: a cashier opens a shift, tops up a card in cash, closes the shift and prints its report;
the store manager reads the day's report; the back office reads the invoice facts."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_cashier_works_a_shift_and_the_manager_reads_the_day(chain, card, page, screenshot):
    from playwright.sync_api import expect

    from onecard.loyalty.stored_value import services as stored_value
    from onecard.pos.models import Shift

    # given the A1 cashier at the till: no shift yet, the till says so
    page.log_in("a1cash")
    page.goto_path("/till/")
    expect(page.locator("#till-shift")).to_contain_text("未开班")
    # when the cashier opens a shift with ¥200 in the drawer
    page.click("#till-shift")
    page.fill("#id_opening_float", "200")
    page.click("#open-shift")
    expect(page.locator("#shift-open-since")).to_be_visible()
    # and tops up ¥500 in cash at the till, and takes ¥100 to the office
    stored_value.topup(chain.cashier_a1, card, 50000, store=chain.a1, tender="cash")
    page.reload()
    expect(page.locator('#takings tr[data-tender="cash"] .net')).to_have_text("¥500.00")
    page.select_option("#id_kind", "out")
    page.fill("#id_amount", "100")
    page.fill("#id_reason", "交财务")
    page.click("#record-cash")
    expect(page.locator("#cash-expected")).to_have_text("¥600.00")
    screenshot("shift-open")
    # and counts ¥598 and closes
    page.fill("#id_counted_cash", "598")
    page.click("#close-shift")
    # then the printable report shows the takings, the expected ¥600 and ¥2 short
    expect(page.locator("#shift-status")).to_have_text("已交班")
    expect(page.locator("#cash-difference")).to_contain_text("短款")
    expect(page.locator("#cash-difference")).to_contain_text("−¥2.00")
    page.emulate_media(media="print")
    expect(page.locator("#sidebar")).to_be_hidden()
    screenshot("shift-report-print")
    page.emulate_media(media="screen")
    assert Shift.objects.get().difference == -200

    # when the store manager opens the day's report
    page.context.clear_cookies()
    page.log_in("a1mgr")
    page.goto_path("/pos/shifts/")
    page.click("#day-report-link")
    # then the shift and the day's totals are there
    expect(page.locator("#day-shifts tbody tr")).to_have_count(1)
    expect(page.locator("#day-difference")).to_have_text("−¥2.00")
    expect(page.locator('#takings tr[data-tender="cash"] .net')).to_have_text("¥500.00")
    screenshot("shift-day-report")

    # and the invoice facts: the ¥500 top-up under 601, not taxed
    page.goto_path("/reports/invoices/")
    expect(page.locator('#invoice-summary [data-figure="prepaid-net"]')).to_have_text("¥500.00")
    expect(page.locator('#invoice-facts tr[data-fact="topup"]')).to_contain_text("不征税")
    screenshot("invoice-facts")
