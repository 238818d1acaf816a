"""Where a card's value lives, and the clearing legs of a transaction made somewhere else (L6).

A card's stored value is a liability of its home store: the store that issued it (the merchant's
root node for a card issued without a store). When a card is used at another store, the store
that received value owes the store that gave it, and the entry carries two clearing legs:

- a top-up at store S of a card whose home is H: S took the cash, H owes the value, so S owes H;
- a charge (or capture) at S of a card whose home is H: S delivered the goods, H holds the cash,
  so H owes S; a refund of that charge reverses the direction.

Clearing accounts are one per (owner, counterparty): within a merchant the owner is a store and
the counterparty another store (`counterparty_node`); across merchants (an alliance) the owner is
a store of one merchant and the counterparty the other merchant (`counterparty_merchant`). The
debtor's account gets +amount (what it owes is positive, as every liability in this ledger) and
the creditor's −amount, so each pair of clearing accounts sums to zero after every entry, and a
settlement statement over any period nets to zero.
"""

from onecard.loyalty.ledger import services as ledger
from onecard.loyalty.ledger.choices import AccountKind
from onecard.org.models import OrgNode


def home_node(card):
    """The org node whose liability the card's stored value is: its issuing store, else the merchant root."""
    if card.issued_store_id is not None:
        return card.issued_store
    return OrgNode.objects.get(merchant_id=card.merchant_id, parent__isnull=True)


def home_node_id(card) -> int:
    """home_node(card).pk, without a query when the card has an issuing store."""
    return card.issued_store_id if card.issued_store_id is not None else home_node(card).pk


def clearing_account(owner_node, counterparty_node):
    """The clearing account of `owner_node` towards `counterparty_node` (same or another merchant)."""
    if owner_node.merchant_id == counterparty_node.merchant_id:
        return ledger.open_account(
            AccountKind.CLEARING, owner_node.merchant_id, node=owner_node, counterparty_node=counterparty_node
        )
    return ledger.open_account(
        AccountKind.CLEARING,
        owner_node.merchant_id,
        node=owner_node,
        counterparty_merchant=counterparty_node.merchant_id,
    )


def clearing_legs(debtor_node, creditor_node, amount) -> list:
    """[(Account, amount)] saying `debtor_node` owes `creditor_node` `amount` fen; [] for the same node or 0.

    A negative `amount` says the opposite (a refund undoing an earlier debt).
    """
    if not amount or debtor_node.pk == creditor_node.pk:
        return []
    return [
        (clearing_account(debtor_node, creditor_node), amount),
        (clearing_account(creditor_node, debtor_node), -amount),
    ]
