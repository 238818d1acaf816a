"""In Chromium at 1366 px and on a tablet: the back office in Chinese for an English browser, tables whole,
a readable audit log, error pages in the layout, the member header's tier and a reveal with its purpose."""

import datetime

import pytest
from django.utils import timezone

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def production_language_rule(settings):
    """Pages ignore the browser's Accept-Language, as in production (the suite's older tests rely on it)."""
    settings.ONECARD_PAGES_FOLLOW_ACCEPT_LANGUAGE = False


def test_promotion_list_keeps_its_stop_button_in_view_at_1366(chain, page, screenshot):
    from playwright.sync_api import expect

    from onecard.testing.promotions import make_promotion

    # given promotions with long names, one past its end
    now, day = timezone.now(), datetime.timedelta(days=1)
    for n in range(4):
        make_promotion(
            chain,
            name=f"华东乳品第二件半价 长名称的促销活动 {n}",
            valid_from=now - day,
            valid_to=now + 30 * day,
        )
    make_promotion(chain, name="换季特惠 服饰85折", valid_from=now - 30 * day, valid_to=now - day)
    page.set_viewport_size({"width": 1366, "height": 768})
    # when HQ (with an English browser: the page context asks for zh-CN; the language is the account's) opens the list
    page.log_in("hqadmin")
    page.goto_path("/promotions/")
    # then every 停止 button lies inside the window and the ended promotion reads 已结束
    stops = page.locator("button", has_text="停止")
    expect(stops.first).to_be_visible()
    for i in range(stops.count()):
        box = stops.nth(i).bounding_box()
        assert box["x"] + box["width"] <= 1366
    expect(page.locator("[data-state=ended]")).to_contain_text("已结束")
    screenshot("back-office-promotions-1366")


def test_audit_log_reads_in_chinese_with_a_detail_page(chain, page, screenshot):
    from playwright.sync_api import expect

    from onecard.org import services

    # given a staff change
    services.update_staff(chain.hq_admin, chain.cashier_a1, node=chain.a2, is_active=False)
    page.log_in("hqadmin")
    page.set_viewport_size({"width": 1366, "height": 768})
    # when the staff changes are listed
    page.goto_path("/audit/?subject_type=org.staff&action=permission")
    # then labels are Chinese, ids are names, booleans read 否
    row = page.locator("tr[data-entry]").first
    expect(row).to_contain_text("组织节点")
    expect(row).to_contain_text("徐汇店 → 浦东店")
    expect(row).to_contain_text("是 → 否")
    expect(page.locator("table[data-table=audit]")).not_to_contain_text("True")
    screenshot("back-office-audit-log")
    # when the detail is opened
    row.locator("[data-detail]").click()
    page.wait_for_load_state()
    expect(page.locator("#audit-values")).to_contain_text("浦东店")
    screenshot("back-office-audit-entry")


def test_english_browser_gets_chinese_404_and_403_in_the_layout(chain, chromium, live_server):
    from playwright.sync_api import expect

    from onecard.testing.fixtures.browser import prepared_page

    context = chromium.new_context(viewport={"width": 1280, "height": 800}, locale="en-US")
    page = prepared_page(context, live_server.url)
    try:
        page.log_in("a1cash")
        page.goto_path("/no-such-page/")
        expect(page.locator("[data-error='404']")).to_contain_text("页面没有找到")
        expect(page.locator("#sidebar")).to_be_visible()
        page.screenshot(path=_artifact("back-office-404-english-browser"), full_page=True)
        page.goto_path("/audit/")
        expect(page.locator("[data-error='403']")).to_contain_text("无权访问")
        page.screenshot(path=_artifact("back-office-403-english-browser"), full_page=True)
    finally:
        context.close()


def _artifact(name):
    from onecard.testing.fixtures.browser import ARTIFACTS

    return str(ARTIFACTS / f"{name}.png")


def test_tablet_folds_the_menu_away(chain, page, screenshot):
    from playwright.sync_api import expect

    page.set_viewport_size({"width": 1024, "height": 768})
    page.log_in("hqadmin")
    page.goto_path("/members/")
    sidebar = page.locator("#sidebar")
    assert sidebar.bounding_box()["x"] < 0  # off the screen
    page.click("[data-toggle-nav]")
    expect(sidebar).to_have_class("sidebar open")
    page.wait_for_timeout(300)
    assert sidebar.bounding_box()["x"] >= 0
    screenshot("back-office-tablet-menu")


def test_member_header_tier_and_reveal_with_a_purpose(chain, page, screenshot, member_factory):
    from playwright.sync_api import expect

    from onecard.core.models import AuditEntry
    from onecard.loyalty.tiers import services as tiers

    member = member_factory(phone="13812345678")
    diamond = tiers.create_tier(chain.hq_admin, chain.merchant, name="钻石卡", rank=3)
    tiers.set_member_tier(chain.hq_admin, member, diamond, reason="开业活动")
    page.log_in("a1mgr")
    page.goto_path(f"/members/{member.pk}/")
    expect(page.locator("[data-tier]")).to_have_text("钻石卡")
    form = page.locator("form[data-reveal=phone]")
    form.locator("select").select_option(label="配送或邮寄")
    form.locator("button").click()
    expect(page.locator("#phone-value")).to_have_text("13812345678")
    screenshot("back-office-member-header")
    entry = AuditEntry.objects.get(action="reveal")
    assert entry.after == {"field": "phone", "purpose": "配送或邮寄"}
