"""The card management pages (/cards/): products, tiers, rules, batches, card list, card detail and actions."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from onecard.loyalty.cards.choices import CardKind, CardStatus, TierMetric
from onecard.loyalty.cards.services import card_balances
from onecard.loyalty.ledger.choices import AccountKind
from onecard.loyalty.models import (
    CardBatch,
    CardProduct,
    CardTransaction,
    PointsEarnRule,
    PointsPolicy,
    StoredValueSettings,
    Tier,
    TierRule,
    TopupBonusRule,
)
from onecard.loyalty.models.stored_value import CardTxKind
from onecard.loyalty.points import services as points
from onecard.loyalty.tiers import services as tiers
from onecard.testing.barcodes import decode_svg
from onecard.testing.cards import active_card, put_value, reload, stock

pytestmark = pytest.mark.django_db
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture
def b1_manager(chain):
    """A store manager of North/B1: sees nothing of East/A1."""
    from onecard.org import services

    return services.create_staff(
        None, username="b1mgr", password="pass-word-123", node=chain.b1, roles=[chain.roles["store_manager"]]
    )


@pytest.fixture
def nobody(chain):
    """Staff at A1 without any role (no cards.view)."""
    from onecard.org import services

    return services.create_staff(None, username="norole", password="pass-word-123", node=chain.a1, roles=[])


@pytest.fixture
def wang_wus_card_with_100_yuan(chain, member_factory, card_product):
    """An active stored-value card issued at A1, bound to an A1 member (phone 13900001234), ¥100 principal."""
    member = member_factory(name="王五", phone="13900001234")
    card = active_card(stock(card_product, chain.a1, count=1, prefix="8801")[0], member)
    put_value(chain, card, principal=10_000)
    return card


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


# ---- card list and detail -----------------------------------------------------------------------------------


def test_card_list_search_and_scope(chain, login, wang_wus_card_with_100_yuan, card_product, b1_manager):
    # given a card in stock at B1 as well
    b1_card = stock(card_product, chain.b1, count=1, prefix="8802")[0]
    client = login(chain.store_manager)
    # when searching by the member's phone's last 4
    body = client.get(url("list"), {"q": "1234"}, **EN).content.decode()
    # then
    assert wang_wus_card_with_100_yuan.number in body and "139****1234" in body and "13900001234" not in body
    # status filter and scope: A1's manager does not see B1's stock
    body = client.get(url("list"), {"status": "in_stock"}, **EN).content.decode()
    assert b1_card.number not in body and wang_wus_card_with_100_yuan.number not in body
    body = login(b1_manager).get(url("list"), **EN).content.decode()
    assert b1_card.number in body and wang_wus_card_with_100_yuan.number not in body


def test_card_detail_shows_balances_and_journal(chain, login, wang_wus_card_with_100_yuan):
    # given points and a hold on the card
    put_value(chain, wang_wus_card_with_100_yuan, bonus=1_000, points=300, hold=2_000)
    # when
    response = login(chain.cashier_a1).get(url("card", number=wang_wus_card_with_100_yuan.number), **EN)
    # then
    body = response.content.decode()
    assert response.status_code == 200
    assert 'data-balance="principal">¥80.00' in body and 'data-balance="bonus">¥10.00' in body
    assert 'data-balance="held">¥20.00' in body
    assert "王五" in body and "139****1234" in body
    journal = body.split('id="card-journal"', 1)[1]
    assert journal.count("<tr><td>") == 5  # principal, bonus, points, and the hold's two postings
    # a cashier manages cards but neither cancels nor adjusts points
    assert (
        'data-action="freeze"' in body
        and 'data-action="cancel"' not in body
        and 'data-action="points"' not in body
    )


def test_card_of_another_store_is_404(chain, login, wang_wus_card_with_100_yuan, b1_manager):
    client = login(b1_manager)
    assert client.get(url("card", number=wang_wus_card_with_100_yuan.number)).status_code == 404
    assert act(client, wang_wus_card_with_100_yuan, "freeze").status_code == 404
    assert reload(wang_wus_card_with_100_yuan).status == CardStatus.ACTIVE


def test_card_pages_need_cards_view(login, nobody, wang_wus_card_with_100_yuan):
    assert login(nobody).get(url("card", number=wang_wus_card_with_100_yuan.number)).status_code == 403
    assert login(nobody).get(url("list")).status_code == 403


# ---- actions ------------------------------------------------------------------------------------------------


def test_freeze_unfreeze_lost_found(chain, login, wang_wus_card_with_100_yuan):
    client = login(chain.cashier_a1)
    assert act(client, wang_wus_card_with_100_yuan, "freeze", reason="member asked").status_code == 302
    assert reload(wang_wus_card_with_100_yuan).status == CardStatus.FROZEN
    assert act(client, wang_wus_card_with_100_yuan, "unfreeze").status_code == 302
    assert reload(wang_wus_card_with_100_yuan).status == CardStatus.ACTIVE
    assert (
        act(client, wang_wus_card_with_100_yuan, "report_lost", reason="lost on the bus").status_code == 302
    )
    assert reload(wang_wus_card_with_100_yuan).status == CardStatus.LOST
    assert act(client, wang_wus_card_with_100_yuan, "report_found").status_code == 302
    assert reload(wang_wus_card_with_100_yuan).status == CardStatus.ACTIVE


def test_refused_transition_shows_the_service_message(chain, login, wang_wus_card_with_100_yuan):
    # given an active card
    client = login(chain.cashier_a1)
    # when unfreezing it
    response = act(client, wang_wus_card_with_100_yuan, "unfreeze")
    # then
    assert response.status_code == 400
    assert "This card is already active." in response.content.decode()
    assert reload(wang_wus_card_with_100_yuan).status == CardStatus.ACTIVE


def test_bind_by_phone_then_activate(chain, login, card_product, member_factory):
    # given a registered card in stock and a member
    new = stock(card_product, chain.a1, count=1, prefix="8803")[0]
    member = member_factory(name="孙七", phone="13700007777")
    client = login(chain.cashier_a1)
    # when activating before binding: refused, nothing changes
    response = act(client, new, "activate")
    assert response.status_code == 400 and reload(new).status == CardStatus.IN_STOCK
    # when binding by phone and activating
    assert act(client, new, "bind", member="137 0000 7777").status_code == 302
    assert act(client, new, "activate").status_code == 302
    # then
    new = reload(new)
    assert (new.member_id, new.status) == (member.pk, CardStatus.ACTIVE)


def test_bind_unknown_member_shows_error_in_place(chain, login, card_product):
    new = stock(card_product, chain.a1, count=1, prefix="8803")[0]
    response = act(login(chain.cashier_a1), new, "bind", member="13799999999")
    body = response.content.decode()
    assert response.status_code == 400
    assert 'data-error-for="member"' in body and "No member with this phone or member no." in body
    assert reload(new).member_id is None


def test_replace_moves_balance_to_a_card_from_stock(chain, login, wang_wus_card_with_100_yuan, card_product):
    # given a card from stock
    new = stock(card_product, chain.a1, count=1, prefix="8804")[0]
    client = login(chain.cashier_a1)
    # when
    response = act(client, wang_wus_card_with_100_yuan, "replace", new_number=new.number, reason="worn out")
    # then
    assert response.status_code == 302 and response["Location"] == url("card", number=new.number)
    assert (
        reload(wang_wus_card_with_100_yuan).status == CardStatus.REPLACED
        and reload(new).status == CardStatus.ACTIVE
    )
    assert card_balances(new)[AccountKind.MEMBER_PRINCIPAL] == 10_000
    assert card_balances(wang_wus_card_with_100_yuan)[AccountKind.MEMBER_PRINCIPAL] == 0


def test_replace_with_unknown_number_changes_nothing(chain, login, wang_wus_card_with_100_yuan):
    response = act(login(chain.cashier_a1), wang_wus_card_with_100_yuan, "replace", new_number="123")
    assert response.status_code == 400 and 'data-error-for="new_number"' in response.content.decode()
    assert reload(wang_wus_card_with_100_yuan).status == CardStatus.ACTIVE


def test_merge_into_another_card_of_the_member(chain, login, wang_wus_card_with_100_yuan, card_product):
    # given a second active card of the same member
    other = active_card(
        stock(card_product, chain.a1, count=1, prefix="8805")[0], wang_wus_card_with_100_yuan.member
    )
    # when
    response = act(login(chain.cashier_a1), wang_wus_card_with_100_yuan, "merge", target=other.number)
    # then
    assert response.status_code == 302
    assert reload(wang_wus_card_with_100_yuan).status == CardStatus.MERGED
    assert card_balances(other)[AccountKind.MEMBER_PRINCIPAL] == 10_000


def test_cancel_shows_principal_and_refuses_cash_above_100(chain, login, wang_wus_card_with_100_yuan):
    # given ¥150 principal
    put_value(chain, wang_wus_card_with_100_yuan, principal=5_000)
    client = login(chain.store_manager)
    page = client.get(url("card", number=wang_wus_card_with_100_yuan.number), **EN).content.decode()
    assert "Principal to pay out: ¥150.00, from the cash of 徐汇店." in page
    # when paying out in cash
    response = act(
        client, wang_wus_card_with_100_yuan, "cancel", method="cash", reason="moving away", confirm="on"
    )
    # then refused in place, the card still active
    assert response.status_code == 400 and 'data-error-for="method"' in response.content.decode()
    assert reload(wang_wus_card_with_100_yuan).status == CardStatus.ACTIVE
    # when by bank transfer
    response = act(
        client, wang_wus_card_with_100_yuan, "cancel", method="bank", reason="moving away", confirm="on"
    )
    # then the card is cancelled and its principal left A1's cash by bank transfer
    assert response.status_code == 302 and reload(wang_wus_card_with_100_yuan).status == CardStatus.CANCELLED
    assert card_balances(wang_wus_card_with_100_yuan)[AccountKind.MEMBER_PRINCIPAL] == 0
    payout = CardTransaction.objects.get(card=wang_wus_card_with_100_yuan, kind=CardTxKind.REFUND)
    assert (payout.amount, payout.tender, payout.store) == (15_000, "bank", chain.a1)
    assert "¥150.00 refunded" in client.get(response["Location"], **EN).content.decode()


def test_cancel_needs_cards_cancel(chain, login, wang_wus_card_with_100_yuan):
    assert (
        act(
            login(chain.cashier_a1),
            wang_wus_card_with_100_yuan,
            "cancel",
            method="bank",
            reason="x",
            confirm="on",
        ).status_code
        == 403
    )
    assert reload(wang_wus_card_with_100_yuan).status == CardStatus.ACTIVE


def test_set_and_remove_card_password(chain, login, wang_wus_card_with_100_yuan):
    client = login(chain.cashier_a1)
    assert act(client, wang_wus_card_with_100_yuan, "password", password="123456").status_code == 302
    assert reload(wang_wus_card_with_100_yuan).has_password
    response = act(client, wang_wus_card_with_100_yuan, "password", password="12")
    assert response.status_code == 400 and "A card password is 4 to 12 digits." in response.content.decode()
    assert act(client, wang_wus_card_with_100_yuan, "password", password="").status_code == 302
    assert not reload(wang_wus_card_with_100_yuan).has_password


def test_points_adjustment_needs_permission_and_reason(chain, login, wang_wus_card_with_100_yuan):
    # a cashier may not adjust points
    assert (
        act(
            login(chain.cashier_a1), wang_wus_card_with_100_yuan, "points", points="100", reason="goodwill"
        ).status_code
        == 403
    )
    client = login(chain.store_manager)
    # without a reason: refused in place
    response = act(client, wang_wus_card_with_100_yuan, "points", points="100", reason="")
    assert response.status_code == 400 and 'data-error-for="reason"' in response.content.decode()
    assert points.available_points(wang_wus_card_with_100_yuan) == 0
    # with a reason
    assert (
        act(client, wang_wus_card_with_100_yuan, "points", points="100", reason="goodwill").status_code == 302
    )
    assert points.available_points(wang_wus_card_with_100_yuan) == 100
    assert (
        act(client, wang_wus_card_with_100_yuan, "points", points="-30", reason="correction").status_code
        == 302
    )
    assert points.available_points(wang_wus_card_with_100_yuan) == 70


def test_unknown_action_is_404(chain, login, wang_wus_card_with_100_yuan):
    assert act(login(chain.store_manager), wang_wus_card_with_100_yuan, "explode").status_code == 404


def test_reactivate_expired_card(chain, login, wang_wus_card_with_100_yuan):
    from onecard.loyalty.cards.services import expire_due_cards
    from onecard.loyalty.models import Card

    Card.objects.filter(pk=wang_wus_card_with_100_yuan.pk).update(
        expires_at=timezone.now() - datetime.timedelta(days=1)
    )
    expire_due_cards()
    assert act(login(chain.cashier_a1), wang_wus_card_with_100_yuan, "reactivate").status_code == 302
    assert reload(wang_wus_card_with_100_yuan).status == CardStatus.ACTIVE


# ---- every page renders ---------------------------------------------------------------------------------------


def test_every_page_renders_for_head_office(chain, login, wang_wus_card_with_100_yuan):
    # given a tier, rules and a batch to edit
    tier = tiers.create_tier(
        None, chain.merchant, name="银卡", rank=1, rules=[(TierMetric.SPEND, 100_000, 365)]
    )
    rule = PointsEarnRule.objects.create(merchant=chain.merchant, name="基本", points_per_yuan=Decimal(1))
    client = login(chain.hq_admin)
    pages = [url("list"), url("products"), url("product_create"), url("product_edit", wang_wus_card_with_100_yuan.product_id), url("tiers"),
             url("tier_create"), url("tier_edit", tier.pk), url("rules"), url("bonus_rule_create"),
             url("earn_rule_create"), url("earn_rule_edit", rule.pk), url("points_policy"), url("batches"),
             url("batch_sheet", wang_wus_card_with_100_yuan.batch_id), url("card", number=wang_wus_card_with_100_yuan.number)]  # fmt: skip
    # when / then
    for page in pages:
        response = client.get(page, **EN)
        assert response.status_code == 200, page
    edit = client.get(url("tier_edit", tier.pk), **EN).content.decode()
    assert 'value="1000.00"' in edit  # the rule's threshold shown in yuan


def test_pages_of_unknown_objects_are_404(chain, login):
    client = login(chain.hq_admin)
    for page in (url("product_edit", 999), url("tier_edit", 999), url("earn_rule_edit", 999),
                 url("batch_sheet", 999), url("card", number="88000000000")):  # fmt: skip
        assert client.get(page).status_code == 404, page


def test_card_list_query_count_does_not_grow_with_rows(chain, login, card_product, member_factory):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url("list")).status_code == 200
        return len(captured)

    # given
    client = login(chain.store_manager)
    for n, card in enumerate(stock(card_product, chain.a1, count=2, prefix="8806")):
        active_card(card, member_factory(phone=f"1360000{n:04d}"))
    few = queries()
    # when six more bound cards are listed
    for n, card in enumerate(stock(card_product, chain.a1, count=6, prefix="8807")):
        active_card(card, member_factory(phone=f"1350000{n:04d}"))
    # then
    assert queries() == few
