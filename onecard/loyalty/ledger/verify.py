"""Checking the books: recompute every balance, entry sum and hash chain from the journal itself.

Used by `onecard ledger verify`. Reads only; streams postings in (account, seq) order and entries
in id order, so memory stays flat whatever the size of the journal (docs/architecture.md, verify).
"""

from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, Sum

from onecard.core import hashchain
from onecard.core.hashchain import Problem
from onecard.loyalty.ledger.choices import MEMBER_FACING_KINDS, POINTS_KINDS, Currency
from onecard.loyalty.ledger.services import (
    ENTRY_HASHED_FIELDS,
    GENESIS_HASH,
    HASH_VERSION,
    account_key,
    posting_hash,
    posting_hash_v1,
)
from onecard.loyalty.models import Account, JournalEntry, Posting

__all__ = ["Problem", "VerifyReport", "verify_ledger"]

# The parts of Account.key, in account_key's order, named as the account's fields.
KEY_PARTS = ("kind", "merchant", "node", "member", "card_id", "counterparty_merchant", "counterparty_node")
ACCOUNT_COLUMNS = (
    "pk", "kind", "currency", "balance", "version", "last_entry_hash", "must_not_go_negative", "key",
    "merchant_id", "node_id", "member_id", "card_id", "counterparty_merchant_id", "counterparty_node_id",
)  # fmt: skip


@dataclass
class VerifyReport:
    """What `verify_ledger` counted and every difference it found."""

    accounts: int = 0
    entries: int = 0
    postings: int = 0
    totals: dict = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    # Entries whose postings' hashes did not match: the entry check then says which field changed.
    suspect_entries: set = field(default_factory=set)

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, check, subject, detail):
        self.problems.append(Problem(check, subject, detail))


def verify_ledger(*, chunk_size=5000) -> VerifyReport:
    """Every check of the ledger's invariants; an empty `problems` list means the books are sound."""
    report = VerifyReport()
    _check_accounts_and_chains(report, chunk_size)
    _check_entries(report, chunk_size)
    _check_reversals(report)
    return report


def _display(name):
    return name.removesuffix("_id")


def _check_account_identity(report, account):
    """The account's kind and owners against its key, and its currency and guard against its kind."""
    pk, kind, currency, *_cached, guard, key = account[:8]
    merchant, node, member, card_id, other_merchant, other_node = account[8:]
    subject = f"account {pk} ({kind})"
    expected = account_key(
        kind, merchant, node=node, member=member, card_id=card_id,
        counterparty_merchant=other_merchant, counterparty_node=other_node,
    ).split("|")  # fmt: skip
    stored = key.split("|")
    if len(stored) != len(expected):
        report.add("account_changed", subject, "key: not the key of any account")
    else:
        for name, said, now in zip(KEY_PARTS, stored, expected, strict=True):
            if said != now:
                report.add("account_changed", subject, f"{name}: the key says {said!r}, the row {now!r}")
    if currency != (Currency.POINTS if kind in POINTS_KINDS else Currency.CNY):
        report.add(
            "account_changed", subject, f"currency: {currency} is not the currency of a {kind} account"
        )
    if guard != (kind in MEMBER_FACING_KINDS):
        report.add("account_changed", subject, f"must_not_go_negative: {guard} does not fit a {kind} account")


def _accounts(report) -> dict:
    """Every account's stored facts by id, each checked for its identity; the totals per currency, which sum to 0."""
    accounts = {}
    for row in Account.objects.values_list(*ACCOUNT_COLUMNS):
        accounts[row[0]] = row[1:8]
        _check_account_identity(report, row)
    report.accounts = len(accounts)
    totals = defaultdict(int)
    for _kind, currency, balance, *_rest in accounts.values():
        totals[currency] += balance
    report.totals = dict(totals)
    for currency, total in totals.items():
        if total:
            report.add(
                "total_not_zero", f"currency {currency}", f"all account balances sum to {total}, not 0"
            )
    return accounts


def _check_accounts_and_chains(report, chunk_size):
    accounts = _accounts(report)
    seen = set()
    postings = (
        Posting.objects.order_by("account_id", "seq")
        .values_list(
            "account_id",
            "seq",
            "amount",
            "balance_after",
            "prev_hash",
            "hash",
            "entry_id",
            *(f"entry__{name}" for name in ENTRY_HASHED_FIELDS),
        )
        .iterator(chunk_size=chunk_size)
    )
    current = None
    state = None
    for account_id, seq, amount, balance_after, prev_hash, hash_, entry_id, *entry in postings:
        report.postings += 1
        if account_id != current:
            if current is not None:
                _finish_account(report, current, accounts[current], state)
            current = account_id
            seen.add(account_id)
            state = {"count": 0, "sum": 0, "running": 0, "expected_seq": 1, "head": GENESIS_HASH}
        _check_posting(
            report,
            accounts[account_id],
            state,
            (account_id, seq, amount, balance_after, prev_hash, hash_, entry_id),
            entry,
        )
    if current is not None:
        _finish_account(report, current, accounts[current], state)
    for account_id in accounts.keys() - seen:
        _finish_account(report, account_id, accounts[account_id], None)


