"""`onecard ledger verify`: clean books pass; a tampered amount, balance or chain link exits 1, named."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from onecard.loyalty.ledger import services as ledger
from onecard.loyalty.ledger.verify import verify_ledger
from onecard.loyalty.models import Account, Posting


def run_verify():
    """(exit status, stdout, stderr) of `onecard ledger verify`."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("ledger", "verify", stdout=out, stderr=err)
    except CommandError as error:
        return error.returncode, out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


def behind_the_ledgers_back(sql, params):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.fixture
def busy_books(books):
    books.topup(10_000)
    books.charge(2_500)
    charge = books.charge(1_000)
    ledger.reverse(charge.entry)
    return books


def test_clean_books_pass(busy_books):
    status, out, err = run_verify()
    assert status == 0
    assert "Checked 5 accounts, 4 entries, 8 postings" in out
    assert "Ledger OK" in out
    assert err == ""


def test_a_tampered_posting_amount_is_found(busy_books):
    # given: someone adds ¥1 to the member's first posting
    posting = Posting.objects.get(account=busy_books.principal, seq=1)
    behind_the_ledgers_back("UPDATE loyalty_posting SET amount = amount + 100 WHERE id = %s", [posting.pk])
    # when
    status, _out, err = run_verify()
    report = verify_ledger()
    # then
    assert status == 1
    checks = {(p.check, p.subject) for p in report.problems}
    principal = busy_books.principal.pk
    assert ("hash_mismatch", f"account {principal} posting seq 1 (entry {posting.entry_id})") in checks
    assert ("balance_mismatch", f"account {principal} (member_principal)") in checks
    assert ("entry_unbalanced", f"entry {posting.entry_id}") in checks
    assert f"account {principal} posting seq 1" in err


def test_a_balance_edited_behind_the_ledgers_back_is_found(busy_books):
    behind_the_ledgers_back(
        "UPDATE loyalty_account SET balance = balance + 500 WHERE id = %s", [busy_books.principal.pk]
    )
    status, _out, err = run_verify()
    assert status == 1
    assert (
        f"account {busy_books.principal.pk} (member_principal): balance_mismatch: cached balance 8000" in err
    )
    assert "postings sum to 7500" in err


def test_a_broken_chain_is_found(busy_books):
    # given: the third posting of the member account no longer links to the second
    third = Posting.objects.get(account=busy_books.principal, seq=3)
    behind_the_ledgers_back("UPDATE loyalty_posting SET prev_hash = %s WHERE id = %s", ["f" * 64, third.pk])
    # when
    report = verify_ledger()
    # then
    assert [p.check for p in report.problems] == ["chain_broken", "hash_mismatch"]
    assert (
        report.problems[0].subject
        == f"account {busy_books.principal.pk} posting seq 3 (entry {third.entry_id})"
    )
    assert run_verify()[0] == 1


def test_a_deleted_posting_is_found(busy_books):
    second = Posting.objects.get(account=busy_books.principal, seq=2)
    behind_the_ledgers_back("DELETE FROM loyalty_posting WHERE id = %s", [second.pk])
    checks = {p.check for p in verify_ledger().problems}
    assert {
        "sequence_gap",
        "chain_broken",
        "entry_incomplete",
        "entry_unbalanced",
        "balance_mismatch",
    } <= checks


def test_a_reversal_that_is_not_the_exact_opposite_is_found(busy_books):
    reversal_entry = Account.objects.get(pk=busy_books.principal.pk).postings.order_by("-seq").first().entry
    behind_the_ledgers_back(
        "UPDATE loyalty_posting SET amount = amount - 1 WHERE entry_id = %s AND account_id = %s",
        [reversal_entry.pk, busy_books.principal.pk],
    )
    behind_the_ledgers_back(
        "UPDATE loyalty_posting SET amount = amount + 1 WHERE entry_id = %s AND account_id = %s",
        [reversal_entry.pk, busy_books.revenue.pk],
    )
    assert "reversal_mismatch" in {p.check for p in verify_ledger().problems}
