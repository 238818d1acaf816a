"""Helpers of the card tests: products, stock, active cards and value put on a card through the ledger."""

from onecard.loyalty.cards.choices import CardKind
from onecard.loyalty.cards.products import create_product, issue_batch
from onecard.loyalty.cards.services import activate, bind_to_member, card_account
from onecard.loyalty.ledger import services as ledger
from onecard.loyalty.ledger.choices import AccountKind, EntryKind
from onecard.loyalty.models import Card


def make_product(chain, name="储值卡", kind=CardKind.STORED_VALUE, **fields):
    return create_product(None, chain.merchant, name=name, kind=kind, **fields)


def stock(product, store, count=5, prefix="8800", start=1):
    """Issue a batch into `store` and return its cards in number order."""
    batch = issue_batch(None, product, store=store, prefix=prefix, start=start, count=count)
    return list(Card.objects.filter(batch=batch).order_by("number"))


def active_card(card, member):
    bind_to_member(None, card, member)
    return activate(None, card)


def put_value(chain, card, *, principal=0, bonus=0, points=0, hold=0, store=None):
    """Top up principal from store cash, grant bonus and points, reserve `hold` out of principal."""
    store = store or chain.a1
    merchant = chain.merchant
    move = {"merchant": merchant, "node": store}
    if principal:
        cash = ledger.open_account(AccountKind.STORE_CASH, merchant, node=store)
        ledger.transfer(
            cash, card_account(card, AccountKind.MEMBER_PRINCIPAL), principal, kind=EntryKind.TOPUP, **move
        )
    if bonus:
        expense = ledger.open_account(AccountKind.BONUS_EXPENSE, merchant, node=store)
        ledger.transfer(
            expense, card_account(card, AccountKind.MEMBER_BONUS), bonus, kind=EntryKind.TOPUP, **move
        )
    if points:
        expense = ledger.open_account(AccountKind.POINTS_EXPENSE, merchant, node=store)
        ledger.transfer(
            expense, card_account(card, AccountKind.MEMBER_POINTS), points, kind=EntryKind.EARN, **move
        )
    if hold:
        ledger.transfer(
            card_account(card, AccountKind.MEMBER_PRINCIPAL),
            card_account(card, AccountKind.HOLD_RESERVE),
            hold,
            kind=EntryKind.HOLD,
            **move,
        )


def reload(card):
    return Card.objects.get(pk=card.pk)
