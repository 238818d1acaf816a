"""The card management pages (/cards/): products, tiers, rules and batches."""

from decimal import Decimal

import pytest
from django.urls import reverse

from onecard.loyalty.cards.choices import CardKind, TierMetric
from onecard.loyalty.models import (
    CardBatch,
    CardProduct,
    PointsEarnRule,
    PointsPolicy,
    StoredValueSettings,
    Tier,
    TierRule,
    TopupBonusRule,
)
from onecard.loyalty.tiers import services as tiers
from onecard.testing.barcodes import decode_svg
from onecard.testing.cards import stock

pytestmark = pytest.mark.django_db
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def url(name, *args, **kwargs):
    return reverse(f"cards:{name}", args=args, kwargs=kwargs)


def act(client, card, action, **data):
    return client.post(url("card_action", number=card.number, action=action), data, **EN)


# ---- card products ----------------------------------------------------------------------------------------


def test_products_page_lists_products_and_hides_edit_without_permission(chain, login, card_product):
    # given a marketer (cards.view, no products.manage)
    client = login(chain.marketer)
    # when
    response = client.get(url("products"), **EN)
    # then
    body = response.content.decode()
    assert response.status_code == 200
    assert "储值卡" in body and "¥5000.00" in body
    assert url("product_create") not in body


def test_products_page_needs_cards_view(login, nobody):
    assert login(nobody).get(url("products")).status_code == 403


def test_product_form_needs_products_manage(chain, login):
    # region managers see products but do not set them (merchant-wide, head office)
    assert login(chain.region_manager).get(url("product_create")).status_code == 403


def test_create_product_with_consumption_order(chain, login):
    # given
    client = login(chain.hq_admin)
    data = {
        "name": "金卡",
        "kind": CardKind.STORED_VALUE,
        "registered": "on",
        "balance_cap": "3000",
        "password_threshold": "200.50",
        "daily_charge_limit": "",
        "consumption_order": "principal_first",
        "stores": [chain.a1.pk],
        "is_active": "on",
    }
    # when
    response = client.post(url("product_create"), data, **EN)
    # then
    assert response.status_code == 302
    product = CardProduct.objects.get(name="金卡")
    assert (product.balance_cap, product.password_threshold, product.daily_charge_limit) == (
        300_000,
        20_050,
        None,
    )
    assert list(product.stores.all()) == [chain.a1]
    assert StoredValueSettings.objects.get(product=product).consumption_order == "principal_first"


def test_bad_product_shows_the_service_error_and_saves_nothing(chain, login):
    # given an anonymous card valid for 100 days (CHINA-RULES: at least 3 years)
    client = login(chain.hq_admin)
    data = {
        "name": "匿名卡",
        "kind": CardKind.STORED_VALUE,
        "validity_days": "100",
        "consumption_order": "proportional",
    }
    # when
    response = client.post(url("product_create"), data, **EN)
    # then
    body = response.content.decode()
    assert response.status_code == 200
    assert 'data-error-for="validity_days"' in body and "at least 1096 days" in body
    assert not CardProduct.objects.filter(name="匿名卡").exists()


def test_edit_product_changes_settings_and_order(chain, login, card_product):
    # given
    client = login(chain.hq_admin)
    page = client.get(url("product_edit", card_product.pk), **EN)
    assert page.status_code == 200 and 'value="储值卡"' in page.content.decode()
    data = {"name": "储值卡 Plus", "kind": CardKind.STORED_VALUE, "registered": "on", "consumption_order": "bonus_first",
            "daily_charge_limit": "1000", "is_active": "on"}  # fmt: skip
    # when
    response = client.post(url("product_edit", card_product.pk), data, **EN)
    # then
    assert response.status_code == 302
    card_product.refresh_from_db()
    assert (card_product.name, card_product.daily_charge_limit) == ("储值卡 Plus", 100_000)
    assert StoredValueSettings.objects.get(product=card_product).consumption_order == "bonus_first"


# ---- tiers ------------------------------------------------------------------------------------------------


def tier_data(**fields):
    data = {"name": "金卡会员", "rank": "2", "discount_rate": "0.95", "points_multiplier": "1.5", "benefits": "生日礼",
            "review_period_days": "365", "grace_days": "30", "is_active": "on",
            "rule0_metric": TierMetric.SPEND, "rule0_threshold": "5000", "rule0_window": "365"}  # fmt: skip
    return {**data, **fields}


