"""Many tills at once on one card through the signed money API (PostgreSQL):

- hammer: 20 API clients on one card for 10 s (top-up, charge, hold/capture/void, refund, replays), each
  call with its own Idempotency-Key: every 200 is in the journal exactly once, nothing refused is;
- replay: five parallel copies of a refused charge get one identical refusal, which stays after a top-up;
- holds: capture racing void, exactly one wins;
- refunds: parallel refunds of one charge never exceed it.
"""

import random
import threading
import time
from collections import Counter

import pytest
from django.db import connection
from django.db.models import Sum

from onecard.core.models import IdempotencyKey
from onecard.loyalty.models import Account, JournalEntry, Posting
from onecard.loyalty.models.stored_value import CardTransaction, CardTxKind, CardTxStatus
from onecard.loyalty.stored_value import holds
from onecard.loyalty.stored_value import services as stored_value
from onecard.testing.concurrency import run_clients
from onecard.testing.pos import idempotency_key, problem_code, send_keyed, stored_key, terminal_transactions
from onecard.testing.stored_value import assert_ledger_clean, balances, bonus_rule, sv_card

pytestmark = pytest.mark.usefixtures("api_urls")  # served the API urlconf only

BASE = "/api/v1/pos"
HAMMER_CLIENTS = 20
HAMMER_SECONDS = 10
EXPECTED_REFUSALS = {"insufficient_balance", "balance_cap_exceeded", "over_refund", "hold_not_open"}


# ---- hammer through the API --------------------------------------------------------------------------------


def _replay_an_answered_call(rng, pos, terminal, answered, replays):
    """A till retries one of its answered calls: the same answer comes back, replayed, with no new effect."""
    path, payload, key, status, body = rng.choice(answered)
    again = send_keyed(pos, terminal, path, payload, key)
    assert (again.status_code, again.json()) == (status, body), (path, key)
    assert again["Idempotent-Replayed"] == "true"
    replays[status] += 1


def _charge(rng, call, card_no, mine):
    """Charge a random amount; a charge that passes joins `mine` as (id, amount)."""
    status, body = call(f"{BASE}/charges", {"card_no": card_no, "amount": rng.randint(100, 9_000)})
    if status == 200:
        mine.append((body["transaction"]["id"], body["transaction"]["amount"]))


