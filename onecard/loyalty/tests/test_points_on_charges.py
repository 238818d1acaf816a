"""Points on charges and captures (L4/L5): earned by the rules in the same transaction, reversed by refunds."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from onecard.loyalty.models import CardProduct, PointsReversal
from onecard.loyalty.points import services as points
from onecard.loyalty.stored_value import holds
from onecard.loyalty.stored_value import services as stored_value
from onecard.loyalty.tiers import services as tiers
from onecard.org.models import Alliance
from onecard.testing.cards import reload
from onecard.testing.points import assert_books, points_balance, rule
from onecard.testing.stored_value import assert_ledger_clean, balances


@pytest.fixture
def gold(chain, card_with_balance):
    """The card's member in a tier with 10% off and double points."""
    tier = tiers.create_tier(
        None, chain.merchant, name="金卡", rank=1, discount_rate=Decimal("0.9"), points_multiplier=Decimal(2)
    )
    tiers.set_member_tier(None, card_with_balance.member, tier, reason="test")
    return tier


def test_a_charge_earns_points_on_the_amount_due_with_the_tier_multiplier(chain, card_with_balance, gold):
    # given: 1 point per ¥1
    rule(chain, "1")
    # when: ¥123.45 list, 90% due = 11111 fen (half-up)
    tx = stored_value.charge(None, card_with_balance, 12_345, store=chain.a1)
    # then: floor(111.11 × 1 × 2) = 222 points, in a lot of their own
    assert (tx.amount, tx.points_earned) == (11_111, 222)
    assert tx.points_lot.original == 222
    assert tx.points_lot.card_id == card_with_balance.pk
    assert points_balance(card_with_balance) == 222
    assert_books(card_with_balance)


def test_refunds_reverse_the_earned_points_in_proportion_and_add_up_exactly(chain, card_with_balance):
    # given: 1.5 points per ¥1; a charge of ¥99.99 earns floor(149.985) = 149
    rule(chain, "1.5")
    sale = stored_value.charge(None, card_with_balance, 9_999, store=chain.a1)
    assert sale.points_earned == 149
    # when: three partial refunds
    first = stored_value.refund(None, sale, 3_333, store=chain.a1, reason="退货")
    second = stored_value.refund(None, sale, 3_333, store=chain.a1, reason="退货")
    rest = stored_value.refund(None, sale, store=chain.a1, reason="退货")
    # then: cumulative floors 49, 99, 149 → 49 + 50 + 50 = 149
    assert [first.points_reversed, second.points_reversed, rest.points_reversed] == [49, 50, 50]
    assert points_balance(card_with_balance) == 0
    assert sum(r.requested for r in PointsReversal.objects.filter(lot=sale.points_lot)) == 149
    assert balances(card_with_balance) == (100_000, 0, 0)
    assert_books(card_with_balance)


def test_a_full_refund_reverses_every_point_at_once(chain, card_with_balance):
    rule(chain, "2")
    sale = stored_value.charge(None, card_with_balance, 5_000, store=chain.a1)
    refund = stored_value.refund(None, sale, store=chain.a1, reason="取消")
    assert (sale.points_earned, refund.points_reversed, refund.points_shortfall) == (100, 100, 0)
    assert points_balance(card_with_balance) == 0
    assert_books(card_with_balance)


def test_points_already_spent_are_reported_as_shortfall_never_a_negative_balance(chain, card_with_balance):
    # given: 100 points earned, 80 of them redeemed
    rule(chain, "2")
    sale = stored_value.charge(None, card_with_balance, 5_000, store=chain.a1)
    points.redeem(None, card_with_balance, 80, store=chain.a1)
    # when: the charge is refunded in full
    refund = stored_value.refund(None, sale, store=chain.a1, reason="取消")
    # then: the 20 left come back off the card; 80 had been spent
    assert (refund.points_reversed, refund.points_shortfall) == (100, 80)
    assert points_balance(card_with_balance) == 0
    assert_books(card_with_balance)


