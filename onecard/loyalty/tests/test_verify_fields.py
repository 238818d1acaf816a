"""`onecard ledger verify` names every field of an entry, a posting or an account that was changed behind its back.

Each case edits one column directly in the database (QuerySet.update from Django's own QuerySet, past
the journal's refusal) and expects verify to fail and name the entry (or posting, or account) and
the field. A completeness test keeps the cases in step with the models' columns.
"""

import datetime
import io
from types import SimpleNamespace

import pytest
from django.core.management import CommandError, call_command
from django.db.models import QuerySet

from onecard.core import hashchain
from onecard.loyalty.ledger import services as ledger
from onecard.loyalty.ledger.verify import verify_ledger
from onecard.loyalty.models import Account, JournalEntry, Posting
from onecard.testing.ledger import make_books


def behind_the_ledgers_back(model, pk, **values):
    """UPDATE one row as a database user would: no model, no journal guard."""
    assert QuerySet.update(model.objects.filter(pk=pk), **values) == 1


def problems(report):
    return [(p.check, p.subject, p.detail) for p in report.problems]


@pytest.fixture
def posted(chain, member_factory):
    """A top-up, a charge carrying every optional field, and a later charge, all under rule 2."""
    books = make_books(chain, member_factory())
    topup = books.topup(10_000, actor=chain.cashier_a1, memo="充值", business_ref="pos:1").entry
    charge = books.charge(
        2_500,
        actor=chain.cashier_a1,
        memo="消费 8801",
        business_ref="pos:2",
        idempotency_key="terminal:7:k-2",
        refers_to=topup,
    ).entry
    later = books.charge(100).entry
    assert verify_ledger().ok
    return SimpleNamespace(books=books, chain=chain, topup=topup, charge=charge, later=later)


# ---- the entry ----------------------------------------------------------------------------------------

# column → (the value it is changed to, given the fixtures), the field verify names
ENTRY_TAMPERS = {
    "kind": lambda p: "refund",  # a charge relabelled as a refund
    "merchant_id": lambda p: p.chain.other.pk,
    "node_id": lambda p: p.chain.b1.pk,  # moves the money to another store in settlement
    "actor_id": lambda p: p.chain.store_manager.pk,
    "created_at": lambda p: p.charge.created_at + datetime.timedelta(seconds=1),
    "memo": lambda p: "退款",
    "reverses_id": lambda p: p.topup.pk,
    "refers_to_id": lambda p: p.later.pk,
    "idempotency_key": lambda p: "terminal:7:k-3",
    "business_ref": lambda p: "pos:999",
}


@pytest.mark.parametrize("column", sorted(ENTRY_TAMPERS))
def test_each_field_of_an_entry_changed_in_the_database_is_named(posted, column):
    # given a charge posted under rule 2
    entry = posted.charge
    # when one of its columns is changed in the database
    behind_the_ledgers_back(JournalEntry, entry.pk, **{column: ENTRY_TAMPERS[column](posted)})
    report = verify_ledger()
    # then verify fails, says the entry's contents changed and names the field
    name = column.removesuffix("_id")
    assert ("entry_changed", f"entry {entry.pk}", f"{name} changed since the entry was posted") in problems(
        report
    )
    # and every posting of the entry no longer matches its hash
    mismatched = {p.subject for p in report.problems if p.check == "hash_mismatch"}
    assert mismatched == {
        f"account {p.account_id} posting seq {p.seq} (entry {entry.pk})" for p in entry.postings.all()
    }
    status, err = run_verify()
    assert status == 1
    assert f"entry {entry.pk}: entry_changed: {name} changed since the entry was posted" in err


def test_two_fields_changed_at_once_are_both_named(posted):
    behind_the_ledgers_back(JournalEntry, posted.charge.pk, kind="refund", node_id=posted.chain.b1.pk)
    assert (
        "entry_changed",
        f"entry {posted.charge.pk}",
        "kind, node changed since the entry was posted",
    ) in problems(verify_ledger())


def test_an_entry_labelled_with_the_old_hash_rule_is_named(posted):
    # given someone marks a rule-2 entry as rule 1 (which did not cover its kind), then relabels it
    behind_the_ledgers_back(JournalEntry, posted.charge.pk, hash_version=1, kind="refund")
    report = verify_ledger()
    # then the downgrade is named, and the postings still fail (they were hashed under rule 2)
    assert (
        "entry_changed",
        f"entry {posted.charge.pk}",
        "hash_version: written under rule 2 (it has field hashes), now 1",
    ) in problems(report)
    assert "hash_mismatch" in {p.check for p in report.problems}


def test_an_unknown_hash_rule_is_named(posted):
    behind_the_ledgers_back(JournalEntry, posted.charge.pk, hash_version=9)
    assert (
        "entry_changed",
        f"entry {posted.charge.pk}",
        "hash_version: 9 is not a known rule",
    ) in problems(verify_ledger())


