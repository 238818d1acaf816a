"""Checking the books: recompute every balance, entry sum and hash chain from the journal itself.

Used by `onecard ledger verify`. Reads only; streams postings in (account, seq) order so memory
stays flat whatever the size of the journal.
"""

from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, Sum

from onecard.loyalty.ledger.services import GENESIS_HASH, posting_hash
from onecard.loyalty.models import Account, JournalEntry, Posting


@dataclass(frozen=True)
class Problem:
    """One difference found: what is wrong (`check`), where (`subject`), and the numbers."""

    check: str
    subject: str
    detail: str

    def __str__(self):
        return f"{self.subject}: {self.check}: {self.detail}"


@dataclass
class VerifyReport:
    accounts: int = 0
    entries: int = 0
    postings: int = 0
    totals: dict = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, check, subject, detail):
        self.problems.append(Problem(check, subject, detail))


def verify_ledger(*, chunk_size=5000) -> VerifyReport:
    """Every check of the ledger's invariants; an empty `problems` list means the books are sound."""
    report = VerifyReport()
    _check_accounts_and_chains(report, chunk_size)
    _check_entries(report)
    _check_reversals(report)
    return report


def _check_accounts_and_chains(report, chunk_size):
    accounts = {
        row[0]: row[1:]
        for row in Account.objects.values_list(
            "pk", "kind", "currency", "balance", "version", "last_entry_hash", "must_not_go_negative"
        )
    }
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
            "entry__created_at",
        )
        .iterator(chunk_size=chunk_size)
    )
    current = None
    state = None
    for account_id, seq, amount, balance_after, prev_hash, hash_, entry_id, created_at in postings:
        report.postings += 1
        if account_id != current:
            if current is not None:
                _finish_account(report, current, accounts[current], state)
            current = account_id
            seen.add(account_id)
            state = {"count": 0, "sum": 0, "running": 0, "expected_seq": 1, "head": GENESIS_HASH}
        subject = f"account {account_id} posting seq {seq} (entry {entry_id})"
        _kind, _currency, _balance, _version, _head, must_not_go_negative = accounts[account_id]
        state["count"] += 1
        state["sum"] += amount
        state["running"] += amount
        if seq != state["expected_seq"]:
            report.add("sequence_gap", subject, f"expected seq {state['expected_seq']}")
        if prev_hash != state["head"]:
            report.add("chain_broken", subject, "prev_hash does not match the hash of the posting before it")
        recomputed = posting_hash(prev_hash, entry_id, account_id, seq, amount, balance_after, created_at)
        if recomputed != hash_:
            report.add("hash_mismatch", subject, "stored hash does not match the posting's contents")
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
    if current is not None:
        _finish_account(report, current, accounts[current], state)
    for account_id in accounts.keys() - seen:
        _finish_account(report, account_id, accounts[account_id], None)


def _finish_account(report, account_id, account, state):
    kind, _currency, balance, version, head, must_not_go_negative = account
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


def _check_entries(report):
    report.entries = JournalEntry.objects.count()
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