def test_no_matching_rule_earns_nothing_and_the_charge_goes_through(chain, card_with_balance):
    # given: a rule for B1 only
    rule(chain, "1", stores=[chain.b1])
    # when
    tx = stored_value.charge(None, card_with_balance, 5_000, store=chain.a1)
    refund = stored_value.refund(None, tx, store=chain.a1, reason="x")
    # then
    assert (tx.points_earned, tx.points_lot, refund.points_reversed) == (0, None, 0)
    assert balances(card_with_balance) == (100_000, 0, 0)
    assert_books(card_with_balance)


def test_a_capture_earns_points_on_the_captured_amount(chain, card_with_balance):
    rule(chain, "1")
    hold = holds.hold(None, card_with_balance, 8_000, store=chain.a1)
    captured = holds.capture(None, hold, 6_050, store=chain.a2)
    assert captured.points_earned == 60
    assert captured.points_lot.store_id == chain.a2.pk
    refund = stored_value.refund(None, captured, 3_025, store=chain.a1, reason="x")
    assert refund.points_reversed == 30
    assert points_balance(card_with_balance) == 30
    assert_books(card_with_balance)


def test_a_charge_with_a_password_earns_the_same(chain, card_with_balance):
    from onecard.loyalty.cards import services as cards

    rule(chain, "1")
    cards.set_card_password(None, card_with_balance, "1357")
    fresh = reload(card_with_balance)
    fresh.password_threshold = 0
    fresh.save(update_fields=["password_threshold"])
    tx = stored_value.charge(None, fresh, 5_000, store=chain.a1, password="1357")
    assert tx.points_earned == 50
    assert_books(card_with_balance)


def test_a_charge_at_an_alliance_merchant_earns_no_points(chain, card_with_balance):
    # given: an alliance and a product accepted there; a points rule of the issuer
    rule(chain, "1")
    alliance = Alliance.objects.create(name="联盟")
    for merchant in (chain.merchant, chain.other):
        merchant.alliance = alliance
        merchant.save(update_fields=["alliance"])
    CardProduct.objects.filter(pk=card_with_balance.product_id).update(alliance_accepted=True)
    # when
    tx = stored_value.charge(None, reload(card_with_balance), 5_000, store=chain.other_store)
    # then: points are the issuer's programme, earned at its own stores only
    assert tx.points_earned == 0
    assert points_balance(card_with_balance) == 0
    assert_ledger_clean()


def test_earning_points_costs_queries_only_when_the_merchant_has_rules(chain, card_with_balance):
    # given: a first charge opened every account; no earn or rebate rule
    stored_value.charge(None, card_with_balance, 100, store=chain.a1)
    with CaptureQueriesContext(connection) as without_rules:
        stored_value.charge(None, card_with_balance, 100, store=chain.a1)
    # when: a rule exists
    rule(chain, "1")
    with CaptureQueriesContext(connection) as with_rules:
        tx = stored_value.charge(None, card_with_balance, 1_000, store=chain.a1)
    # then
    assert len(without_rules.captured_queries) == 8
    assert tx.points_earned == 10
    assert len(with_rules.captured_queries) > 8


def test_a_charge_that_earns_points_locks_its_accounts_in_one_statement(chain, card_with_balance):
    # given: a rule, and a first charge that opened every account (the member's points account too)
    rule(chain, "1")
    stored_value.charge(None, card_with_balance, 100, store=chain.a1)
    # when
    with CaptureQueriesContext(connection) as queries:
        tx = stored_value.charge(None, card_with_balance, 1_000, store=chain.a1)
    # then: principal, bonus, revenue, points expense and member points were locked together; the
    # charge's entry and the points entry took them from there
    sqls = [q["sql"] for q in queries.captured_queries]
    account_reads = [sql for sql in sqls if 'FROM "loyalty_account"' in sql and '"loyalty_card"' not in sql]
    assert len(account_reads) == 1, account_reads
    assert tx.points_earned == 10
    assert_ledger_clean()