def _check_posting(report, account, state, posting, entry):
    """One posting against its account's running state: sequence, chain, hash over the entry, running balance."""
    account_id, seq, amount, balance_after, prev_hash, hash_, entry_id = posting
    subject = f"account {account_id} posting seq {seq} (entry {entry_id})"
    _kind, currency, _balance, _version, _head, must_not_go_negative, key = account
    state["count"] += 1
    state["sum"] += amount
    state["running"] += amount
    if seq != state["expected_seq"]:
        report.add("sequence_gap", subject, f"expected seq {state['expected_seq']}")
    if prev_hash != state["head"]:
        report.add("chain_broken", subject, "prev_hash does not match the hash of the posting before it")
    fields = list(zip(ENTRY_HASHED_FIELDS, entry, strict=True))
    version = dict(fields)["hash_version"]
    if version == 1:
        created_at = dict(fields)["created_at"]
        recomputed = posting_hash_v1(prev_hash, entry_id, account_id, seq, amount, balance_after, created_at)
    else:  # an unknown version never matches: the entry check names it
        account = (key, currency, must_not_go_negative)
        recomputed = posting_hash(
            prev_hash, entry_id, account_id, seq, amount, balance_after, account, hashchain.digest(fields)
        )
    if recomputed != hash_:
        report.add(
            "hash_mismatch", subject, "stored hash does not match the posting, its account or its entry"
        )
        report.suspect_entries.add(entry_id)
    if balance_after != state["running"]:
        report.add(
            "balance_after_mismatch",
            subject,
            f"balance_after {balance_after}, postings sum to {state['running']}",
        )
        state["running"] = balance_after  # report a tampered amount once, not on every later posting
    if must_not_go_negative and balance_after < 0:
        report.add("negative_balance", subject, f"balance went to {balance_after}")
    state["expected_seq"] = seq + 1
    state["head"] = hash_


def _finish_account(report, account_id, account, state):
    kind, _currency, balance, version, head, must_not_go_negative, _key = account
    subject = f"account {account_id} ({kind})"
    total = state["sum"] if state else 0
    count = state["count"] if state else 0
    last_hash = state["head"] if state else ""
    if balance != total:
        report.add("balance_mismatch", subject, f"cached balance {balance}, postings sum to {total}")
    if version != count:
        report.add("version_mismatch", subject, f"version {version}, {count} postings")
    if (head or "") != last_hash:
        report.add("head_mismatch", subject, "last_entry_hash is not the hash of the account's last posting")
    if must_not_go_negative and balance < 0:
        report.add("negative_balance", subject, f"balance {balance}")


def _check_entries(report, chunk_size):
    _check_entry_contents(report, chunk_size)
    unbalanced = (
        Posting.objects.values("entry_id", "account__currency")
        .annotate(total=Sum("amount"))
        .exclude(total=0)
        .order_by("entry_id")
    )
    for row in unbalanced:
        report.add(
            "entry_unbalanced",
            f"entry {row['entry_id']}",
            f"{row['account__currency']} postings sum to {row['total']}, not 0",
        )
    short = JournalEntry.objects.annotate(n=Count("postings")).filter(n__lt=2).values_list("pk", "n")
    for entry_id, n in short:
        report.add("entry_incomplete", f"entry {entry_id}", f"{n} postings; an entry has at least two")


def _check_entry_contents(report, chunk_size):
    """Each entry's fields against its field hashes: the entry and the field that changed are named.

    The postings' hashes are what protect the entry (rule 2 chains its digest); the field hashes
    only tell which field differs. If they differ while the postings still match, it is the
    field hashes themselves that were edited.
    """
    rows = (
        JournalEntry.objects.order_by("pk")
        .values_list("pk", "field_hashes", *ENTRY_HASHED_FIELDS)
        .iterator(chunk_size=chunk_size)
    )
    for entry_id, stored, *values in rows:
        report.entries += 1
        fields = list(zip(ENTRY_HASHED_FIELDS, values, strict=True))
        version = dict(fields)["hash_version"]
        subject = f"entry {entry_id}"
        if version == 1:
            if stored:
                report.add(
                    "entry_changed",
                    subject,
                    "hash_version: written under rule 2 (it has field hashes), now 1",
                )
            continue
        if version != HASH_VERSION:
            report.add("entry_changed", subject, f"hash_version: {version} is not a known rule")
            continue
        changed = ", ".join(_display(name) for name in hashchain.changed_fields(fields, stored))
        if not changed:
            continue
        if entry_id in report.suspect_entries:
            report.add("entry_changed", subject, f"{changed} changed since the entry was posted")
        else:
            detail = f"field_hashes differ in {changed}, but its postings' hashes match its contents"
            report.add("field_hashes_mismatch", subject, detail)


def _check_reversals(report):
    """A reversal's postings are the exact negation of its original's."""
    pairs = dict(JournalEntry.objects.filter(reverses__isnull=False).values_list("pk", "reverses_id"))
    if not pairs:
        return
    legs = defaultdict(dict)
    rows = Posting.objects.filter(entry_id__in=[*pairs, *pairs.values()]).values_list(
        "entry_id", "account_id", "amount"
    )
    for entry_id, account_id, amount in rows.iterator(chunk_size=5000):
        legs[entry_id][account_id] = amount
    for reversal_id, original_id in sorted(pairs.items()):
        expected = {account_id: -amount for account_id, amount in legs[original_id].items()}
        if legs[reversal_id] != expected:
            report.add(
                "reversal_mismatch",
                f"entry {reversal_id}",
                f"is not the exact opposite of entry {original_id}",
            )