def test_edited_field_hashes_are_named_while_the_contents_still_match(posted):
    # given only the stored field hashes are edited (the kind's four digits)
    entry = JournalEntry.objects.get(pk=posted.charge.pk)
    behind_the_ledgers_back(JournalEntry, entry.pk, field_hashes="ffff" + entry.field_hashes[4:])
    report = verify_ledger()
    # then verify says so, and that the entry itself is intact (its postings match)
    assert problems(report) == [
        (
            "field_hashes_mismatch",
            f"entry {entry.pk}",
            "field_hashes differ in kind, but its postings' hashes match its contents",
        )
    ]


def test_a_renumbered_entry_leaves_its_postings_behind(posted):
    # given the charge's id is changed (its postings still name the old id)
    new_id = posted.later.pk + 1000
    behind_the_ledgers_back(JournalEntry, posted.charge.pk, id=new_id)
    checks = {(p.check, p.subject) for p in verify_ledger().problems}
    # then the new id has no postings, and the accounts' chains miss theirs
    assert ("entry_incomplete", f"entry {new_id}") in checks
    behind_the_ledgers_back(JournalEntry, new_id, id=posted.charge.pk)  # the test database checks its keys
    assert (
        "sequence_gap",
        f"account {posted.books.principal.pk} posting seq 3 (entry {posted.later.pk})",
    ) in checks


def test_every_column_of_an_entry_is_covered():
    # id: covered by each posting's link (test above); field_hashes and hash_version: tests above
    columns = {f.attname for f in JournalEntry._meta.concrete_fields}
    assert columns == {*ENTRY_TAMPERS, "id", "field_hashes", "hash_version"}
    assert set(ledger.ENTRY_HASHED_FIELDS) == columns - {"id", "field_hashes"}


# ---- the postings -------------------------------------------------------------------------------------


def _principal_posting(posted):
    return Posting.objects.get(entry=posted.charge, account=posted.books.principal)


# column → (new value, the check that names the posting)
POSTING_TAMPERS = {
    "amount": (lambda p, row: row.amount - 100, "hash_mismatch"),
    "balance_after": (lambda p, row: row.balance_after + 100, "balance_after_mismatch"),
    "seq": (lambda p, row: row.seq + 10, "sequence_gap"),
    "prev_hash": (lambda p, row: "f" * 64, "chain_broken"),
    "hash": (lambda p, row: "f" * 64, "hash_mismatch"),
    "entry_id": (lambda p, row: p.later.pk, "hash_mismatch"),
    "account_id": (lambda p, row: p.books.points.pk, "hash_mismatch"),
}


@pytest.mark.parametrize("column", sorted(POSTING_TAMPERS))
def test_each_field_of_a_posting_changed_in_the_database_is_named(posted, column):
    # given the member's posting of the charge
    row = _principal_posting(posted)
    value, check = POSTING_TAMPERS[column]
    # when one of its columns is changed
    behind_the_ledgers_back(Posting, row.pk, **{column: value(posted, row)})
    # then verify fails naming that posting (by its account, seq and entry as they now read)
    moved = Posting.objects.get(pk=row.pk)
    subject = f"account {moved.account_id} posting seq {moved.seq} (entry {moved.entry_id})"
    assert check in {p.check for p in verify_ledger().problems if p.subject == subject}
    assert run_verify()[0] == 1


def test_every_column_of_a_posting_is_covered():
    # id is a surrogate key: nothing refers to a posting, no figure depends on it; (account, seq) is its identity
    columns = {f.attname for f in Posting._meta.concrete_fields}
    assert columns == {*POSTING_TAMPERS, "id"}


# ---- the accounts -------------------------------------------------------------------------------------

# column → (the account, its new value, what the detail starts with)
ACCOUNT_TAMPERS = {
    "kind": (lambda p: p.books.revenue, lambda p: "store_cash", "kind: the key says 'store_revenue'"),
    "currency": (lambda p: p.books.revenue, lambda p: "POINTS", "currency: POINTS"),
    "merchant_id": (lambda p: p.books.revenue, lambda p: p.chain.other.pk, "merchant: the key says"),
    "node_id": (lambda p: p.books.revenue, lambda p: p.chain.a2.pk, "node: the key says"),
    "member_id": (lambda p: p.books.principal, lambda p: None, "member: the key says"),
    "card_id": (lambda p: p.books.principal, lambda p: 424242, "card_id: the key says ''"),
    "counterparty_merchant_id": (
        lambda p: p.books.revenue,
        lambda p: p.chain.other.pk,
        "counterparty_merchant",
    ),
    "counterparty_node_id": (lambda p: p.books.revenue, lambda p: p.chain.b1.pk, "counterparty_node"),
    "must_not_go_negative": (lambda p: p.books.revenue, lambda p: True, "must_not_go_negative: True"),
    "key": (
        lambda p: p.books.revenue,
        lambda p: p.books.revenue.key + "9",
        "counterparty_node: the key says",
    ),
}


