"""Holds: capture in full or part, void, expiry (the job and a late capture), refunds of a capture."""

import datetime

import pytest
from django.utils import timezone

from onecard.loyalty.ledger.choices import AccountKind
from onecard.loyalty.models import JournalEntry
from onecard.loyalty.models.stored_value import CardTransaction, CardTxStatus
from onecard.loyalty.stored_value import holds
from onecard.loyalty.stored_value import services as stored_value
from onecard.testing.errors import refused
from onecard.testing.stored_value import assert_ledger_clean, balances, bonus_rule

pytestmark = pytest.mark.django_db


@pytest.fixture
def card_with_bonus(chain, card):
    """`card` with ¥300 principal + ¥50 bonus (a ¥300 top-up under a 满300送50 rule), spent in proportion."""
    bonus_rule(chain, [[30_000, 5_000]])
    stored_value.topup(None, card, 30_000, store=chain.a1)
    return card


def revenue(chain):
    return stored_value.store_account(AccountKind.STORE_REVENUE, chain.a1).balance


def test_hold_reserves_then_full_capture_takes_it(chain, card_with_bonus):
    # when: hold ¥70 → bonus floor(7000×5000/35000)=1000, principal 6000
    hold = holds.hold(chain.cashier_a1, card_with_bonus, 7_000, store=chain.a1)
    assert (hold.principal, hold.bonus, hold.status) == (6_000, 1_000, CardTxStatus.OPEN)
    assert balances(card_with_bonus) == (24_000, 4_000, 7_000)
    refused("insufficient_balance", stored_value.charge, None, card_with_bonus, 28_001, store=chain.a1)
    cap = holds.capture(chain.cashier_a1, hold)
    # then
    assert (cap.amount, cap.principal, cap.bonus) == (7_000, 6_000, 1_000)
    assert balances(card_with_bonus) == (24_000, 4_000, 0)
    assert revenue(chain) == 7_000
    hold.refresh_from_db()
    assert hold.status == CardTxStatus.CAPTURED
    refused("hold_not_open", holds.capture, None, hold)
    refused("hold_not_open", holds.void, None, hold)
    assert_ledger_clean()


def test_partial_capture_releases_the_rest_exactly(chain, card_with_bonus):
    hold = holds.hold(None, card_with_bonus, 7_000, store=chain.a1)
    # capture 3333: bonus floor(3333×1000/7000)=476, principal 2857; release 3143 + 524
    cap = holds.capture(None, hold, 3_333)
    assert (cap.principal, cap.bonus) == (2_857, 476)
    assert balances(card_with_bonus) == (30_000 - 2_857, 5_000 - 476, 0)
    assert revenue(chain) == 3_333
    refused(
        "capture_exceeds_hold",
        holds.capture,
        None,
        holds.hold(None, card_with_bonus, 100, store=chain.a1),
        101,
    )
    assert_ledger_clean()


def test_a_capture_can_be_refunded_in_proportion(chain, card_with_bonus):
    hold = holds.hold(None, card_with_bonus, 7_000, store=chain.a1)
    cap = holds.capture(None, hold, 3_333)
    back = stored_value.refund(None, cap, store=chain.a1, reason="退货")
    assert (back.principal, back.bonus) == (2_857, 476)
    assert balances(card_with_bonus) == (30_000, 5_000, 0)
    assert_ledger_clean()


def test_void_releases_everything(chain, card_with_bonus):
    hold = holds.hold(None, card_with_bonus, 7_000, store=chain.a1)
    voided = holds.void(chain.cashier_a1, hold)
    assert voided.amount == 0
    assert balances(card_with_bonus) == (30_000, 5_000, 0)
    refused("hold_not_open", holds.capture, None, hold)
    assert revenue(chain) == 0
    assert_ledger_clean()


def test_expiry_job_releases_and_running_twice_changes_nothing(chain, card_with_bonus):
    hold = holds.hold(None, card_with_bonus, 7_000, store=chain.a1, expires_in=datetime.timedelta(minutes=5))
    other = holds.hold(None, card_with_bonus, 1_000, store=chain.a1, expires_in=datetime.timedelta(hours=1))
    later = timezone.now() + datetime.timedelta(minutes=10)
    assert holds.expire_holds(later) == 1
    entries = JournalEntry.objects.count()
    assert holds.expire_holds(later) == 0
    assert JournalEntry.objects.count() == entries
    hold.refresh_from_db()
    other.refresh_from_db()
    assert (hold.status, other.status) == (CardTxStatus.EXPIRED, CardTxStatus.OPEN)
    assert balances(card_with_bonus)[2] == 1_000
    refused("hold_not_open", holds.capture, None, hold)
    # the funds are available again: spend all of it but the other hold
    stored_value.charge(None, card_with_bonus, 34_000, store=chain.a1)
    assert balances(card_with_bonus) == (0, 0, 1_000)
    assert_ledger_clean()


