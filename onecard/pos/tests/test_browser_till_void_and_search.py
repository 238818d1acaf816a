"""In Chromium: a cashier finds a product by pinyin initials at 开单, and voids a mistaken top-up from its receipt."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def login_as_cashier(page):
    page.goto_path("/login/")
    page.fill("#id_username", "a1cash")
    page.fill("#id_password", "pass-word-123")
    page.press("#id_password", "Enter")
    page.wait_for_load_state()


def test_cashier_finds_a_product_by_pinyin_and_adds_it(chain, page, screenshot):
    from playwright.sync_api import expect

    from onecard.catalog import services as catalog

    # given oolong tea and an oolong cake sold in every store
    catalog.create_product(
        None, chain.merchant, sku="TEA-1", barcode="6901234567892", name="乌龙茶", list_price=500
    )
    catalog.create_product(None, chain.merchant, sku="CAKE-9", name="乌龙蛋糕", list_price=2800)
    login_as_cashier(page)
    page.goto_path("/till/sale/")
    # when the cashier types the pinyin initials of 乌龙茶 into the product search
    page.click("#product-search-input")
    page.keyboard.type("wlc")
    # then the tea is listed with its price, and Enter adds it to the sale
    results = page.locator("#product-results-table")
    expect(results).to_contain_text("乌龙茶")
    expect(results.locator("[data-product='TEA-1'] [data-price]")).to_have_text("¥5.00")
    screenshot("till-product-search")
    page.keyboard.press("Enter")
    expect(page.locator(".sale-line")).to_have_count(1)
    expect(page.locator("#quote-total")).to_have_text("¥5.00")
    # and a name search lists both oolong products; one more is added by its button
    page.fill("#product-search-input", "乌龙")
    expect(page.locator("#product-results-table tbody tr")).to_have_count(2)
    page.click("#add-cake-9")
    expect(page.locator(".sale-line")).to_have_count(2)
    expect(page.locator("#quote-total")).to_have_text("¥33.00")


def test_cashier_voids_a_mistaken_top_up_from_its_receipt(chain, member_factory, page, screenshot):
    from playwright.sync_api import expect

    from onecard.loyalty.models.stored_value import CardTransaction, CardTxStatus
    from onecard.loyalty.stored_value import services as stored_value
    from onecard.testing.stored_value import assert_ledger_clean, balances, sv_card

    # given ¥1,000 topped up by mistake instead of ¥100
    card = sv_card(chain, member_factory(name="赵六", phone="13911112222"))
    topup = stored_value.topup(chain.cashier_a1, card, 100_000, store=chain.a1, tender="cash")
    login_as_cashier(page)
    page.goto_path(f"/till/receipt/{topup.pk}/")
    # when the cashier opens the void, types a reason and presses Enter
    page.click("#void-open")
    expect(page.locator("#void-dialog")).to_be_visible()
    expect(page.locator("#void-reason")).to_be_focused()
    page.keyboard.type("多输了一个0")
    screenshot("till-void-dialog")
    page.keyboard.press("Enter")
    # then the void's receipt shows what was undone, and the card is empty again
    expect(page.locator("#receipt-amount")).to_have_text("¥1000.00")
    expect(page.locator("#receipt-original")).to_contain_text(f"#{topup.pk}")
    expect(page.locator("#receipt-total-after")).to_have_text("¥0.00")
    screenshot("till-void-receipt")
    assert balances(card) == (0, 0, 0)
    assert CardTransaction.objects.get(pk=topup.pk).status == CardTxStatus.VOIDED
    # and the top-up's receipt says voided, with no void button any more
    page.click("#receipt-original a")
    expect(page.locator("#receipt-voided")).to_be_visible()
    expect(page.locator("#void-open")).to_have_count(0)
    assert_ledger_clean()
