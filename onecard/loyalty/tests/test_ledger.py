"""ledger.post / transfer / reverse: balances, refusals that write nothing, the hash chain, the guards."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext

from onecard.core import hashchain
from onecard.core.idempotency import run_idempotent
from onecard.loyalty.ledger import services as ledger
from onecard.loyalty.ledger.choices import AccountKind, Currency, EntryKind
from onecard.loyalty.ledger.errors import (
    AccountNotFound,
    AlreadyReversed,
    CannotReverseReversal,
    InsufficientBalance,
    InsufficientPoints,
    InvalidAmount,
    LedgerError,
)
from onecard.loyalty.ledger.services import EntrySpec, leg
from onecard.loyalty.models import Account, JournalEntry, LedgerWriteRefused, Posting


def balances(*accounts):
    return [Account.objects.get(pk=a.pk).balance for a in accounts]


def journal_size():
    return JournalEntry.objects.count(), Posting.objects.count()


def test_topup_and_charge_move_value_and_all_accounts_sum_to_zero(books):
    # given / when
    books.topup(50_000)
    posted = books.charge(12_345)
    # then
    assert balances(books.cash, books.principal, books.revenue) == [-50_000, 37_655, 12_345]
    assert posted.balance(books.principal) == 37_655
    assert Account.objects.aggregate(total=Sum("balance"))["total"] == 0
    assert [(p.account_id, p.amount) for p in posted.postings] == sorted(
        [(books.principal.pk, -12_345), (books.revenue.pk, 12_345)]
    )


def test_one_entry_may_move_yuan_and_points_each_summing_to_zero(books):
    # given
    books.topup(10_000)
    # when: a charge that also earns 99 points
    posted = ledger.post(
        EntrySpec(
            kind=EntryKind.CHARGE,
            merchant=books.merchant,
            node=books.store,
            actor=books.cashier,
            legs=[
                leg(books.principal, -9_900),
                leg(books.revenue, 9_900),
                leg(books.points, 99),
                leg(books.points_issued, -99),
            ],
        )
    )
    # then
    assert balances(books.principal, books.points, books.points_issued) == [100, 99, -99]
    assert posted.entry.actor_id == books.cashier.pk
    assert len(posted.postings) == 4


def test_insufficient_balance_is_refused_and_nothing_is_written(books):
    # given
    books.topup(1_000)
    before = journal_size()
    # when
    with pytest.raises(InsufficientBalance) as refused:
        books.charge(1_001)
    # then
    assert refused.value.code == "insufficient_balance"
    assert refused.value.extra == {"account": books.principal.pk, "available": 1_000, "requested": 1_001}
    assert journal_size() == before
    assert balances(books.principal, books.revenue) == [1_000, 0]
    assert Account.objects.get(pk=books.principal.pk).version == 1


def test_points_shortfall_has_its_own_code(books):
    with pytest.raises(InsufficientPoints) as refused:
        ledger.transfer(books.points, books.points_issued, 5, kind=EntryKind.REDEEM, merchant=books.merchant)
    assert refused.value.code == "insufficient_points"


def test_the_store_side_may_go_negative_but_the_member_side_may_not(books):
    # when: a top-up takes the store cash account below zero
    books.topup(100)
    # then
    assert balances(books.cash) == [-100]
    assert Account.objects.get(pk=books.cash.pk).must_not_go_negative is False
    assert Account.objects.get(pk=books.principal.pk).must_not_go_negative is True


@pytest.mark.parametrize("amount", [0, -5, 1.5, Decimal("10.00"), True, "100", 10**13 + 1])
def test_amounts_that_are_not_positive_integer_fen_are_refused(books, amount):
    before = journal_size()
    with pytest.raises(InvalidAmount) as refused:
        books.topup(amount)
    assert refused.value.code == "invalid_amount"
    assert journal_size() == before


def test_unbalanced_or_malformed_entries_are_bugs_and_write_nothing(books):
    before = journal_size()
    spec = dict(kind=EntryKind.ADJUST, merchant=books.merchant)
    with pytest.raises(LedgerError, match="sum to zero"):
        ledger.post(EntrySpec(**spec, legs=[leg(books.cash, -100), leg(books.principal, 99)]))
    # yuan and points never offset each other
    with pytest.raises(LedgerError, match="sum to zero"):
        ledger.post(EntrySpec(**spec, legs=[leg(books.cash, -100), leg(books.points, 100)]))
    with pytest.raises(LedgerError, match="once"):
        ledger.post(EntrySpec(**spec, legs=[leg(books.cash, -100), leg(books.cash, 100)]))
    with pytest.raises(LedgerError, match="two legs"):
        ledger.post(EntrySpec(**spec, legs=[leg(books.cash, 100)]))
    with pytest.raises(LedgerError, match="kind"):
        ledger.post(
            EntrySpec(
                kind="gift", merchant=books.merchant, legs=[leg(books.cash, -1), leg(books.principal, 1)]
            )
        )
    with pytest.raises(AccountNotFound):
        ledger.post(EntrySpec(**spec, legs=[leg(books.cash, -100), leg(987_654, 100)]))
    assert journal_size() == before


def test_reverse_posts_the_exact_opposite_pointing_at_the_original(books):
    # given
    books.topup(20_000)
    charge = books.charge(5_000, business_ref="order:42")
    # when
    reversal = ledger.reverse(charge.entry, actor=books.cashier, memo="wrong amount")
    # then
    assert balances(books.principal, books.revenue) == [20_000, 0]
    assert reversal.entry.reverses_id == charge.entry.pk
    assert reversal.entry.kind == EntryKind.REVERSAL
    assert reversal.entry.business_ref == "order:42"
    assert JournalEntry.objects.get(pk=charge.entry.pk).reversed_by == reversal.entry
    assert sorted((p.account_id, p.amount) for p in reversal.postings) == sorted(
        (p.account_id, -p.amount) for p in charge.postings
    )
    # the original is untouched: 2 entries for the charge and its reversal, plus the top-up
    assert Posting.objects.filter(entry=charge.entry).count() == 2
    assert JournalEntry.objects.count() == 3


def test_an_entry_is_reversed_at_most_once_and_a_reversal_not_at_all(books):
    books.topup(1_000)
    charge = books.charge(300)
    reversal = ledger.reverse(charge.entry)
    with pytest.raises(AlreadyReversed) as twice:
        ledger.reverse(charge.entry.pk)
    assert twice.value.code == "already_reversed"
    with pytest.raises(CannotReverseReversal):
        ledger.reverse(reversal.entry)
    assert balances(books.principal) == [1_000]


def test_a_top_up_already_spent_cannot_be_reversed(books):
    topup = books.topup(1_000)
    books.charge(600)
    with pytest.raises(InsufficientBalance):
        ledger.reverse(topup.entry)
    assert balances(books.principal) == [400]


def test_each_account_has_its_own_hash_chain(books):
    # given / when
    first = books.topup(700)
    second = books.charge(200)
    # then
    p1 = Posting.objects.get(entry=first.entry, account=books.principal)
    p2 = Posting.objects.get(entry=second.entry, account=books.principal)
    assert (p1.seq, p1.prev_hash) == (1, ledger.GENESIS_HASH)
    assert (p2.seq, p2.prev_hash, p2.balance_after) == (2, p1.hash, 500)
    entry = JournalEntry.objects.get(pk=second.entry.pk)
    account = Account.objects.get(pk=books.principal.pk)
    assert entry.hash_version == 2
    assert p2.hash == ledger.posting_hash(
        p1.hash,
        entry.pk,
        books.principal.pk,
        2,
        -200,
        500,
        (account.key, "CNY", True),
        hashchain.digest(ledger.entry_fields(entry)),
    )
    assert (account.version, account.last_entry_hash) == (2, p2.hash)


def test_posting_takes_four_statements_whatever_the_number_of_legs(books):
    books.topup(10_000)
    four_legs = [
        leg(books.principal, -1_000),
        leg(books.revenue, 1_000),
        leg(books.points, 10),
        leg(books.points_issued, -10),
    ]
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        ledger.post(EntrySpec(kind=EntryKind.CHARGE, merchant=books.merchant, legs=four_legs))
    # lock accounts, insert entry, insert postings, update balances
    assert len(queries) == 4, [q["sql"] for q in queries]


def test_balances_cannot_be_written_outside_the_ledger(books):
    books.topup(500)
    account = Account.objects.get(pk=books.principal.pk)
    account.balance = 1_000_000
    with pytest.raises(LedgerWriteRefused):
        account.save()
    with pytest.raises(LedgerWriteRefused):
        Account.objects.filter(pk=account.pk).update(balance=7)
    with pytest.raises(LedgerWriteRefused):
        Account.objects.create(
            kind=AccountKind.ADJUSTMENT, currency="CNY", merchant=books.merchant, balance=5
        )
    # a stale copy saved after a posting does not undo the posting
    stale = Account.objects.get(pk=books.principal.pk)
    books.charge(100)
    stale.must_not_go_negative = True
    stale.save()
    assert balances(books.principal) == [400]


def test_the_journal_is_append_only(books):
    posted = books.topup(500)
    posting = Posting.objects.filter(entry=posted.entry).first()
    posting.amount = 1
    with pytest.raises(LedgerWriteRefused):
        posting.save()
    with pytest.raises(LedgerWriteRefused):
        posted.entry.delete()
    with pytest.raises(LedgerWriteRefused):
        JournalEntry.objects.all().delete()
    with pytest.raises(LedgerWriteRefused):
        Posting.objects.filter(pk=posting.pk).update(amount=1)


def test_the_database_refuses_a_negative_member_balance_as_the_last_guard(books):
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE loyalty_account SET balance = -1 WHERE id = %s", [books.principal.pk])
    assert balances(books.principal) == [0]


def test_open_account_finds_the_same_account_and_derives_its_rules(books, member_factory):
    again = ledger.open_account(AccountKind.MEMBER_PRINCIPAL, books.merchant, member=books.member)
    assert again.pk == books.principal.pk
    assert (books.points.currency, books.points.must_not_go_negative) == (Currency.POINTS, True)
    assert (books.cash.currency, books.cash.must_not_go_negative) == (Currency.CNY, False)
    by_card = ledger.open_account(AccountKind.MEMBER_BONUS, books.merchant, card_id=9001)
    assert by_card.card_id == 9001 and by_card.member_id is None
    with pytest.raises(LedgerError):
        ledger.open_account(AccountKind.MEMBER_PRINCIPAL, books.merchant)
    with pytest.raises(LedgerError):
        ledger.open_account(AccountKind.CLEARING, books.merchant, node=books.store)


def test_a_key_refused_for_lack_of_funds_stays_refused_after_a_top_up(books):
    """Through run_idempotent, as the POS API calls the ledger."""
    books.topup(1_000)

    def charge():
        posted = books.charge(5_000)
        return 201, {"entry": posted.entry.pk}

    refused = run_idempotent("charge-2", {"amount": 5_000}, charge)
    books.topup(10_000)
    again = run_idempotent("charge-2", {"amount": 5_000}, charge)
    assert (refused.status, refused.body["code"]) == (422, "insufficient_balance")
    assert (again.status, again.body, again.replayed) == (422, refused.body, True)
    assert Account.objects.get(pk=books.principal.pk).balance == 11_000


def test_entries_posted_under_an_idempotency_key_record_it(books):
    books.topup(1_000)
    result = run_idempotent(
        "k-77", {"amount": 300}, lambda: (201, {"entry": books.charge(300).entry.pk}), scope="terminal:3"
    )
    assert JournalEntry.objects.get(pk=result.body["entry"]).idempotency_key == "terminal:3:k-77"
