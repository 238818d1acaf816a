"""Rebates (返利, L5): rules, the rebate a charge or capture gives as bonus or points, and refunds taking it back."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from onecard.core.errors import BusinessError
from onecard.core.models import AuditEntry
from onecard.loyalty.ledger.choices import AccountKind, EntryKind
from onecard.loyalty.models import Account, JournalEntry, Posting, RebateRule
from onecard.loyalty.models.stored_value import ConsumptionOrder
from onecard.loyalty.stored_value import holds, rebates
from onecard.loyalty.stored_value import services as stored_value
from onecard.testing.errors import refused
from onecard.testing.points import assert_books, points_balance, rule
from onecard.testing.stored_value import assert_ledger_clean, balances, sv_card


def make_rule(chain, percent, **fields):
    fields.setdefault("valid_from", timezone.now() - datetime.timedelta(days=1))
    return rebates.create_rebate_rule(None, chain.merchant, name=fields.pop("name", f"{percent}%"), percent=percent,
                                      **fields)  # fmt: skip


# ---- rules -------------------------------------------------------------------------------------------------


def test_create_rebate_rule_validates_and_audits(chain):
    start = timezone.now()
    for bad in (0, -1, "100.01", "2.005", "abc", None):
        error = refused("validation_error", make_rule, chain, bad)
        assert "percent" in error.errors
    error = refused("validation_error", make_rule, chain, "2", min_amount=-1)
    assert "min_amount" in error.errors
    error = refused("validation_error", make_rule, chain, "2", valid_from=start, valid_to=start)
    assert "valid_to" in error.errors
    error = refused("validation_error", make_rule, chain, "2", store=chain.other_store)
    assert "store" in error.errors
    refused("validation_error", make_rule, chain, "2", form="cash")
    refused("validation_error", make_rule, chain, "2", name=" ")
    with pytest.raises(BusinessError):
        rebates.create_rebate_rule(chain.cashier_b1, chain.merchant, name="x", percent="2")
    assert not RebateRule.objects.exists()
    # when: a good rule by HQ
    made = rebates.create_rebate_rule(chain.hq_admin, chain.merchant, name="会员日返2%", percent="2.50")
    # then
    assert made.percent == Decimal("2.50") and made.form == "bonus" and made.is_active
    assert AuditEntry.objects.filter(subject_type="loyalty.rebaterule", subject_id=str(made.pk)).exists()


def test_the_best_rule_applies_highest_percent_then_store_specific(chain, card_with_balance):
    now = timezone.now()
    chainwide = make_rule(chain, "2")
    at_a2 = make_rule(chain, "3", store=chain.a2)
    make_rule(chain, "9", min_amount=50_000)  # only for big charges
    make_rule(
        chain, "8", valid_from=now - datetime.timedelta(days=9), valid_to=now - datetime.timedelta(days=1)
    )
    inactive = make_rule(chain, "7")
    RebateRule.objects.filter(pk=inactive.pk).update(is_active=False)
    assert rebates.rebate_for(card_with_balance, chain.a1, 10_000) == chainwide
    assert rebates.rebate_for(card_with_balance, chain.a2, 10_000) == at_a2
    assert rebates.rebate_for(card_with_balance, chain.a1, 50_000).percent == Decimal(9)
    tie = make_rule(chain, "2", store=chain.a1)
    assert rebates.rebate_for(card_with_balance, chain.a1, 10_000) == tie
    assert rebates.rebate_for(card_with_balance, chain.other_store, 10_000) is None


# ---- bonus form ---------------------------------------------------------------------------------------------


def test_a_charge_gives_a_bonus_rebate_in_its_own_rebate_entry(chain, card_with_balance):
    # given: 2% back as bonus
    made = make_rule(chain, "2")
    # when: a charge of ¥123.45
    tx = stored_value.charge(None, card_with_balance, 12_345, store=chain.a1)
    # then: floor(12345 × 2 / 100) = 246 fen of bonus, from A1's bonus expense
    assert (tx.rebate_rule, tx.rebate_bonus, tx.rebate_points) == (made, 246, 0)
    assert balances(card_with_balance) == (100_000 - 12_345, 246, 0)
    entry = JournalEntry.objects.get(kind=EntryKind.REBATE)
    legs = {p.account.kind: p.amount for p in Posting.objects.filter(entry=entry).select_related("account")}
    assert legs == {AccountKind.BONUS_EXPENSE: -246, AccountKind.MEMBER_BONUS: 246}
    assert_ledger_clean()


def test_a_rebate_away_from_home_is_owed_to_the_home_by_the_store_that_gave_it(chain, card_with_balance):
    make_rule(chain, "2")
    stored_value.charge(None, card_with_balance, 10_000, store=chain.a2)
    clearing = {
        (a.node.code, a.counterparty_node.code): a.balance
        for a in Account.objects.filter(kind=AccountKind.CLEARING).select_related("node", "counterparty_node")
    }
    # A1 owes A2 the charge (10000); A2 owes A1 the rebate (200)
    assert clearing == {("A1", "A2"): 10_000 - 200, ("A2", "A1"): -(10_000 - 200)}
    assert_ledger_clean()


def test_refunds_take_the_bonus_rebate_back_in_proportion_exactly(chain, card_with_balance):
    # given: 3% of ¥99.99 = 299 fen of bonus
    make_rule(chain, "3")
    sale = stored_value.charge(None, card_with_balance, 9_999, store=chain.a1)
    assert sale.rebate_bonus == 299
    # when: three refunds
    parts = [
        stored_value.refund(None, sale, amount, store=chain.a1, reason="退货")
        for amount in (3_333, 3_333, None)
    ]
    # then: floors 99, 199, 299
    assert [r.rebate_bonus for r in parts] == [99, 100, 100]
    assert balances(card_with_balance) == (100_000, 0, 0)
    assert_ledger_clean()


def test_a_rebate_already_spent_is_taken_back_only_as_far_as_the_card_holds(chain, member_factory):
    # given: a bonus-first card; 2% back on charges of ¥10 or more
    card = sv_card(chain, member_factory(), order=ConsumptionOrder.BONUS_FIRST)
    stored_value.topup(None, card, 100_000, store=chain.a1)
    make_rule(chain, "2", min_amount=1_000)
    sale = stored_value.charge(None, card, 10_000, store=chain.a1)  # rebate 200 bonus
    stored_value.charge(None, card, 150, store=chain.a1)  # spends 150 of that bonus, no rebate
    assert balances(card) == (90_000, 50, 0)
    # when: the first charge is refunded in full
    refund = stored_value.refund(None, sale, store=chain.a1, reason="取消")
    # then: only the 50 left come back; the bonus never goes negative
    assert refund.rebate_bonus == 50
    assert balances(card) == (100_000, 0, 0)
    assert_ledger_clean()


def test_a_capture_gives_the_rebate_of_the_captured_amount(chain, card_with_balance):
    make_rule(chain, "5")
    hold = holds.hold(None, card_with_balance, 10_000, store=chain.a1)
    captured = holds.capture(None, hold, 4_000, store=chain.a1)
    assert captured.rebate_bonus == 200
    assert balances(card_with_balance) == (96_000, 200, 0)
    assert_ledger_clean()


# ---- points form --------------------------------------------------------------------------------------------


def test_a_points_rebate_is_a_lot_of_its_own_and_refunds_take_it_back(chain, card_with_balance):
    # given: 5% back as points (100 points = ¥1) and 1 point per ¥1 earned
    make_rule(chain, "5", form="points")
    rule(chain, "1")
    # when: a charge of ¥100.01
    sale = stored_value.charge(None, card_with_balance, 10_001, store=chain.a1)
    # then: earned floor(100.01) = 100; rebate floor(10001 × 5% × 100 / 100) = 500 points
    assert (sale.points_earned, sale.rebate_points, sale.rebate_bonus) == (100, 500, 0)
    assert sale.rebate_lot.entry.kind == EntryKind.REBATE
    assert sale.rebate_lot.pk != sale.points_lot.pk
    assert points_balance(card_with_balance) == 600
    # when: refunded in two halves
    half = stored_value.refund(None, sale, 5_000, store=chain.a1, reason="x")
    rest = stored_value.refund(None, sale, store=chain.a1, reason="x")
    # then
    assert (half.points_reversed, half.rebate_points) == (49, 249)
    assert (rest.points_reversed, rest.rebate_points) == (51, 251)
    assert points_balance(card_with_balance) == 0
    assert_books(card_with_balance)


def test_a_rebate_too_small_to_round_to_a_fen_gives_nothing(chain, card_with_balance):
    make_rule(chain, "1")
    tx = stored_value.charge(None, card_with_balance, 99, store=chain.a1)
    assert (tx.rebate_rule, tx.rebate_bonus) == (None, 0)
    assert not JournalEntry.objects.filter(kind=EntryKind.REBATE).exists()
