"""Voids (撤销) of a mistaken top-up or charge: a reversal in the ledger, rewards taken back, the window, approval."""

import datetime

import pytest
from django.utils import timezone, translation

from onecard.core.models import AuditEntry
from onecard.loyalty.ledger.choices import AccountKind
from onecard.loyalty.models import JournalEntry
from onecard.loyalty.models.stored_value import CardTransaction, CardTxKind, CardTxStatus, RebateForm
from onecard.loyalty.stored_value import prepaid_rules, rebates, voids
from onecard.loyalty.stored_value import services as stored_value
from onecard.testing.errors import refused
from onecard.testing.points import assert_books, points_balance, rule
from onecard.testing.stored_value import assert_ledger_clean, balances, bonus_rule, sv_card

pytestmark = pytest.mark.django_db


def later(minutes):
    return timezone.now() + datetime.timedelta(minutes=minutes)


def rebate_rule(chain, form=RebateForm.BONUS):
    return rebates.create_rebate_rule(
        None, chain.merchant, name="返2%", percent="2", form=form,
        valid_from=timezone.now() - datetime.timedelta(days=1),
    )  # fmt: skip


def test_a_top_up_voided_by_its_cashier_leaves_the_card_as_before(chain, member_factory):
    # given ¥500 topped up with a ¥50 bonus by the A1 cashier
    card = sv_card(chain, member_factory())
    bonus_rule(chain, [[50_000, 5_000]])
    topup = stored_value.topup(chain.cashier_a1, card, 50_000, store=chain.a1, tender="wechat")
    assert balances(card) == (50_000, 5_000, 0)
    # when the same cashier voids it at once
    void = voids.void(chain.cashier_a1, topup, store=chain.a1, reason="金额输错")
    # then the card is back to empty, the store's cash and bonus expense too
    assert balances(card) == (0, 0, 0)
    assert stored_value.store_account(AccountKind.STORE_CASH, chain.a1).balance == 0
    assert stored_value.store_account(AccountKind.BONUS_EXPENSE, chain.a1).balance == 0
    # and the void is a reversal of the top-up's entry, recorded as a void pointing at it
    assert void.entry.reverses_id == topup.entry_id
    assert (void.kind, void.original_id, void.amount, void.bonus, void.reason) == (
        CardTxKind.VOID, topup.pk, 50_000, 5_000, "金额输错"
    )  # fmt: skip
    topup.refresh_from_db()
    assert (topup.status, topup.refunded_total) == (CardTxStatus.VOIDED, 50_000)
    audit = AuditEntry.objects.get(subject_type="loyalty.cardtransaction", subject_id=str(topup.pk))
    assert audit.after == {"status": "voided"} and "金额输错" in audit.note
    assert_ledger_clean()


def test_a_charge_voided_gives_back_the_value_and_takes_back_points_and_rebate(chain, member_factory):
    # given 1 point per ¥1, a 2 % bonus rebate, and a charge of ¥100 on a card with ¥300
    card = sv_card(chain, member_factory())
    rule(chain, "1")
    rebate_rule(chain)
    stored_value.topup(chain.cashier_a1, card, 30_000, store=chain.a1)
    charge = stored_value.charge(chain.cashier_a1, card, 10_000, store=chain.a1)
    assert (charge.points_earned, charge.rebate_bonus) == (100, 200)
    assert balances(card) == (20_000, 200, 0) and points_balance(card) == 100
    # when it is voided
    void = voids.void(chain.cashier_a1, charge, store=chain.a1)
    # then the card holds what it held before the charge: no rebate, no points
    assert balances(card) == (30_000, 0, 0) and points_balance(card) == 0
    assert (void.points_reversed, void.rebate_bonus) == (100, 200)
    assert stored_value.store_account(AccountKind.STORE_REVENUE, chain.a1).balance == 0
    assert_books(card)
    assert_ledger_clean()


def test_a_charge_with_a_points_rebate_voided_takes_the_rebate_points_back(chain, member_factory):
    card = sv_card(chain, member_factory())
    rebate_rule(chain, RebateForm.POINTS)
    stored_value.topup(chain.cashier_a1, card, 30_000, store=chain.a1)
    charge = stored_value.charge(chain.cashier_a1, card, 10_000, store=chain.a1)
    assert charge.rebate_points > 0 and points_balance(card) == charge.rebate_points
    void = voids.void(chain.cashier_a1, charge, store=chain.a1)
    assert void.rebate_points == charge.rebate_points and points_balance(card) == 0
    assert_books(card)
    assert_ledger_clean()


def test_a_void_is_refused_when_the_value_was_spent_since_and_nothing_changes(chain, member_factory):
    # given a top-up of ¥100, then ¥30 charged
    card = sv_card(chain, member_factory())
    topup = stored_value.topup(chain.cashier_a1, card, 10_000, store=chain.a1)
    stored_value.charge(chain.cashier_a1, card, 3_000, store=chain.a1)
    entries = JournalEntry.objects.count()
    # when the top-up is voided: refused, the money was spent
    with translation.override("en"):
        error = refused("void_value_spent", voids.void, chain.cashier_a1, topup, store=chain.a1)
        assert "Refund it instead" in str(error.message)
    # then nothing was written and the top-up is still done
    assert JournalEntry.objects.count() == entries
    topup.refresh_from_db()
    assert (topup.status, topup.refunded_total) == (CardTxStatus.DONE, 0)
    assert balances(card) == (7_000, 0, 0)


