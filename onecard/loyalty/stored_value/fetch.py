"""Everything a charge needs, read once under the card's row lock into one plain object (ChargeContext).

The charge (charge.py) then acts on the context alone: no second read of the card, and no facts
stuck onto the Card instance. Two statements: the card's locking read with its product, tier,
settings and account ids (charge_rows.py), then every account the charge's entries touch locked
at once (ledger.lock_card_accounts), in the ledger's primary-key order; the entries take them
from the context's `held` instead of locking again.
"""

from dataclasses import dataclass, fields

from onecard.loyalty.cards.choices import CardKind, CardStatus
from onecard.loyalty.ledger import services as ledger
from onecard.loyalty.ledger.choices import AccountKind
from onecard.loyalty.stored_value.charge_rows import CardRow, lock_charge_card

MONEY_KINDS = (AccountKind.MEMBER_PRINCIPAL, AccountKind.MEMBER_BONUS)


@dataclass(frozen=True)
class LockedAccount:
    """An account's id and its balance, read under its row lock."""

    id: int
    balance: int


@dataclass(frozen=True)
class ChargeContext(CardRow):
    """The card row's facts, the store charged at, and the card's principal and bonus under lock."""

    store: object = None
    principal: LockedAccount = None
    bonus: LockedAccount = None
    held: dict = None  # the accounts locked for the charge, as ledger.post(..., held=) takes them

    @property
    def password_hash(self) -> str:
        """The card's password hash ("" without a password)."""
        return self.card.password_hash

    @property
    def failed_password_attempts(self) -> int:
        """Wrong password tries counted on the card since its last right one."""
        return self.card.failed_password_attempts

    def accepts_store(self) -> bool:
        """product.accepts_store(store), without the store-list query when the product has no store list."""
        if not self.product_has_stores and self.store.merchant_id == self.card.product.merchant_id:
            return True
        return self.card.product.accepts_store(self.store)

    def is_stored_value(self) -> bool:
        """True when the card's product holds stored value."""
        return self.card.product.kind == CardKind.STORED_VALUE

    def is_active(self) -> bool:
        """True when the card's status is active (its expiry is checked by require_active)."""
        return self.card.status == CardStatus.ACTIVE

    def at_home(self) -> bool:
        """True when the store charged at is the card's issuing store (no clearing legs)."""
        return self.card.issued_store_id == self.store.pk

    def member_facts(self) -> tuple:
        """(tier, birthday) of the card's member, as points.earn_for_spend takes them."""
        return self.tier, self.birthday


def lock_charge_accounts(row: CardRow, store) -> tuple[dict, dict]:
    """Lock the card's accounts and the store-side accounts a charge at `store` posts to, in one statement.

    (held, {kind: LockedAccount} of principal and bonus). The store's revenue, the clearing pair
    away from home and the points accounts when the merchant earns points are locked with the card's
    own when they exist; those not opened yet are opened and locked by the entry that needs them.
    """
    card = row.card
    also = [row.revenue_account_id]
    if card.issued_store_id != store.pk:
        also += [row.home_clearing_id, row.store_clearing_id]
    if row.earns_points and card.merchant_id == store.merchant_id:
        also += list(row.points_accounts)
    held, kinds = ledger.lock_card_accounts(card.pk, also)
    if any(kind not in kinds for kind in MONEY_KINDS):  # the card's first charge or top-up
        opened = {
            kind: ledger.open_account(kind, card.merchant_id, card_id=card.pk).pk for kind in MONEY_KINDS
        }
        held.update(ledger.lock_accounts(sorted(opened.values())))
        kinds.update(opened)
    return held, {kind: LockedAccount(kinds[kind], held[kinds[kind]][1]) for kind in MONEY_KINDS}


def fetch_charge_context(card_id, store) -> ChargeContext:
    """Lock the card and the accounts of a charge at `store`, and read everything it needs; Card.DoesNotExist."""
    row = lock_charge_card(card_id, store)
    held, balances = lock_charge_accounts(row, store)
    facts = {field.name: getattr(row, field.name) for field in fields(CardRow)}
    return ChargeContext(
        **facts,
        store=store,
        principal=balances[AccountKind.MEMBER_PRINCIPAL],
        bonus=balances[AccountKind.MEMBER_BONUS],
        held=held,
    )
