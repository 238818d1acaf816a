"""In Chromium: the promotion form picks products and categories by search, and a promotion that stacks
with another shows the example basket before it is saved."""

import datetime

import pytest
from django.utils import timezone

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_pick_a_product_and_a_category_then_confirm_the_stacking(chain, cat, page, screenshot):
    from playwright.sync_api import expect

    from onecard.catalog import services as catalog
    from onecard.promotions.models import Promotion
    from onecard.testing.promotions import make_promotion

    # given: a ¥100 bag and HQ's 满200减30 on everything, running now
    bag = catalog.create_product(
        None, chain.merchant, sku="BAG-1", name="帆布包", category=cat.food, list_price=10000
    )
    now, day = timezone.now(), datetime.timedelta(days=1)
    spend_off = make_promotion(
        chain, "threshold_cash", name="满200减30", valid_from=now - day, valid_to=now + 30 * day
    )
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.log_in("hqadmin")
    # when: HQ opens a new 折扣 and picks the bag by its pinyin initials, and 茶饮 by name
    page.goto_path("/promotions/new/?kind=discount")
    page.fill("#id_name", "帆布包八折")
    page.fill("#id_rate", "0.8")
    page.fill("#id_product_ids", "fbb")
    page.locator("[data-picker-add]", has_text="BAG-1 帆布包 ¥100.00").click()
    page.fill("#id_category_ids", "茶")
    page.press("#id_category_ids", "Enter")  # Enter takes the first result, it does not submit
    # then: both show as chips, the hidden values hold their ids
    expect(page.locator('[data-field="product_ids"] .chip')).to_have_text(["BAG-1 帆布包 ¥100.00×"])
    expect(page.locator('[data-field="category_ids"] .chip')).to_have_text(["食品 / 饮料 / 茶饮×"])
    assert page.input_value('input[name="product_ids"]') == str(bag.pk)
    assert page.input_value('input[name="category_ids"]') == str(cat.tea.pk)
    # when: the category is removed again and the form saved
    page.locator('[data-field="category_ids"] [data-picker-remove]').click()
    assert page.input_value('input[name="category_ids"]') == ""
    page.get_by_role("button", name="保存", exact=True).click()
    page.wait_for_load_state()
    # then: the stacking warning with its example basket; nothing saved yet
    warning = page.locator("[data-stacking]")
    expect(warning).to_contain_text("此促销会与其他促销在相同商品上叠加")
    expect(warning.locator(f'[data-stacks-with="{spend_off.pk}"]')).to_contain_text("¥290.00")
    expect(page.locator('[data-field="product_ids"] .chip')).to_have_text(["BAG-1 帆布包 ¥100.00×"])
    screenshot("promotion-form-stacking")
    assert not Promotion.objects.filter(name="帆布包八折").exists()
    # when: saved anyway
    page.locator("[data-stacking-confirm]").click()
    page.wait_for_url("**/promotions/")
    # then
    saved = Promotion.objects.get(name="帆布包八折")
    assert (saved.product_ids, saved.category_ids) == ([bag.pk], [])
    assert errors == []