def _hold_then_capture_or_void(rng, call, card_no, mine):
    """Hold a random amount, then capture all or half of it (a capture joins `mine`) or void it."""
    status, body = call(f"{BASE}/holds", {"card_no": card_no, "amount": rng.randint(100, 6_000)})
    if status == 200:
        hold_id, held = body["transaction"]["id"], body["transaction"]["amount"]
        if rng.random() < 0.6:
            payload = rng.choice([{}, {"amount": max(1, held // 2)}])
            status, body = call(f"{BASE}/holds/{hold_id}/capture", payload)
            if status == 200:
                mine.append((body["transaction"]["id"], body["transaction"]["amount"]))
        else:
            call(f"{BASE}/holds/{hold_id}/void", {})


def _refund_one_of_mine(rng, call, mine):
    """Refund part of one of my charges or captures, or (three times in ten) the rest of it."""
    tx_id, amount = rng.choice(mine)
    payload = {"transaction_id": tx_id, "reason": "hammer"}
    if rng.random() < 0.7:
        payload["amount"] = rng.randint(1, max(1, amount // 2))
    call(f"{BASE}/refunds", payload)


def _assert_every_acked_call_journalled_once_under_its_key(terminal, acked):
    """The terminal's transactions and journal entries are exactly the acknowledged calls, one per key."""
    rows = terminal_transactions(terminal)
    by_key = Counter(rows.values_list("idempotency_key", flat=True))
    assert set(by_key) == {stored_key(terminal, key) for key in acked}
    assert set(by_key.values()) == {1}
    assert dict(rows.values_list("idempotency_key", "pk")) == {
        stored_key(terminal, key): int(tx_id) for key, tx_id in acked.items()
    }
    entry_keys = set(
        JournalEntry.objects.filter(
            idempotency_key__startswith=f"terminal:{terminal.terminal.pk}:"
        ).values_list("idempotency_key", flat=True)
    )
    assert entry_keys == set(by_key)


def _assert_the_card_holds_what_its_transactions_add_up_to(card):
    """Balances are top-ups less spending plus refunds, held is open holds, no refund exceeds its charge."""
    principal, bonus, held = balances(card)
    card_rows = CardTransaction.objects.filter(card=card)
    sums = {
        kind: card_rows.filter(kind=kind).aggregate(a=Sum("amount"), b=Sum("bonus"))
        for kind in CardTxKind.values
    }
    topped = (sums["topup"]["a"] or 0) + (sums["topup"]["b"] or 0)
    spent = (sums["charge"]["a"] or 0) + (sums["capture"]["a"] or 0)
    assert principal + bonus + held == topped - spent + (sums["refund"]["a"] or 0)
    open_held = card_rows.filter(kind=CardTxKind.HOLD, status=CardTxStatus.OPEN).aggregate(a=Sum("amount"))[
        "a"
    ]
    assert held == (open_held or 0)
    for original in card_rows.filter(kind__in=[CardTxKind.CHARGE, CardTxKind.CAPTURE]):
        refunded = original.followups.filter(kind=CardTxKind.REFUND).aggregate(a=Sum("amount"))["a"] or 0
        assert refunded == original.refunded_total <= original.amount


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_twenty_api_clients_hammer_one_card_for_ten_seconds(chain, member_factory, terminal, pos):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL")
    # given one card with ¥1,000 (+¥100 bonus) under a bonus rule, and 20 tills of one terminal
    card = sv_card(chain, member_factory())
    bonus_rule(chain, [[5_000, 500], [100_000, 10_000]])
    stored_value.topup(None, card, 100_000, store=chain.a1)
    card_no = card.number
    acked, refusals, replays, lowest = {}, Counter(), Counter(), []
    lock = threading.Lock()
    deadline = time.monotonic() + HAMMER_SECONDS

    def client(n):
        rng = random.Random(n)
        mine, answered = (
            [],
            [],
        )  # my charges/captures (id, amount), my answered calls (path, payload, key, json)

        def call(path, payload):
            key = idempotency_key()
            response = send_keyed(pos, terminal, path, payload, key)
            body = response.json()
            if response.status_code == 200:
                with lock:
                    acked[key] = body["transaction"]["id"]
            else:
                assert response.status_code == 422 and body["code"] in EXPECTED_REFUSALS, (path, body)
                with lock:
                    refusals[body["code"]] += 1
            answered.append((path, payload, key, response.status_code, body))
            return response.status_code, body

        while time.monotonic() < deadline:
            op = rng.random()
            if op < 0.05 and answered:  # a till retries an answered call: the same answer, no new effect
                _replay_an_answered_call(rng, pos, terminal, answered, replays)
            elif op < 0.28:
                call(f"{BASE}/topups", {"card_no": card_no, "amount": rng.randint(100, 8_000)})
            elif op < 0.55:
                _charge(rng, call, card_no, mine)
            elif op < 0.8:
                _hold_then_capture_or_void(rng, call, card_no, mine)
            elif mine:
                _refund_one_of_mine(rng, call, mine)
            if rng.random() < 0.1:
                with lock:
                    lowest.append(min(balances(card)))

    # when
    run_clients(HAMMER_CLIENTS, client)

    # then: every acknowledged call is in the journal exactly once, under its key; nothing else is
    print(f"api hammer: {len(acked)} acknowledged, refusals={dict(refusals)}, replays={dict(replays)}")
    assert len(acked) > 60, len(acked)  # ~190 in 10 s on the shared 2-core machine
    _assert_every_acked_call_journalled_once_under_its_key(terminal, acked)
    # the balance never went below zero, and the card holds what its transactions add up to
    assert min(lowest) >= 0
    assert not Posting.objects.filter(account__must_not_go_negative=True, balance_after__lt=0).exists()
    _assert_the_card_holds_what_its_transactions_add_up_to(card)
    # and all accounts sum to zero, the books verify
    assert Account.objects.aggregate(total=Sum("balance"))["total"] == 0
    assert_ledger_clean()


# ---- replay ------------------------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_five_parallel_copies_of_a_refused_charge_get_one_identical_refusal_that_stays(
    chain, member_factory, terminal, pos
):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL")
    # given ¥10 on the card and five copies of one ¥50 charge arriving at once under one key
    card = sv_card(chain, member_factory())
    stored_value.topup(None, card, 1_000, store=chain.a1)
    key, payload = idempotency_key(), {"card_no": card.number, "amount": 5_000}
    barrier = threading.Barrier(5)
    answers = [None] * 5

    def client(n):
        barrier.wait()
        answers[n] = send_keyed(pos, terminal, f"{BASE}/charges", payload, key)

    # when
    run_clients(5, client)
    # then one refusal is stored and all five answers are it, word for word
    assert [a.status_code for a in answers] == [422] * 5
    assert all(a.json() == answers[0].json() for a in answers)
    assert problem_code(answers[0]) == "insufficient_balance"
    assert sorted(a["Idempotent-Replayed"] for a in answers) == ["false"] + ["true"] * 4
    assert IdempotencyKey.objects.filter(key=key).values_list("status", flat=True).get() == 422
    # and after a top-up the key stays refused, nothing charged
    stored_value.topup(None, card, 10_000, store=chain.a1)
    again = send_keyed(pos, terminal, f"{BASE}/charges", payload, key)
    assert again.status_code == 422 and again.json() == answers[0].json()
    assert not CardTransaction.objects.filter(card=card, kind=CardTxKind.CHARGE).exists()
    assert balances(card) == (11_000, 0, 0)
    assert_ledger_clean()


# ---- holds -----------------------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_capture_racing_void_through_the_api_exactly_one_wins(chain, member_factory, terminal, pos):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL")
    # given a card with ¥100 and ten rounds of one ¥5 hold, captured (¥3) and voided at the same moment
    card = sv_card(chain, member_factory())
    stored_value.topup(None, card, 10_000, store=chain.a1)
    captured = 0
    for _round in range(10):
        hold = holds.hold(None, card, 500, store=chain.a1)
        barrier = threading.Barrier(2)
        answers = [None, None]

        def client(n, hold=hold, barrier=barrier, answers=answers):
            path = f"{BASE}/holds/{hold.pk}/capture" if n == 0 else f"{BASE}/holds/{hold.pk}/void"
            payload = {"amount": 300} if n == 0 else {}
            barrier.wait()
            answers[n] = send_keyed(pos, terminal, path, payload, idempotency_key())

        run_clients(2, client)
        # then exactly one 200; the loser is hold_not_open; one closing row
        statuses = sorted((a.status_code, problem_code(a) if a.status_code != 200 else None) for a in answers)
        assert statuses == [(200, None), (422, "hold_not_open")], statuses
        hold.refresh_from_db()
        winner = "captured" if answers[0].status_code == 200 else "voided"
        assert hold.status == winner
        assert CardTransaction.objects.filter(original=hold).count() == 1
        captured += 300 if winner == "captured" else 0
        assert balances(card) == (10_000 - captured, 0, 0)
    assert_ledger_clean()


# ---- refunds ---------------------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_parallel_refunds_of_one_charge_never_exceed_it(chain, member_factory, terminal, pos):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL")
    # given a charge of ¥100
    card = sv_card(chain, member_factory())
    stored_value.topup(None, card, 20_000, store=chain.a1)
    sale = stored_value.charge(None, card, 10_000, store=chain.a1)
    barrier = threading.Barrier(8)
    answers = [None] * 8

    def client(n):
        barrier.wait()
        payload = {"transaction_id": str(sale.pk), "amount": 1_500, "reason": f"part {n}"}
        answers[n] = send_keyed(pos, terminal, f"{BASE}/refunds", payload, idempotency_key())

    # when eight tills refund ¥15 each at the same moment (¥120 asked of ¥100)
    run_clients(8, client)
    # then six pass, two are over_refund, and ¥90 went back
    outcomes = Counter(a.status_code if a.status_code == 200 else problem_code(a) for a in answers)
    assert outcomes == {200: 6, "over_refund": 2}, outcomes
    sale.refresh_from_db()
    assert sale.refunded_total == 9_000
    assert (
        CardTransaction.objects.filter(original=sale, kind=CardTxKind.REFUND).aggregate(a=Sum("amount"))["a"]
        == 9_000
    )

    # when five tills refund "the rest" at the same moment
    barrier = threading.Barrier(5)
    rest = [None] * 5

    def rest_client(n):
        barrier.wait()
        payload = {"transaction_id": str(sale.pk), "reason": f"rest {n}"}
        rest[n] = send_keyed(pos, terminal, f"{BASE}/refunds", payload, idempotency_key())

    run_clients(5, rest_client)
    # then exactly one gives back the last ¥10
    outcomes = Counter(a.status_code if a.status_code == 200 else problem_code(a) for a in rest)
    assert outcomes == {200: 1, "over_refund": 4}, outcomes
    sale.refresh_from_db()
    assert sale.refunded_total == 10_000
    assert balances(card) == (20_000, 0, 0)
    assert_ledger_clean()