# ---- the cashier screen ---------------------------------------------------------------------------------------


def _post(client, name, **data):
    import uuid

    from django.urls import reverse

    data.setdefault("token", uuid.uuid4().hex)
    return client.post(reverse(f"till:{name}"), data, HTTP_ACCEPT_LANGUAGE="en")


def test_receipts_show_points_earned_and_reversed_and_the_rebate(chain, login, card_with_balance):
    from onecard.loyalty.models import CardTransaction
    from onecard.loyalty.stored_value import rebates

    # given: 1 point per ¥1, 2% back as bonus
    rule(chain, "1")
    rebates.create_rebate_rule(None, chain.merchant, name="返2%", percent="2")
    client = login(chain.cashier_a1)
    # when: a ¥30 charge through the page
    response = _post(client, "charge", card=card_with_balance.number, amount="30.00")
    receipt = client.get(response.url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    # then
    assert 'id="receipt-points-earned">+30<' in receipt
    assert 'id="receipt-rebate">+¥0.60<' in receipt
    # when: ¥10 refunded
    sale = CardTransaction.objects.get(kind="charge")
    response = _post(
        client, "refund", card=card_with_balance.number, original=sale.pk, amount="10.00", reason="退货"
    )
    receipt = client.get(response.url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'id="receipt-points-reversed">-10<' in receipt
    assert 'id="receipt-rebate">-¥0.20<' in receipt
    assert_books(card_with_balance)


def test_the_cashier_of_an_alliance_merchant_charges_the_card_but_offers_no_top_up(
    chain, login, card_with_balance
):
    from django.urls import reverse

    from onecard.org import services
    from onecard.org.models import Alliance

    alliance = Alliance.objects.create(name="联盟")
    for merchant in (chain.merchant, chain.other):
        merchant.alliance = alliance
        merchant.save(update_fields=["alliance"])
    CardProduct.objects.filter(pk=card_with_balance.product_id).update(alliance_accepted=True)
    cashier = services.create_staff(
        None, username="o1cash", password="pass-word-123", node=chain.other_store,
        roles=[chain.roles["cashier"]], display_name="o1cash",
    )  # fmt: skip
    client = login(cashier)
    panel = client.get(
        reverse("till:lookup"), {"q": card_with_balance.number}, HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert 'id="charge-form"' in panel
    assert 'id="topup-form"' not in panel and 'id="alliance-card-note"' in panel
    response = _post(client, "charge", card=card_with_balance.number, amount="12.00")
    assert response.status_code == 302
    assert balances(card_with_balance) == (100_000 - 1_200, 0, 0)
    # a top-up posted anyway is refused
    refused = _post(client, "topup", card=card_with_balance.number, amount="10.00", tender="cash")
    assert refused.status_code == 400
    assert balances(card_with_balance) == (100_000 - 1_200, 0, 0)
    assert_ledger_clean()


def test_a_charge_on_the_members_birthday_earns_the_birthday_multiplier(chain, card_with_balance, gold):
    # given: 1 point per ¥1, ×3 on the birthday; the member was born on today's date (Asia/Shanghai)
    from django.utils import timezone

    today = timezone.localdate()
    card_with_balance.member.birthday = (
        today.replace(year=1990) if (today.month, today.day) != (2, 29) else today.replace(year=1992)
    )
    card_with_balance.member.save(update_fields=["birthday"])
    rule(chain, "1", birthday_multiplier=Decimal(3))
    # when: ¥100 list, 90% due
    tx = stored_value.charge(None, card_with_balance, 10_000, store=chain.a1)
    # then: 90 × tier 2 × birthday 3 = 540 points
    assert tx.points_earned == 540
    assert_ledger_clean()
