"""Helpers of the points tests: a points card, rules, and the books check every test ends with."""

import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import Sum
from django.utils import timezone

from onecard.loyalty.cards.choices import CardKind
from onecard.loyalty.cards.services import card_balances
from onecard.loyalty.ledger.choices import AccountKind
from onecard.loyalty.ledger.verify import verify_ledger
from onecard.loyalty.models import CardProduct, PointsEarnRule, PointsLot
from onecard.testing.cards import active_card, make_product, stock

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(year, month, day, hour=12, minute=0):
    """An aware datetime at that wall-clock time in Asia/Shanghai."""
    return datetime.datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def days_ago(days):
    return timezone.now() - datetime.timedelta(days=days)


def points_cards(chain, members, prefix="6600"):
    """One active points card per member, issued at A1."""
    product = CardProduct.objects.filter(merchant=chain.merchant, name="积分卡").first()
    product = product or make_product(chain, name="积分卡", kind=CardKind.POINTS)
    spare = stock(product, chain.a1, count=len(members) + 3, prefix=prefix)
    return [active_card(card, member) for card, member in zip(spare, members, strict=False)], spare[
        len(members) :
    ]


def rule(chain, points_per_yuan="1", *, stores=(), **fields):
    made = PointsEarnRule.objects.create(
        merchant=chain.merchant,
        name=fields.pop("name", f"{points_per_yuan} per ¥1"),
        points_per_yuan=Decimal(points_per_yuan),
        **fields,
    )
    made.stores.set(stores)
    return made


def lots_total(card):
    return PointsLot.objects.filter(card_id=card.pk).aggregate(total=Sum("remaining"))["total"] or 0


def points_balance(card):
    return card_balances(card).get(AccountKind.MEMBER_POINTS, 0)


def assert_books(*cards):
    """Every card's lots hold exactly its points balance, and the ledger verifies clean."""
    for card in cards:
        assert lots_total(card) == points_balance(card), card
    report = verify_ledger()
    assert report.ok, report.problems
    assert report.totals.get("POINTS", 0) == 0
