"""Everything a charge needs, read once under the card's row lock into one plain object (ChargeContext).

The charge (charge.py) then acts on the context alone: no second read of the card, and no facts
stuck onto the Card instance. Two statements: the card's locking read with its product, tier,
settings and account ids (charge_rows.py), then the card's principal and bonus accounts locked
by key (ledger.lock_accounts_by_key), in the ledger's primary-key order.
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


def lock_card_balances(card) -> dict:
    """{kind: LockedAccount} of the card's principal and bonus, locked in primary-key order.

    Found by key in the locking statement itself; accounts not opened yet are opened, then locked.
    """
    keys = {ledger.account_key(kind, card.merchant_id, card_id=card.pk): kind for kind in MONEY_KINDS}
    found = {keys[key]: LockedAccount(*row) for key, row in ledger.lock_accounts_by_key(list(keys)).items()}
    if len(found) == len(MONEY_KINDS):
        return found
    ids = {kind: ledger.open_account(kind, card.merchant_id, card_id=card.pk).pk for kind in MONEY_KINDS}
    locked = ledger.lock_accounts(sorted(ids.values()))
    return {kind: LockedAccount(pk, locked[pk][1]) for kind, pk in ids.items()}


def fetch_charge_context(card_id, store) -> ChargeContext:
    """Lock the card and its principal and bonus, and read everything a charge at `store` needs; Card.DoesNotExist."""
    row = lock_charge_card(card_id, store)
    balances = lock_card_balances(row.card)
    facts = {field.name: getattr(row, field.name) for field in fields(CardRow)}
    return ChargeContext(
        **facts,
        store=store,
        principal=balances[AccountKind.MEMBER_PRINCIPAL],
        bonus=balances[AccountKind.MEMBER_BONUS],
    )