@pytest.mark.parametrize("column", sorted(ACCOUNT_TAMPERS))
def test_each_field_of_an_accounts_identity_changed_in_the_database_is_named(posted, column):
    # given one account of the books; when one column of its identity is changed
    account, value, detail = ACCOUNT_TAMPERS[column]
    pk = account(posted).pk
    behind_the_ledgers_back(Account, pk, **{column: value(posted)})
    # then verify names the account and the field
    found = [p for p in verify_ledger().problems if p.check == "account_changed"]
    assert [p.subject for p in found] == [f"account {pk} ({Account.objects.get(pk=pk).kind})"]
    assert found[0].detail.startswith(detail), found[0].detail


def test_an_account_relabelled_together_with_its_key_still_breaks_its_chain(posted):
    # given the revenue account is moved to store A2, its key rewritten to match
    revenue = posted.books.revenue
    key = ledger.account_key("store_revenue", posted.chain.merchant, node=posted.chain.a2)
    behind_the_ledgers_back(Account, revenue.pk, node_id=posted.chain.a2.pk, key=key)
    report = verify_ledger()
    # then the row agrees with itself, but every posting on it was hashed with its old identity
    assert "account_changed" not in {p.check for p in report.problems}
    assert {p.subject for p in report.problems if p.check == "hash_mismatch"} == {
        f"account {revenue.pk} posting seq {p.seq} (entry {p.entry_id})" for p in revenue.postings.all()
    }


def test_the_cached_columns_of_an_account_are_checked_by_recomputing_them(posted):
    principal = posted.books.principal.pk
    for column, value, check in [
        ("balance", 1, "balance_mismatch"),
        ("version", 9, "version_mismatch"),
        ("last_entry_hash", "f" * 64, "head_mismatch"),
    ]:
        original = Account.objects.values_list(column, flat=True).get(pk=principal)
        behind_the_ledgers_back(Account, principal, **{column: value})
        assert check in {p.check for p in verify_ledger().problems}
        behind_the_ledgers_back(Account, principal, **{column: original})
    assert verify_ledger().ok


def test_every_column_of_an_account_is_covered():
    # created_at only records when the account was opened; id is what postings refer to
    cached = {"balance", "version", "last_entry_hash"}
    columns = {f.attname for f in Account._meta.concrete_fields}
    assert columns == {*ACCOUNT_TAMPERS, *cached, "id", "created_at"}


# ---- entries written before rule 2 -----------------------------------------------------------------------


def as_written_before_rule_2(entry_ids):
    """Rewrite the chains as the old code wrote `entry_ids`: rule-1 hashes and no field hashes."""
    QuerySet.update(JournalEntry.objects.filter(pk__in=entry_ids), hash_version=1, field_hashes="")
    accounts = {a.pk: a for a in Account.objects.all()}
    heads = {}
    for p in Posting.objects.select_related("entry").order_by("account_id", "seq"):
        prev, account = heads.get(p.account_id, ledger.GENESIS_HASH), accounts[p.account_id]
        if p.entry_id in entry_ids:
            new = ledger.posting_hash_v1(
                prev, p.entry_id, p.account_id, p.seq, p.amount, p.balance_after, p.entry.created_at
            )
        else:
            identity = (account.key, account.currency, account.must_not_go_negative)
            entry_digest = hashchain.digest(ledger.entry_fields(p.entry))
            new = ledger.posting_hash(
                prev, p.entry_id, p.account_id, p.seq, p.amount, p.balance_after, identity, entry_digest
            )
        QuerySet.update(Posting.objects.filter(pk=p.pk), prev_hash=prev, hash=new)
        heads[p.account_id] = new
    for account_id, head in heads.items():
        QuerySet.update(Account.objects.filter(pk=account_id), last_entry_hash=head)


def test_entries_written_before_rule_2_verify_by_the_old_rule_and_chains_continue(posted):
    # given the first two entries as the code before this rule wrote them
    as_written_before_rule_2({posted.topup.pk, posted.charge.pk})
    # when more is posted on the same accounts
    newer = posted.books.charge(300).entry
    # then old and new entries verify, each by its own rule, on one chain per account
    assert verify_ledger().ok
    versions = dict(JournalEntry.objects.values_list("pk", "hash_version"))
    assert (versions[posted.charge.pk], versions[newer.pk]) == (1, 2)
    assert run_verify() == (0, "")


def test_rule_1_still_catches_an_edited_amount_but_not_a_relabelled_kind(posted):
    # given the charge written under rule 1 (the limits of the old rule, documented in docs/money.md)
    as_written_before_rule_2({posted.topup.pk, posted.charge.pk})
    # when its amount is edited, verify fails; its kind alone was never covered by rule 1
    behind_the_ledgers_back(JournalEntry, posted.charge.pk, kind="refund")
    assert verify_ledger().ok
    row = _principal_posting(posted)
    behind_the_ledgers_back(Posting, row.pk, amount=row.amount - 1)
    assert "hash_mismatch" in {p.check for p in verify_ledger().problems}


def run_verify():
    """(exit status, stderr) of `onecard ledger verify`."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("ledger", "verify", stdout=out, stderr=err)
    except CommandError as error:
        return error.returncode, err.getvalue()
    return 0, err.getvalue()
