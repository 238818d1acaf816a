"""Refunds of charges (partial, full, never more than taken, proportional and exact) and of top-ups."""

import pytest

from onecard.loyalty.ledger.choices import AccountKind
from onecard.loyalty.models import JournalEntry
from onecard.loyalty.models.stored_value import CardTransaction
from onecard.loyalty.stored_value import services as stored_value
from onecard.testing.errors import refused
from onecard.testing.stored_value import assert_ledger_clean, balances, bonus_rule, sv_card

pytestmark = pytest.mark.django_db


@pytest.fixture
def sale(chain, member_factory):
    """¥300 principal + ¥50 bonus; a proportional charge of 10001 fen: bonus 1428, principal 8573."""
    card = sv_card(chain, member_factory())
    bonus_rule(chain, [[30_000, 5_000]])
    stored_value.topup(chain.cashier_a1, card, 30_000, store=chain.a1)
    tx = stored_value.charge(chain.cashier_a1, card, 10_001, store=chain.a1)
    assert (tx.principal, tx.bonus) == (8_573, 1_428)
    return tx


def test_partial_refunds_reverse_in_proportion_and_add_up_exactly(chain, sale):
    card = sale.card
    # when: three partial refunds then the rest
    first = stored_value.refund(chain.cashier_a1, sale, 3_333, store=chain.a1, reason="退一件")
    second = stored_value.refund(chain.cashier_a1, sale, 1, store=chain.a1, reason="差价")
    third = stored_value.refund(chain.cashier_a1, sale, 1, store=chain.a1, reason="差价")
    last = stored_value.refund(chain.cashier_a1, sale, store=chain.a1, reason="全退")
    # then: cumulative floors — floor(3333×1428/10001)=475; floor(3334×…)=476; floor(3335×…)=476
    assert (first.principal, first.bonus) == (2_858, 475)
    assert (second.principal, second.bonus) == (0, 1)
    assert (third.principal, third.bonus) == (1, 0)
    assert last.amount == 10_001 - 3_335
    assert sum(r.principal for r in (first, second, third, last)) == 8_573
    assert sum(r.bonus for r in (first, second, third, last)) == 1_428
    sale.refresh_from_db()
    assert sale.refunded_total == 10_001
    assert balances(card) == (30_000, 5_000, 0)
    revenue = stored_value.store_account(AccountKind.STORE_REVENUE, chain.a1)
    assert revenue.balance == 0
    assert last.entry.refers_to_id == sale.entry_id
    assert_ledger_clean()


def test_refunds_never_exceed_the_charge(chain, sale):
    stored_value.refund(None, sale, 10_000, store=chain.a1, reason="a")
    entries = JournalEntry.objects.count()
    refused("over_refund", stored_value.refund, None, sale, 2, store=chain.a1, reason="b")
    stored_value.refund(None, sale, 1, store=chain.a1, reason="c")
    refused("over_refund", stored_value.refund, None, sale, store=chain.a1, reason="d")
    refused("invalid_amount", stored_value.refund, None, sale, 0, store=chain.a1, reason="e")
    assert JournalEntry.objects.count() == entries + 1
    assert_ledger_clean()


def test_a_top_up_cannot_be_refunded_as_a_charge_nor_a_charge_as_a_top_up(chain, sale):
    topup = CardTransaction.objects.get(card=sale.card, kind="topup")
    refused("not_refundable", stored_value.refund, None, topup, store=chain.a1, reason="x")
    refused("not_refundable", stored_value.refund_topup, None, sale, store=chain.a1, reason="x")
    assert_ledger_clean()


def test_refund_topup_pays_principal_and_withdraws_the_matching_bonus(chain, member_factory):
    # given: 充1000送150, nothing spent
    card = sv_card(chain, member_factory())
    bonus_rule(chain, [[100_000, 15_000]])
    topup = stored_value.topup(None, card, 100_000, store=chain.a1)
    # when: ¥333.33 paid back to the bank, then the rest
    first = stored_value.refund_topup(None, topup, 33_333, store=chain.a1, reason="会员申请", method="bank")
    rest = stored_value.refund_topup(None, topup, store=chain.a1, reason="会员申请")
    # then: floor(33333 × 15000 / 100000) = 4999; the rest takes 10001
    assert (first.principal, first.bonus) == (33_333, 4_999)
    assert (rest.principal, rest.bonus) == (66_667, 10_001)
    assert balances(card) == (0, 0, 0)
    cash = stored_value.store_account(AccountKind.STORE_CASH, chain.a1)
    assert cash.balance == 0
    refused("over_refund", stored_value.refund_topup, None, topup, 1, store=chain.a1, reason="x")
    assert_ledger_clean()


def test_refund_topup_never_takes_bonus_below_zero_and_refuses_large_cash(chain, member_factory):
    # given: ¥500 + ¥50 bonus, then ¥100 spent bonus-first... proportional: 9091 principal, 909 bonus
    card = sv_card(chain, member_factory())
    bonus_rule(chain, [[50_000, 5_000]])
    topup = stored_value.topup(None, card, 50_000, store=chain.a1)
    spend = stored_value.charge(None, card, 54_000, store=chain.a1)
    assert balances(card) == (909, 91, 0)
    assert (spend.principal, spend.bonus) == (49_091, 4_909)
    # cash above ¥100 is refused; principal beyond the balance is insufficient
    refused("cash_refund_too_large", stored_value.refund_topup, None, topup, 10_001, store=chain.a1,
            reason="x", method="cash")  # fmt: skip
    refused("insufficient_balance", stored_value.refund_topup, None, topup, 910, store=chain.a1, reason="x")
    # when: the remaining principal goes back in cash; bonus share floor(909×5000/50000)=90 ≤ 91
    out = stored_value.refund_topup(None, topup, 909, store=chain.a1, reason="x", method="cash")
    assert (out.principal, out.bonus, out.tender) == (909, 90, "cash")
    assert balances(card) == (0, 1, 0)
    assert_ledger_clean()


def test_refund_topup_bonus_is_capped_by_the_balance(chain, member_factory):
    # given: bonus-first card spends the whole bonus
    card = sv_card(chain, member_factory(), order="bonus_first")
    bonus_rule(chain, [[50_000, 5_000]])
    topup = stored_value.topup(None, card, 50_000, store=chain.a1)
    stored_value.charge(None, card, 6_000, store=chain.a1)
    assert balances(card) == (49_000, 0, 0)
    out = stored_value.refund_topup(None, topup, 49_000, store=chain.a1, reason="x")
    assert (out.principal, out.bonus) == (49_000, 0)
    assert balances(card) == (0, 0, 0)
    assert_ledger_clean()
