"""PostgreSQL only: many clients at once on the same accounts, each on its own connection.

SQLite serialises writers with BEGIN IMMEDIATE, so only a real server shows whether the row
locks, their order and the idempotency claim hold under contention.
"""

import random
import threading
import time
from collections import Counter

import pytest
from django.db.models import Sum

from onecard.core.idempotency import run_idempotent
from onecard.loyalty.ledger import services as ledger
from onecard.loyalty.ledger.choices import AccountKind, EntryKind
from onecard.loyalty.ledger.errors import InsufficientBalance
from onecard.loyalty.ledger.verify import verify_ledger
from onecard.loyalty.models import Account, JournalEntry, Posting
from onecard.testing.concurrency import run_clients
from onecard.testing.ledger import make_books

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_twenty_clients_moving_money_between_three_accounts_keep_the_books_exact(chain, member_factory):
    # given: two members and the store's cash account; member A starts with ¥1,000
    books = make_books(chain, member_factory())
    other = ledger.open_account(AccountKind.MEMBER_PRINCIPAL, chain.merchant, member=member_factory())
    accounts = [books.principal.pk, other.pk, books.cash.pk]
    books.topup(100_000, business_ref="seed")
    acknowledged, refused = [], []
    deadline = time.monotonic() + 2.5

    def client(n):
        rng = random.Random(n)
        i = 0
        while time.monotonic() < deadline:
            i += 1
            source, destination = rng.sample(accounts, 2)
            amount = rng.randint(1, 40_000)
            ref = f"hammer:{n}:{i}"

            def move(source=source, destination=destination, amount=amount, ref=ref):
                return ledger.transfer(
                    source,
                    destination,
                    amount,
                    kind=EntryKind.TRANSFER,
                    merchant=chain.merchant,
                    business_ref=ref,
                )

            if i % 2:  # half through the idempotency layer, as the POS API will call it
                result = run_idempotent(
                    ref, [source, destination, amount], lambda m=move: (201, {"entry": m().entry.pk})
                )
                outcome = "ok" if result.status == 201 else result.body["code"]
            else:
                try:
                    move()
                    outcome = "ok"
                except InsufficientBalance as error:
                    outcome = error.code
            if outcome == "ok":
                acknowledged.append((ref, source, destination, amount))
            else:
                assert outcome == "insufficient_balance"
                refused.append(ref)

    # when
    run_clients(20, client)

    # then: every acknowledged operation is in the journal exactly once, and nothing else is
    refs = Counter(
        JournalEntry.objects.filter(business_ref__startswith="hammer:").values_list("business_ref", flat=True)
    )
    assert set(refs) == {ref for ref, *_ in acknowledged}
    assert set(refs.values()) == {1}
    print(f"hammer: {len(acknowledged)} acknowledged, {len(refused)} refused in 2.5 s")
    assert len(acknowledged) > 100, f"only {len(acknowledged)} operations in 2.5 s"
    # the balances are what the acknowledged operations add up to
    expected = {books.principal.pk: 100_000, other.pk: 0, books.cash.pk: -100_000}
    for _ref, source, destination, amount in acknowledged:
        expected[source] -= amount
        expected[destination] += amount
    assert dict(Account.objects.filter(pk__in=accounts).values_list("pk", "balance")) == expected
    # no member balance was ever negative, all accounts sum to zero, and the books verify
    assert not Posting.objects.filter(account__must_not_go_negative=True, balance_after__lt=0).exists()
    assert Account.objects.aggregate(total=Sum("balance"))["total"] == 0
    assert verify_ledger().problems == []


def test_five_parallel_charges_with_one_key_make_one_effect_and_identical_answers(books):
    # given: ¥100 on the card, five copies of one ¥60 charge arriving at once
    books.topup(10_000)
    barrier = threading.Barrier(5)
    answers = []

    def charge():
        posted = books.charge(6_000)
        return 201, {"entry": str(posted.entry.pk), "balance": posted.balance(books.principal)}

    def client(_n):
        barrier.wait()
        answers.append(run_idempotent("charge-1", {"amount": 6_000}, charge, scope="terminal:1"))

    # when
    run_clients(5, client)

    # then
    assert Account.objects.get(pk=books.principal.pk).balance == 4_000
    assert (
        JournalEntry.objects.filter(kind=EntryKind.CHARGE, idempotency_key="terminal:1:charge-1").count() == 1
    )
    assert len({(a.status, tuple(a.body.items())) for a in answers}) == 1
    assert answers[0].body["balance"] == 4_000
    assert sorted(a.replayed for a in answers) == [False, True, True, True, True]
