"""In Chromium: the empty sale screen logs no error; a return below 满300 is previewed, explained and printed."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_return_below_the_threshold_is_previewed_explained_and_printed(sale_over_300, page, screenshot):
    from playwright.sync_api import expect

    from onecard.sales.models import SaleReturn

    s = sale_over_300
    errors = []
    page.on(
        "console", lambda m: errors.append((m.text, m.location.get("url"))) if m.type == "error" else None
    )
    page.log_in("a1cash")
    # given the empty sale screen: a card scanned before any item posts with nothing to pay yet
    page.goto_path("/till/sale/")
    page.click("#card-input")
    page.keyboard.type(s.sale.card.number)
    page.keyboard.press("Enter")
    expect(page.locator("#sale-member")).to_contain_text("李雷")
    # then the browser logged no error (hx-include used to find no payment form)
    assert [e for e in errors if not e[1].endswith("/favicon.ico")] == [], errors

    # when the cashier opens the ¥260 sale and asks what four cakes back would give
    page.goto_path(f"/till/sale/sales/{s.sale.pk}/")
    whole, label = page.locator("#return-whole"), page.locator("label[for=return-whole]")
    box, line = whole.bounding_box(), label.bounding_box()
    # (the 整单退货 box sits on its label's one line, before its words)
    assert line["y"] <= box["y"] and box["y"] + box["height"] <= line["y"] + line["height"] < line["y"] + 40
    page.fill(f"#return-qty-{s.cake.pk}", "4")
    page.fill("#return-reason", "不想要了")
    page.click("#return-preview-submit")
    # then the calculation shows: the kept ¥190 and the gift no longer reach 满300, ¥40 back
    preview = page.locator("#return-preview")
    expect(preview).to_contain_text("不再满足：满300减50")
    expect(preview).to_contain_text("礼品杯 ×1")
    expect(preview.locator(".calc-refund")).to_contain_text("¥40.00")
    expect(page.locator(f"#return-qty-{s.cake.pk}")).to_have_value("4")
    screenshot("return-preview")
    assert not SaleReturn.objects.exists()

    # when the gift is handed back too and the return confirmed
    page.fill(f"#return-qty-{s.gift.pk}", "1")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#return-submit")
    # then ¥70 went back, once announced, with the ¥30.64 kept back explained
    done = page.locator("#sale-returns")
    expect(done).to_contain_text("−¥30.64")
    expect(done).to_contain_text("¥70.00")
    expect(page.locator(".messages .alert")).to_have_count(1)
    screenshot("return-repriced")
    assert SaleReturn.objects.get().amount == 7000

    # and the receipt prints the return and its calculation
    page.click("#receipt-link")
    receipt = page.locator("#receipt-return-1")
    expect(receipt).to_contain_text("−¥30.64")
    expect(receipt).to_contain_text("实退金额")
    screenshot("return-receipt")
    assert [e for e in errors if not e[1].endswith("/favicon.ico")] == [], errors
