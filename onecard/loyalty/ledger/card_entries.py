"""The entries of a card's movements: its accounts, the clearing legs with its home, one entry, one row.

Every card service (stored value, holds, packages, cancellation) posts the same way: the card's
accounts and the store's, clearing legs when the store is not the card's home (docs/money.md,
Clearing), one journal entry through ledger.post, and one `CardTransaction` pointing at it.
"""

from onecard.core.idempotency import current_idempotency_key
from onecard.loyalty.ledger import services as ledger
from onecard.loyalty.ledger.choices import AccountKind
from onecard.loyalty.ledger.clearing import clearing_legs, home_node
from onecard.loyalty.ledger.services import EntrySpec, Leg
from onecard.loyalty.models import Account
from onecard.loyalty.models.stored_value import CardTransaction

CARD_MONEY_KINDS = (AccountKind.MEMBER_PRINCIPAL, AccountKind.MEMBER_BONUS, AccountKind.HOLD_RESERVE)


def card_account(card, kind) -> Account:
    """The card's ledger account of `kind`, keyed by the card alone (no member: balances belong to the card)."""
    return ledger.open_account(kind, card.merchant_id, card_id=card.pk)


def card_accounts(card) -> dict:
    """{kind: Account} of the card's principal, bonus and hold-reserve accounts (opened if needed)."""
    return {kind: card_account(card, kind) for kind in CARD_MONEY_KINDS}


def store_account(kind, store) -> Account:
    """The store's account of `kind` (cash, revenue, bonus expense...), opened if needed."""
    return ledger.open_account(kind, store.merchant_id, node=store)


def locked_balances(accounts) -> dict:
    """{kind: balance} read under the accounts' row locks (primary-key order)."""
    locked = ledger.lock_accounts(sorted(a.pk for a in accounts.values()))
    return {kind: locked[account.pk][1] for kind, account in accounts.items()}


def clearing_for(card, flows) -> list:
    """The clearing legs that settle `flows` with the card's home: [(node, fen)], + what the node's own
    accounts took in (the home owes it that), − what they gave out (it owes the home)."""
    by_node = {}
    for node, amount in flows:
        if amount:
            previous = by_node.get(node.pk, (node, 0))[1]
            by_node[node.pk] = (node, previous + amount)
    home, legs = None, []
    for node, amount in by_node.values():
        if amount and node.pk != card.issued_store_id:
            home = home or home_node(card)
            legs += clearing_legs(home, node, amount)
    return legs


def post_entry(kind, card, store, actor, legs, *, memo="", business_ref="", refers_to=None, held=None):
    """Post one entry of (Account, amount) legs; legs on the same account are added up, zeros dropped.

    `held`: the accounts the caller locked already (ledger.post).
    """
    merged = {}
    for account, amount in legs:
        if amount:
            merged[account.pk] = merged.get(account.pk, 0) + amount
    return ledger.post(
        EntrySpec(
            kind=kind,
            merchant=card.merchant_id,
            node=store,
            actor=actor if actor is not None and actor.pk else None,
            memo=memo,
            business_ref=business_ref,
            legs=[Leg(pk, amount) for pk, amount in merged.items() if amount],
            refers_to=refers_to,
        ),
        held=held,
    ).entry


def record(kind, card, store, actor, entry, **fields) -> CardTransaction:
    """The card transaction row of an entry (kind, amounts, the idempotency key of the call)."""
    return CardTransaction.objects.create(
        kind=kind,
        card=card,
        member_id=card.member_id,
        store=store,
        actor=actor if actor is not None and actor.pk else None,
        entry=entry,
        idempotency_key=current_idempotency_key(),
        **fields,
    )
