"""Top-up with bonus tiers, caps, charges with the tier discount and each consumption order, limits, password."""

import datetime
from decimal import Decimal

import pytest

from onecard.core.errors import BusinessError
from onecard.loyalty.cards import services as cards
from onecard.loyalty.ledger.choices import AccountKind
from onecard.loyalty.models import JournalEntry
from onecard.loyalty.models.stored_value import CardTransaction, ConsumptionOrder
from onecard.loyalty.stored_value import services as stored_value
from onecard.loyalty.tiers import services as tiers
from onecard.testing.errors import refused
from onecard.testing.stored_value import assert_ledger_clean, balances, bonus_rule, sv_card

pytestmark = pytest.mark.django_db


# ---- top-up -----------------------------------------------------------------------------------------


def test_topup_with_tiered_bonus_takes_the_highest_threshold_reached(chain, card):
    # given: 充500送50, 充1000送150
    bonus_rule(chain, [[50_000, 5_000], [100_000, 15_000]])
    # when
    small = stored_value.topup(chain.cashier_a1, card, 30_000, store=chain.a1)
    mid = stored_value.topup(chain.cashier_a1, card, 80_000, store=chain.a1)
    big = stored_value.topup(chain.cashier_a1, card, 100_000, store=chain.a1)
    # then
    assert (small.bonus, mid.bonus, big.bonus) == (0, 5_000, 15_000)
    assert balances(card) == (210_000, 20_000, 0)
    legs = sorted(big.entry.postings.values_list("amount", flat=True))
    assert legs == [-100_000, -15_000, 15_000, 100_000]
    cash = stored_value.store_account(AccountKind.STORE_CASH, chain.a1)
    expense = stored_value.store_account(AccountKind.BONUS_EXPENSE, chain.a1)
    cash.refresh_from_db()
    expense.refresh_from_db()
    assert (cash.balance, expense.balance) == (-210_000, -20_000)
    assert_ledger_clean()


def test_bonus_rules_store_specific_dated_and_by_priority(chain):
    # given: a chain rule, a higher-priority rule at A2 only, an expired and a future rule
    bonus_rule(chain, [[50_000, 5_000]])
    bonus_rule(chain, [[50_000, 8_000]], store=chain.a2, priority=5)
    bonus_rule(chain, [[10_000, 99_000]], days_ago=10, days_left=-1, name="expired")
    future = bonus_rule(chain, [[10_000, 77_000]], days_ago=-5, days_left=None, name="future")
    # then
    assert stored_value.bonus_for(chain.merchant, chain.a1, 50_000) == 5_000
    assert stored_value.bonus_for(chain.merchant, chain.a2, 50_000) == 8_000
    assert stored_value.bonus_for(chain.merchant, chain.a1, 49_999) == 0
    later = future.valid_from + datetime.timedelta(hours=1)
    assert stored_value.bonus_for(chain.merchant, chain.a1, 10_000, later) == 77_000
    assert_ledger_clean()


def test_topup_past_the_cap_is_refused_and_changes_nothing(chain, member_factory):
    # given: a card capped at ¥1,000 holding ¥900 + ¥50 bonus
    card = sv_card(chain, member_factory(), balance_cap=100_000)
    bonus_rule(chain, [[90_000, 5_000]])
    stored_value.topup(chain.cashier_a1, card, 90_000, store=chain.a1)
    entries = JournalEntry.objects.count()
    # when / then: ¥60 more would make 1,010 (principal + bonus)
    refused("balance_cap_exceeded", stored_value.topup, chain.cashier_a1, card, 6_000, store=chain.a1)
    assert balances(card) == (90_000, 5_000, 0)
    assert JournalEntry.objects.count() == entries
    assert CardTransaction.objects.filter(card=card).count() == 1
    # exactly up to the cap is fine
    stored_value.topup(chain.cashier_a1, card, 5_000, store=chain.a1)
    assert balances(card) == (95_000, 5_000, 0)
    assert_ledger_clean()


@pytest.mark.parametrize("amount", [0, -100, 10.5, Decimal("100"), "100", 10**13 + 1])
def test_bad_amounts_are_refused(chain, card, amount):
    refused("invalid_amount", stored_value.topup, None, card, amount, store=chain.a1)
    refused("invalid_amount", stored_value.charge, None, card, amount, store=chain.a1)
    assert JournalEntry.objects.count() == 0
    assert_ledger_clean()