def test_create_tier_with_upgrade_rule(chain, login):
    # given
    client = login(chain.hq_admin)
    # when
    response = client.post(url("tier_create"), tier_data(), **EN)
    # then
    assert response.status_code == 302
    tier = Tier.objects.get(name="金卡会员")
    assert (tier.discount_rate, tier.points_multiplier, tier.review_period_days, tier.grace_days) == (
        Decimal("0.95"), Decimal("1.5"), 365, 30)  # fmt: skip
    rule = TierRule.objects.get(tier=tier)
    assert (rule.metric, rule.threshold, rule.window_days) == ("spend", 500_000, 365)
    body = client.get(url("tiers"), **EN).content.decode()
    assert "Spend ≥ ¥5000.00 in 365 days" in body


def test_bad_tier_is_refused_in_place(chain, login):
    # given a discount rate above 1
    client = login(chain.hq_admin)
    # when
    response = client.post(url("tier_create"), tier_data(discount_rate="1.5"), **EN)
    # then
    assert response.status_code == 200
    assert 'data-error-for="discount_rate"' in response.content.decode()
    assert not Tier.objects.exists()


def test_edit_tier_replaces_rules(chain, login):
    # given
    tier = tiers.create_tier(None, chain.merchant, name="银卡", rank=1, rules=[(TierMetric.VISITS, 5, 30)])
    client = login(chain.hq_admin)
    # when
    data = tier_data(name="银卡", rank="1", rule0_metric=TierMetric.POINTS_EARNED, rule0_threshold="800")
    response = client.post(url("tier_edit", tier.pk), data, **EN)
    # then
    assert response.status_code == 302
    assert list(tier.rules.values_list("metric", "threshold", "window_days")) == [("points_earned", 800, 365)]


def test_tiers_page_shows_recent_tier_changes_in_scope(chain, login, member_factory, b1_manager):
    # given a member of A1 put in a tier by hand
    tier = tiers.create_tier(None, chain.merchant, name="VIP", rank=3)
    member = member_factory(name="赵六")
    tiers.set_member_tier(None, member, tier, reason="complaint settled")
    # when / then: A1's manager sees the change and why
    body = login(chain.store_manager).get(url("tiers"), **EN).content.decode()
    assert "complaint settled" in body and "赵六" in body
    # and B1's manager does not
    client = login(b1_manager)
    assert "complaint settled" not in client.get(url("tiers"), **EN).content.decode()


def test_tier_form_needs_products_manage(chain, login):
    assert login(chain.store_manager).post(url("tier_create"), tier_data()).status_code == 403
    assert not Tier.objects.exists()


# ---- rules ------------------------------------------------------------------------------------------------


def bonus_data(**fields):
    data = {"name": "充值送", "store": "", "valid_from": "2026-01-01T00:00", "valid_to": "", "priority": "0",
            "tier0_threshold": "500", "tier0_bonus": "50", "tier1_threshold": "1000", "tier1_bonus": "150"}  # fmt: skip
    return {**data, **fields}


def test_create_and_switch_off_bonus_rule(chain, login):
    # given
    client = login(chain.hq_admin)
    # when
    response = client.post(url("bonus_rule_create"), bonus_data(store=chain.a1.pk), **EN)
    # then
    assert response.status_code == 302
    rule = TopupBonusRule.objects.get()
    assert rule.tiers == [[50_000, 5_000], [100_000, 15_000]] and rule.store == chain.a1
    body = client.get(url("rules"), **EN).content.decode()
    assert "top up ¥500.00, bonus ¥50.00 / top up ¥1000.00, bonus ¥150.00" in body
    # when switched off
    assert client.post(url("bonus_rule_toggle", rule.pk), {"active": "0"}).status_code == 302
    # then
    rule.refresh_from_db()
    assert rule.is_active is False


def test_bad_bonus_rule_changes_nothing(chain, login):
    # given an end before the start
    client = login(chain.hq_admin)
    # when
    response = client.post(url("bonus_rule_create"), bonus_data(valid_to="2025-12-01T00:00"), **EN)
    # then
    assert response.status_code == 200
    assert 'data-error-for="valid_to"' in response.content.decode()
    assert not TopupBonusRule.objects.exists()


def test_bonus_rule_with_half_a_tier_is_refused(chain, login):
    response = login(chain.hq_admin).post(url("bonus_rule_create"), bonus_data(tier1_bonus=""), **EN)
    assert response.status_code == 200 and "Give both the top-up and its bonus." in response.content.decode()
    assert not TopupBonusRule.objects.exists()


