"""Ledger helpers: a member's accounts and the store accounts they trade with, posted through the ledger."""

from types import SimpleNamespace

from onecard.loyalty.ledger import services as ledger
from onecard.loyalty.ledger.choices import AccountKind, EntryKind


def make_books(chain, member):
    """Accounts of `member` at store A1 plus helpers to top up and charge through ledger.transfer."""
    merchant, store = chain.merchant, chain.a1
    books = SimpleNamespace(
        merchant=merchant,
        store=store,
        member=member,
        cashier=chain.cashier_a1,
        cash=ledger.open_account(AccountKind.STORE_CASH, merchant, node=store),
        revenue=ledger.open_account(AccountKind.STORE_REVENUE, merchant, node=store),
        principal=ledger.open_account(AccountKind.MEMBER_PRINCIPAL, merchant, member=member),
        points=ledger.open_account(AccountKind.MEMBER_POINTS, merchant, member=member),
        points_issued=ledger.open_account(AccountKind.POINTS_EXPENSE, merchant, node=store),
    )

    def topup(amount, **fields):
        return ledger.transfer(
            books.cash, books.principal, amount, kind=EntryKind.TOPUP, merchant=merchant, node=store, **fields
        )

    def charge(amount, **fields):
        return ledger.transfer(
            books.principal,
            books.revenue,
            amount,
            kind=EntryKind.CHARGE,
            merchant=merchant,
            node=store,
            **fields,
        )

    books.topup, books.charge = topup, charge
    return books