def test_capture_after_expiry_is_refused_and_releases_the_hold(chain, card_with_bonus):
    hold = holds.hold(None, card_with_bonus, 7_000, store=chain.a1, expires_in=datetime.timedelta(minutes=30))
    CardTransaction.objects.filter(pk=hold.pk).update(
        expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    refused("hold_expired", holds.capture, chain.cashier_a1, hold)
    hold.refresh_from_db()
    assert hold.status == CardTxStatus.EXPIRED
    assert balances(card_with_bonus) == (30_000, 5_000, 0)
    assert revenue(chain) == 0
    assert holds.expire_holds() == 0
    refused("hold_not_open", holds.capture, None, hold)
    assert_ledger_clean()


def test_hold_bad_amounts_and_insufficient(chain, card_with_bonus):
    refused("invalid_amount", holds.hold, None, card_with_bonus, 0, store=chain.a1)
    refused("insufficient_balance", holds.hold, None, card_with_bonus, 35_001, store=chain.a1)
    assert balances(card_with_bonus) == (30_000, 5_000, 0)
    assert not CardTransaction.objects.filter(kind="hold").exists()
    assert_ledger_clean()


def test_frozen_card_refuses_capture_but_void_and_expiry_release(chain, card_with_bonus):
    from onecard.loyalty.cards import services as cards

    first = holds.hold(None, card_with_bonus, 1_000, store=chain.a1)
    second = holds.hold(
        None, card_with_bonus, 2_000, store=chain.a1, expires_in=datetime.timedelta(minutes=1)
    )
    cards.freeze(None, card_with_bonus)
    refused("card_frozen", holds.capture, None, first)
    holds.void(None, first)
    assert holds.expire_holds(timezone.now() + datetime.timedelta(minutes=2)) == 1
    second.refresh_from_db()
    assert second.status == CardTxStatus.EXPIRED
    assert balances(card_with_bonus) == (30_000, 5_000, 0)
    assert_ledger_clean()


def test_hold_at_a_store_of_another_merchant_is_refused(chain, card_with_bonus):
    refused("card_not_accepted_here", holds.hold, None, card_with_bonus, 100, store=chain.other_store)
    refused(
        "card_not_accepted_here", stored_value.charge, None, card_with_bonus, 100, store=chain.other_store
    )
    refused("card_not_accepted_here", stored_value.topup, None, card_with_bonus, 100, store=chain.other_store)
    assert balances(card_with_bonus) == (30_000, 5_000, 0)
    assert_ledger_clean()


def test_an_open_hold_follows_a_replaced_card(chain, card_with_bonus, member_factory):
    from onecard.loyalty.cards import services as cards
    from onecard.loyalty.models import Card

    hold = holds.hold(None, card_with_bonus, 7_000, store=chain.a1)
    spare = Card.objects.create(
        merchant=chain.merchant,
        product=card_with_bonus.product,
        number="8899000000019",
        issued_store=chain.a1,
    )
    cards.replace(None, card_with_bonus, spare)
    cap = holds.capture(None, hold, 5_000)
    assert cap.card_id == spare.pk
    # captured: bonus floor(5000 × 1000 / 7000) = 714, principal 4286; the rest released
    assert (cap.principal, cap.bonus) == (4_286, 714)
    assert balances(spare) == (30_000 - 4_286, 5_000 - 714, 0)
    assert balances(card_with_bonus) == (0, 0, 0)
    assert_ledger_clean()


def test_card_transactions_are_immutable(chain, card_with_bonus):
    from onecard.loyalty.models import LedgerWriteRefused

    hold = holds.hold(None, card_with_bonus, 1_000, store=chain.a1)
    hold.amount = 1
    with pytest.raises(LedgerWriteRefused):
        hold.save()
    with pytest.raises(LedgerWriteRefused):
        hold.delete()
    assert_ledger_clean()