def test_frozen_card_is_refused_with_its_status_code(chain, card):
    stored_value.topup(None, card, 10_000, store=chain.a1)
    cards.freeze(None, card)
    refused("card_frozen", stored_value.topup, None, card, 10_000, store=chain.a1)
    refused("card_frozen", stored_value.charge, None, card, 1_000, store=chain.a1)
    assert balances(card) == (10_000, 0, 0)
    assert_ledger_clean()


# ---- charge -----------------------------------------------------------------------------------------


def _gold(chain, member, rate="0.95"):
    tier = tiers.create_tier(None, chain.merchant, name=f"金卡{rate}", rank=2, discount_rate=Decimal(rate))
    tiers.set_member_tier(None, member, tier, reason="test")
    return tier


@pytest.mark.parametrize(
    ("order", "principal", "bonus"),
    [
        # 95折 of ¥123.45 = 11727.75 → 11728 fen; proportional: floor(11728 × 5000 / 35000) = 1675
        (None, 10_053, 1_675),
        (ConsumptionOrder.PRINCIPAL_FIRST, 11_728, 0),
        (ConsumptionOrder.BONUS_FIRST, 6_728, 5_000),
    ],
)
def test_charge_with_95_discount_in_each_consumption_order(chain, member_factory, order, principal, bonus):
    # given: ¥300 principal + ¥50 bonus, a 95折 tier
    member = member_factory()
    card = sv_card(chain, member, order=order)
    _gold(chain, member)
    bonus_rule(chain, [[30_000, 5_000]])
    stored_value.topup(chain.cashier_a1, card, 30_000, store=chain.a1)
    # when
    tx = stored_value.charge(chain.cashier_a1, card, 12_345, store=chain.a1)
    # then
    assert (tx.list_amount, tx.amount, tx.discount) == (12_345, 11_728, 617)
    assert (tx.principal, tx.bonus) == (principal, bonus)
    assert balances(card) == (30_000 - principal, 5_000 - bonus, 0)
    revenue = stored_value.store_account(AccountKind.STORE_REVENUE, chain.a1)
    assert revenue.balance == 11_728
    assert_ledger_clean()


def test_discount_rounds_half_up(chain, member_factory):
    member = member_factory()
    card = sv_card(chain, member)
    _gold(chain, member, "0.85")
    stored_value.topup(None, card, 10_000, store=chain.a1)
    # 0.85 × 10 = 8.5 → 9; 0.85 × 30 = 25.5 → 26
    assert stored_value.charge(None, card, 10, store=chain.a1).amount == 9
    assert stored_value.charge(None, card, 30, store=chain.a1).amount == 26
    assert_ledger_clean()


def test_insufficient_balance_is_refused_and_nothing_written(chain, card):
    stored_value.topup(None, card, 10_000, store=chain.a1)
    entries, rows = JournalEntry.objects.count(), CardTransaction.objects.count()
    error = refused("insufficient_balance", stored_value.charge, None, card, 10_001, store=chain.a1)
    assert error.extra["available"] == 10_000
    assert balances(card) == (10_000, 0, 0)
    assert (JournalEntry.objects.count(), CardTransaction.objects.count()) == (entries, rows)
    assert_ledger_clean()


def test_daily_charge_limit_counts_todays_charges(chain, member_factory):
    card = sv_card(chain, member_factory(), daily_charge_limit=20_000)
    stored_value.topup(None, card, 50_000, store=chain.a1)
    stored_value.charge(None, card, 15_000, store=chain.a1)
    refused("daily_limit_exceeded", stored_value.charge, None, card, 5_001, store=chain.a1)
    stored_value.charge(None, card, 5_000, store=chain.a1)
    assert balances(card) == (30_000, 0, 0)
    # yesterday's charges (Asia/Shanghai) do not count
    CardTransaction.objects.filter(card=card).update(
        created_at=stored_value.shanghai_day_start() - datetime.timedelta(seconds=1)
    )
    stored_value.charge(None, card, 20_000, store=chain.a1)
    assert_ledger_clean()


