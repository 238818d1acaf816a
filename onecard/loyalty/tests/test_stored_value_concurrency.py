"""PostgreSQL only: capture racing void, and 20 clients hammering one card with every stored-value call."""

import random
import threading
import time
from collections import Counter

import pytest
from django.db.models import Sum

from onecard.core.errors import BusinessError
from onecard.loyalty.models import JournalEntry
from onecard.loyalty.models.stored_value import CardTransaction, CardTxKind, CardTxStatus
from onecard.loyalty.stored_value import holds
from onecard.loyalty.stored_value import services as stored_value
from onecard.testing.concurrency import run_clients
from onecard.testing.stored_value import assert_ledger_clean, balances, bonus_rule, sv_card

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

EXPECTED_REFUSALS = {
    "insufficient_balance",
    "balance_cap_exceeded",
    "over_refund",
    "hold_not_open",
}


def test_capture_racing_void_exactly_one_wins(chain, member_factory):
    # given: a card with ¥100; ten rounds of one hold raced by a capture and a void
    card = sv_card(chain, member_factory())
    stored_value.topup(None, card, 10_000, store=chain.a1)
    for _round in range(10):
        hold = holds.hold(None, card, 500, store=chain.a1)
        barrier = threading.Barrier(2)
        outcomes = []

        def client(n, hold=hold, barrier=barrier, outcomes=outcomes):
            barrier.wait()
            try:
                if n == 0:
                    holds.capture(None, hold, 300)
                    outcomes.append("captured")
                else:
                    holds.void(None, hold)
                    outcomes.append("voided")
            except BusinessError as error:
                outcomes.append(error.code)

        run_clients(2, client)
        # then: one winner, one hold_not_open, and one closing entry
        assert sorted(outcomes) in (["captured", "hold_not_open"], ["hold_not_open", "voided"])
        hold.refresh_from_db()
        winner = "captured" if "captured" in outcomes else "voided"
        assert hold.status == winner
        assert CardTransaction.objects.filter(original=hold).count() == 1
        assert balances(card)[2] == 0
    captured = CardTransaction.objects.filter(kind=CardTxKind.CAPTURE).aggregate(s=Sum("amount"))["s"] or 0
    principal, bonus, _held = balances(card)
    assert principal + bonus == 10_000 - captured
    assert_ledger_clean()


def test_twenty_clients_hammer_one_card_for_ten_seconds(chain, member_factory):
    # given: one card with ¥1,000 (+¥100 bonus), a bonus rule, cap ¥5,000
    card = sv_card(chain, member_factory())
    bonus_rule(chain, [[5_000, 500], [100_000, 10_000]])
    stored_value.topup(None, card, 100_000, store=chain.a1, business_ref="seed")
    acknowledged, refusals, lowest = [], Counter(), []
    deadline = time.monotonic() + 10
    stores = [chain.a1, chain.a2, chain.b1]

    def client(n):
        rng = random.Random(n)
        mine = []
        i = 0
        while time.monotonic() < deadline:
            i += 1
            ref = f"c{n}-{i}"
            store = rng.choice(stores)
            op = rng.random()
            try:
                if op < 0.25:
                    tx = stored_value.topup(
                        None, card, rng.randint(100, 8_000), store=store, business_ref=ref
                    )
                elif op < 0.55:
                    tx = stored_value.charge(
                        None, card, rng.randint(100, 9_000), store=store, business_ref=ref
                    )
                    mine.append(tx)
                elif op < 0.8:
                    tx = holds.hold(None, card, rng.randint(100, 6_000), store=store, business_ref=ref)
                    acknowledged.append((ref, tx.pk))
                    ref = f"{ref}-close"
                    if rng.random() < 0.6:
                        amount = rng.choice([None, max(1, tx.amount // 2)])
                        tx = holds.capture(None, tx, amount, business_ref=ref)
                        mine.append(tx)
                    else:
                        tx = holds.void(None, tx, business_ref=ref)
                elif mine:
                    original = rng.choice(mine)
                    amount = rng.choice([None, rng.randint(1, max(1, original.amount // 2))])
                    tx = stored_value.refund(
                        None, original, amount, store=store, reason="hammer", business_ref=ref
                    )
                else:
                    continue
                acknowledged.append((ref, tx.pk))
            except BusinessError as error:
                assert error.code in EXPECTED_REFUSALS, error.code
                refusals[error.code] += 1
            if i % 10 == 0:
                lowest.append(min(balances(card)))

    run_clients(20, client)

    # then: never negative, every acknowledged operation exactly once, the books exact
    assert len(acknowledged) > 200, len(acknowledged)
    assert min(lowest) >= 0
    principal, bonus, held = balances(card)
    assert min(principal, bonus, held) >= 0
    _assert_every_acknowledged_ref_journalled_once(acknowledged)
    _assert_balances_add_up_to_the_card_transactions(card, principal, bonus, held)
    print(f"acknowledged={len(acknowledged)} refusals={dict(refusals)}")
    assert_ledger_clean()


def _assert_every_acknowledged_ref_journalled_once(acknowledged):
    """Each acknowledged business ref (and the seed top-up) has one journal entry; no other ref has one."""
    refs = Counter(JournalEntry.objects.exclude(business_ref="").values_list("business_ref", flat=True))
    assert all(refs[ref] == 1 for ref, _pk in acknowledged)
    assert set(refs) == {ref for ref, _pk in acknowledged} | {"seed"}
    tx_refs = Counter(CardTransaction.objects.exclude(business_ref="").values_list("business_ref", flat=True))
    assert all(count == 1 for count in tx_refs.values())


def _assert_balances_add_up_to_the_card_transactions(card, principal, bonus, held):
    """Balances are top-ups less spending plus refunds, held is open holds, no refund exceeds its charge."""
    rows = CardTransaction.objects.filter(card=card)
    sums = {
        kind: rows.filter(kind=kind).aggregate(a=Sum("amount"), b=Sum("bonus")) for kind in CardTxKind.values
    }
    topped = (sums["topup"]["a"] or 0) + (sums["topup"]["b"] or 0)
    spent = (sums["charge"]["a"] or 0) + (sums["capture"]["a"] or 0)
    open_held = (
        rows.filter(kind=CardTxKind.HOLD, status=CardTxStatus.OPEN).aggregate(a=Sum("amount"))["a"] or 0
    )
    assert principal + bonus + held == topped - spent + (sums["refund"]["a"] or 0)
    assert held == open_held
    for original in rows.filter(kind__in=[CardTxKind.CHARGE, CardTxKind.CAPTURE]):
        refunded = original.followups.aggregate(a=Sum("amount"))["a"] or 0
        assert refunded == original.refunded_total <= original.amount
