"""In Chromium: a store manager finds a member by pinyin initials and sees the phone masked."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_store_manager_finds_member_by_pinyin_initials(chain, page, screenshot):
    # given two members of store A1 and one of B1 with the same initials
    from playwright.sync_api import expect

    from onecard.members import services

    services.create_member(
        None, chain.merchant, {"name": "张三丰", "phone": "13812345678", "home_store": chain.a1}
    )
    services.create_member(
        None, chain.merchant, {"name": "李四", "phone": "13900001111", "home_store": chain.a1}
    )
    services.create_member(
        None, chain.merchant, {"name": "张思福", "phone": "13700002222", "home_store": chain.b1}
    )

    # when the store manager logs in and searches "zsf"
    page.log_in("a1mgr")
    page.goto_path("/members/")
    page.fill("input[name=q]", "zsf")
    page.press("input[name=q]", "Enter")
    page.wait_for_load_state()

    # then only the member of their own store is listed
    results = page.locator("table")
    expect(results).to_contain_text("张三丰")
    expect(results).not_to_contain_text("张思福")
    expect(results).not_to_contain_text("李四")
    screenshot("members-search-pinyin")

    # when they open the detail page
    page.locator("table a", has_text="张三丰").first.click()
    page.wait_for_load_state()

    # then the phone is masked and the full number appears nowhere on the page
    expect(page.locator("body")).to_contain_text("138****5678")
    assert "13812345678" not in page.content()
    screenshot("member-detail-masked")
