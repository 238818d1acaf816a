"""The one module that writes ledger balances: open accounts, post entries, reverse them.

Every movement of stored value or points goes through `post()`:

1. validate the legs (integer amounts, not zero, each account once);
2. inside one transaction, lock the accounts' rows in primary-key order — `SELECT ... FOR NO
   KEY UPDATE` on PostgreSQL; on SQLite the transaction began with `BEGIN IMMEDIATE` and already
   holds the database's write lock. One global order means two entries that share accounts
   queue instead of deadlocking;
3. check that the legs sum to zero per currency and that no member-facing account would go
   below zero — before anything is written, so a refusal leaves the caller's transaction usable;
4. insert the entry, then all its postings in one multi-row INSERT (balance after, sequence
   number and hash-chain link computed here), then update every account with one UPDATE.
   Each posting's link covers every field of its entry and its account's identity
   (`posting_hash`), computed in Python from values already in hand: no statement is added.

Four statements whatever the number of legs (ARCHITECTURE.md, Performance). Nothing else may
write `Account.balance`; the model layer refuses the ordinary ways of trying.
"""

import datetime
import hashlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.core.exceptions import ImproperlyConfigured
from django.db import connection, models, transaction
from django.utils import timezone

from onecard.core import hashchain
from onecard.core.idempotency import current_idempotency_key
from onecard.core.money import MAX_AMOUNT  # noqa: F401 - one limit for the ledger and the forms
from onecard.loyalty.ledger.choices import MEMBER_FACING_KINDS, POINTS_KINDS, AccountKind, Currency, EntryKind
from onecard.loyalty.ledger.errors import (
    AccountNotFound,
    AlreadyReversed,
    CannotReverseReversal,
    InsufficientBalance,
    InsufficientPoints,
    InvalidAmount,
    LedgerError,
)
from onecard.loyalty.models import Account, JournalEntry, Posting

