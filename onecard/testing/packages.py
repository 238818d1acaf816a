"""Helpers of the package tests: package definitions, a card to sell them to, the books' sums."""

import datetime

from django.db.models import Sum

from onecard.loyalty.cards.services import card_balances, card_balances_moved
from onecard.loyalty.ledger.choices import AccountKind
from onecard.loyalty.models import Posting
from onecard.loyalty.packages import services as packages
from onecard.loyalty.packages.choices import PackageKind


def connect_package_signals():
    """The receiver loyalty's AppConfig.ready() connects (idempotent by dispatch_uid)."""
    card_balances_moved.connect(packages.move_packages_with_card, dispatch_uid="loyalty_move_packages")


def wash_package(chain, *, uses=10, price=30_000, name="洗车10次", **fields):
    """A count card: `uses` × 洗车 for `price` fen."""
    return packages.create_package(
        None, chain.merchant, name=name, kind=PackageKind.COUNT, price=price, lines=[("洗车", uses)], **fields
    )


def gym_package(chain, *, days=30, price=90_000, name="健身月卡", **fields):
    """A period card: unlimited 健身 for `days` days."""
    return packages.create_package(
        None,
        chain.merchant,
        name=name,
        kind=PackageKind.PERIOD,
        price=price,
        lines=[("健身", None)],
        validity_days=days,
        **fields,
    )


def package_balance(card) -> int:
    return card_balances(card).get(AccountKind.MEMBER_PACKAGE, 0)


def entry_sum(entry, kind) -> int:
    """The signed sum of the entry's postings on accounts of `kind`."""
    total = Posting.objects.filter(entry=entry, account__kind=kind).aggregate(total=Sum("amount"))["total"]
    return total or 0


def days(n) -> datetime.timedelta:
    return datetime.timedelta(days=n)