def test_password_needed_above_the_threshold(chain, member_factory):
    card = sv_card(chain, member_factory(), password_threshold=10_000)
    cards.set_card_password(None, card, "123456")
    card.refresh_from_db()
    stored_value.topup(None, card, 50_000, store=chain.a1)
    stored_value.charge(None, card, 10_000, store=chain.a1)  # at the threshold: no password
    refused("card_password_required", stored_value.charge, None, card, 10_001, store=chain.a1)
    refused("wrong_card_password", stored_value.charge, None, card, 10_001, store=chain.a1, password="000000")
    stored_value.charge(None, card, 10_001, store=chain.a1, password="123456")
    assert balances(card) == (29_999, 0, 0)
    assert_ledger_clean()


def test_a_replaced_card_is_refused_and_refunds_go_to_its_successor(chain, member_factory, card):
    stored_value.topup(None, card, 10_000, store=chain.a1)
    sale = stored_value.charge(None, card, 4_000, store=chain.a1)
    new = sv_card(chain, member_factory())
    spare = cards.Card.objects.create(
        merchant=chain.merchant, product=new.product, number="8899000000019", issued_store=chain.a1
    )
    cards.replace(None, card, spare)
    refused("card_replaced", stored_value.charge, None, card, 1_000, store=chain.a1)
    back = stored_value.refund(None, sale, store=chain.a1, reason="退货")
    assert back.card_id == spare.pk
    assert balances(spare) == (10_000, 0, 0)
    assert balances(card) == (0, 0, 0)
    assert_ledger_clean()


def test_charge_under_an_idempotency_key_takes_effect_once(chain, card):
    from onecard.core.idempotency import run_idempotent

    stored_value.topup(None, card, 10_000, store=chain.a1)
    stored_value.check_charge_password(card, 3_000)  # before the transaction, as the POS API does

    def do_charge():
        tx = stored_value.charge(None, card, 3_000, store=chain.a1, password_checked=True)
        return 201, {"id": tx.pk, "principal": tx.principal}

    request = {"path": "/pos/charge", "card": card.number, "amount": 3_000}
    first = run_idempotent("k-1", request, do_charge, scope="t1")
    again = run_idempotent("k-1", request, do_charge, scope="t1")
    assert (first.body, again.replayed) == (again.body, True)
    assert balances(card) == (7_000, 0, 0)
    tx = CardTransaction.objects.get(pk=first.body["id"])
    assert tx.idempotency_key == "t1:k-1" == tx.entry.idempotency_key
    assert_ledger_clean()


def test_create_bonus_rule_validates_and_sorts_tiers(chain, card):
    from django.utils import timezone

    start = timezone.now() - datetime.timedelta(minutes=1)
    rule = stored_value.create_bonus_rule(
        chain.hq_admin,
        chain.merchant,
        name="双十一",
        tiers=[(100_000, 15_000), (50_000, 5_000)],
        valid_from=start,
    )
    assert rule.tiers == [[50_000, 5_000], [100_000, 15_000]]
    for bad in ([], [(0, 100)], [(100, 1.5)], [(100, 1), (100, 2)], "nope", [(1,)]):
        refused("validation_error", stored_value.create_bonus_rule, None, chain.merchant, name="x", tiers=bad,
                valid_from=start)  # fmt: skip
    refused("validation_error", stored_value.create_bonus_rule, None, chain.merchant, name="x", tiers=[(1, 1)],
            valid_from=start, store=chain.other_store)  # fmt: skip
    with pytest.raises(BusinessError):
        stored_value.create_bonus_rule(
            chain.cashier_b1, chain.merchant, name="x", tiers=[(1, 1)], valid_from=start
        )
    assert stored_value.topup(None, card, 60_000, store=chain.a1).bonus == 5_000
    assert_ledger_clean()


def test_a_charge_takes_a_fixed_small_number_of_queries(chain, card):
    # given: a card of a password-less product with every account open (a first charge opened them)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    stored_value.topup(chain.cashier_a1, card, 10_000, store=chain.a1)
    stored_value.charge(chain.cashier_a1, card, 100, store=chain.a1)
    # when
    with CaptureQueriesContext(connection) as queries:
        stored_value.charge(chain.cashier_a1, card, 100, store=chain.a1)
    # then: card locked once (product, settings, tier, revenue account id), the card's and the
    # store's accounts locked in one statement (the entry takes them), entry, postings, balances,
    # card transaction (+ savepoint and release)
    assert len(queries.captured_queries) == 8, [q["sql"][:80] for q in queries.captured_queries]
    assert balances(card) == (9_800, 0, 0)
    assert_ledger_clean()