def test_earn_rule_create_edit_and_switch_off(chain, login):
    # given
    client = login(chain.hq_admin)
    data = {"name": "周末双倍", "points_per_yuan": "2", "birthday_multiplier": "3", "weekdays": ["6", "7"],
            "stores": [chain.a1.pk], "priority": "5"}  # fmt: skip
    # when
    assert client.post(url("earn_rule_create"), data, **EN).status_code == 302
    # then
    rule = PointsEarnRule.objects.get()
    assert "Sat, Sun" in client.get(url("rules"), **EN).content.decode()
    assert (rule.points_per_yuan, rule.weekdays, rule.birthday_multiplier, rule.priority) == (
        Decimal(2),
        "67",
        3,
        5,
    )
    assert list(rule.stores.all()) == [chain.a1]
    # when edited and switched off
    data.update(points_per_yuan="1.5", weekdays=["6"])
    assert client.post(url("earn_rule_edit", rule.pk), data, **EN).status_code == 302
    assert client.post(url("earn_rule_toggle", rule.pk), {"active": "0"}).status_code == 302
    # then
    rule.refresh_from_db()
    assert (rule.points_per_yuan, rule.weekdays, rule.is_active) == (Decimal("1.5"), "6", False)


def test_points_policy_is_saved(chain, login):
    # given
    client = login(chain.hq_admin)
    data = {"expiry_mode": "year_end", "expiry_days": "365", "points_per_yuan": "50", "cap_percent": "30",
            "cap_fen": "20"}  # fmt: skip
    # when
    response = client.post(url("points_policy"), data, **EN)
    # then
    assert response.status_code == 302
    policy = PointsPolicy.objects.get(merchant=chain.merchant)
    assert (policy.expiry_mode, policy.points_per_yuan, policy.cap_percent, policy.cap_fen) == (
        "year_end", 50, Decimal(30), 2_000)  # fmt: skip
    assert "¥20.00" in client.get(url("rules"), **EN).content.decode()


def test_rules_page_for_viewers_and_forms_for_managers(chain, login, nobody):
    assert login(chain.cashier_a1).get(url("rules")).status_code == 200
    assert login(chain.cashier_a1).get(url("points_policy")).status_code == 403
    assert login(nobody).get(url("rules")).status_code == 403


# ---- batches ----------------------------------------------------------------------------------------------


def batch_data(product, store, **fields):
    return {"product": product.pk, "store": store.pk, "prefix": "8899", "serial_width": "8", "start": "1",
            "count": "5", "note": "开业", **fields}  # fmt: skip


def test_store_manager_issues_a_batch_and_prints_its_sheet(chain, login, card_product):
    # given
    client = login(chain.store_manager)
    # when
    response = client.post(url("batches"), batch_data(card_product, chain.a1), **EN)
    # then
    assert response.status_code == 302
    batch = CardBatch.objects.get()
    numbers = list(batch.cards.order_by("number").values_list("number", flat=True))
    assert len(numbers) == 5 and numbers[0].startswith("889900000001")
    # the sheet: every number with a barcode that reads back as that number
    sheet = client.get(url("batch_sheet", batch.pk), **EN)
    body = sheet.content.decode()
    assert sheet.status_code == 200
    assert all(f'data-number="{n}"' in body for n in numbers)
    first_label = body.split(f'data-number="{numbers[0]}"', 1)[1]
    svg = first_label[first_label.index("<svg") : first_label.index("</svg>") + 6]
    assert decode_svg(svg) == numbers[0]


def test_batch_outside_scope_or_overlapping_is_refused(chain, login, card_product):
    # given
    client = login(chain.store_manager)
    # when into B1's stock (not in A1's scope): the store is not offered
    response = client.post(url("batches"), batch_data(card_product, chain.b1), **EN)
    # then
    assert response.status_code == 400 and 'data-error-for="store"' in response.content.decode()
    assert not CardBatch.objects.exists()
    # when a range overlaps an earlier batch
    stock(card_product, chain.a1, count=3, prefix="8899", start=4)
    response = client.post(url("batches"), batch_data(card_product, chain.a1), **EN)
    assert response.status_code == 400
    assert "Some numbers of this range are already used by other cards." in response.content.decode()
    assert CardBatch.objects.count() == 1


def test_batches_need_cards_issue_to_issue_and_print(chain, login, card_product):
    client = login(chain.marketer)
    assert client.get(url("batches")).status_code == 200
    assert client.post(url("batches"), batch_data(card_product, chain.a1)).status_code == 403
    batch = CardBatch.objects.create(merchant=chain.merchant, product=card_product, store=chain.a1, prefix="1", start=0,
                                     count=1)  # fmt: skip
    assert client.get(url("batch_sheet", batch.pk)).status_code == 403


def test_batch_sheet_of_another_store_is_404(chain, login, card_product, b1_manager):
    stock(card_product, chain.a1, count=1)
    batch = CardBatch.objects.get()
    assert login(b1_manager).get(url("batch_sheet", batch.pk)).status_code == 404