def test_a_void_is_refused_when_the_charge_rebate_was_spent(chain, member_factory):
    # given a charge whose ¥2 bonus rebate was spent by the next charge
    card = sv_card(chain, member_factory(), order="bonus_first")
    rebate_rule(chain)
    stored_value.topup(chain.cashier_a1, card, 30_000, store=chain.a1)
    charge = stored_value.charge(chain.cashier_a1, card, 10_000, store=chain.a1)
    stored_value.charge(chain.cashier_a1, card, 500, store=chain.a1)
    before = balances(card)
    # then the first charge can no longer be voided, and nothing moved
    refused("void_value_spent", voids.void, chain.cashier_a1, charge, store=chain.a1)
    assert balances(card) == before
    charge.refresh_from_db()
    assert charge.status == CardTxStatus.DONE


def test_a_void_is_refused_after_a_refund_and_a_second_time(chain, member_factory):
    card = sv_card(chain, member_factory())
    stored_value.topup(chain.cashier_a1, card, 30_000, store=chain.a1)
    refunded = stored_value.charge(chain.cashier_a1, card, 5_000, store=chain.a1)
    stored_value.refund(chain.cashier_a1, refunded, 1_000, store=chain.a1, reason="退一件")
    refused("void_after_refund", voids.void, chain.cashier_a1, refunded, store=chain.a1)
    charge = stored_value.charge(chain.cashier_a1, card, 2_000, store=chain.a1)
    voids.void(chain.cashier_a1, charge, store=chain.a1)
    refused("already_voided", voids.void, chain.cashier_a1, charge, store=chain.a1)
    # and a voided charge can no longer be refunded either
    refused("over_refund", stored_value.refund, chain.cashier_a1, charge, 1, store=chain.a1, reason="x")
    assert CardTransaction.objects.filter(kind=CardTxKind.VOID).count() == 1
    assert balances(card) == (30_000 - 5_000 + 1_000, 0, 0)
    assert_ledger_clean()


def test_only_top_ups_and_charges_at_their_own_store_are_voided(chain, member_factory):
    card = sv_card(chain, member_factory())
    topup = stored_value.topup(chain.cashier_a1, card, 10_000, store=chain.a1)
    refused("not_voidable", voids.void, chain.store_manager, topup, store=chain.a2)
    charge = stored_value.charge(chain.cashier_a1, card, 1_000, store=chain.a1)
    refund = stored_value.refund(chain.cashier_a1, charge, 500, store=chain.a1, reason="x")
    refused("not_voidable", voids.void, chain.cashier_a1, refund, store=chain.a1)


def test_past_the_window_or_for_another_cashier_a_manager_approves(chain, member_factory):
    # given the merchant's window of 5 minutes and a top-up by the A1 cashier
    prepaid_rules.update_settings(chain.hq_admin, chain.merchant, void_window_minutes=5)
    card = sv_card(chain, member_factory())
    topup = stored_value.topup(chain.cashier_a1, card, 10_000, store=chain.a1)
    # then within the window the cashier needs no approval, after it they do
    assert not voids.needs_approval(chain.cashier_a1, topup, at=later(4))
    assert voids.needs_approval(chain.cashier_a1, topup, at=later(6))
    error = refused("void_needs_manager", voids.void, chain.cashier_a1, topup, store=chain.a1, at=later(6))
    assert error.status == 403
    # and another cashier needs approval even at once; a cashier is no approver
    assert voids.needs_approval(chain.cashier_b1, topup)
    refused("void_needs_manager", voids.void, chain.cashier_a1, topup, store=chain.a1, approver=chain.cashier_b1,
            at=later(6))  # fmt: skip
    # and a manager of another merchant is no approver either
    refused("void_needs_manager", voids.void, chain.cashier_a1, topup, store=chain.a1,
            approver=chain.other_manager, at=later(6))  # fmt: skip
    # when the A1 store manager approves, the void goes through
    voids.void(chain.cashier_a1, topup, store=chain.a1, approver=chain.store_manager, at=later(6))
    assert balances(card) == (0, 0, 0)
    audit = AuditEntry.objects.get(subject_type="loyalty.cardtransaction", subject_id=str(topup.pk))
    assert "approved by a1mgr" in audit.note


def test_the_window_is_a_merchant_setting_with_a_default_of_ten_minutes(chain):
    assert voids.void_window(chain.merchant) == datetime.timedelta(minutes=10)
    row = prepaid_rules.update_settings(chain.hq_admin, chain.merchant, void_window_minutes=0)
    assert row.void_window_minutes == 0
    for bad in (-1, 1441, "5", 2.5):
        error = refused(
            "validation_error",
            prepaid_rules.update_settings,
            chain.hq_admin,
            chain.merchant,
            void_window_minutes=bad,
        )
        assert "void_window_minutes" in error.errors


def test_a_voided_top_up_does_not_count_as_paid_in_refund_pricing(chain, member_factory):
    card = sv_card(chain, member_factory())
    voids.void(
        chain.cashier_a1, stored_value.topup(chain.cashier_a1, card, 10_000, store=chain.a1), store=chain.a1
    )
    stored_value.topup(chain.cashier_a1, card, 5_000, store=chain.a1)
    history = prepaid_rules._history([card.pk])
    assert (history.principal_paid, history.ever_used) == (5_000, False)