GENESIS_HASH = hashchain.GENESIS_HASH
# The rule new entries are written with (JournalEntry.hash_version): 1 chained the postings' own
# facts and the entry's time; 2 chains every field of the entry and the account's identity too.
HASH_VERSION = 2
# The entry's fields under rule 2, in their hashed order. Its id is covered by each posting's link
# (it is only known after the INSERT); `field_hashes` names the changed field, outside the digest.
ENTRY_HASHED_FIELDS = (
    "kind", "merchant_id", "node_id", "actor_id", "created_at", "memo", "reverses_id", "refers_to_id",
    "idempotency_key", "business_ref", "hash_version",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Leg:
    """One side of an entry: `amount` (signed, fen or points) on the account with id `account`."""

    account: int
    amount: int


@dataclass(frozen=True)
class EntrySpec:
    """What to post. `legs` must sum to zero per currency; ids or model instances are both accepted."""

    kind: str
    merchant: object
    legs: Sequence[Leg]
    node: object = None
    actor: object = None
    memo: str = ""
    business_ref: str = ""
    # None: take the key of the surrounding run_idempotent() call, if any.
    idempotency_key: str | None = None
    reverses: object = None
    refers_to: object = None


@dataclass(frozen=True)
class Posted:
    """The result of a post: the entry, its postings (in account order) and each account's new balance."""

    entry: JournalEntry
    postings: list[Posting]
    balances: dict[int, int] = field(default_factory=dict)

    def balance(self, account) -> int:
        return self.balances[_pk(account)]


def leg(account, amount) -> Leg:
    """Leg(account id, amount) from an Account or an id."""
    return Leg(_pk(account), amount)


def _pk(value):
    return value.pk if isinstance(value, models.Model) else value


# ---- accounts --------------------------------------------------------------------------------------


def account_key(kind, merchant, *, node=None, member=None, card_id=None, counterparty_merchant=None,
                counterparty_node=None) -> str:  # fmt: skip
    """The natural key of an account: one account per kind and owner."""
    parts = [kind, merchant, node, member, card_id, counterparty_merchant, counterparty_node]
    return "|".join("" if p is None else str(_pk(p)) for p in parts)


def open_account(kind, merchant, *, node=None, member=None, card_id=None, counterparty_merchant=None,
                 counterparty_node=None) -> Account:  # fmt: skip
    """The account of this kind and owner, created empty the first time it is asked for.

    Currency and the non-negative rule follow from the kind: member-facing kinds (principal,
    bonus, points, hold reserve) may never go negative and need a member or a card.
    """
    kind = AccountKind(kind)
    if kind in MEMBER_FACING_KINDS and member is None and card_id is None:
        raise LedgerError(f"a {kind} account belongs to a member or a card")
    if kind == AccountKind.CLEARING and counterparty_merchant is None and counterparty_node is None:
        raise LedgerError("a clearing account names its counterparty")
    owner = {
        "node": node,
        "member": member,
        "card_id": card_id,
        "counterparty_merchant": counterparty_merchant,
        "counterparty_node": counterparty_node,
    }
    key = account_key(kind, merchant, **owner)
    account, _created = Account.objects.get_or_create(
        key=key,
        defaults={
            "kind": kind,
            "currency": Currency.POINTS if kind in POINTS_KINDS else Currency.CNY,
            "merchant_id": _pk(merchant),
            "node_id": _pk(node),
            "member_id": _pk(member),
            "card_id": card_id,
            "counterparty_merchant_id": _pk(counterparty_merchant),
            "counterparty_node_id": _pk(counterparty_node),
            "must_not_go_negative": kind in MEMBER_FACING_KINDS,
        },
    )
    return account


# ---- posting ---------------------------------------------------------------------------------------


def posting_hash_v1(prev_hash, entry_id, account_id, seq, amount, balance_after, created_at) -> str:
    """Rule 1 (entries written before hash_version 2): the previous link, the posting's facts and the entry's time."""
    when = created_at.astimezone(datetime.UTC).isoformat(timespec="microseconds")
    text = f"{prev_hash}|{entry_id}|{account_id}|{seq}|{amount}|{balance_after}|{when}"
    return hashlib.sha256(text.encode()).hexdigest()


def entry_fields(entry) -> list[tuple[str, object]]:
    """[(name, value)] of the entry's hashed fields, from a JournalEntry or any object with those attributes."""
    return [(name, getattr(entry, name)) for name in ENTRY_HASHED_FIELDS]


def posting_hash(prev_hash, entry_id, account_id, seq, amount, balance_after, account, entry_digest) -> str:
    """Rule 2: the link of an account's hash chain, over the previous link, the posting, its account and entry.

    `account` is (key, currency, must_not_go_negative): the key spells the account's kind and
    owners, so relabelling an account (another store, member or kind) breaks its chain too.
    `entry_digest` is hashchain.digest(entry_fields(entry)): every field of the entry.
    """
    key, currency, guard = account
    return hashchain.link(
        HASH_VERSION,
        prev_hash,
        entry_id,
        account_id,
        key,
        currency,
        guard,
        seq,
        amount,
        balance_after,
        entry_digest,
    )


def post(spec: EntrySpec, *, held=None) -> Posted:
    """Post one journal entry and update the balances it touches, atomically.

    Joins the caller's transaction when there is one (so a service can post several entries and
    other rows together); otherwise opens its own. Refusals (InsufficientBalance, InvalidAmount,
    AccountNotFound, AlreadyReversed) are raised before anything is written.
    `held`: accounts the caller locked in this transaction (lock_card_accounts); the entry locks
    only the others, and `held` is brought up to date with what the entry wrote.
    """
    legs = _checked_legs(spec.legs)
    if spec.kind not in EntryKind.values:
        raise LedgerError(f"unknown entry kind {spec.kind!r}")
    _require_write_lock_mode()
    if held is not None and not connection.in_atomic_block:
        raise LedgerError("held accounts are locked inside the caller's transaction")
    if connection.in_atomic_block:
        return _post(spec, legs, held)
    with transaction.atomic():
        return _post(spec, legs, held)


def transfer(source, destination, amount, *, kind, merchant, held=None, **fields) -> Posted:
    """Move a positive `amount` from `source` to `destination` (a two-leg entry); `held` as post takes it."""
    if type(amount) is not int or amount <= 0:
        raise InvalidAmount()
    return post(
        EntrySpec(
            kind=kind, merchant=merchant, legs=[leg(source, -amount), leg(destination, amount)], **fields
        ),
        held=held,
    )


def reverse(entry, *, actor=None, memo="", kind=EntryKind.REVERSAL, node=None, business_ref=None,
            idempotency_key=None) -> Posted:  # fmt: skip
    """Post the exact opposite of `entry` as a new entry pointing at it; the original is never edited.

    An entry is reversed at most once, and a reversal is not itself reversed. The reversal is
    refused with InsufficientBalance if the value has been spent meanwhile.
    """
    if not isinstance(entry, JournalEntry):
        entry = JournalEntry.objects.get(pk=entry)
    if entry.reverses_id is not None:
        raise CannotReverseReversal()
    legs = [
        Leg(account_id, -amount) for account_id, amount in entry.postings.values_list("account_id", "amount")
    ]
    return post(
        EntrySpec(
            kind=kind,
            merchant=entry.merchant_id,
            node=entry.node_id if node is None else node,
            actor=actor,
            memo=memo or f"reverses #{entry.pk}",
            business_ref=entry.business_ref if business_ref is None else business_ref,
            idempotency_key=idempotency_key,
            reverses=entry.pk,
            legs=legs,
        )
    )


def _checked_legs(legs) -> list[Leg]:
    """The legs in account order, after checking the amounts and that each account appears once."""
    if len(legs) < 2:
        raise LedgerError("an entry has at least two legs")
    for item in legs:
        if type(item.amount) is not int or item.amount == 0 or abs(item.amount) > MAX_AMOUNT:
            raise InvalidAmount(extra={"amount": str(item.amount)})
    ordered = sorted((Leg(int(_pk(item.account)), item.amount) for item in legs), key=lambda x: x.account)
    if len({item.account for item in ordered}) != len(ordered):
        raise LedgerError("each account appears once in an entry; add the amounts up first")
    return ordered


def _require_write_lock_mode():
    """On SQLite, row locks do not exist: correctness rests on BEGIN IMMEDIATE (settings.SQLITE_OPTIONS)."""
    if (
        connection.vendor == "sqlite"
        and connection.settings_dict["OPTIONS"].get("transaction_mode") != "IMMEDIATE"
    ):
        raise ImproperlyConfigured("The ledger needs SQLite's transaction_mode IMMEDIATE")


def _locked_rows(where, params) -> list[tuple]:
    """The one account-locking SELECT: the account rows `where` picks, locked in id order.

    Row: (id, currency, balance, version, last_entry_hash, must_not_go_negative, key, kind).
    Primary-key order everywhere: two transactions that lock overlapping sets always take the
    shared rows in the same order, so they wait for each other instead of deadlocking. NO KEY
    UPDATE is enough (we never change a key) and does not block inserts that reference the row.
    Plain SQL: this and _write_balances are the hot path, and the ORM's compile step costs more
    than the round trip (docs/money.md, Performance).
    """
    table = connection.ops.quote_name(Account._meta.db_table)
    lock = " FOR NO KEY UPDATE" if connection.features.has_select_for_update else ""
    sql = (
        f"SELECT id, currency, balance, version, last_entry_hash, must_not_go_negative, key, kind "  # noqa: S608 - names from the models, values bound
        f"FROM {table} WHERE {where} ORDER BY id{lock}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, list(params))
        return cursor.fetchall()


def _in(column, values) -> str:
    return f"{column} IN ({', '.join(['%s'] * len(values))})"


def _held(rows) -> dict:
    return {row[0]: (row[1], row[2], row[3], row[4], bool(row[5]), row[6]) for row in rows}


def lock_accounts(account_ids):
    """Lock the accounts' rows in primary-key order: {id: (currency, balance, version, hash, guard, key)}."""
    return _held(_locked_rows(_in("id", account_ids), account_ids))


def lock_accounts_by_key(keys) -> dict:
    """Lock the accounts of these natural keys (account_key) in primary-key order: {key: (id, balance)}.

    Keys with no account yet are missing from the answer (open_account them, then lock by id).
    """
    return {row[6]: (row[0], row[2]) for row in _locked_rows(_in("key", keys), keys)}


def lock_card_accounts(card_id, also=()) -> tuple[dict, dict]:
    """Lock every account of card `card_id` and the accounts `also` (ids) in one statement, in id order.

    Returns (held, kinds): `held` as lock_accounts answers, for post(..., held=held) to take
    instead of locking again; `kinds` {kind: id} of the card's own (member-facing) accounts. A charge takes every
    lock it needs here at once, so its entries need no locking statement of their own.
    """
    also = [pk for pk in also if pk is not None]
    where = "card_id = %s" + (f" OR {_in('id', also)}" if also else "")
    rows = _locked_rows(where, [card_id, *also])
    kinds = {row[7]: row[0] for row in rows if row[7] in MEMBER_FACING_KINDS}  # `also` holds no other card's
    return _held(rows), kinds


def _write_balances(postings):
    """One UPDATE for every account of the entry: new balance, version and chain head, by CASE on id."""
    table = connection.ops.quote_name(Account._meta.db_table)
    whens = " ".join(["WHEN %s THEN %s"] * len(postings))
    sql = (
        f"UPDATE {table} SET balance = CASE id {whens} END, version = CASE id {whens} END, "  # noqa: S608 - names from the models, values bound
        f"last_entry_hash = CASE id {whens} END WHERE id IN ({', '.join(['%s'] * len(postings))})"
    )
    params = []
    for column in ("balance_after", "seq", "hash"):
        for posting in postings:
            params += [posting.account_id, getattr(posting, column)]
    params += [posting.account_id for posting in postings]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        if cursor.rowcount != len(postings):
            raise LedgerError("an account of the entry vanished while it was locked")


ENTRY_COLUMNS = (
    "kind", "merchant_id", "node_id", "actor_id", "created_at", "memo", "reverses_id", "refers_to_id",
    "idempotency_key", "business_ref", "hash_version", "field_hashes",
)  # fmt: skip
POSTING_COLUMNS = ("entry_id", "account_id", "amount", "balance_after", "seq", "prev_hash", "hash")


def _insert_entry(entry):
    """INSERT the entry in one statement and set its id (plain SQL: the hot path, see _write_balances)."""
    table = connection.ops.quote_name(JournalEntry._meta.db_table)
    values = [getattr(entry, column) for column in ENTRY_COLUMNS]
    values[4] = connection.ops.adapt_datetimefield_value(entry.created_at)
    sql = (
        f"INSERT INTO {table} ({', '.join(ENTRY_COLUMNS)}) "  # noqa: S608 - names from the models, values bound
        f"VALUES ({', '.join(['%s'] * len(ENTRY_COLUMNS))}) RETURNING id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        entry.pk = cursor.fetchone()[0]
    entry._state.adding, entry._state.db = False, connection.alias


def _insert_postings(postings):
    """INSERT every posting of the entry in one multi-row statement (their ids are not read back)."""
    table = connection.ops.quote_name(Posting._meta.db_table)
    row = f"({', '.join(['%s'] * len(POSTING_COLUMNS))})"
    sql = f"INSERT INTO {table} ({', '.join(POSTING_COLUMNS)}) VALUES {', '.join([row] * len(postings))}"  # noqa: S608 - names from the models, values bound
    params = []
    for posting in postings:
        params += [getattr(posting, column) for column in POSTING_COLUMNS]
        posting._state.adding, posting._state.db = False, connection.alias
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _post(spec: EntrySpec, legs: list[Leg], held=None) -> Posted:
    ids = [item.account for item in legs]
    held = {} if held is None else held
    to_lock = [i for i in ids if i not in held]
    locked = {**held, **lock_accounts(to_lock)} if to_lock else held
    missing = [i for i in ids if i not in locked]
    if missing:
        raise AccountNotFound(extra={"accounts": missing})

    totals = defaultdict(int)
    for item in legs:
        totals[locked[item.account][0]] += item.amount
    unbalanced = {currency: total for currency, total in totals.items() if total}
    if unbalanced:
        raise LedgerError(f"the legs do not sum to zero: {unbalanced}")

    reverses_id = _pk(spec.reverses)
    # Checked under the accounts' locks, which every reversal of this entry must also take.
    if reverses_id is not None and JournalEntry.objects.filter(reverses_id=reverses_id).exists():
        raise AlreadyReversed()

    for item in legs:
        currency, balance, _version, _hash, must_not_go_negative, _key = locked[item.account]
        if must_not_go_negative and balance + item.amount < 0:
            error = InsufficientPoints if currency == Currency.POINTS else InsufficientBalance
            raise error(extra={"account": item.account, "available": balance, "requested": -item.amount})

    created_at = timezone.now()
    entry = JournalEntry(
        kind=spec.kind,
        merchant_id=_pk(spec.merchant),
        node_id=_pk(spec.node),
        actor_id=_pk(spec.actor),
        created_at=created_at,
        memo=spec.memo[:200],
        reverses_id=reverses_id,
        refers_to_id=_pk(spec.refers_to),
        idempotency_key=(
            spec.idempotency_key if spec.idempotency_key is not None else current_idempotency_key()
        ),
        business_ref=spec.business_ref,
        hash_version=HASH_VERSION,
    )
    fields = entry_fields(entry)
    entry.field_hashes = hashchain.field_hashes(fields)
    entry_digest = hashchain.digest(fields)
    _insert_entry(entry)

    postings = []
    for item in legs:
        currency, balance, version, last_hash, guard, key = locked[item.account]
        seq, prev_hash, balance_after = version + 1, last_hash or GENESIS_HASH, balance + item.amount
        postings.append(
            Posting(
                entry=entry,
                account_id=item.account,
                amount=item.amount,
                balance_after=balance_after,
                seq=seq,
                prev_hash=prev_hash,
                hash=posting_hash(
                    prev_hash,
                    entry.pk,
                    item.account,
                    seq,
                    item.amount,
                    balance_after,
                    (key, currency, guard),
                    entry_digest,
                ),
            )
        )
    _insert_postings(postings)

    _write_balances(postings)
    for posting in postings:
        currency, _balance, _version, _hash, guard, key = locked[posting.account_id]
        held[posting.account_id] = (currency, posting.balance_after, posting.seq, posting.hash, guard, key)
    return Posted(entry=entry, postings=postings, balances={p.account_id: p.balance_after for p in postings})
